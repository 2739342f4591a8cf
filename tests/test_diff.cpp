// opscope::diff and `opscope diff`: the join by key, deltas and percentages, the noise test of statistical
// rows on constructed sample counts, the --fail-if grammar (bad inputs included), the writers, and the CLI's
// deterministic gate: one instruction added to a loop body trips 'instructions>+0%', nothing changed passes.
#include <opscope/diff.hpp>
#include <opscope/report.hpp>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using namespace opscope;

namespace {

const DiffRow* find_row(const ProfileDiff& d, const std::string& group, const std::string& key, DiffMetric metric) {
    for (const DiffRow& row : d.rows)
        if (row.group == group && row.key == key && row.metric == metric) return &row;
    return nullptr;
}

Profile counted(std::uint64_t fib_calls, std::uint64_t add_count) {
    Profile p;
    p.policy = "counting";
    p.source_file = "fib.ops";
    p.summary.emplace();
    p.summary->total_instructions = 100 + add_count;
    p.opcodes.emplace();
    p.opcodes->entries = {{"add", add_count, std::nullopt, std::nullopt}, {"push", 100, std::nullopt, std::nullopt}};
    p.functions.emplace();
    p.functions->entries.push_back({"fib", fib_calls, std::nullopt, std::nullopt, false, std::nullopt, std::nullopt, std::nullopt});
    p.functions->entries.push_back({"main", 1, std::nullopt, std::nullopt, false, std::nullopt, std::nullopt, std::nullopt});
    return p;
}

Profile sampled(std::uint64_t main_samples, std::uint64_t fib_samples) {
    Profile p;
    p.policy = "timing";
    p.call_stacks.emplace();
    p.call_stacks->entries.push_back({{"main"}, main_samples, std::nullopt, {}});
    p.call_stacks->entries.push_back({{"main", "fib"}, fib_samples, std::nullopt, {}});
    return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(join)

BOOST_AUTO_TEST_CASE(rows_join_by_key_with_delta_and_percent) {
    Profile base = counted(10, 50), next = counted(12, 50);
    next.opcodes->entries.push_back({"mul", 7, std::nullopt, std::nullopt});
    const ProfileDiff d = diff(base, next);
    const DiffRow* fib = find_row(d, "functions", "fib", DiffMetric::calls);
    BOOST_TEST_REQUIRE(fib != nullptr);
    BOOST_TEST(fib->base_value() == 10u);
    BOOST_TEST(fib->next_value() == 12u);
    BOOST_TEST(fib->delta() == 2.0);
    BOOST_TEST(*fib->delta_percent() == 20.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(fib->changed);
    BOOST_TEST((fib->accuracy == Accuracy::exact));
    const DiffRow* main_row = find_row(d, "functions", "main", DiffMetric::calls);
    BOOST_TEST(!main_row->changed);
    // A key only in the new profile: base absent, no percentage.
    const DiffRow* mul = find_row(d, "opcodes", "mul", DiffMetric::instructions);
    BOOST_TEST_REQUIRE(mul != nullptr);
    BOOST_TEST(!mul->base.has_value());
    BOOST_TEST(!mul->delta_percent().has_value());
    BOOST_TEST(mul->changed);
    // Sorted by |delta| within the group: mul (+7) before add and push (0).
    std::vector<std::string> opcode_keys;
    for (const DiffRow& row : d.rows)
        if (row.group == "opcodes") opcode_keys.push_back(row.key);
    BOOST_TEST(opcode_keys.front() == "mul");
    // The totals come first.
    BOOST_TEST(d.rows.front().group == "summary");
}

BOOST_AUTO_TEST_CASE(a_group_one_profile_lacks_is_left_out_with_a_note) {
    const Profile base = counted(1, 1);
    Profile next = counted(1, 1);
    next.call_stacks.emplace();
    const ProfileDiff d = diff(base, next);
    BOOST_TEST(find_row(d, "summary", "total", DiffMetric::samples) == nullptr);
    bool noted = false;
    for (const std::string& note : d.notes) noted = noted || note.find("only in the new profile") != std::string::npos;
    BOOST_TEST(noted);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(noise)

BOOST_AUTO_TEST_CASE(two_proportion_z_on_known_counts) {
    // 50 of 100 against 70 of 100: pooled 0.6, se = sqrt(0.6 * 0.4 * 0.02) = 0.069282, z = 0.2 / se = 2.8868.
    BOOST_TEST(*two_proportion_z(50, 100, 70, 100) == 2.886751, boost::test_tools::tolerance(1e-5));
    BOOST_TEST(!two_proportion_z(5, 0, 5, 10).has_value());
    BOOST_TEST(!two_proportion_z(0, 10, 0, 10).has_value());  // no variance
}

BOOST_AUTO_TEST_CASE(a_sampled_change_is_flagged_only_beyond_noise) {
    // fib 50 of 100 -> 55 of 100: z = 0.71, noise. fib 50 of 100 -> 70 of 100: z = 2.89, changed.
    const ProfileDiff small = diff(sampled(50, 50), sampled(45, 55));
    const DiffRow* fib = find_row(small, "call_stacks", "main;fib", DiffMetric::samples);
    BOOST_TEST_REQUIRE(fib != nullptr);
    BOOST_TEST((fib->accuracy == Accuracy::statistical));
    BOOST_TEST(!fib->changed);
    BOOST_TEST(*fib->base_samples == 50u);
    BOOST_TEST(*fib->next_total_samples == 100u);
    const ProfileDiff large = diff(sampled(50, 50), sampled(30, 70));
    BOOST_TEST(find_row(large, "call_stacks", "main;fib", DiffMetric::samples)->changed);
    // Twice as long a run with the same shares: the stacks did not change, though every count doubled.
    const ProfileDiff longer = diff(sampled(50, 50), sampled(100, 100));
    BOOST_TEST(!find_row(longer, "call_stacks", "main;fib", DiffMetric::samples)->changed);
    BOOST_TEST(find_row(longer, "summary", "total", DiffMetric::samples)->changed);  // 100 -> 200: Poisson
}

// A fast start's samples weigh unequally: 400 samples whose weights give the precision of 100 equal ones
// (Kish's effective size). A time row's share is tested at that size, from the stacks' times, where the
// counts would overstate it: fib's time 50% -> 62% is z = 3.42 at 400 samples, 1.71 (noise) at 100.
BOOST_AUTO_TEST_CASE(sampled_times_are_tested_at_the_effective_sample_size) {
    const auto weighted = [](std::uint64_t fib_ms, std::uint64_t main_ms) {
        Profile p = sampled(200, 200);  // equal counts: the fast start's samples fell in both alike
        p.call_stacks->entries[0].time_ns = main_ms * 1'000'000;
        p.call_stacks->entries[1].time_ns = fib_ms * 1'000'000;
        p.timing.emplace();
        p.timing->samples = 400;
        p.timing->effective_samples = 100.0;
        return p;
    };
    const ProfileDiff d = diff(weighted(50, 50), weighted(62, 38));
    const DiffRow* fib = find_row(d, "call_stacks", "main;fib", DiffMetric::time);
    BOOST_TEST_REQUIRE(fib != nullptr);
    BOOST_TEST(fib->samples_estimated);
    BOOST_TEST(*fib->base_total_samples == 100u);
    BOOST_TEST(*fib->base_samples == 50u);
    BOOST_TEST(*fib->next_samples == 62u);
    BOOST_TEST(*fib->z == 1.7094, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(!fib->changed);
    // The samples' own counts are what the samples metric compares, at their own total.
    const DiffRow* counted_fib = find_row(d, "call_stacks", "main;fib", DiffMetric::samples);
    BOOST_TEST(*counted_fib->base_total_samples == 400u);
    BOOST_TEST(!counted_fib->samples_estimated);
    // Equal weights (no effective size recorded): the time row's n is its share of all the samples.
    Profile equal_base = weighted(50, 50), equal_next = weighted(62, 38);
    equal_base.timing->effective_samples.reset();
    equal_next.timing->effective_samples.reset();
    const ProfileDiff equal_diff = diff(equal_base, equal_next);
    const DiffRow* equal = find_row(equal_diff, "call_stacks", "main;fib", DiffMetric::time);
    BOOST_TEST(*equal->base_total_samples == 400u);
    BOOST_TEST(*equal->next_samples == 248u);
    BOOST_TEST(equal->changed);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fail_if)

BOOST_AUTO_TEST_CASE(grammar) {
    const auto rules = parse_fail_if("instructions>+2%, calls>+0 ,functions:fib instructions>+100,samples<-10.5%");
    BOOST_TEST_REQUIRE(rules.size() == 4u);
    BOOST_TEST((rules[0].metric == DiffMetric::instructions));
    BOOST_TEST(rules[0].greater);
    BOOST_TEST(rules[0].percent);
    BOOST_TEST(rules[0].limit == 2.0);
    BOOST_TEST(rules[0].group.empty());
    BOOST_TEST(!rules[1].percent);
    BOOST_TEST(rules[2].group == "functions");
    BOOST_TEST(rules[2].key == "fib");
    BOOST_TEST(rules[2].limit == 100.0);
    BOOST_TEST(!rules[3].greater);
    BOOST_TEST(rules[3].limit == -10.5);
    // A key with spaces: the condition is the last word.
    const auto edge = parse_fail_if("call_graph:main -> fib calls>+0");
    BOOST_TEST(edge[0].key == "main -> fib");
}

BOOST_AUTO_TEST_CASE(bad_expressions_name_the_column) {
    const auto column = [](const std::string& expression) -> std::size_t {
        try {
            parse_fail_if(expression);
        } catch (const DiffRuleError& e) {
            return e.position();
        }
        return 0;
    };
    BOOST_TEST(column("instrs>+2%") == 1u);          // unknown metric
    BOOST_TEST(column("instructions>2%") == 14u);    // no sign
    BOOST_TEST(column("instructions>+%") == 15u);    // no number
    BOOST_TEST(column("instructions") == 13u);       // no comparison
    BOOST_TEST(column("instructions>+2%x") == 17u);  // trailing text
    BOOST_TEST(column("instructions>+2%,") == 18u);  // empty rule
    BOOST_TEST(column("fib instructions>+2%") == 1u);  // scope without GROUP:
    BOOST_TEST(column("nope:fib calls>+1") == 1u);   // unknown group
}

BOOST_AUTO_TEST_CASE(exact_rules_trip_on_any_change_beyond_the_limit) {
    const ProfileDiff same = diff(counted(10, 50), counted(10, 50));
    BOOST_TEST(evaluate_fail_if(same, parse_fail_if("instructions>+0%")).empty());
    const ProfileDiff one_more = diff(counted(10, 50), counted(10, 51));
    const auto tripped = evaluate_fail_if(one_more, parse_fail_if("instructions>+0%,instructions>+2%,calls>+0"));
    BOOST_TEST_REQUIRE(tripped.size() == 1u);
    BOOST_TEST(tripped[0].message == "instructions>+0%: total 150 -> 151 (+1, +0.67%)");
    BOOST_TEST(evaluate_fail_if(diff(counted(10, 50), counted(12, 50)), parse_fail_if("functions:fib calls>+1")).size() == 1u);
    BOOST_TEST(evaluate_fail_if(diff(counted(10, 50), counted(9, 40)), parse_fail_if("instructions<-5%")).size() == 1u);
    BOOST_CHECK_THROW(evaluate_fail_if(same, parse_fail_if("functions:nothere calls>+0")), DiffRuleError);
}

BOOST_AUTO_TEST_CASE(statistical_rules_trip_only_beyond_noise) {
    const auto rule = parse_fail_if("call_stacks:main;fib samples>+5%");
    BOOST_TEST(evaluate_fail_if(diff(sampled(50, 50), sampled(45, 55)), rule).empty());  // +10% but noise
    BOOST_TEST(evaluate_fail_if(diff(sampled(50, 50), sampled(30, 70)), rule).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(writers)

BOOST_AUTO_TEST_CASE(text_fits_100_columns_and_json_is_versioned) {
    Profile base = counted(10, 50), next = counted(12, 50);
    base.functions->entries[0].name = std::string(150, 'f');
    next.functions->entries[0].name = std::string(150, 'f');
    const ProfileDiff d = diff(base, next);
    DiffOptions options;
    options.metric = DiffMetric::calls;
    const std::string text = format_diff_text(d, options);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) BOOST_TEST(line.size() <= 100u, line);
    BOOST_TEST(text.find("functions (calls, exact): 1 of 2 keys changed") != std::string::npos, text);
    const std::string json = format_diff_json(d, options);
    BOOST_TEST(json.find("\"format\": \"opscope-profile-diff\"") != std::string::npos);
    BOOST_TEST(json.find("\"version\": 1") != std::string::npos);
}

// A host may name a native anyhow: invalid UTF-8 in a key becomes U+FFFD in the JSON, as in every JSON writer,
// and the text is what nlohmann's dump(2) makes of the document.
BOOST_AUTO_TEST_CASE(json_replaces_invalid_utf8_and_is_the_pretty_dump_of_its_document) {
    Profile base = counted(10, 50), next = counted(12, 50);
    base.functions->entries[0].name = next.functions->entries[0].name = "fib\xff \"\xc3\xa9\"";
    const ProfileDiff d = diff(base, next);
    DiffOptions options;
    options.metric = DiffMetric::calls;
    const std::string json = format_diff_json(d, options);
    const auto doc = nlohmann::ordered_json::parse(json);
    BOOST_TEST(json == doc.dump(2) + "\n");
    bool found = false;
    for (const auto& row : doc["rows"]) found = found || row["key"] == "fib\xef\xbf\xbd \"\xc3\xa9\"";
    BOOST_TEST(found, json);
}

BOOST_AUTO_TEST_CASE(folded_has_a_base_and_a_new_column) {
    const std::string folded = format_diff_folded(sampled(50, 50), sampled(30, 70), DiffMetric::samples);
    BOOST_TEST(folded == "main 50 30\nmain;fib 50 70\n");
    BOOST_CHECK_THROW(format_diff_folded(counted(1, 1), counted(1, 1), DiffMetric::samples), MissingGroupError);
    BOOST_CHECK_THROW(format_diff_folded(sampled(1, 1), sampled(1, 1), DiffMetric::calls), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

// --- the CLI ---

using namespace opscope::test;

namespace {

// examples/loop.opasm at N = 1000, optionally with one more instruction in its loop body: `jmp` to the
// instruction right after it (no stack effect, one instruction per iteration).
fs::path loop_program(const std::string& name, bool extra_instruction) {
    std::istringstream in(read_file(std::string(OPSCOPE_SOURCE_DIR) + "/examples/loop.opasm"));
    std::string text;
    int edited = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.find("; @size") != std::string::npos) {
            line = "    push 1000";
            ++edited;
        }
        text += line + "\n";
        if (extra_instruction && line == "body:") {
            text += "    jmp body_next\nbody_next:\n";
            ++edited;
        }
    }
    BOOST_TEST_REQUIRE(edited == (extra_instruction ? 2 : 1));
    const fs::path path = scratch() / name;
    std::ofstream(path) << text;
    return path;
}

fs::path profiled(const fs::path& program, const std::string& json, const std::string& policy = "counting") {
    const fs::path out = scratch() / json;
    const Result r = cli("profile " + program.string() + " --policy " + policy + " --format json -o " + out.string());
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_diff)

// The "done when": the exact gate fails a run when one instruction is added to a loop body and
// passes when nothing changed.
BOOST_AUTO_TEST_CASE(exact_gate_trips_on_one_instruction_added_to_a_loop_body) {
    const fs::path program = loop_program("loop.opasm", false);
    const fs::path base = profiled(program, "base.json"), again = profiled(program, "again.json");
    const Result same = cli("diff " + base.string() + " " + again.string() + " --fail-if 'instructions>+0%'");
    BOOST_TEST(same.exit_code == 0, same.err);
    BOOST_TEST(same.err == "");
    BOOST_TEST(same.out.find("summary (instructions, exact): 0 of 1 keys changed") != std::string::npos, same.out);

    const fs::path longer = profiled(loop_program("loop_plus_one.opasm", true), "plus_one.json");
    const Result grown = cli("diff " + base.string() + " " + longer.string() + " --fail-if 'instructions>+0%'");
    BOOST_TEST(grown.exit_code == 1, grown.err);
    // 1000 iterations, one more instruction each: exactly +1000 instructions.
    BOOST_TEST(grown.err.find("--fail-if tripped: instructions>+0%: total ") != std::string::npos, grown.err);
    BOOST_TEST(grown.err.find("(+1000, ") != std::string::npos, grown.err);
    BOOST_TEST(grown.out.find("jmp") != std::string::npos, grown.out);  // the new opcode's row
    // A rule with room for it passes.
    BOOST_TEST(cli("diff " + base.string() + " " + longer.string() + " --fail-if 'instructions>+50%'").exit_code == 0);
}

BOOST_AUTO_TEST_CASE(usage_and_input_errors) {
    const fs::path program = loop_program("loop_errors.opasm", false);
    const fs::path base = profiled(program, "errors.json");
    const Result bad_rule = cli("diff " + base.string() + " " + base.string() + " --fail-if 'instructions>>2%'");
    BOOST_TEST(bad_rule.exit_code == 2);
    BOOST_TEST(bad_rule.err.find("at column 14") != std::string::npos, bad_rule.err);
    BOOST_TEST(bad_rule.out == "");
    BOOST_TEST(cli("diff " + base.string()).exit_code == 2);
    BOOST_TEST(cli("diff " + base.string() + " " + base.string() + " --metric cycles").exit_code == 2);
    const Result missing = cli("diff " + base.string() + " /nonexistent/x.json");
    BOOST_TEST(missing.exit_code == 4);
    std::ofstream(scratch() / "not_a_profile.json") << "{\"format\": \"other\"}";
    const Result malformed = cli("diff " + base.string() + " " + (scratch() / "not_a_profile.json").string());
    BOOST_TEST(malformed.exit_code == 4);
    BOOST_TEST(malformed.err.find("is not an opscope profile") != std::string::npos, malformed.err);
    // Folded needs the call stacks: counting did not record them.
    const Result folded = cli("diff " + base.string() + " " + base.string() + " --format folded --metric samples");
    BOOST_TEST(folded.exit_code == 2);
    BOOST_TEST(folded.err.find("timing or full") != std::string::npos, folded.err);
}

BOOST_AUTO_TEST_CASE(json_and_folded_from_real_runs) {
    const fs::path program = loop_program("loop_json.opasm", false);
    const fs::path base = profiled(program, "j1.json", "timing"), next = profiled(program, "j2.json", "timing");
    const Result json = cli("diff " + base.string() + " " + next.string() + " --format json --metric instructions");
    BOOST_TEST(json.exit_code == 0, json.err);
    BOOST_TEST(json.out.find("\"format\": \"opscope-profile-diff\"") != std::string::npos);
    const Result folded = cli("diff " + base.string() + " " + next.string() + " --format folded --metric instructions");
    BOOST_TEST(folded.exit_code == 0, folded.err);
    // Identical exact counts: every line's two columns are equal.
    std::istringstream lines(folded.out);
    std::size_t n = 0;
    for (std::string line; std::getline(lines, line); ++n) {
        const std::size_t b = line.rfind(' ', line.rfind(' ') - 1);
        std::istringstream counts(line.substr(b));
        std::uint64_t x = 0, y = 0;
        counts >> x >> y;
        BOOST_TEST(x == y, line);
    }
    BOOST_TEST(n > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
