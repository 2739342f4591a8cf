// The benchmark workloads, shared by the Google Benchmark binary, the overhead command and the zero-cost
// driver: the four of ../shared/bench/ALGORITHMS.md plus an allocation-heavy and a call-graph-heavy program.
//
// Each program is examples/<name>.ops, the same source a user would run; its first `let NAME = NUMBER;`
// line holds the size, which is substituted. Every workload has an independent C++ computation of its
// output, so a wrong answer is caught whatever the size.
#pragma once

#include <opscope/opscope.hpp>

#include <cstdint>
#include <cstdlib>
#include <regex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace opscope::bench {

struct Workload {
    const char* name;
    std::int64_t size;        // the shared default (ALGORITHMS.md)
    std::int64_t smoke_size;  // tiny, for CI
    std::int64_t (*expected)(std::int64_t size);
};

namespace reference {

inline std::int64_t fib(std::int64_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

inline std::int64_t loop(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum = (sum + i) % 1000003;
    return sum;
}

inline std::int64_t sieve(std::int64_t n) {
    std::vector<bool> flags(static_cast<std::size_t>(n + 1), true);
    std::int64_t count = 0;
    for (std::int64_t i = 2; i * i <= n; ++i)
        if (flags[static_cast<std::size_t>(i)])
            for (std::int64_t j = i * i; j <= n; j += i) flags[static_cast<std::size_t>(j)] = false;
    for (std::int64_t k = 2; k <= n; ++k) count += flags[static_cast<std::size_t>(k)];
    return count;
}

inline std::int64_t calls(std::int64_t n) { return n * (n - 1) / 2 + n; }

// Node counts: 2^(iterations) trees of 2^(depth+1) - 1 nodes per depth, plus the long-lived tree.
inline std::int64_t trees(std::int64_t max_depth) {
    std::int64_t total = 0;
    for (std::int64_t depth = 4; depth <= max_depth; depth += 2)
        total += (std::int64_t{1} << (max_depth - depth + 4)) * ((std::int64_t{1} << (depth + 1)) - 1);
    return total + (std::int64_t{1} << (max_depth + 1)) - 1;
}

inline std::int64_t callgraph(std::int64_t n) {
    constexpr std::int64_t m = 1000003;
    auto leaf_a = [](std::int64_t x) { return (x * 3 + 1) % m; };
    auto leaf_b = [](std::int64_t x) { return (x + 7) % m; };
    auto mid_a = [&](std::int64_t x) { return leaf_a(x) + leaf_b(x); };
    std::int64_t s = 0;
    for (std::int64_t i = 0; i < n; ++i) s = (s + (i % 3 == 0 ? mid_a(s) : leaf_b(mid_a(s)))) % m;
    return s;
}

} // namespace reference

inline constexpr Workload kWorkloads[] = {
    {"fib", 30, 15, reference::fib},
    {"loop", 100'000'000, 100'000, reference::loop},
    {"sieve", 2'000'000, 20'000, reference::sieve},
    {"calls", 10'000'000, 10'000, reference::calls},
    {"trees", 16, 6, reference::trees},
    {"callgraph", 2'000'000, 1'000, reference::callgraph},
};

inline const Workload& find_workload(std::string_view name) {
    for (const Workload& w : kWorkloads)
        if (name == w.name) return w;
    throw std::invalid_argument("unknown workload '" + std::string(name) + "'");
}

inline bool smoke_mode() {
    const char* v = std::getenv("OPSCOPE_BENCH_SMOKE");
    return v && *v && std::string_view(v) != "0";
}

// examples/<name>.ops with its size line set to `size`, compiled.
inline Program load_workload(const std::string& source_dir, const Workload& w, std::int64_t size) {
    const std::string path = source_dir + "/examples/" + w.name + ".ops";
    const std::string text = read_text_file(path);
    static const std::regex size_line(R"(\b(let\s+\w+\s*=\s*)-?\d+(\s*;))");
    std::smatch match;
    if (!std::regex_search(text, match, size_line)) throw std::runtime_error(path + ": no `let NAME = NUMBER;` size line");
    const std::string sized = match.prefix().str() + match[1].str() + std::to_string(size) + match[2].str() +
                              match.suffix().str();
    return compile_source(sized, path);
}

inline std::string expected_output(const Workload& w, std::int64_t size) {
    return std::to_string(w.expected(size)) + "\n";
}

} // namespace opscope::bench
