// The custom-policy example (examples/custom_policy.cpp), run as a separate process: a user-defined policy
// composed with CountingProfiler prints the program's output, the text report with the policy's times in it,
// and the times themselves, which must add up exactly.
//
// OPSCOPE_CUSTOM_POLICY_EXAMPLE is a compile definition set by tests/CMakeLists.txt.
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>
#include <sstream>
#include <string>

namespace {

struct Result {
    int exit_code = -1;
    std::string out;  // stdout; stderr goes to the test's own
};

Result run(const std::string& program) {
    Result r;
    FILE* pipe = ::popen(("'" + program + "' </dev/null").c_str(), "r");
    BOOST_TEST_REQUIRE(pipe != nullptr);
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) r.out.append(buffer, n);
    const int status = ::pclose(pipe);
    r.exit_code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

struct Times {
    std::uint64_t calls = 0, self_ns = 0, inclusive_ns = 0;
};

// The lines after "CallTimer:": "name calls=N self_ns=S inclusive_ns=I".
std::map<std::string, Times> call_timer_lines(const std::string& out) {
    std::map<std::string, Times> times;
    const std::size_t start = out.find("\nCallTimer:\n");
    BOOST_TEST_REQUIRE(start != std::string::npos, out);
    std::istringstream lines(out.substr(start + 12));
    const std::regex line_format(R"((\w+) calls=(\d+) self_ns=(\d+) inclusive_ns=(\d+))");
    for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        BOOST_TEST_REQUIRE(std::regex_match(line, m, line_format), line);
        times[m[1]] = Times{std::stoull(m[2]), std::stoull(m[3]), std::stoull(m[4])};
    }
    return times;
}

} // namespace

BOOST_AUTO_TEST_CASE(custom_policy_example_reports_exact_times_next_to_the_counts) {
    const Result r = run(OPSCOPE_CUSTOM_POLICY_EXAMPLE);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
    BOOST_TEST(r.out.starts_with("4999950610\nopscope profile of timed.ops (policy custom)\n"), r.out);

    // The report's function section gains time columns, and function times are no longer "not measured".
    const std::regex functions_header(R"(\nFunctions\n  function +calls +self +self % +inclusive +incl %\n)");
    BOOST_TEST(std::regex_search(r.out, functions_header), r.out);
    BOOST_TEST(r.out.find("function times") == std::string::npos, r.out);

    // Counts from CountingProfiler, times from the policy.
    const std::map<std::string, Times> t = call_timer_lines(r.out);
    BOOST_TEST_REQUIRE(t.size() == 3u);
    BOOST_TEST(t.at("main").calls == 1u);
    BOOST_TEST(t.at("work").calls == 1u);
    BOOST_TEST(t.at("fib").calls == 1973u);  // fib(15)
    // Exact bookkeeping: a function calling nothing (work) or only itself (fib) has self = inclusive; main's
    // inclusive time is every function's self time, to the nanosecond.
    BOOST_TEST(t.at("work").self_ns == t.at("work").inclusive_ns);
    BOOST_TEST(t.at("fib").self_ns == t.at("fib").inclusive_ns);
    BOOST_TEST(t.at("main").self_ns + t.at("work").self_ns + t.at("fib").self_ns == t.at("main").inclusive_ns);
    BOOST_TEST(t.at("work").inclusive_ns > 0u);
}
