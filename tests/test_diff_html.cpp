// The diff's HTML page (format_diff_html) from hand-built Profiles, its DOM contract (docs/exports.md) read back
// with regular expressions and compared with the ProfileDiff: every table row's data- attributes equal its
// DiffRow; the differential flame graph's frames sum the differential folded stacks (the new values to the new
// total), a grown frame is red and a shrunk one blue, versions of a program under different names match; the
// page is self-contained (CSP, no URL, no src/href) and escapes hostile names; a missing group or the calls
// metric gives a visible note, not an error; --top and --threshold apply as in text; the CLI writes it and
// --fail-if still gates. The page in a real browser is checked by tools/readers/htmlcheck.mjs
// (tools/readers.sh diff-html).
#include <opscope/diff.hpp>
#include <opscope/report.hpp>

#include <boost/test/unit_test.hpp>

#include "cli_support.hpp"

#include <map>
#include <sstream>
#include <utility>
#include <regex>
#include <string>
#include <vector>

using namespace opscope;
using namespace opscope::test;

namespace {

// fib.ops run twice: line 2 and the main;fib stack grew, line 5 and main's samples shrank, line 3 is
// unchanged, line 7 only runs in the new profile.
Profile run(std::uint64_t line2, std::uint64_t line5, std::uint64_t main_samples, std::uint64_t fib_samples, bool line7) {
    Profile p;
    p.policy = "timing";
    p.source_file = "fib.ops";
    p.summary = Summary{Accuracy::exact, line2 + 280 + line5 + (line7 ? 9 : 0), 7, 2'000'000, 4, std::nullopt};
    p.timing = TimingInfo{"timer signal ~500 Hz", main_samples + fib_samples, 1000, 500, 0};
    p.instructions = InstructionGroup{Accuracy::exact, {{"fib", 0, 2, "load", line2}, {"fib", 6, 3, "add", 280}, {"main", 0, 5, "load", line5}}};
    p.lines = LineGroup{Accuracy::exact, std::nullopt,
                        {{2, line2, std::nullopt, "  if (n < 2) { return n; }"},
                         {3, 280, std::nullopt, "  return fib(n - 1) + fib(n - 2);"},
                         {5, line5, std::nullopt, "print(fib(3));"}}};
    if (line7) {
        p.instructions->entries.push_back({"main", 9, 7, "print", 9});
        p.lines->entries.push_back({7, 9, std::nullopt, "print(1);"});
    }
    p.functions = FunctionGroup{Accuracy::exact, std::nullopt,
                                {{"fib", 4, std::nullopt, std::nullopt, false, "fib.ops", 1, line2 + 280},
                                 {"main", 1, std::nullopt, std::nullopt, false, "fib.ops", 5, p.summary->total_instructions}}};
    p.call_stacks = StackSampleGroup{Accuracy::statistical, {{{"main"}, main_samples, std::nullopt, {}},
                                                             {{"main", "fib"}, fib_samples, std::nullopt, {}}}};
    return p;
}
Profile base_run() { return run(400, 320, 60, 40, false); }
Profile next_run() { return run(600, 200, 20, 50, true); }

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// An attribute value as the page escaped it (html::escaped), read back.
std::string unescaped(std::string text) {
    for (const auto& [entity, c] : {std::pair("&#58;", ":"), std::pair("&lt;", "<"), std::pair("&gt;", ">"),
                                    std::pair("&quot;", "\""), std::pair("&#39;", "'"), std::pair("&amp;", "&")})
        for (std::size_t at = text.find(entity); at != std::string::npos; at = text.find(entity, at + 1))
            text.replace(at, std::string_view(entity).size(), c);
    return text;
}

using Attributes = std::map<std::string, std::string>;

// Every element `<TAG ...>` whose opening tag contains `marker`, as its attributes.
std::vector<Attributes> elements(const std::string& page, const std::string& tag, const std::string& marker) {
    std::vector<Attributes> out;
    const std::regex element("<" + tag + "( [^>]*)>"), attribute(R"re(([a-z-]+)="([^"]*)")re");
    for (auto e = std::sregex_iterator(page.begin(), page.end(), element); e != std::sregex_iterator(); ++e) {
        const std::string attributes = (*e)[1];
        if (!has(attributes, marker)) continue;
        Attributes a;
        for (auto i = std::sregex_iterator(attributes.begin(), attributes.end(), attribute); i != std::sregex_iterator(); ++i)
            a[(*i)[1]] = (*i)[2];
        out.push_back(std::move(a));
    }
    return out;
}

// The table rows of a group (data-group=GROUP), in page order.
std::vector<Attributes> rows_of(const std::string& page, const std::string& group) {
    return elements(page, "tr", "data-group=\"" + group + "\"");
}

// The DiffRows of a group and metric, in the diff's order.
std::vector<const DiffRow*> diff_rows(const ProfileDiff& d, const std::string& group, DiffMetric metric) {
    std::vector<const DiffRow*> out;
    for (const DiffRow& row : d.rows)
        if (row.group == group && row.metric == metric) out.push_back(&row);
    return out;
}

void check_row(const Attributes& a, const DiffRow& row) {
    BOOST_TEST(a.at("data-key") == row.key);
    BOOST_TEST(a.at("data-metric") == std::string(to_string(row.metric)));
    BOOST_TEST(a.at("data-accuracy") == std::string(to_string(row.accuracy)));
    BOOST_TEST(a.count("data-base") == (row.base ? 1u : 0u), row.key);
    if (row.base) BOOST_TEST(std::stoull(a.at("data-base")) == *row.base);
    BOOST_TEST(a.count("data-new") == (row.next ? 1u : 0u), row.key);
    if (row.next) BOOST_TEST(std::stoull(a.at("data-new")) == *row.next);
    BOOST_TEST(std::stod(a.at("data-delta")) == row.delta());
    BOOST_TEST(a.count("data-delta-percent") == (row.delta_percent() ? 1u : 0u), row.key);
    if (row.delta_percent()) BOOST_TEST(std::stod(a.at("data-delta-percent")) == *row.delta_percent());
    BOOST_TEST(a.at("data-changed") == (row.changed ? "true" : "false"));
    if (row.accuracy == Accuracy::statistical) {
        BOOST_TEST(std::stoull(a.at("data-base-samples")) == row.base_samples.value_or(0));
        BOOST_TEST(std::stoull(a.at("data-new-samples")) == row.next_samples.value_or(0));
        BOOST_TEST(std::stoull(a.at("data-base-total-samples")) == row.base_total_samples.value_or(0));
        BOOST_TEST(std::stoull(a.at("data-new-total-samples")) == row.next_total_samples.value_or(0));
        BOOST_TEST(a.count("data-z") == (row.z ? 1u : 0u));
        if (row.z) BOOST_TEST(std::stod(a.at("data-z")) == *row.z);
    }
}

struct Rgb {
    int r, g, b;
};
Rgb fill_of(const std::string& page, const std::string& frame) {
    const std::regex re("data-frame=\"" + frame + "\"[^>]*><title>[^<]*</title><rect [^>]*fill=\"rgb\\((\\d+),(\\d+),(\\d+)\\)\"");
    std::smatch m;
    BOOST_TEST_REQUIRE(std::regex_search(page, m, re), frame);
    return {std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3])};
}

constexpr std::string_view kCsp = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                                  "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">";

} // namespace

BOOST_AUTO_TEST_SUITE(diff_html)

BOOST_AUTO_TEST_CASE(self_contained_with_a_strict_csp_and_no_url) {
    const std::string page = format_diff_html(base_run(), next_run());
    BOOST_TEST(page.starts_with("<!DOCTYPE html>"));
    BOOST_TEST(has(page, kCsp));
    BOOST_TEST(!has(page, "http://"));
    BOOST_TEST(!has(page, "https://"));
    BOOST_TEST(!std::regex_search(page, std::regex(" (src|href)=")));
    BOOST_TEST(has(page, "</html>\n"));
    BOOST_TEST(has(page, "<header id=\"header\" data-metric=\"instructions\" data-base-policy=\"timing\" "
                         "data-new-policy=\"timing\" data-base-partial=\"false\" data-new-partial=\"false\">"));
}

BOOST_AUTO_TEST_CASE(every_line_row_carries_its_diff_row) {
    const Profile base = base_run(), next = next_run();
    const ProfileDiff d = diff(base, next);
    DiffOptions options;
    options.top = 100;
    const std::string page = format_diff_html(base, next, options);
    const std::vector<const DiffRow*> want = diff_rows(d, "lines", DiffMetric::instructions);
    const std::vector<Attributes> got = rows_of(page, "lines");
    BOOST_TEST_REQUIRE(got.size() == want.size());
    BOOST_TEST(want.size() == 4u);
    for (std::size_t i = 0; i < want.size(); ++i) check_row(got[i], *want[i]);
    // Line 7 is new: no base, "new" for its percentage; its source text is shown.
    BOOST_TEST(got.front().at("data-key") == "2");  // |+200| first
    BOOST_TEST(has(page, "<code>print(1);</code>"));
    BOOST_TEST(has(page, ">new</td>"));
    // The other groups of the metric have their tables, with every row's attributes.
    for (const char* group : {"summary", "hotspots", "functions"}) {
        const std::vector<const DiffRow*> rows =
            group == std::string("summary") ? [&] {
                std::vector<const DiffRow*> all;
                for (const DiffRow& row : d.rows)
                    if (row.group == "summary") all.push_back(&row);
                return all;
            }()
                                            : diff_rows(d, group, DiffMetric::instructions);
        const std::vector<Attributes> shown = rows_of(page, group);
        BOOST_TEST_REQUIRE(shown.size() == rows.size(), group);
        for (std::size_t i = 0; i < rows.size(); ++i) check_row(shown[i], *rows[i]);
    }
    BOOST_TEST(has(page, "<section id=\"lines\""));
    BOOST_TEST(page.find("<section id=\"lines\"") < page.find("<section id=\"hotspots\""));  // lines first
}

BOOST_AUTO_TEST_CASE(statistical_rows_show_their_samples_and_z) {
    const Profile base = base_run(), next = next_run();
    DiffOptions options;
    options.metric = DiffMetric::samples;
    const std::string page = format_diff_html(base, next, options);
    const ProfileDiff d = diff(base, next);
    const std::vector<const DiffRow*> want = diff_rows(d, "call_stacks", DiffMetric::samples);
    const std::vector<Attributes> got = rows_of(page, "call_stacks");
    BOOST_TEST_REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) check_row(got[i], *want[i]);
    BOOST_TEST(got[0].count("data-z") == 1u);
    BOOST_TEST(!has(page, "~40/100"));  // counted samples carry no '~'
    BOOST_TEST(has(page, "40/100 &#8594; 50/70"));
    BOOST_TEST(has(page, "<section id=\"call_stacks\" data-accuracy=\"statistical\""));
    // The lines record no samples: the section says so instead of a table.
    BOOST_TEST(has(page, "<section id=\"lines\" class=\"omitted\" data-omitted=\"true\">"));
}

BOOST_AUTO_TEST_CASE(differential_frames_sum_the_folded_stacks_and_colour_the_change) {
    const Profile base = base_run(), next = next_run();
    for (const DiffMetric metric : {DiffMetric::instructions, DiffMetric::samples}) {
        DiffOptions options;
        options.metric = metric;
        const std::string page = format_diff_html(base, next, options);
        // Expected: the folded diff's stacks summed by prefix.
        std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> want;
        std::istringstream folded(format_diff_folded(base, next, metric));
        for (std::string line; std::getline(folded, line);) {
            const std::size_t new_at = line.rfind(' '), base_at = line.rfind(' ', new_at - 1);
            const std::string stack = line.substr(0, base_at);
            const std::uint64_t b = std::stoull(line.substr(base_at + 1)), n = std::stoull(line.substr(new_at + 1));
            want["all"].first += b;
            want["all"].second += n;
            for (std::size_t end = stack.find(';'); ; end = stack.find(';', end + 1)) {
                auto& prefix = want[stack.substr(0, end)];
                prefix.first += b;
                prefix.second += n;
                if (end == std::string::npos) break;
            }
        }
        std::erase_if(want, [](const auto& entry) { return entry.second.second == 0; });  // not drawn
        std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> got;
        std::uint64_t depth_one_sum = 0;
        for (const Attributes& a : elements(page, "g", "class=\"frame\"")) {
            got[unescaped(a.at("data-frame"))] = {std::stoull(a.at("data-base")), std::stoull(a.at("data-value"))};
            BOOST_TEST(std::stod(a.at("data-delta")) ==
                       static_cast<double>(std::stoull(a.at("data-value"))) - static_cast<double>(std::stoull(a.at("data-base"))));
            if (a.at("data-depth") == "1") depth_one_sum += std::stoull(a.at("data-value"));
        }
        BOOST_TEST((got == want), to_string(metric));
        // The new values sum to the new total.
        const std::uint64_t new_total = metric == DiffMetric::instructions ? 600 + 280 + 200 + 9 : 70;
        BOOST_TEST(got["all"].second == new_total);
        BOOST_TEST(depth_one_sum == new_total);
        BOOST_TEST(has(page, "data-differential=\"true\""));
        BOOST_TEST(has(page, "data-total=\"" + std::to_string(new_total) + "\""));
    }
    DiffOptions samples;
    samples.metric = DiffMetric::samples;
    const std::string page = format_diff_html(base, next, samples);
    const Rgb grew = fill_of(page, "main;fib"), shrank = fill_of(page, "main");
    BOOST_TEST((grew.r == 255 && grew.g < 255 && grew.g == grew.b));          // 40 -> 50 samples: red
    BOOST_TEST((shrank.b == 255 && shrank.r < 255 && shrank.r == shrank.g));  // 100 -> 70: blue
    const std::string instructions = format_diff_html(base, next);
    const Rgb same = fill_of(instructions, "fib;fib \\(fib.ops&#58;3\\)");
    BOOST_TEST((same.r == same.g && same.g == same.b));  // 280 -> 280: grey
    // A new stack is pure red: line 7 (main;main (fib.ops:7)) did not run in the base.
    const Rgb added = fill_of(instructions, "main;main \\(fib.ops&#58;7\\)");
    BOOST_TEST((added.r == 255 && added.g == 0 && added.b == 0));
}

// A program edited and saved under another name (README: before/sieve.ops against examples/sieve.ops): its
// frames match by function and line, as the rows do, in the folded diff and on the page alike.
BOOST_AUTO_TEST_CASE(versions_saved_under_different_names_share_their_frames) {
    Profile base = base_run();
    base.source_file = "before/fib.ops";
    for (FunctionStats& f : base.functions->entries) f.file = "before/fib.ops";
    const std::string folded = format_diff_folded(base, next_run(), DiffMetric::instructions);
    BOOST_TEST(has(folded, "fib;fib (fib.ops:2) 400 600\n"), folded);
    BOOST_TEST(!has(folded, "before/"), folded);
    const std::string page = format_diff_html(base, next_run());
    const Rgb same = fill_of(page, "fib;fib \\(fib.ops&#58;3\\)");
    BOOST_TEST((same.r == same.g && same.g == same.b));  // 280 -> 280: matched, grey
}

BOOST_AUTO_TEST_CASE(a_missing_group_gives_a_visible_note_not_an_error) {
    Profile base = base_run(), next = next_run();
    base.call_stacks.reset();
    base.policy = "counting";
    DiffOptions samples;
    samples.metric = DiffMetric::samples;
    const std::string page = format_diff_html(base, next, samples);
    BOOST_TEST(has(page, "<section id=\"flamegraph\" class=\"omitted\" data-omitted=\"true\">"));
    BOOST_TEST(has(page, "--policy timing or full"));
    BOOST_TEST(!has(page, "<svg"));
    BOOST_TEST(has(page, "<ul id=\"notes\">"));  // the diff's note: call_stacks only in the new profile
    BOOST_TEST(has(page, kCsp));
    BOOST_TEST(has(page, "</html>\n"));
    // The tables still work, with the exact metric's graph drawn from the hotspots.
    const std::string instructions = format_diff_html(base, next);
    BOOST_TEST(has(instructions, "<svg id=\"flamegraph-svg\""));
    BOOST_TEST(rows_of(instructions, "lines").size() == 4u);
    // No hotspots: no graph, still the line table.
    base.instructions.reset();
    const std::string no_hotspots = format_diff_html(base, next);
    BOOST_TEST(has(no_hotspots, "<section id=\"flamegraph\" class=\"omitted\" data-omitted=\"true\">"));
    BOOST_TEST(rows_of(no_hotspots, "lines").size() == 4u);
    // Calls are no stack weight.
    DiffOptions calls;
    calls.metric = DiffMetric::calls;
    const std::string by_calls = format_diff_html(base_run(), next_run(), calls);
    BOOST_TEST(has(by_calls, "<section id=\"flamegraph\" class=\"omitted\" data-omitted=\"true\">"));
    BOOST_TEST(rows_of(by_calls, "functions").size() == 2u);
    // Two empty profiles.
    const std::string empty = format_diff_html(Profile{}, Profile{});
    BOOST_TEST(has(empty, "<section id=\"lines\" class=\"omitted\" data-omitted=\"true\">"));
    BOOST_TEST(has(empty, "</html>\n"));
}

BOOST_AUTO_TEST_CASE(top_and_threshold_apply_like_text) {
    const Profile base = base_run(), next = next_run();
    DiffOptions options;
    options.top = 1;
    const std::string page = format_diff_html(base, next, options);
    BOOST_TEST(rows_of(page, "lines").size() == 1u);
    BOOST_TEST(rows_of(page, "lines").front().at("data-key") == "2");
    BOOST_TEST(has(page, "<section id=\"lines\" data-accuracy=\"exact\" data-rows=\"4\" data-shown=\"1\">"));
    options.top = 100;
    options.threshold_percent = 20;  // of line's base total 1000: |delta| >= 200 keeps line 2 (+200) only
    const std::vector<Attributes> kept = rows_of(format_diff_html(base, next, options), "lines");
    BOOST_TEST(kept.size() == 1u);
}

BOOST_AUTO_TEST_CASE(hostile_names_are_escaped_and_partial_runs_have_banners) {
    Profile base = base_run(), next = next_run();
    next.source_file = "<img src=x onerror=alert(1)>.ops";
    next.lines->entries[0].source_text = "<script>alert('line')</script> https://evil.example/";
    next.instructions->entries[0].function = "\"><script>alert(1)</script>";
    next.call_stacks->entries[1].frames = {"main", "<b onclick=alert(2)>"};
    next.partial = true;
    for (const DiffMetric metric : {DiffMetric::instructions, DiffMetric::samples}) {
        DiffOptions options;
        options.metric = metric;
        const std::string page = format_diff_html(base, next, options);
        BOOST_TEST(page.find("<script") == page.rfind("<script"));  // ours, at the end, only
        BOOST_TEST(!has(page, "<img"));
        BOOST_TEST(!has(page, "<b onclick"));
        BOOST_TEST(!has(page, "https://"));
        BOOST_TEST(has(page, "<div id=\"new-partial\" class=\"banner\" role=\"alert\">"));
        BOOST_TEST(!has(page, "id=\"base-partial\""));
        BOOST_TEST(has(page, "data-new-partial=\"true\""));
    }
}

BOOST_AUTO_TEST_SUITE_END()

// --- the CLI ---

BOOST_AUTO_TEST_SUITE(cli_diff_html)

BOOST_AUTO_TEST_CASE(writes_the_page_and_fail_if_still_gates) {
    const auto program = [](const std::string& name, int n) {
        return write_file(name, "fn loop(n) {\n    let i = 0;\n    while (i < n) { i = i + 1; }\n    return i;\n}\nprint(loop(" +
                                    std::to_string(n) + "));\n");
    };
    const fs::path small = program("loop_small.ops", 100), large = program("loop_large.ops", 150);
    const fs::path base = scratch() / "small.json", next = scratch() / "large.json";
    BOOST_TEST_REQUIRE(cli("profile --policy counting --format json -o " + quote(base.string()) + " " + quote(small.string())).exit_code == 0);
    BOOST_TEST_REQUIRE(cli("profile --policy counting --format json -o " + quote(next.string()) + " " + quote(large.string())).exit_code == 0);
    const fs::path out = scratch() / "diff.html";
    const Result gated = cli("diff " + quote(base.string()) + " " + quote(next.string()) + " --format html -o " +
                             quote(out.string()) + " --fail-if 'instructions>+0%'");
    BOOST_TEST(gated.exit_code == 1, gated.err);
    BOOST_TEST(has(gated.err, "--fail-if tripped: instructions>+0%"), gated.err);
    const std::string page = read_file(out);
    BOOST_TEST(has(page, kCsp));
    BOOST_TEST(has(page, "<svg id=\"flamegraph-svg\""));  // counting records the hotspots
    BOOST_TEST(rows_of(page, "lines").size() > 0u);
    // Standard output without -o; the samples metric under counting: a note, exit 0.
    const Result stdout_page = cli("diff " + quote(base.string()) + " " + quote(next.string()) + " --format html --metric samples");
    BOOST_TEST(stdout_page.exit_code == 0, stdout_page.err);
    BOOST_TEST(stdout_page.out.starts_with("<!DOCTYPE html>"));
    BOOST_TEST(has(stdout_page.out, "<section id=\"flamegraph\" class=\"omitted\" data-omitted=\"true\">"));
}

BOOST_AUTO_TEST_SUITE_END()
