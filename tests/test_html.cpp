// The HTML report (format_html) from hand-built Profiles: self-contained (the CSP meta tag, no URL
// anywhere, no src/href), every string from the profile escaped (a `<script>` in a source line, a function
// name and an error message stay text), the DOM contract of docs/exports.md (every line's data-count, the
// flame graph's frames and total, one function row per function), sections of groups the profile lacks
// omitted with a note, the partial banner, and the CLI writing it under every policy. The page in a real
// browser (JavaScript on and off) is checked by tools/readers/htmlcheck.mjs (tools/readers.sh html).
#include <opscope/profile.hpp>
#include <opscope/report.hpp>

#include <boost/test/unit_test.hpp>

#include "cli_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

using namespace opscope;
using namespace opscope::test;

namespace {

Profile sample_profile() {
    Profile p;
    p.policy = "full";
    p.source_file = "fib.ops";
    p.summary = Summary{Accuracy::exact, 1000, 7, 2'000'000, 4, std::nullopt};
    p.timing = TimingInfo{"timer signal ~500 Hz", 10, 1000, 500, 0};
    p.opcodes = OpcodeGroup{Accuracy::exact, std::nullopt, {{"add", 280, std::nullopt, std::nullopt}, {"load", 720, std::nullopt, std::nullopt}}};
    p.instructions = InstructionGroup{Accuracy::exact,
                                      {{"fib", 0, 2, "load", 400}, {"fib", 6, 3, "add", 280}, {"main", 0, 5, "load", 320}}};
    p.lines = LineGroup{Accuracy::exact, Accuracy::statistical,
                        {{2, 400, 12'000'000, "  if (n < 2) { return n; }"},
                         {3, 280, 8'000'000, "  return fib(n - 1) + fib(n - 2);"},
                         {5, 320, 0, "print(fib(3));"}}};
    p.functions = FunctionGroup{Accuracy::exact, Accuracy::statistical,
                                {{"fib", 4, 18'000'000, 19'000'000, false, "fib.ops", 1, 680},
                                 {"main", 1, 0, 20'000'000, false, "fib.ops", 1, 1000},
                                 {"print", 1, 1'000'000, 1'000'000, true, std::nullopt, std::nullopt, std::nullopt}}};
    p.branches = BranchGroup{Accuracy::exact, {{"fib", 2, 2, 5, 3}}};
    p.loops = LoopGroup{Accuracy::exact, std::nullopt, {{"main", 1, 9, 5, 42, std::nullopt}}};
    p.call_graph = CallGraph{Accuracy::exact, Accuracy::statistical,
                             {{"", "main", 1, 20'000'000, 1000, {}}, {"main", "fib", 1, 19'000'000, 680, {{0, 5, 1, 680}}}}};
    p.call_stacks = StackSampleGroup{Accuracy::statistical,
                                     {{{"main", "fib"}, 4, 8'000'000, {5, 2}},
                                      {{"main", "fib", "fib"}, 5, 10'000'000, {5, 3, 2}},
                                      {{"main", "print"}, 1, 2'000'000, {5, 0}}}};
    return p;
}

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

std::size_t occurrences(const std::string& text, const std::string& pattern) {
    const std::regex re(pattern);
    return static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

constexpr std::string_view kCsp = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                                  "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">";

} // namespace

BOOST_AUTO_TEST_SUITE(html)

BOOST_AUTO_TEST_CASE(self_contained_with_a_strict_csp_and_no_url) {
    const std::string page = format_html(sample_profile());
    BOOST_TEST(page.starts_with("<!DOCTYPE html>"));
    BOOST_TEST(has(page, kCsp));
    BOOST_TEST(!has(page, "http://"));
    BOOST_TEST(!has(page, "https://"));
    BOOST_TEST(occurrences(page, " (src|href)=") == 0u);
    BOOST_TEST(has(page, "</html>\n"));
    BOOST_TEST(find_report_format("html") != nullptr);
    BOOST_TEST(find_report_format("html")->write(sample_profile(), {}) == page);
}

BOOST_AUTO_TEST_CASE(every_line_has_its_exact_count_and_branch_and_loop_figures) {
    const Profile profile = sample_profile();
    const std::string page = format_html(profile);
    for (const LineStats& l : profile.lines->entries)
        BOOST_TEST(has(page, "<tr data-line=\"" + std::to_string(l.line) + "\" data-count=\"" + std::to_string(l.count) + "\""),
                   "line " << l.line);
    BOOST_TEST(occurrences(page, "<tr data-line=") == 3u);
    BOOST_TEST(has(page, "data-branch-executed=\"5\" data-branch-taken=\"3\""));
    BOOST_TEST(has(page, "data-loop-iterations=\"42\""));
    BOOST_TEST(has(page, "~12.0 ms"));  // a line's sampled time is marked statistical
}

BOOST_AUTO_TEST_CASE(flame_graph_frames_sum_the_stacks_and_tables_have_a_row_per_entry) {
    const std::string page = format_html(sample_profile());
    BOOST_TEST(has(page, "<svg id=\"flamegraph-svg\""));
    BOOST_TEST(has(page, "data-total-samples=\"10\""));
    BOOST_TEST(has(page, "data-frame=\"all\" data-name=\"all\" data-value=\"10\""));
    BOOST_TEST(has(page, "data-frame=\"main\" data-name=\"main\" data-value=\"10\""));
    BOOST_TEST(has(page, "data-frame=\"main;fib\" data-name=\"fib\" data-value=\"9\""));
    BOOST_TEST(has(page, "data-frame=\"main;fib;fib\" data-name=\"fib\" data-value=\"5\""));
    BOOST_TEST(has(page, "data-frame=\"main;print\" data-name=\"print\" data-value=\"1\""));
    BOOST_TEST(occurrences(page, "<g class=\"frame\"") == 5u);
    BOOST_TEST(has(page, "sampled lines&#58; 2 (~4) 3 (~5)"));  // the stacks' lines in fib's tooltip
    BOOST_TEST(occurrences(page, "<tr data-function=\"[^\"]*\" data-calls=") == 3u);
    BOOST_TEST(occurrences(page, "<tr data-opcode=") == 2u);
    BOOST_TEST(occurrences(page, "<tr data-caller=") == 2u);
}

// An opcode's mean time is a fraction of a nanosecond on a fast interpreter: shown as the text report shows
// it (it was cut to whole nanoseconds: 0.56 ns printed ~0 ns, 1.72 ns ~1.00 ns).
BOOST_AUTO_TEST_CASE(small_times_and_rates_read_as_in_the_text_report) {
    Profile profile = sample_profile();
    profile.opcodes->time_accuracy = Accuracy::statistical;
    profile.opcodes->entries[0].time_ns = 157;  // add: 280 executions, a mean of 0.5607 ns
    profile.opcodes->entries[1].time_ns = 1238;  // load: 720, 1.719 ns
    const std::string page = format_html(profile);
    BOOST_TEST(has(page, ">~0.56 ns</td>"));
    BOOST_TEST(has(page, ">~1.72 ns</td>"));
    // The summary's rate reads as the text report's does (it was printf's 5e+05).
    BOOST_TEST(has(page, "id=\"summary-rate\"><span data-rate=\"500000\">500 k</span>"));
}

// Widths count samples; where the samples weigh unequally (a fast start) the page says the widths are not
// the times. Equal weights: no such note.
BOOST_AUTO_TEST_CASE(unequal_sample_weights_get_a_note_under_the_flame_graph) {
    Profile profile = sample_profile();
    BOOST_TEST_REQUIRE(profile.timing.has_value());
    profile.timing->samples = 400;
    profile.timing->effective_samples = 100.0;
    const std::string page = format_html(profile);
    BOOST_TEST(has(page, "id=\"unequal-weights\">The samples weigh unequally (the precision of 100 equal samples "
                         "from 400:"));
    profile.timing->effective_samples = 395.0;
    BOOST_TEST(!has(format_html(profile), "unequal-weights"));
    profile.timing->effective_samples.reset();
    BOOST_TEST(!has(format_html(profile), "unequal-weights"));
}

BOOST_AUTO_TEST_CASE(hostile_strings_are_escaped) {
    Profile p = sample_profile();
    p.source_file = "<img src=x onerror=alert(1)>.ops";
    p.lines->entries[0].source_text = "<script>alert('line')</script> https://evil.example/";
    p.functions->entries[0].name = "\"><script>alert(1)</script>";
    p.call_stacks->entries[0].frames = {"main", "<b onclick=alert(2)>"};
    p.partial = true;
    p.error = "</pre><script>alert(3)</script>";
    const std::string page = format_html(p);
    BOOST_TEST(occurrences(page, "<script") == 1u);  // ours, at the end
    BOOST_TEST(!has(page, "<img"));
    BOOST_TEST(!has(page, "<b onclick"));
    BOOST_TEST(has(page, "data-function=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
    BOOST_TEST(has(page, "&lt;script&gt;alert(&#39;line&#39;)&lt;/script&gt; https&#58;//evil.example/"));
    BOOST_TEST(has(page, "&lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
    BOOST_TEST(!has(page, "https://"));

    // Bidirectional controls would show a line reordered: they appear as their bytes; other UTF-8 as it is.
    p.lines->entries[1].source_text = "  if (x) { \xe2\x80\xae} \xe2\x81\xa6" "done \xc3\xa9t\xc3\xa9";
    const std::string bidi = format_html(p);
    BOOST_TEST(!has(bidi, "\xe2\x80\xae"));
    BOOST_TEST(!has(bidi, "\xe2\x81\xa6"));
    BOOST_TEST(has(bidi, "  if (x) { \\xe2\\x80\\xae} \\xe2\\x81\\xa6" "done \xc3\xa9t\xc3\xa9"));
    // Controls (an escape sequence, NUL) and malformed UTF-8 too, as the text report shows them.
    p.functions->entries[1].name = std::string("f\x1b[2J\0\xff", 7);
    const std::string controls = format_html(p);
    BOOST_TEST(!has(controls, "\x1b"));
    BOOST_TEST(!has(controls, std::string(1, '\0')));
    BOOST_TEST(has(controls, "f\\x1b[2J\\x00\\xff"));
}

BOOST_AUTO_TEST_CASE(missing_groups_get_a_note_and_no_table) {
    Profile counting = sample_profile();
    counting.policy = "counting";
    counting.timing.reset();
    counting.call_stacks.reset();
    for (LineStats& l : counting.lines->entries) l.time_ns.reset();
    counting.lines->time_accuracy.reset();
    const std::string page = format_html(counting);
    BOOST_TEST(has(page, "<section id=\"flamegraph\" class=\"omitted\" data-omitted=\"true\">"));
    BOOST_TEST(has(page, "No sampled stacks: profile with --policy timing or full"));
    BOOST_TEST(!has(page, "<svg"));
    BOOST_TEST(has(page, "<section id=\"memory\" class=\"omitted\" data-omitted=\"true\">"));
    BOOST_TEST(has(page, "--policy full"));
    BOOST_TEST(has(page, "<tr data-line=\"3\" data-count=\"280\">"));  // no time: no data-time-ns

    const std::string empty = format_html(Profile{});
    for (const char* id : {"flamegraph", "source", "functions", "opcodes", "hotspots", "callgraph", "memory"})
        BOOST_TEST(has(empty, std::string("<section id=\"") + id + "\" class=\"omitted\""), id);
    BOOST_TEST(has(empty, kCsp));
}

BOOST_AUTO_TEST_CASE(partial_run_has_a_banner) {
    Profile p = sample_profile();
    BOOST_TEST(!has(format_html(p), "id=\"partial\""));
    p.partial = true;
    p.error = "division by zero at line 3";
    const std::string page = format_html(p);
    BOOST_TEST(has(page, "<div id=\"partial\" class=\"banner\" role=\"alert\">"));
    BOOST_TEST(has(page, "division by zero at line 3"));
    BOOST_TEST(has(page, "data-partial=\"true\""));
}

BOOST_AUTO_TEST_CASE(statistical_figures_are_marked_with_their_sample_count) {
    const std::string page = format_html(sample_profile());
    BOOST_TEST(has(page, "~ sampled: estimated from 10 timer samples"));
    BOOST_TEST(has(page, "class=\"num stat\""));
    BOOST_TEST(has(page, "data-accuracy=\"exact\" data-time-accuracy=\"statistical\""));
}

// The CLI writes it under every policy, counting included (no sampled stacks: the flame graph is omitted).
BOOST_AUTO_TEST_CASE(cli_writes_it_under_every_policy) {
    // fib(22) at 10 kHz, not the example's fib(30): three runs, also in the sanitizer build.
    const fs::path program = write_file("fib22.ops", "fn fib(n) {\n    if (n < 2) { return n; }\n    return fib(n - 1) + "
                                                     "fib(n - 2);\n}\nprint(fib(22));\n");
    for (const char* policy : {"counting", "timing", "full"}) {
        const fs::path out = scratch() / (std::string(policy) + ".html");
        const Result r = cli(std::string("profile --sample-rate 10000 --policy ") + policy + " --format html -o " +
                             quote(out.string()) + " " + quote(program.string()));
        BOOST_TEST(r.exit_code == 0, policy << ": " << r.err);
        const std::string page = read_file(out);
        BOOST_TEST(has(page, kCsp), policy);
        BOOST_TEST(has(page, "<svg id=\"flamegraph-svg\"") == (std::string(policy) != "counting"), policy);
    }
}

BOOST_AUTO_TEST_SUITE_END()
