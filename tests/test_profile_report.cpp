// The policy-independent report layer: TimeHistogram, Profile merge and canonical form, the text report
// (content, alignment, 100-column limit, unmeasured sections left out, '~' on statistical figures) and the
// JSON format (keys, nulls, lossless round trip, rejection of foreign or malformed documents).
//
// Profiles are built by hand: `full_profile()` measures everything (opcode times and call stacks sampled,
// a native `print`, a timeline of the run's last events), and `counting_profile()` is what an exact
// counting policy would give for the same run.
#include <opscope/profile.hpp>
#include <opscope/report.hpp>
#include "report/text_table.hpp"  // private: the report layer's table helper

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace opscope;

namespace {

// The text report's ranking options (the others keep their defaults).
ReportOptions ranked(std::size_t top, double threshold_percent, std::uint64_t hot_loop_min) {
    ReportOptions options;
    options.top = top;
    options.threshold_percent = threshold_percent;
    options.hot_loop_min = hot_loop_min;
    return options;
}

TimeHistogram histogram_of(std::initializer_list<std::uint64_t> samples) {
    TimeHistogram h;
    for (std::uint64_t ns : samples) h.record(ns);
    return h;
}

Profile counting_profile() {
    Profile p;
    p.policy = "counting";
    p.source_file = "fib.ops";
    p.summary = Summary{Accuracy::exact, 10'000, 7, 2'000'000, 3, {}};
    p.opcodes = OpcodeGroup{Accuracy::exact,
                            std::nullopt,
                            {{"add", 4000, {}, {}},
                             {"call", 600, {}, {}},
                             {"halt", 50, {}, {}},
                             {"jz", 1950, {}, {}},
                             {"load", 3000, {}, {}},
                             {"ret", 400, {}, {}}}};
    p.instructions = InstructionGroup{Accuracy::exact,
                                      {{"fib", 1, 1, "load", 3000},
                                       {"fib", 2, 2, "jz", 1950},
                                       {"fib", 3, 2, "add", 4000},
                                       {"fib", 5, 3, "call", 300},
                                       {"fib", 9, 3, "ret", 400},
                                       {"main", 0, 5, "call", 300},
                                       {"main", 1, 5, "halt", 50}}};
    p.lines = LineGroup{Accuracy::exact,
                        std::nullopt,
                        {{1, 3000, {}, "fn fib(n) {"},
                         {2, 5950, {}, "    if n < 2 { return n }"},
                         {3, 700, {}, "    return fib(n - 1) + fib(n - 2)"},
                         {5, 350, {}, "print(fib(20))"}}};
    p.functions = FunctionGroup{Accuracy::exact, std::nullopt, {{"fib", 300, {}, {}, false, {}, {}, {}}, {"main", 1, {}, {}, false, {}, {}, {}}}};
    p.frames = FrameStats{Accuracy::exact, 301, 301, 3};
    p.stack = StackStats{Accuracy::exact, 9000, 9000, 7};
    p.branches = BranchGroup{Accuracy::exact, {{"fib", 2, 2, 1950, 1000}}};
    p.loops = LoopGroup{Accuracy::exact, std::nullopt, {{"main", 4, 9, 6, 500, {}}, {"main", 12, 15, 8, 20, {}}}};
    p.call_graph = CallGraph{Accuracy::exact,
                             std::nullopt,
                             {{"", "main", 1, {}, {}, {}}, {"fib", "fib", 299, {}, {}, {}}, {"main", "fib", 1, {}, {}, {}}}};
    p.opcode_pairs = OpcodePairGroup{
        Accuracy::exact, {{"add", "ret", 400}, {"jz", "add", 950}, {"load", "jz", 1950}}};
    // The exports' fields: where functions are, what calls cost in instructions, when the run began.
    p.summary->start_unix_ns = 1'764'000'000'000'000'000;
    p.functions->entries[0].file = p.functions->entries[1].file = "fib.ops";
    p.functions->entries[0].line = 1;  // fib
    p.functions->entries[1].line = 5;  // main
    p.functions->entries[0].inclusive_instructions = 9'650;
    p.functions->entries[1].inclusive_instructions = 10'000;
    p.call_graph->entries[0].inclusive_instructions = 10'000;  // (host) -> main: no site
    p.call_graph->entries[1].inclusive_instructions = 60'000;  // fib -> fib: more than the total
    p.call_graph->entries[1].sites = {{5, 3, 150, 40'000}, {7, 3, 149, 20'000}};
    p.call_graph->entries[2].inclusive_instructions = 9'650;
    p.call_graph->entries[2].sites = {{0, 5, 1, 9'650}};
    return p;
}

Profile full_profile() {
    Profile p = counting_profile();
    p.policy = "full";
    p.timing = TimingInfo{"rdtsc, 1 in 64 instructions with jitter", 12, 50'000, 1000, 1};
    p.opcodes->time_accuracy = Accuracy::statistical;
    const std::map<std::string, std::pair<std::uint64_t, TimeHistogram>> times{
        {"add", {8000, histogram_of({1, 2, 2, 3})}}, {"call", {30'000, histogram_of({40, 60})}},
        {"halt", {100, histogram_of({})}},           {"jz", {3900, histogram_of({2, 2})}},
        {"load", {3000, histogram_of({1, 1})}},      {"ret", {8000, histogram_of({20})}}};
    for (OpcodeStats& e : p.opcodes->entries) {
        e.time_ns = times.at(e.name).first;
        e.time_distribution = times.at(e.name).second;
    }
    p.lines->time_accuracy = Accuracy::statistical;
    for (LineStats& e : p.lines->entries) e.time_ns = e.count * 2;
    p.functions->time_accuracy = Accuracy::exact;
    p.functions->entries[0].self_time_ns = 1'900'000;  // fib
    p.functions->entries[0].total_time_ns = 1'900'000;
    p.functions->entries[1].self_time_ns = 80'000;  // main
    p.functions->entries[1].total_time_ns = 2'000'000;
    p.functions->entries.push_back({"print", 1, 20'000, 20'000, true, {}, {}, 0});
    p.loops->time_accuracy = Accuracy::exact;
    p.loops->entries[0].time_ns = 300'000;
    p.loops->entries[1].time_ns = 1000;
    p.call_graph->time_accuracy = Accuracy::exact;
    p.call_graph->entries[0].time_ns = 2'000'000;  // (host) -> main
    p.call_graph->entries[1].time_ns = 1'800'000;  // fib -> fib
    p.call_graph->entries[2].time_ns = 1'900'000;  // main -> fib
    p.call_graph->entries.push_back({"main", "print", 1, 20'000, 0, {{1, 5, 1, 0}}});
    p.memory = MemoryStats{Accuracy::exact, 10, 4096, 4, 1024, 3072, 3072, 1, 5000,
                           {{"array", 2, 2048}, {"string", 8, 2048}}};
    p.call_stacks = StackSampleGroup{Accuracy::statistical,
                                     {{{"main"}, 10, 100'000, {5}},
                                      {{"main", "[truncated]", "fib", "fib"}, 1, 10'000, {5, 0, 3, 2}},
                                      {{"main", "fib"}, 60, 600'000, {5, 2}},
                                      {{"main", "fib", "fib"}, 120, 1'200'000, {5, 3, 2}},
                                      {{"main", "print"}, 9, 90'000, {5, 0}}}};
    using Kind = TimelineEvent::Kind;
    p.timeline = Timeline{Accuracy::exact,
                          4,
                          6,
                          2,
                          {{1'900'000, Kind::exit, "fib", 2},
                           {1'960'000, Kind::enter, "print", 2, true},
                           {1'980'000, Kind::exit, "print", 2},
                           {1'999'000, Kind::exit, "main", 1}}};
    return p;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The lines of the section titled `title` (a prefix of its first line), up to the blank line ending it.
std::vector<std::string> section_of(const std::string& report, const std::string& title) {
    std::vector<std::string> section;
    bool inside = false;
    for (const std::string& line : lines_of(report)) {
        if (!inside && line.rfind(title, 0) == 0) inside = true;
        if (inside && line.empty()) break;
        if (inside) section.push_back(line);
    }
    return section;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The row of `section` whose first cell is `first`.
std::string row_starting(const std::vector<std::string>& section, const std::string& first) {
    for (const std::string& line : section)
        if (line.rfind("  " + first + " ", 0) == 0) return line;
    return "";
}

std::set<std::string> keys_of(const nlohmann::json& object) {
    std::set<std::string> keys;
    for (const auto& [key, value] : object.items()) keys.insert(key);
    return keys;
}

// A deliberately naive reference profiler: the profile of runs given as the instructions they executed
// (with each one's duration), recorded one event at a time into maps.
struct Step {
    std::string function;
    std::uint32_t offset;
    std::uint32_t line;
    std::string opcode;
    std::uint64_t ns;
};
using Run = std::vector<Step>;

Profile profile_of_runs(const std::vector<Run>& runs) {
    std::uint64_t total = 0, wall = 0;
    std::map<std::string, OpcodeStats> opcodes;
    std::map<std::pair<std::string, std::uint32_t>, InstructionStats> instructions;
    std::map<std::uint32_t, LineStats> lines;
    std::map<std::pair<std::string, std::string>, std::uint64_t> pairs;
    for (const Run& run : runs) {
        const Step* previous = nullptr;
        for (const Step& step : run) {
            ++total;
            wall += step.ns;
            OpcodeStats& op = opcodes[step.opcode];
            op.name = step.opcode;
            ++op.count;
            op.time_ns = op.time_ns.value_or(0) + step.ns;
            if (!op.time_distribution) op.time_distribution.emplace();
            op.time_distribution->record(step.ns);
            InstructionStats& in = instructions[{step.function, step.offset}];
            in = InstructionStats{step.function, step.offset, step.line, step.opcode, in.count + 1};
            LineStats& line = lines[step.line];
            line.line = step.line;
            ++line.count;
            line.time_ns = line.time_ns.value_or(0) + step.ns;
            if (previous) ++pairs[{previous->opcode, step.opcode}];
            previous = &step;
        }
    }
    Profile p;
    p.policy = "reference";
    p.summary = Summary{Accuracy::exact, total, instructions.size(), wall, 1, {}};
    p.opcodes = OpcodeGroup{Accuracy::exact, Accuracy::exact, {}};
    for (const auto& [name, stats] : opcodes) p.opcodes->entries.push_back(stats);
    p.instructions = InstructionGroup{Accuracy::exact, {}};
    for (const auto& [key, stats] : instructions) p.instructions->entries.push_back(stats);
    p.lines = LineGroup{Accuracy::exact, Accuracy::exact, {}};
    for (const auto& [line, stats] : lines) p.lines->entries.push_back(stats);
    p.opcode_pairs = OpcodePairGroup{Accuracy::exact, {}};
    for (const auto& [key, count] : pairs) p.opcode_pairs->entries.push_back({key.first, key.second, count});
    p.frames = FrameStats{Accuracy::exact, runs.size(), runs.size(), 1};
    return p;
}

// Deterministic pseudo-random runs over a fixed six-instruction program.
Run random_run(std::uint64_t seed, std::size_t length) {
    static const Step program[] = {{"main", 0, 1, "push", 0}, {"main", 1, 1, "add", 0}, {"main", 2, 2, "jz", 0},
                                   {"f", 0, 4, "load", 0},    {"f", 1, 4, "mul", 0},    {"f", 2, 5, "ret", 0}};
    Run run;
    std::uint64_t state = seed;
    for (std::size_t i = 0; i < length; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        Step step = program[(state >> 33) % 6];
        step.ns = (state >> 20) % 5000;
        run.push_back(step);
    }
    return run;
}

} // namespace

BOOST_AUTO_TEST_SUITE(time_histogram)

BOOST_AUTO_TEST_CASE(bucket_layout_is_exact_below_32_then_log_linear) {
    for (std::uint64_t ns = 0; ns < 32; ++ns) {
        BOOST_TEST(TimeHistogram::bucket_of(ns) == ns);
        BOOST_TEST(TimeHistogram::bucket_width_ns(ns) == 1u);
    }
    BOOST_TEST(TimeHistogram::bucket_of(32) == 32u);
    BOOST_TEST(TimeHistogram::bucket_of(63) == 63u);
    BOOST_TEST(TimeHistogram::bucket_of(64) == 64u);
    BOOST_TEST(TimeHistogram::bucket_of(65) == 64u);
    BOOST_TEST(TimeHistogram::bucket_lower_ns(64) == 64u);
    BOOST_TEST(TimeHistogram::bucket_width_ns(64) == 2u);
    BOOST_TEST(TimeHistogram::bucket_of(1000) == 190u);  // [992, 1008): group 5, sub 30
    BOOST_TEST(TimeHistogram::bucket_of(std::numeric_limits<std::uint64_t>::max()) ==
               TimeHistogram::kMaxBuckets - 1);
    for (std::uint64_t base = 1; base < (std::uint64_t{1} << 62); base *= 3) {
        for (std::uint64_t ns : {base - 1, base, base + 1}) {
            const std::size_t i = TimeHistogram::bucket_of(ns);
            BOOST_TEST(TimeHistogram::bucket_lower_ns(i) <= ns);
            BOOST_TEST(ns - TimeHistogram::bucket_lower_ns(i) < TimeHistogram::bucket_width_ns(i));
            BOOST_TEST(TimeHistogram::bucket_width_ns(i) * 32 <= std::max<std::uint64_t>(ns, 32));
        }
    }
}

BOOST_AUTO_TEST_CASE(percentiles_mean_min_max_of_recorded_values) {
    TimeHistogram h;
    for (std::uint64_t ns = 1; ns <= 100; ++ns) h.record(ns);
    BOOST_TEST(h.samples == 100u);
    BOOST_TEST(h.sum_ns == 5050u);
    BOOST_TEST(h.min_ns == 1u);
    BOOST_TEST(h.max_ns == 100u);
    BOOST_TEST(*h.mean_ns() == 50.5);
    BOOST_TEST(*h.percentile(50) == 50u);
    BOOST_TEST(*h.percentile(95) == 95u);  // bucket [94, 96)
    BOOST_TEST(*h.percentile(99) == 99u);  // bucket [98, 100)
    BOOST_TEST(*h.percentile(100) == 100u);
    BOOST_TEST(*h.percentile(0) == 1u);
    BOOST_TEST(h.buckets.back() != 0u);
}

BOOST_AUTO_TEST_CASE(record_with_repeat_count_equals_repeated_records) {
    TimeHistogram once, repeated;
    once.record(777, 5);
    for (int i = 0; i < 5; ++i) repeated.record(777);
    BOOST_TEST((once == repeated));
    BOOST_TEST(*once.percentile(50) == 777u);  // clamped to [min, max] inside a 16-wide bucket
}

BOOST_AUTO_TEST_CASE(percentiles_of_counts_near_two_to_the_64) {
    // The rank of the 100th percentile of 2^64 - 1 samples is 2^64 as a double, which does not convert
    // back to an integer: it must still be the last sample, not whatever the conversion gives.
    TimeHistogram h;
    h.record(1);
    h.record(9, std::numeric_limits<std::uint64_t>::max() - 1);
    BOOST_TEST(*h.percentile(100) == 9u);
    BOOST_TEST(*h.percentile(99.9) == 9u);
    BOOST_TEST(*h.percentile(0) == 1u);
}

BOOST_AUTO_TEST_CASE(empty_histogram_has_no_percentiles) {
    const TimeHistogram h;
    BOOST_TEST(!h.percentile(50).has_value());
    BOOST_TEST(!h.mean_ns().has_value());
}

BOOST_AUTO_TEST_CASE(merged_histograms_equal_the_pooled_samples_histogram) {
    TimeHistogram a, b, pooled;
    std::vector<std::uint64_t> all;
    std::uint64_t state = 42;
    for (int i = 0; i < 5000; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::uint64_t ns = (state >> 40) % (i % 2 == 0 ? 200 : 2'000'000);
        (i % 3 == 0 ? a : b).record(ns);
        pooled.record(ns);
        all.push_back(ns);
    }
    TimeHistogram ab = a, ba = b;
    ab.add(b);
    ba.add(a);
    BOOST_TEST((ab == pooled));
    BOOST_TEST((ba == pooled));
    std::sort(all.begin(), all.end());
    for (double pct : {50.0, 95.0, 99.0}) {
        BOOST_TEST(*ab.percentile(pct) == *pooled.percentile(pct));
        // Within the bucket resolution of the exact (nearest-rank) percentile of the samples.
        const std::uint64_t exact = all[static_cast<std::size_t>(pct / 100 * 5000) - 1];
        const std::uint64_t got = *ab.percentile(pct);
        BOOST_TEST(std::max(got, exact) - std::min(got, exact) <= exact / 32 + 1);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(profile_merge)

BOOST_AUTO_TEST_CASE(counts_add_maxima_take_max_lists_combine_by_key) {
    Profile a = full_profile();
    Profile b = full_profile();
    b.summary->wall_time_ns = 1'000'000;
    b.summary->max_call_depth = 9;
    b.frames->max_depth = 9;
    b.stack->max_depth = 2;
    b.memory->peak_bytes = 10'000;
    b.instructions->entries.push_back({"g", 0, 7, "nop", 5});  // only in b
    b.opcodes->entries.push_back({"nop", 5, 4, histogram_of({4})});
    b.summary->total_instructions += 5;

    const Profile m = merge(a, b);
    BOOST_TEST(m.policy == "full");
    BOOST_TEST(m.source_file == "fib.ops");
    BOOST_TEST(m.summary->total_instructions == 20'005u);
    BOOST_TEST(*m.summary->unique_instructions == 8u);  // the union, not the sum
    BOOST_TEST(*m.summary->wall_time_ns == 3'000'000u);
    BOOST_TEST(*m.summary->max_call_depth == 9u);
    BOOST_TEST(m.opcodes->entries.size() == 7u);
    const OpcodeStats& add = m.opcodes->entries[0];
    BOOST_TEST(add.name == "add");
    BOOST_TEST(add.count == 8000u);
    BOOST_TEST(*add.time_ns == 16'000u);
    BOOST_TEST(add.time_distribution->samples == 8u);
    BOOST_TEST(*add.time_distribution->percentile(50) == 2u);
    BOOST_TEST(m.opcodes->entries[5].name == "nop");
    BOOST_TEST(m.opcodes->entries[5].count == 5u);
    BOOST_TEST((m.opcodes->time_accuracy == Accuracy::statistical));
    BOOST_TEST(m.instructions->entries[4].function == "fib");
    BOOST_TEST(m.instructions->entries[4].count == 800u);  // fib+9
    BOOST_TEST(m.instructions->entries[5].function == "g");
    BOOST_TEST(m.frames->pushed == 602u);
    BOOST_TEST(m.frames->max_depth == 9u);
    BOOST_TEST(m.stack->pops == 18'000u);
    BOOST_TEST(m.stack->max_depth == 7u);
    BOOST_TEST(m.branches->entries[0].executed == 3900u);
    BOOST_TEST(m.branches->entries[0].taken == 2000u);
    BOOST_TEST(m.loops->entries[0].iterations == 1000u);
    BOOST_TEST(*m.loops->entries[0].time_ns == 600'000u);
    BOOST_TEST(m.call_graph->entries[1].calls == 598u);  // fib -> fib
    BOOST_TEST(*m.functions->entries[1].total_time_ns == 4'000'000u);  // main
    BOOST_TEST(m.lines->entries[1].count == 11'900u);
    BOOST_TEST(*m.lines->entries[1].source_text == "    if n < 2 { return n }");
    BOOST_TEST(m.opcode_pairs->entries[2].count == 3900u);
    BOOST_TEST(m.memory->allocations == 20u);
    BOOST_TEST(m.memory->peak_bytes == 10'000u);
    BOOST_TEST(m.memory->live_bytes == 6144u);
    BOOST_TEST(*m.memory->gc_time_ns == 10'000u);
    BOOST_TEST(m.memory->by_type[1].bytes == 4096u);
    BOOST_TEST(m.timing->samples == 24u);
    BOOST_TEST(*m.timing->overhead_ns == 100'000u);
    BOOST_TEST(m.timing->method == "rdtsc, 1 in 64 instructions with jitter");
}

// Inclusive instructions add (per function, edge and site by offset); a side that lacks them makes them
// unknown; the start is the earlier run's; stacks that differ only in lines stay apart.
BOOST_AUTO_TEST_CASE(inclusive_instructions_sites_lines_and_start_merge) {
    Profile a = full_profile(), b = full_profile();
    b.summary->start_unix_ns = *a.summary->start_unix_ns - 5;
    b.call_graph->entries[1].sites.push_back({9, 4, 1, 100});  // fib -> fib from another call, only in b
    *b.call_graph->entries[1].inclusive_instructions += 100;
    b.call_stacks->entries.push_back({{"main", "fib"}, 1, 10'000, {5, 3}});  // fib running another line
    const Profile m = merge(a, b);
    BOOST_TEST(*m.summary->start_unix_ns == *b.summary->start_unix_ns);
    BOOST_TEST(*m.functions->entries[0].inclusive_instructions == 19'300u);  // fib
    BOOST_TEST(*m.functions->entries[1].inclusive_instructions == 20'000u);  // main
    BOOST_TEST(*m.functions->entries[2].inclusive_instructions == 0u);       // print
    BOOST_TEST(*m.functions->entries[0].file == "fib.ops");
    BOOST_TEST(*m.functions->entries[0].line == 1u);
    const CallEdge& recursive = m.call_graph->entries[1];
    BOOST_TEST(recursive.callee == "fib");
    BOOST_TEST(*recursive.inclusive_instructions == 120'100u);
    BOOST_TEST_REQUIRE(recursive.sites.size() == 3u);
    BOOST_TEST(recursive.sites[0].offset == 5u);
    BOOST_TEST(recursive.sites[0].calls == 300u);
    BOOST_TEST(*recursive.sites[0].inclusive_instructions == 80'000u);
    BOOST_TEST(recursive.sites[2].offset == 9u);
    BOOST_TEST(*recursive.sites[2].inclusive_instructions == 100u);
    BOOST_TEST(m.call_stacks->entries.size() == 6u);  // main;fib at line 2 and at line 3
    // A side without them: unknown, not understated.
    Profile old = full_profile();
    for (FunctionStats& f : old.functions->entries) f.inclusive_instructions.reset();
    for (CallEdge& e : old.call_graph->entries) e.inclusive_instructions.reset(), e.sites.clear();
    old.summary->start_unix_ns.reset();
    const Profile mixed = merge(a, old);
    BOOST_TEST(!mixed.functions->entries[0].inclusive_instructions.has_value());
    BOOST_TEST(!mixed.call_graph->entries[1].inclusive_instructions.has_value());
    BOOST_TEST(mixed.call_graph->entries[1].sites.empty());
    BOOST_TEST(!mixed.summary->start_unix_ns.has_value());
    // Sums past 2^64 - 1 are refused, naming the site.
    Profile huge = full_profile();
    huge.call_graph->entries[1].sites[0].inclusive_instructions = std::numeric_limits<std::uint64_t>::max();
    try {
        (void)merge(a, huge);
        BOOST_ERROR("a wrapping site sum was not refused");
    } catch (const ProfileFormatError& e) {
        BOOST_TEST(e.path() == "/call_graph");
        BOOST_TEST(std::string(e.what()).find("site 5 inclusive_instructions") != std::string::npos, e.what());
    }
    // Canonical form sorts the sites by offset.
    Profile unsorted = full_profile();
    std::swap(unsorted.call_graph->entries[1].sites[0], unsorted.call_graph->entries[1].sites[1]);
    canonicalize(unsorted);
    BOOST_TEST(unsorted.call_graph->entries[1].sites[0].offset == 5u);
    // Lines must match the frames in a document.
    auto doc = nlohmann::json::parse(format_json(full_profile()));
    doc["call_stacks"][0]["lines"] = nlohmann::json::parse("[1, 2]");
    BOOST_CHECK_THROW(parse_json(doc.dump()), ProfileFormatError);
}

BOOST_AUTO_TEST_CASE(merge_of_runs_equals_the_profile_of_the_concatenated_runs) {
    const std::vector<Run> runs{random_run(1, 300), random_run(2, 1000), random_run(3, 1), random_run(4, 77)};
    std::vector<Profile> each;
    for (const Run& run : runs) each.push_back(profile_of_runs({run}));
    const Profile concatenated = profile_of_runs(runs);
    BOOST_TEST((merge(each) == concatenated));
    BOOST_TEST(concatenated.summary->total_instructions == 1378u);
    BOOST_TEST(*concatenated.summary->unique_instructions == 6u);
    // Percentiles of the merge are those of all samples together.
    const Profile merged = merge(each);
    for (std::size_t i = 0; i < merged.opcodes->entries.size(); ++i)
        for (double pct : {50.0, 95.0, 99.0})
            BOOST_TEST(*merged.opcodes->entries[i].time_distribution->percentile(pct) ==
                       *concatenated.opcodes->entries[i].time_distribution->percentile(pct));
}

BOOST_AUTO_TEST_CASE(merge_is_associative) {
    Profile a = full_profile(), b = full_profile(), c = counting_profile();
    b.policy = "timing";
    b.partial = true;
    b.error = "division by zero";
    b.memory->peak_bytes = 99;
    c.opcodes->accuracy = Accuracy::statistical;
    const Profile left = merge(merge(a, b), c);
    const Profile right = merge(a, merge(b, c));
    const Profile all[] = {a, b, c};
    BOOST_TEST((left == right));
    BOOST_TEST((left == merge(all)));
    BOOST_TEST((merge(merge(a, b), a) == merge(a, merge(b, a))));
    BOOST_TEST(left.policy == "full + timing + counting");
    BOOST_TEST(left.partial);
    BOOST_TEST(left.error == "division by zero");
}

BOOST_AUTO_TEST_CASE(what_one_input_did_not_measure_is_absent_from_the_merge) {
    const Profile m = merge(full_profile(), counting_profile());
    BOOST_TEST(!m.memory.has_value());
    BOOST_TEST(!m.timing.has_value());
    BOOST_TEST(!m.opcodes->time_accuracy.has_value());
    BOOST_TEST(!m.opcodes->entries[0].time_ns.has_value());
    BOOST_TEST(!m.opcodes->entries[0].time_distribution.has_value());
    BOOST_TEST(!m.functions->entries[0].self_time_ns.has_value());
    BOOST_TEST(m.opcodes->entries[0].count == 8000u);
    BOOST_TEST(m.policy == "full + counting");
    Profile statistical = counting_profile();
    statistical.branches->accuracy = Accuracy::statistical;
    BOOST_TEST((merge(counting_profile(), statistical).branches->accuracy == Accuracy::statistical));
}

BOOST_AUTO_TEST_CASE(canonical_form_sorts_by_key_and_combines_duplicates) {
    Profile p = counting_profile();
    std::reverse(p.opcodes->entries.begin(), p.opcodes->entries.end());
    p.opcodes->entries.push_back({"add", 1, {}, {}});
    p.lines->entries.push_back({1, 10, {}, std::nullopt});
    canonicalize(p);
    BOOST_TEST(p.opcodes->entries.size() == 6u);
    BOOST_TEST(p.opcodes->entries[0].name == "add");
    BOOST_TEST(p.opcodes->entries[0].count == 4001u);
    BOOST_TEST(p.opcodes->entries[5].name == "ret");
    BOOST_TEST(p.lines->entries[0].count == 3010u);
    BOOST_TEST(*p.lines->entries[0].source_text == "fn fib(n) {");
    const Profile one[] = {p};
    BOOST_TEST((merge(one) == p));
    BOOST_TEST((merge(std::span<const Profile>{}) == Profile{}));
}

BOOST_AUTO_TEST_CASE(natives_sample_rates_truncations_and_call_stacks_merge) {
    Profile a = full_profile(), b = full_profile();
    b.timing->truncated_stacks = 4;
    b.call_stacks->entries.insert(b.call_stacks->entries.begin() + 4, {{"main", "g"}, 5, 50'000, {}});  // only in b
    const Profile m = merge(a, b);
    BOOST_TEST(m.timing->samples == 24u);
    BOOST_TEST(*m.timing->sample_rate_hz == 1000u);
    BOOST_TEST(m.timing->truncated_stacks == 5u);
    const FunctionStats& print = m.functions->entries[2];
    BOOST_TEST(print.name == "print");
    BOOST_TEST(print.native);
    BOOST_TEST(print.calls == 2u);
    BOOST_TEST(*print.self_time_ns == 40'000u);
    BOOST_TEST(*print.total_time_ns == 40'000u);
    BOOST_TEST(!m.functions->entries[0].native);
    const StackSampleGroup& stacks = *m.call_stacks;
    BOOST_TEST((stacks.accuracy == Accuracy::statistical));
    BOOST_TEST(stacks.entries.size() == 6u);
    BOOST_TEST((stacks.entries[3].frames == std::vector<std::string>{"main", "fib", "fib"}));
    BOOST_TEST(stacks.entries[3].samples == 240u);
    BOOST_TEST(*stacks.entries[3].time_ns == 2'400'000u);
    BOOST_TEST((stacks.entries[4].frames == std::vector<std::string>{"main", "g"}));
    BOOST_TEST(stacks.entries[4].samples == 5u);
    BOOST_TEST((stacks.entries[1].frames == std::vector<std::string>{"main", "[truncated]", "fib", "fib"}));
    BOOST_TEST(stacks.entries[1].samples == 2u);

    Profile other_rate = full_profile();
    other_rate.timing->sample_rate_hz = 997;
    BOOST_TEST(!merge(a, other_rate).timing->sample_rate_hz.has_value());
    Profile no_rate = full_profile();
    no_rate.timing->sample_rate_hz.reset();
    BOOST_TEST(!merge(no_rate, a).timing->sample_rate_hz.has_value());

    // A native in one run stays native; exact stacks merged with sampled ones are statistical.
    Profile not_native = full_profile();
    not_native.functions->entries[2].native = false;
    not_native.call_stacks->accuracy = Accuracy::exact;
    BOOST_TEST(merge(not_native, a).functions->entries[2].native);
    BOOST_TEST((merge(not_native, not_native).call_stacks->accuracy == Accuracy::exact));
    BOOST_TEST((merge(not_native, a).call_stacks->accuracy == Accuracy::statistical));
    BOOST_TEST(!merge(a, counting_profile()).call_stacks.has_value());
}

BOOST_AUTO_TEST_CASE(stack_times_are_all_or_nothing) {
    Profile untimed = full_profile();
    untimed.call_stacks->entries[2].time_ns.reset();
    canonicalize(untimed);  // one entry without a time: the group has none
    for (const StackSample& e : untimed.call_stacks->entries) BOOST_TEST(!e.time_ns.has_value());
    const Profile m = merge(full_profile(), untimed);
    BOOST_TEST(m.call_stacks->entries[3].samples == 240u);
    for (const StackSample& e : m.call_stacks->entries) BOOST_TEST(!e.time_ns.has_value());
    // Duplicate stacks combine in canonical form.
    Profile duplicated = full_profile();
    duplicated.call_stacks->entries.push_back({{"main"}, 5, 50'000, {5}});
    canonicalize(duplicated);
    BOOST_TEST(duplicated.call_stacks->entries.size() == 5u);
    BOOST_TEST(duplicated.call_stacks->entries[0].samples == 15u);
    BOOST_TEST(*duplicated.call_stacks->entries[0].time_ns == 150'000u);
}

BOOST_AUTO_TEST_CASE(timelines_are_laid_end_to_end) {
    Profile a = full_profile(), b = full_profile();
    b.summary->wall_time_ns = 1'000'000;
    b.timeline->capacity = 10;
    b.timeline->time_accuracy = Accuracy::statistical;
    const Profile m = merge(a, b);
    const Timeline& t = *m.timeline;
    BOOST_TEST(t.events.size() == 8u);
    BOOST_TEST(t.capacity == 10u);
    BOOST_TEST(t.recorded == 12u);
    BOOST_TEST(t.dropped == 4u);
    BOOST_TEST((t.time_accuracy == Accuracy::statistical));
    BOOST_TEST((t.events[3] == a.timeline->events[3]));  // the first run's events are unchanged
    BOOST_TEST(t.events[4].time_ns == 2'000'000u + 1'900'000u);  // shifted by the first run's wall time
    BOOST_TEST(t.events[7].time_ns == 2'000'000u + 1'999'000u);
    BOOST_TEST(t.events[7].function == "main");
    BOOST_TEST((t.events[5].kind == TimelineEvent::Kind::enter));
    BOOST_TEST(t.dropped == t.recorded - t.events.size());
    // The second run's first event starts a window (another run: what came between was not recorded).
    BOOST_TEST(!a.timeline->events[0].window_start);
    BOOST_TEST(t.events[4].window_start);
    BOOST_TEST(t.events[5].window_start);  // b's own window start, kept

    // Without wall times, the second run starts at the first's last event.
    Profile c = full_profile(), d = full_profile();
    c.summary->wall_time_ns.reset();
    d.summary.reset();
    BOOST_TEST(merge(c, d).timeline->events[4].time_ns == 1'999'000u + 1'900'000u);
    Profile empty = c;
    empty.timeline->events.clear();
    empty.timeline->dropped = empty.timeline->recorded;
    BOOST_TEST(merge(empty, d).timeline->events[0].time_ns == 1'900'000u);  // nothing before: no shift
    // One run's length known and the other's not: no consistent placement, so no timeline.
    BOOST_TEST(!merge(a, c).timeline.has_value());
    BOOST_TEST(!merge(c, a).timeline.has_value());
    BOOST_TEST(!merge(a, counting_profile()).timeline.has_value());
}

BOOST_AUTO_TEST_CASE(timeline_merge_is_associative_and_canonical_form_keeps_event_order) {
    std::vector<Profile> runs(3, full_profile());
    runs[1].summary->wall_time_ns = 700'000;
    runs[1].timeline->events.resize(2);
    runs[1].timeline->dropped = runs[1].timeline->recorded - 2;
    runs[2].timeline->events.clear();
    runs[2].timeline->dropped = runs[2].timeline->recorded;
    for (bool wall_times : {true, false}) {
        if (!wall_times)
            for (Profile& run : runs) run.summary->wall_time_ns.reset();
        const Profile left = merge(merge(runs[0], runs[1]), runs[2]);
        const Profile right = merge(runs[0], merge(runs[1], runs[2]));
        BOOST_TEST((left == right));
        BOOST_TEST((left == merge(runs)));
        BOOST_TEST(left.timeline->events.size() == 6u);
        BOOST_TEST(left.timeline->dropped == left.timeline->recorded - 6);
        const Profile again = merge(merge(runs[2], runs[0]), runs[1]);
        BOOST_TEST((again == merge(runs[2], merge(runs[0], runs[1]))));
        BOOST_TEST(again.timeline->events[5].time_ns == (wall_times ? 4'000'000u : 1'999'000u) + 1'960'000u);
    }
    Profile reversed = full_profile();
    std::reverse(reversed.timeline->events.begin(), reversed.timeline->events.end());
    const Timeline before = *reversed.timeline;
    canonicalize(reversed);
    BOOST_TEST((*reversed.timeline == before));
    BOOST_TEST(parse_json(format_json(reversed)).timeline->events.front().function == "main");
}

// Issue 12: merging huge or hostile profiles used to wrap counts around 2^64 and report them as exact. A sum
// that does not fit is refused with a ProfileFormatError naming the field (and the entry's key in a list).
BOOST_AUTO_TEST_CASE(sums_past_two_to_the_64_are_refused_naming_the_field) {
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    const auto refusal = [](const Profile& a, const Profile& b) -> std::string {
        try {
            merge(a, b);
        } catch (const ProfileFormatError& e) {
            BOOST_TEST(std::string(e.what()).starts_with("invalid opscope profile at " + e.path() + ": "));
            return e.what();
        }
        return "(merged)";
    };
    const Profile b = full_profile();
    Profile a = full_profile();
    a.summary->total_instructions = kMax - 10'000;  // fits exactly
    BOOST_TEST(merge(a, b).summary->total_instructions == kMax);
    a.summary->total_instructions = kMax - 9'999;
    BOOST_TEST(refusal(a, b) == "invalid opscope profile at /summary/total_instructions: 18446744073709541616 + "
                                "10000 is past 2^64 - 1, so the merged value would wrap");

    a = full_profile();
    a.opcodes->entries[0].count = kMax;  // "add"
    BOOST_TEST(refusal(a, b) == "invalid opscope profile at /opcodes: 'add' count 18446744073709551615 + 4000 is "
                                "past 2^64 - 1, so the merged value would wrap");
    a = full_profile();
    a.opcodes->entries[0].time_distribution->sum_ns = kMax;
    BOOST_TEST(refusal(a, b).starts_with("invalid opscope profile at /opcodes: 'add' time_distribution/sum_ns "));
    a = full_profile();
    a.branches->entries[0].taken = a.branches->entries[0].executed = kMax;
    BOOST_TEST(refusal(a, b).starts_with("invalid opscope profile at /branches: 'fib+"), refusal(a, b));
    a = full_profile();
    a.memory->live_bytes = kMax;
    BOOST_TEST(refusal(a, b).starts_with("invalid opscope profile at /memory/live_bytes: "));
    a = full_profile();
    a.summary->wall_time_ns = kMax - 1'000'000;
    BOOST_TEST(refusal(a, b).starts_with("invalid opscope profile at /summary/wall_time_ns: "));
    Profile late = full_profile();  // its last event, shifted by the first run's wall time, passes 2^64 - 1
    late.timeline->events.back().time_ns = kMax - 5;
    BOOST_TEST(refusal(b, late).starts_with("invalid opscope profile at /timeline/events/7/time_ns: "));

    // A document listing one key twice is combined when read, and refused the same way.
    Profile twice = full_profile();
    twice.opcodes->entries.push_back(twice.opcodes->entries[0]);
    twice.opcodes->entries[0].count = kMax;
    BOOST_CHECK_THROW(canonicalize(twice), ProfileFormatError);
    nlohmann::json doc = nlohmann::json::parse(format_json(full_profile()));
    nlohmann::json copy = doc["opcodes"][0];
    copy["count"] = kMax;
    doc["opcodes"].push_back(copy);
    try {
        parse_json(doc.dump());
        BOOST_FAIL("accepted");
    } catch (const ProfileFormatError& e) {
        BOOST_TEST(e.path() == "/opcodes");
        BOOST_TEST(contains(e.what(), "'add' count 4000 + 18446744073709551615 is past 2^64 - 1"), e.what());
    }
}

BOOST_AUTO_TEST_CASE(derived_figures) {
    const Profile p = full_profile();
    BOOST_TEST(*p.summary->instructions_per_second() == 5e6);
    BOOST_TEST(*p.opcodes->entries[0].mean_ns() == 2.0);  // add: 8000 ns / 4000
    BOOST_TEST(*p.branches->entries[0].taken_rate() == 1000.0 / 1950.0);
    BOOST_TEST(*p.loops->entries[0].time_per_iteration_ns() == 600.0);
    BOOST_TEST(*total_instructions(p) == 10'000u);
    BOOST_TEST(!counting_profile().loops->entries[0].time_per_iteration_ns().has_value());
    BOOST_TEST(!total_instructions(Profile{}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(text_report)

BOOST_AUTO_TEST_CASE(table_aligns_columns_and_fits_the_width) {
    report::Table table({{"name", report::Align::left}, {"count", report::Align::right}});
    table.add({"add", "1,000"});
    table.add({"jz", "7"});
    BOOST_TEST(table.render() == "  name  count\n  add   1,000\n  jz        7\n");
    report::Table wide({{"a", report::Align::left}, {"n", report::Align::right}, {"text", report::Align::left}});
    wide.add({std::string(60, 'x'), "12", std::string(80, 'y')});
    const std::string line = lines_of(wide.render())[1];
    BOOST_TEST(line.size() == report::kReportWidth);
    BOOST_TEST(line.substr(line.size() - 3) == "...");
    BOOST_TEST(report::display_width("caf\xc3\xa9") == 4u);
    BOOST_TEST(report::cut("abcdefgh", 6) == "abc...");
}

// A key's value wider than the report wraps between words under itself, keeping its end.
BOOST_AUTO_TEST_CASE(a_wrapping_column_keeps_the_whole_cell) {
    report::Table table({{"", report::Align::left}, {"", report::Align::left, report::Column::Overflow::wrap}});
    std::string value;
    for (int i = 0; i < 30; ++i) value += "word" + std::to_string(i) + " ";
    value += "(the end)";
    table.add({"key", value});
    table.add({"short", "one line"});
    const std::vector<std::string> lines = lines_of(table.render());
    BOOST_TEST_REQUIRE(lines.size() == 4u);
    std::string joined;
    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST(report::display_width(lines[i]) <= report::kReportWidth);
        BOOST_TEST(lines[i].substr(0, 9) == (i == 0 ? "  key    " : "         "));
        joined += (i ? " " : "") + lines[i].substr(9);
    }
    BOOST_TEST(joined == value);
    BOOST_TEST(lines[3] == "  short  one line");
    BOOST_TEST((report::words("  a  b c ") == std::vector<std::string>{"a", "b", "c"}));
}

BOOST_AUTO_TEST_CASE(full_report_has_every_section_with_its_figures) {
    const std::string text = format_text(full_profile());
    BOOST_TEST_MESSAGE(text);
    BOOST_TEST(lines_of(text)[0] == "opscope profile of fib.ops (policy full)");
    const auto summary = section_of(text, "Summary");
    BOOST_TEST(row_starting(summary, "instructions") == "  instructions      10,000 (7 unique)");
    BOOST_TEST(row_starting(summary, "wall time") == "  wall time         2.00 ms");
    BOOST_TEST(row_starting(summary, "instructions/s") == "  instructions/s    5.00 M");
    BOOST_TEST(row_starting(summary, "timing") ==
               "  timing            rdtsc, 1 in 64 instructions with jitter (12 samples)");
    BOOST_TEST(row_starting(summary, "sample rate") == "  sample rate       1,000 Hz");
    BOOST_TEST(row_starting(summary, "overhead") == "  overhead          50.0 us (2.5% of wall time)");
    BOOST_TEST(row_starting(summary, "truncated stacks") ==
               "  truncated stacks  1 sample deeper than the stack walk limit");
    BOOST_TEST(row_starting(summary, "time in natives") == "  time in natives   20.0 us (1.0% of wall time)");
    BOOST_TEST(row_starting(summary, "timeline") ==
               "  timeline          4 of 6 events kept (2 dropped), 1.90 ms to 2.00 ms (span 99.0 us)");

    const auto opcodes = section_of(text, "Top opcodes");
    BOOST_TEST(opcodes[0] == "Top opcodes (6 of 6; ~ sampled, 12 samples)");
    BOOST_TEST(opcodes[1] == "  opcode  count      %      time      mean       p50       p95       p99");
    BOOST_TEST(opcodes[2] == "  add     4,000  40.0%  ~8.00 us  ~2.00 ns  ~2.00 ns  ~3.00 ns  ~3.00 ns");
    BOOST_TEST(row_starting(opcodes, "halt") ==
               "  halt       50   0.5%   ~100 ns  ~2.00 ns         -         -         -");

    const auto hotspots = section_of(text, "Hotspots");
    BOOST_TEST(hotspots.size() == 8u);  // title, header, 6 of 7 (halt is 0.5%)
    BOOST_TEST(contains(hotspots[1], "function  offset  line  opcode"));
    BOOST_TEST(hotspots[2] == "  1  fib            3     2  add     4,000  40.0%  if n < 2 { return n }");

    BOOST_TEST(section_of(text, "Hot lines")[2] == "     2  5,950  59.5%  ~11.9 us  ~59.5%  if n < 2 { return n }");
    const auto loops = section_of(text, "Hot loops");
    BOOST_TEST(loops.size() == 3u);  // the 20-iteration loop is below --hot-loop-min
    BOOST_TEST(loops[0] == "Hot loops (>= 100 iterations)");
    BOOST_TEST(loops[2] == "  main          4-9     6         500  300 us         600 ns");
    const auto branches = section_of(text, "Branches");
    BOOST_TEST(contains(branches[2], "fib            2     2     1,950  1,000    51.3%"));
    const auto functions = section_of(text, "Functions");
    BOOST_TEST(functions[1] == "  function  kind      calls  incl instr     self  self %  inclusive  incl %");
    BOOST_TEST(functions[2] == "  main      bytecode      1      10,000  80.0 us    4.0%    2.00 ms  100.0%");
    BOOST_TEST(functions[3] == "  fib       bytecode    300       9,650  1.90 ms   95.0%    1.90 ms   95.0%");
    BOOST_TEST(functions[4] == "  print     native        1           0  20.0 us    1.0%    20.0 us    1.0%");
    const auto calls = section_of(text, "Call graph");
    BOOST_TEST(calls[1] == "  caller  callee  calls  incl instr     time");
    BOOST_TEST(calls[2] == "  (host)  main        1      10,000  2.00 ms");
    BOOST_TEST(row_starting(calls, "fib") == "  fib     fib       299      60,000  1.80 ms");
    const auto stacks = section_of(text, "Call stacks");
    BOOST_TEST(stacks.size() == 7u);
    BOOST_TEST(stacks[0] == "Call stacks (top 5 of 5 by samples; ~ sampled, 200 samples; 1 truncated)");
    BOOST_TEST(stacks[1] == "  samples       %      time  stack (root first)");
    BOOST_TEST(stacks[2] == "      120  ~60.0%  ~1.20 ms  main;fib;fib");
    BOOST_TEST(stacks[6] == "        1   ~0.5%  ~10.0 us  main;[truncated];fib;fib");
    BOOST_TEST(kTruncatedFrame == "[truncated]");
    BOOST_TEST(row_starting(section_of(text, "Opcode pairs"), "load") == "  load   jz      1,950  59.1%");
    const auto frames = section_of(text, "Frames and stack");
    BOOST_TEST(frames[2] == "  call frames       301     301          3");
    BOOST_TEST(frames[3] == "  operand stack   9,000   9,000          7");
    const auto memory = section_of(text, "Memory");
    BOOST_TEST(row_starting(memory, "allocations") == "  allocations         10 (4.00 KiB)");
    BOOST_TEST(row_starting(memory, "garbage collection") == "  garbage collection  1 cycle, 5.00 us");
    BOOST_TEST(row_starting(memory, "  string") == "    string            8 (2.00 KiB)");
    BOOST_TEST(!contains(text, "Not measured"));
}

BOOST_AUTO_TEST_CASE(no_line_exceeds_100_columns) {
    Profile p = full_profile();
    const std::string long_name(150, 'f');
    p.source_file = std::string(200, 's') + ".ops";
    p.partial = true;
    p.error = std::string(300, 'e');
    p.instructions->entries[0].function = long_name;
    p.lines->entries[0].source_text = std::string(250, 'x') + "\ttab";
    p.call_graph->entries[1].caller = long_name;
    p.call_graph->entries[1].callee = long_name;
    p.memory->by_type[0].type = long_name;
    p.call_stacks->entries[0].frames = {long_name};
    for (int i = 0; i < 40; ++i) p.call_stacks->entries[1].frames.push_back("frame_" + std::to_string(i));
    p.call_stacks->entries[2].samples = std::numeric_limits<std::uint64_t>::max() / 2;
    p.timeline->recorded = std::numeric_limits<std::uint64_t>::max();
    p.timeline->dropped = p.timeline->recorded - p.timeline->events.size();
    p.timeline->events.front().time_ns = 0;
    p.timeline->events.back().time_ns = std::numeric_limits<std::uint64_t>::max();
    p.timeline->events.back().function = long_name;
    p.timing->truncated_stacks = std::numeric_limits<std::uint64_t>::max();
    p.timing->sample_rate_hz = std::numeric_limits<std::uint64_t>::max();
    for (const Profile& profile : {p, counting_profile(), Profile{}}) {
        const std::string text = format_text(profile, ranked(50, 0.0, 0));
        for (const std::string& line : lines_of(text)) {
            BOOST_TEST(report::display_width(line) <= 100u, line);
            BOOST_TEST(line.find('\t') == std::string::npos);
            BOOST_TEST((line.empty() || line.back() != ' '), line);
        }
    }
}

BOOST_AUTO_TEST_CASE(counting_report_has_no_time_or_memory_sections_and_says_so) {
    const std::string text = format_text(counting_profile());
    BOOST_TEST(!contains(text, "~"));
    BOOST_TEST(section_of(text, "Memory").empty());
    BOOST_TEST(section_of(text, "Top opcodes")[1] == "  opcode  count      %");
    BOOST_TEST(section_of(text, "Top opcodes")[2] == "  add     4,000  40.0%");
    BOOST_TEST(section_of(text, "Functions")[1] == "  function  calls  incl instr");
    BOOST_TEST(section_of(text, "Functions")[2] == "  fib         300       9,650");
    BOOST_TEST(row_starting(section_of(text, "Summary"), "timing").empty());
    for (const char* unit : {" ns", " us"}) BOOST_TEST(!contains(text, unit), unit);  // wall time is counted
    BOOST_TEST(text.substr(text.find("Not measured")) ==
               "Not measured by this policy: timing, opcode times, line times, function times, loop times,\n"
               "  call graph times, memory, call stacks, timeline.\n");
}

BOOST_AUTO_TEST_CASE(a_profile_with_nothing_measured_is_only_a_header_and_summary) {
    Profile p;
    p.policy = "null";
    const std::string text = format_text(p);
    BOOST_TEST(text ==
               "opscope profile (policy null)\n\nSummary\n  policy  null\n\n"
               "Not measured by this policy: summary, timing, opcodes, opcode times, hotspots, lines, line times,\n"
               "  functions, function times, frames, stack, branches, loops, loop times, call graph,\n"
               "  call graph times, opcode pairs, memory, call stacks, timeline.\n");
}

BOOST_AUTO_TEST_CASE(statistical_counts_are_marked) {
    Profile p = counting_profile();
    p.opcodes->accuracy = Accuracy::statistical;
    p.frames->accuracy = Accuracy::statistical;
    const std::string text = format_text(p);
    BOOST_TEST(section_of(text, "Top opcodes")[0] == "Top opcodes (6 of 6; ~ statistical estimate)");
    BOOST_TEST(section_of(text, "Top opcodes")[2] == "  add     ~4,000  40.0%");
    BOOST_TEST(section_of(text, "Frames and stack")[2] == "  call frames      ~301    ~301         ~3");
}

BOOST_AUTO_TEST_CASE(options_choose_rows_threshold_and_hot_loops) {
    const std::string text = format_text(full_profile(), ranked(2, 30.0, 10));
    BOOST_TEST(section_of(text, "Top opcodes")[0] == "Top opcodes (2 of 6; ~ sampled, 12 samples)");
    BOOST_TEST(section_of(text, "Top opcodes").size() == 4u);
    const auto hotspots = section_of(text, "Hotspots");
    BOOST_TEST(hotspots[0] == "Hotspots (instructions with >= 30.0% of all executed)");
    BOOST_TEST(hotspots.size() == 4u);  // add 40%, load 30%
    BOOST_TEST(section_of(text, "Hot loops").size() == 4u);  // both loops
    const std::string none = format_text(full_profile(), ranked(10, 50.0, 1000));
    BOOST_TEST(section_of(none, "Hotspots")[1] == "  none");
    BOOST_TEST(section_of(none, "Hot loops")[1] == "  none");
    BOOST_TEST(section_of(none, "Hot lines")[0] == "Hot lines (~ sampled, 12 samples)");
}

BOOST_AUTO_TEST_CASE(long_call_stacks_lose_their_root_end_to_fit) {
    Profile p = full_profile();
    std::vector<std::string> deep{"main"};
    for (int i = 0; i < 30; ++i) deep.push_back("recurse_" + std::to_string(i));
    p.call_stacks->entries = {{deep, 7, 70'000, {}}, {{"main", std::string(120, 'x') + "_leaf"}, 3, 30'000, {}}};
    const auto stacks = section_of(format_text(p), "Call stacks");
    BOOST_TEST(stacks.size() == 4u);
    const std::string prefix = "        7  ~70.0%  ~70.0 us  ...;";
    BOOST_TEST(stacks[2].substr(0, prefix.size()) == prefix);
    BOOST_TEST(stacks[2].substr(stacks[2].size() - 22) == ";recurse_28;recurse_29");
    BOOST_TEST(stacks[2].size() <= report::kReportWidth);
    BOOST_TEST(stacks[2].size() > report::kReportWidth - 12);  // as many frames as fit
    BOOST_TEST(!contains(stacks[2], ";main;"));
    // A leaf too long by itself keeps its end.
    BOOST_TEST(stacks[3].size() == report::kReportWidth);
    BOOST_TEST(stacks[3].substr(stacks[3].size() - 8) == "xxx_leaf");
    BOOST_TEST(contains(stacks[3], "~30.0 us  ...xxx"));
    BOOST_TEST(report::cut_front("abcdefgh", 6) == "...fgh");
    BOOST_TEST(report::cut_front("xcaf\xc3\xa9", 4) == "...\xc3\xa9");
    BOOST_TEST(report::cut_front("short", 6) == "short");
}

// Under the summary, the legend of the sampled figures; with few samples it says how to get more.
BOOST_AUTO_TEST_CASE(the_legend_says_how_to_get_more_samples_when_there_are_few) {
    // The summary's text as one line: the legend's wrapped lines joined.
    const auto summary_of = [](const Profile& profile) {
        std::string text;
        for (const std::string& line : section_of(format_text(profile), "Summary"))
            text += line.substr(std::min(line.find_first_not_of(' '), line.size())) + " ";
        return text;
    };
    Profile p = full_profile();
    p.lines->entries[0].samples = 95;  // a group with sample counts: the legend is printed
    p.timing->samples = 190;
    p.timing->effective_samples = 150.0;  // a fast start's weights: the effective size decides
    std::string summary = summary_of(p);
    BOOST_TEST(contains(summary, "(Wilson score, 190 samples, 150 effective)"), summary);
    BOOST_TEST(contains(summary, "For more samples: a longer run, or a higher rate (opscope profile --sample-rate, or "
                                 "--fast-start: 5 kHz for the first 50 ms), at more overhead."),
               summary);
    p.timing->effective_samples = 200.0;
    summary = summary_of(p);
    BOOST_TEST(contains(summary, "(Wilson score, 190 samples, 200 effective)"), summary);
    BOOST_TEST(!contains(summary, "For more samples"), summary);
    p.timing->effective_samples.reset();  // equal weights: 190 samples, 190 effective
    BOOST_TEST(contains(format_html(p), "For more samples"));
    // Sample counts without the timing they came from (a profile built by hand): no legend, no crash.
    Profile untimed = p;
    untimed.timing.reset();
    BOOST_TEST(!contains(summary_of(untimed), "Sampled times"));
    p.timing->samples = 1;
    summary = summary_of(p);
    BOOST_TEST(contains(summary, "(Wilson score, 1 sample, 1 effective)"), summary);
    BOOST_TEST(contains(summary, "rdtsc, 1 in 64 instructions with jitter (1 sample)"), summary);
}

// A profile's names and source lines come from the program (any bytecode) or from a JSON file: the text
// report escapes what a terminal would act on (escape sequences, other controls, bidirectional overrides).
BOOST_AUTO_TEST_CASE(names_and_source_text_reach_the_terminal_escaped) {
    Profile p = full_profile();
    const std::string hostile = "f\x1b[2J\x07\xe2\x80\xae" "x";
    p.source_file = hostile + ".ops";
    p.instructions->entries[0].function = hostile;
    p.lines->entries[0].source_text = "print(\"\x1b[31mred\")";
    p.call_stacks->entries[0].frames = {"main", hostile};
    p.lines->entries[1].source_text = "let s = \"h\xc3\xa9llo\";";  // well-formed UTF-8 stays as it is
    p.partial = true;
    p.error = "error: in native '" + hostile + "'";
    const std::string text = format_text(p, ranked(50, 0.0, 0));
    BOOST_TEST(std::ranges::none_of(text, [](char c) { return (c >= 0 && c < 0x20 && c != '\n') || c == 0x7f; }));
    BOOST_TEST(text.find("\xe2\x80\xae") == std::string::npos);
    BOOST_TEST(contains(text, "f\\x1b[2J\\x07\\xe2\\x80\\xaex"));
    BOOST_TEST(contains(text, "print(\"\\x1b[31mred\")"));
    BOOST_TEST(contains(text, "let s = \"h\xc3\xa9llo\";"));
}

BOOST_AUTO_TEST_CASE(summary_lines_of_natives_timing_and_timeline) {
    const auto counting = section_of(format_text(counting_profile()), "Summary");
    for (const char* row : {"timing", "sample rate", "overhead", "truncated stacks", "time in natives", "timeline"})
        BOOST_TEST(row_starting(counting, row).empty(), row);
    BOOST_TEST(section_of(format_text(counting_profile()), "Call stacks").empty());

    Profile p = full_profile();
    p.timing->sample_rate_hz.reset();
    p.timing->truncated_stacks = 0;
    p.summary->wall_time_ns.reset();
    p.functions->time_accuracy = Accuracy::statistical;
    p.functions->entries.push_back({"clock", 4, 5'000, 5'000, true, {}, {}, {}});
    p.timeline->time_accuracy = Accuracy::statistical;
    p.timing->method = "timer signal ~500 Hz, on the kernel tick's 2 ms grid, weighted by interval: running instruction + VM stack";
    const std::string text = format_text(p);
    const auto summary = section_of(text, "Summary");
    // The method is wider than the report: it wraps, and the sample count at its end stays.
    const auto timing_row = std::ranges::find(summary, row_starting(summary, "timing"));
    BOOST_TEST_REQUIRE((timing_row != summary.end() && timing_row + 1 != summary.end()));
    BOOST_TEST(*timing_row == "  timing           timer signal ~500 Hz, on the kernel tick's 2 ms grid, weighted by interval:");
    BOOST_TEST(timing_row[1] == "                   running instruction + VM stack (12 samples)");
    BOOST_TEST(row_starting(summary, "sample rate").empty());
    BOOST_TEST(row_starting(summary, "truncated stacks").empty());
    BOOST_TEST(row_starting(summary, "overhead") == "  overhead         50.0 us");
    BOOST_TEST(row_starting(summary, "time in natives") == "  time in natives  ~25.0 us");
    BOOST_TEST(row_starting(summary, "timeline") ==
               "  timeline         4 of 6 events kept (2 dropped), ~1.90 ms to ~2.00 ms (span ~99.0 us)");
    BOOST_TEST(section_of(text, "Call stacks")[0] == "Call stacks (top 5 of 5 by samples; ~ sampled, 200 samples)");
    BOOST_TEST(row_starting(section_of(text, "Functions"), "clock") ==
               "  clock     native        4           -  ~5.00 us   ~0.2%   ~5.00 us   ~0.2%");

    Profile quiet = full_profile();
    quiet.timeline->events.clear();
    quiet.timeline->dropped = 6;
    quiet.functions->entries.pop_back();  // no natives: no kind column, no time in them
    quiet.call_stacks->accuracy = Accuracy::exact;
    for (StackSample& e : quiet.call_stacks->entries) e.time_ns.reset();
    quiet.timing->truncated_stacks = 0;
    const std::string quiet_text = format_text(quiet, ranked(2, 1.0, 100));
    const auto quiet_summary = section_of(quiet_text, "Summary");
    BOOST_TEST(row_starting(quiet_summary, "timeline") == "  timeline         0 of 6 events kept (6 dropped)");
    BOOST_TEST(row_starting(quiet_summary, "time in natives") == "  time in natives  0 ns (0.0% of wall time)");
    BOOST_TEST(section_of(quiet_text, "Functions")[1] ==
               "  function  calls  incl instr     self  self %  inclusive  incl %");
    const auto stacks = section_of(quiet_text, "Call stacks");
    BOOST_TEST(stacks.size() == 4u);
    BOOST_TEST(stacks[0] == "Call stacks (top 2 of 5 by samples)");
    BOOST_TEST(stacks[1] == "  samples      %  stack (root first)");
    BOOST_TEST(stacks[3] == "       60  30.0%  main;fib");
}

BOOST_AUTO_TEST_CASE(partial_profile_says_so_under_the_title) {
    Profile p = counting_profile();
    p.partial = true;
    p.error = "division by zero\n  at fib+4";
    BOOST_TEST(lines_of(format_text(p))[1] == "PARTIAL: the run stopped with an error: division by zero");
    p.error = "error: division by zero";  // what() of a RuntimeError, which the CLI's profiles hold
    BOOST_TEST(lines_of(format_text(p))[1] == "PARTIAL: the run stopped with an error: division by zero");
    // A long error wraps, its place (at the end) kept.
    p.error = "heap limit reached: 1,048,576 bytes live of a 1,048,576-byte limit while allocating an array of 65,536 elements at main+12";
    const std::vector<std::string> lines = lines_of(format_text(p));
    BOOST_TEST(lines[1].starts_with("PARTIAL: the run stopped with an error: heap limit reached"));
    BOOST_TEST(lines[2].starts_with("  "));
    BOOST_TEST(lines[2].ends_with("at main+12"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_format)

BOOST_AUTO_TEST_CASE(keys_are_exactly_the_documented_ones) {
    const auto doc = nlohmann::json::parse(format_json(full_profile()));
    using Keys = std::set<std::string>;
    BOOST_TEST((keys_of(doc) == Keys{"format", "version", "policy", "source_file", "partial", "error", "metrics",
                                     "summary", "timing", "opcodes", "hotspots", "lines", "functions", "frames",
                                     "stack", "branches", "loops", "call_graph", "opcode_pairs", "memory",
                                     "call_stacks", "timeline"}));
    BOOST_TEST(doc["format"] == "opscope-profile");
    BOOST_TEST(doc["version"] == 1);
    BOOST_TEST((keys_of(doc["metrics"]) ==
                Keys{"summary", "opcodes", "opcode_times", "hotspots", "lines", "line_times", "functions",
                     "function_times", "frames", "stack", "branches", "loops", "loop_times", "call_graph",
                     "call_graph_times", "opcode_pairs", "memory", "call_stacks"}));
    BOOST_TEST((keys_of(doc["summary"]) == Keys{"total_instructions", "unique_instructions", "wall_time_ns",
                                                "instructions_per_second", "max_call_depth", "start_unix_ns"}));
    BOOST_TEST((keys_of(doc["timing"]) == Keys{"method", "samples", "overhead_ns", "overhead_percent",
                                               "sample_rate_hz", "truncated_stacks", "effective_samples"}));
    BOOST_TEST((keys_of(doc["opcodes"][0]) == Keys{"name", "count", "percent", "time_ns", "mean_ns", "min_ns",
                                                   "max_ns", "p50_ns", "p95_ns", "p99_ns", "time_distribution",
                                                   "samples", "time_estimate"}));
    BOOST_TEST((keys_of(doc["opcodes"][0]["time_distribution"]) ==
                Keys{"sub_bucket_bits", "samples", "sum_ns", "min_ns", "max_ns", "buckets"}));
    BOOST_TEST(
        (keys_of(doc["hotspots"][0]) == Keys{"function", "offset", "line", "opcode", "count", "percent"}));
    BOOST_TEST((keys_of(doc["lines"][0]) == Keys{"line", "count", "time_ns", "source_text", "samples", "time_estimate"}));
    BOOST_TEST((keys_of(doc["functions"][0]) == Keys{"name", "calls", "self_time_ns", "total_time_ns", "native", "file",
                                                     "line", "inclusive_instructions", "self_samples", "total_samples",
                                                     "self_time_estimate", "total_time_estimate"}));
    BOOST_TEST((keys_of(doc["frames"]) == Keys{"pushed", "popped", "max_depth"}));
    BOOST_TEST((keys_of(doc["stack"]) == Keys{"pushes", "pops", "max_depth"}));
    BOOST_TEST((keys_of(doc["branches"][0]) ==
                Keys{"function", "offset", "line", "executed", "taken", "taken_rate"}));
    BOOST_TEST((keys_of(doc["loops"][0]) ==
                Keys{"function", "start_offset", "end_offset", "line", "iterations", "time_ns", "samples",
                     "time_estimate"}));
    BOOST_TEST((keys_of(doc["call_graph"][0]) ==
                Keys{"caller", "callee", "calls", "time_ns", "inclusive_instructions", "sites", "samples",
                     "time_estimate"}));
    BOOST_TEST((keys_of(doc["call_graph"][1]["sites"][0]) == Keys{"offset", "line", "calls", "inclusive_instructions"}));
    BOOST_TEST((keys_of(doc["opcode_pairs"][0]) == Keys{"first", "second", "count"}));
    BOOST_TEST((keys_of(doc["memory"]) == Keys{"allocations", "allocated_bytes", "frees", "freed_bytes",
                                               "peak_bytes", "live_bytes", "gc_cycles", "gc_time_ns",
                                               "by_type"}));
    BOOST_TEST((keys_of(doc["call_stacks"][0]) == Keys{"frames", "samples", "time_ns", "lines", "time_estimate"}));
    BOOST_TEST((keys_of(doc["timeline"]) == Keys{"time_accuracy", "capacity", "recorded", "dropped", "events", "window", "skipped"}));
    BOOST_TEST((keys_of(doc["timeline"]["events"][0]) == Keys{"time_ns", "kind", "function", "depth", "window_start"}));
}

BOOST_AUTO_TEST_CASE(values_rankings_and_derived_figures) {
    const auto doc = nlohmann::json::parse(format_json(full_profile()));
    BOOST_TEST(doc["policy"] == "full");
    BOOST_TEST(doc["partial"] == false);
    BOOST_TEST(doc["error"].is_null());
    BOOST_TEST(doc["metrics"]["opcodes"] == "exact");
    BOOST_TEST(doc["metrics"]["opcode_times"] == "statistical");
    BOOST_TEST(doc["metrics"]["function_times"] == "exact");
    BOOST_TEST(doc["summary"]["total_instructions"] == 10'000);
    BOOST_TEST(doc["summary"]["instructions_per_second"].get<double>() == 5e6);
    BOOST_TEST(doc["timing"]["overhead_percent"].get<double>() == 2.5);
    std::vector<std::uint64_t> counts;
    for (const auto& h : doc["hotspots"]) counts.push_back(h["count"].get<std::uint64_t>());
    BOOST_TEST((counts == std::vector<std::uint64_t>{4000, 3000, 1950, 400, 300, 300, 50}));
    BOOST_TEST(doc["hotspots"][4]["function"] == "fib");  // ties in key order: fib+5 before main+0
    BOOST_TEST(doc["hotspots"][0]["percent"].get<double>() == 40.0);
    const auto& add = doc["opcodes"][0];
    BOOST_TEST(add["name"] == "add");
    BOOST_TEST(add["mean_ns"].get<double>() == 2.0);
    BOOST_TEST(add["p50_ns"] == 2);
    BOOST_TEST(add["p99_ns"] == 3);
    BOOST_TEST(add["time_distribution"]["buckets"] == nlohmann::json::parse("[[1,1],[2,2],[3,1]]"));
    BOOST_TEST(doc["opcodes"][5]["name"] == "halt");
    BOOST_TEST(doc["opcodes"][5]["p50_ns"].is_null());  // no samples
    BOOST_TEST(doc["branches"][0]["taken_rate"].get<double>() == 1000.0 / 1950.0);
    BOOST_TEST(doc["call_graph"][0]["caller"] == "");
    BOOST_TEST(doc["memory"]["by_type"][0]["type"] == "array");
}

BOOST_AUTO_TEST_CASE(unmeasured_fields_are_null) {
    const auto doc = nlohmann::json::parse(format_json(counting_profile()));
    for (const char* key : {"timing", "memory"}) BOOST_TEST(doc[key].is_null(), key);
    for (const char* key : {"opcode_times", "line_times", "function_times", "loop_times", "call_graph_times", "memory"})
        BOOST_TEST(doc["metrics"][key].is_null(), key);
    for (const char* key :
         {"time_ns", "mean_ns", "min_ns", "max_ns", "p50_ns", "p95_ns", "p99_ns", "time_distribution"})
        BOOST_TEST(doc["opcodes"][0][key].is_null(), key);
    BOOST_TEST(doc["functions"][0]["self_time_ns"].is_null());
    BOOST_TEST(doc["loops"][0]["time_ns"].is_null());
    Profile nothing;
    nothing.policy = "null";
    const auto empty = nlohmann::json::parse(format_json(nothing));
    BOOST_TEST(empty["summary"].is_null());
    BOOST_TEST(empty["opcodes"].is_null());
    BOOST_TEST(empty["source_file"].is_null());
}

BOOST_AUTO_TEST_CASE(natives_call_stacks_and_timeline_values) {
    const auto doc = nlohmann::json::parse(format_json(full_profile()));
    BOOST_TEST(doc["functions"][0]["native"] == false);
    BOOST_TEST(doc["functions"][2]["name"] == "print");
    BOOST_TEST(doc["functions"][2]["native"] == true);
    BOOST_TEST(doc["timing"]["sample_rate_hz"] == 1000);
    BOOST_TEST(doc["timing"]["truncated_stacks"] == 1);
    BOOST_TEST(doc["metrics"]["call_stacks"] == "statistical");
    BOOST_TEST(!doc["metrics"].contains("timeline"));  // its accuracy is its own time_accuracy
    BOOST_TEST(doc["call_stacks"][1]["frames"] == nlohmann::json::parse(R"(["main", "[truncated]", "fib", "fib"])"));
    BOOST_TEST(doc["call_stacks"][1]["samples"] == 1);
    BOOST_TEST(doc["call_stacks"][1]["time_ns"] == 10'000);
    const auto& timeline = doc["timeline"];
    BOOST_TEST(timeline["time_accuracy"] == "exact");
    BOOST_TEST(timeline["capacity"] == 4);
    BOOST_TEST(timeline["recorded"] == 6);
    BOOST_TEST(timeline["dropped"] == 2);
    BOOST_TEST(timeline["events"][1] ==
               nlohmann::json::parse(
                   R"({"time_ns": 1960000, "kind": "enter", "function": "print", "depth": 2, "window_start": true})"));
    BOOST_TEST(timeline["events"][0]["window_start"] == false);
    BOOST_TEST(doc["call_stacks"][1]["lines"] == nlohmann::json::parse("[5, 0, 3, 2]"));
    BOOST_TEST(doc["summary"]["start_unix_ns"] == 1'764'000'000'000'000'000u);
    BOOST_TEST(doc["functions"][0]["file"] == "fib.ops");
    BOOST_TEST(doc["functions"][0]["line"] == 1);
    BOOST_TEST(doc["functions"][0]["inclusive_instructions"] == 9'650);
    BOOST_TEST(doc["functions"][2]["file"].is_null());  // print, a native
    BOOST_TEST(doc["functions"][2]["line"].is_null());
    BOOST_TEST(doc["call_graph"][0]["sites"] == nlohmann::json::array());  // the host's call of main
    BOOST_TEST(doc["call_graph"][1]["inclusive_instructions"] == 60'000);
    BOOST_TEST(doc["call_graph"][1]["sites"][1] ==
               nlohmann::json::parse(R"({"offset": 7, "line": 3, "calls": 149, "inclusive_instructions": 20000})"));
    BOOST_TEST(timeline["events"][3]["kind"] == "exit");

    const auto counting = nlohmann::json::parse(format_json(counting_profile()));
    for (const char* key : {"call_stacks", "timeline"}) BOOST_TEST(counting[key].is_null(), key);
    BOOST_TEST(counting["metrics"]["call_stacks"].is_null());
    BOOST_TEST(counting["functions"][0]["native"] == false);
    Profile untimed = full_profile();
    untimed.timing->sample_rate_hz.reset();
    for (StackSample& e : untimed.call_stacks->entries) e.time_ns.reset();
    const auto untimed_doc = nlohmann::json::parse(format_json(untimed));
    BOOST_TEST(untimed_doc["timing"]["sample_rate_hz"].is_null());
    BOOST_TEST(untimed_doc["call_stacks"][0]["time_ns"].is_null());
}

BOOST_AUTO_TEST_CASE(documents_without_the_added_keys_still_read) {
    auto doc = nlohmann::json::parse(format_json(full_profile()));
    for (auto& function : doc["functions"]) {
        function.erase("native");
        for (const char* key : {"file", "line", "inclusive_instructions"}) function.erase(key);
    }
    for (auto& edge : doc["call_graph"]) edge.erase("inclusive_instructions"), edge.erase("sites");
    doc["summary"].erase("start_unix_ns");
    doc["timing"].erase("sample_rate_hz");
    doc["timing"].erase("truncated_stacks");
    doc.erase("call_stacks");
    doc.erase("timeline");
    doc["metrics"].erase("call_stacks");
    Profile expected = full_profile();
    expected.functions->entries[2].native = false;
    for (FunctionStats& f : expected.functions->entries) f.file.reset(), f.line.reset(), f.inclusive_instructions.reset();
    for (CallEdge& e : expected.call_graph->entries) e.inclusive_instructions.reset(), e.sites.clear();
    expected.summary->start_unix_ns.reset();
    expected.timing->sample_rate_hz.reset();
    expected.timing->truncated_stacks = 0;
    expected.call_stacks.reset();
    expected.timeline.reset();
    BOOST_TEST((parse_json(doc.dump()) == expected));
}

BOOST_AUTO_TEST_CASE(round_trip_is_lossless) {
    Profile partial = counting_profile();
    partial.partial = true;
    partial.error = "division by zero";
    partial.lines->entries[0].source_text = "caf\xc3\xa9 \"quoted\" \\ \t";
    Profile big = full_profile();
    big.opcodes->entries[0].time_distribution->record(std::numeric_limits<std::uint64_t>::max() / 4);
    big.summary->total_instructions = std::numeric_limits<std::uint64_t>::max();
    Profile nothing;
    nothing.policy = "null";
    Profile untimed_stacks = full_profile();
    for (StackSample& e : untimed_stacks.call_stacks->entries) e.time_ns.reset();
    untimed_stacks.call_stacks->accuracy = Accuracy::exact;
    untimed_stacks.timeline = Timeline{Accuracy::statistical, 0, 0, 0, {}};
    untimed_stacks.timing->sample_rate_hz.reset();
    Profile empty_groups = full_profile();
    empty_groups.call_stacks->entries.clear();
    empty_groups.timeline->events.clear();
    empty_groups.timeline->dropped = empty_groups.timeline->recorded;
    const Profile two_runs[] = {full_profile(), untimed_stacks};
    const std::vector<Run> runs{random_run(7, 500), random_run(8, 500)};
    for (const Profile& p : {full_profile(), counting_profile(), partial, big, nothing, profile_of_runs(runs),
                             untimed_stacks, empty_groups, merge(two_runs)}) {
        const std::string json = format_json(p);
        const Profile back = parse_json(json);
        BOOST_TEST((back == p), json.substr(0, 200));
        BOOST_TEST(format_json(back) == json);
    }
}

// write_json writes the document as it makes it (JsonWriter; building an ordered_json document cost more than
// the rest of a cold report): the text must stay what nlohmann's dump(2) makes of the same document, escapes,
// U+FFFD, floats and empty arrays included.
BOOST_AUTO_TEST_CASE(json_text_is_the_pretty_dump_of_its_document) {
    Profile names = full_profile();
    names.timeline->events[0].function = "quote\" back\\ tab\t bell\x07 \xc3\xa9 bad\xff";
    names.timeline->events[1].window_start = false;
    Profile one_event = full_profile();
    one_event.timeline->events.resize(1);
    Profile no_events = full_profile();
    no_events.timeline->events.clear();
    for (const Profile& p : {full_profile(), names, one_event, no_events, counting_profile()}) {
        const std::string json = format_json(p);
        const auto doc = nlohmann::ordered_json::parse(json);
        BOOST_TEST(json == doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
        if (p.timeline) BOOST_TEST(doc["timeline"]["events"].size() == p.timeline->events.size());
    }
    const auto escaped = nlohmann::ordered_json::parse(format_json(names));
    BOOST_TEST(escaped["timeline"]["events"][0]["function"] == "quote\" back\\ tab\t bell\x07 \xc3\xa9 bad\xef\xbf\xbd");
}

// write_json streams the document in chunks of 16 KiB: thousands of events (and a name longer than a chunk)
// come out as what nlohmann's dump(2) makes of the document, byte for byte, and no piece holds them all.
BOOST_AUTO_TEST_CASE(json_events_stream_in_bounded_pieces) {
    Profile many = full_profile();
    Profile long_name = full_profile();
    const std::vector<TimelineEvent> some = many.timeline->events;
    many.timeline->events.clear();
    for (int copy = 0; copy < 1000; ++copy)
        for (TimelineEvent e : some) {
            e.time_ns += static_cast<std::uint64_t>(copy) * 1000;
            many.timeline->events.push_back(e);
        }
    many.timeline->recorded = many.timeline->events.size();
    many.timeline->dropped = 0;
    long_name.timeline->events[1].function = std::string(70000, 'f');
    for (const Profile* profile : {&many, &long_name}) {
        const Profile& p = *profile;
        std::vector<std::string> pieces;
        write_json(p, [&](std::string_view piece) { pieces.emplace_back(piece); });
        std::string json;
        std::size_t largest = 0;
        for (const std::string& piece : pieces) {
            json += piece;
            largest = std::max(largest, piece.size());
        }
        BOOST_TEST(json == format_json(p));
        const auto doc = nlohmann::ordered_json::parse(json);
        BOOST_TEST(json == doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
        BOOST_TEST(doc["timeline"]["events"].size() == p.timeline->events.size());
        BOOST_TEST(largest < 16u * 1024 + 70000 + 300);  // a chunk, and one event's text past it at most
        if (profile == &many) {
            BOOST_TEST(json.size() > 4 * 64 * 1024);
            BOOST_TEST(largest <= 16u * 1024);
            BOOST_TEST(pieces.size() >= 17u);
        }
    }
}

// The JSON path parse_json's error names for `text` (which its message must contain), or "(accepted)".
std::string path_of_error(const std::string& text) {
    try {
        parse_json(text);
    } catch (const ProfileFormatError& e) {
        BOOST_TEST(contains(e.what(), e.path()));
        return e.path();
    }
    return "(accepted)";
}

// The same for `doc` after `edit`.
template <class Edit>
std::string edited_error_path(const nlohmann::json& doc, Edit edit) {
    nlohmann::json copy = doc;
    edit(copy);
    return path_of_error(copy.dump());
}

BOOST_AUTO_TEST_CASE(bad_documents_are_rejected_with_their_json_path) {
    const auto doc = nlohmann::json::parse(format_json(full_profile()));
    const auto edited = [&](auto edit) { return edited_error_path(doc, edit); };
    BOOST_TEST(path_of_error("{\"format\": ") == "");
    BOOST_TEST(path_of_error("[1, 2]") == "");
    BOOST_TEST(path_of_error("{}") == "/format");
    BOOST_TEST(edited([](auto& j) { j["format"] = "chrome-trace"; }) == "/format");
    BOOST_TEST(edited([](auto& j) { j["version"] = 2; }) == "/version");
    BOOST_TEST(edited([](auto& j) { j.erase("metrics"); }) == "/metrics");
    BOOST_TEST(edited([](auto& j) { j["opcodes"][1]["count"] = "many"; }) == "/opcodes/1/count");
    BOOST_TEST(edited([](auto& j) { j["opcodes"][1]["count"] = -3; }) == "/opcodes/1/count");
    BOOST_TEST(edited([](auto& j) { j["hotspots"][0]["offset"] = 1ULL << 40; }) == "/hotspots/0/offset");
    BOOST_TEST(edited([](auto& j) { j["metrics"]["memory"] = nullptr; }) == "/memory");
    BOOST_TEST(edited([](auto& j) { j["memory"] = nullptr; }) == "/memory");
    BOOST_TEST(edited([](auto& j) { j["metrics"]["loops"] = "roughly"; }) == "/metrics/loops");
    BOOST_TEST(edited([](auto& j) { j["metrics"]["loop_times"] = nullptr; }) == "/loops/0/time_ns");
    BOOST_TEST(edited([](auto& j) { j["opcodes"][0]["time_distribution"]["samples"] = 5; }) ==
               "/opcodes/0/time_distribution/buckets");
    BOOST_TEST(edited([](auto& j) { j["opcodes"][0]["time_distribution"]["sub_bucket_bits"] = 7; }) ==
               "/opcodes/0/time_distribution/sub_bucket_bits");
    BOOST_TEST(edited([](auto& j) { j["branches"][0]["taken"] = 5000; }) == "/branches/0/taken");
    BOOST_TEST(edited([](auto& j) { j["summary"].erase("total_instructions"); }) == "/summary/total_instructions");
    BOOST_TEST(edited([](auto& j) { j["functions"][2]["native"] = "yes"; }) == "/functions/2/native");
    BOOST_TEST(edited([](auto& j) { j["functions"][0]["native"] = nullptr; }) == "/functions/0/native");
    BOOST_TEST(edited([](auto& j) { j["timing"]["sample_rate_hz"] = "fast"; }) == "/timing/sample_rate_hz");
    BOOST_TEST(edited([](auto& j) { j["timing"]["truncated_stacks"] = -1; }) == "/timing/truncated_stacks");
    BOOST_TEST(edited([](auto& j) { j["metrics"]["call_stacks"] = nullptr; }) == "/call_stacks");
    BOOST_TEST(edited([](auto& j) { j["call_stacks"] = nullptr; }) == "/call_stacks");
    BOOST_TEST(edited([](auto& j) { j["call_stacks"] = nlohmann::json::object(); }) == "/call_stacks");
    BOOST_TEST(edited([](auto& j) { j["call_stacks"][1]["frames"] = nlohmann::json::array(); }) ==
               "/call_stacks/1/frames");
    BOOST_TEST(edited([](auto& j) { j["call_stacks"][1]["frames"][2] = 3; }) == "/call_stacks/1/frames/2");
    BOOST_TEST(edited([](auto& j) { j["call_stacks"][1]["frames"] = "main;fib"; }) == "/call_stacks/1/frames");
    BOOST_TEST(edited([](auto& j) { j["call_stacks"][0].erase("samples"); }) == "/call_stacks/0/samples");
    BOOST_TEST(edited([](auto& j) { j["call_stacks"][2]["time_ns"] = nullptr; }) == "/call_stacks/2/time_ns");
    BOOST_TEST(edited([](auto& j) {
                   for (auto& e : j["call_stacks"]) e["time_ns"] = nullptr;
                   j["call_stacks"][3]["time_ns"] = 5;
               }) == "/call_stacks/3/time_ns");
    BOOST_TEST(edited([](auto& j) { j["timeline"] = 3; }) == "/timeline");
    BOOST_TEST(edited([](auto& j) { j["timeline"]["time_accuracy"] = nullptr; }) == "/timeline/time_accuracy");
    BOOST_TEST(edited([](auto& j) { j["timeline"]["time_accuracy"] = "roughly"; }) == "/timeline/time_accuracy");
    BOOST_TEST(edited([](auto& j) { j["timeline"].erase("capacity"); }) == "/timeline/capacity");
    BOOST_TEST(edited([](auto& j) { j["timeline"]["dropped"] = 3; }) == "/timeline/dropped");
    BOOST_TEST(edited([](auto& j) { j["timeline"]["recorded"] = 3; }) == "/timeline/events");
    BOOST_TEST(edited([](auto& j) { j["timeline"]["events"] = nullptr; }) == "/timeline/events");
    BOOST_TEST(edited([](auto& j) { j["timeline"]["events"][1]["kind"] = "leave"; }) == "/timeline/events/1/kind");
    BOOST_TEST(edited([](auto& j) { j["timeline"]["events"][0]["depth"] = 1ULL << 40; }) ==
               "/timeline/events/0/depth");
    BOOST_TEST(edited([](auto& j) { j["timeline"]["events"][3]["time_ns"] = 1.5; }) ==
               "/timeline/events/3/time_ns");
    BOOST_TEST(edited([](auto& j) { j["timeline"]["events"][2].erase("function"); }) ==
               "/timeline/events/2/function");
    BOOST_TEST(edited([](auto& j) { j["extra"] = 1; }) == "(accepted)");  // unknown keys are tolerated
    try {
        parse_json("{\"format\": \"opscope-profile\", \"version\": 2}");
        BOOST_FAIL("accepted version 2");
    } catch (const std::runtime_error& e) {
        BOOST_TEST(std::string(e.what()) ==
                   "invalid opscope profile at /version: unsupported version 2 (this build reads version 1)");
    }
}

BOOST_AUTO_TEST_CASE(hostile_numbers_are_rejected_with_their_json_path) {
    const auto doc = nlohmann::json::parse(format_json(full_profile()));
    const auto edited = [&](auto edit) { return edited_error_path(doc, edit); };
    // A number nlohmann::json would not write: the edit puts a placeholder string where it goes.
    const auto with_number = [&](std::string_view number, auto edit) {
        nlohmann::json copy = doc;
        edit(copy);
        std::string text = copy.dump();
        const std::string placeholder = "\"@number@\"";
        text.replace(text.find(placeholder), placeholder.size(), number);
        return path_of_error(text);
    };
    // Out of a double's range: nlohmann::json throws out_of_range, not parse_error.
    BOOST_TEST(with_number("1e400", [](auto& j) { j["opcodes"][1]["count"] = "@number@"; }) == "/opcodes/1/count");
    BOOST_TEST(with_number("-1e400", [](auto& j) { j["timeline"]["events"][2]["time_ns"] = "@number@"; }) ==
               "/timeline/events/2/time_ns");
    BOOST_TEST(with_number("1e400", [](auto& j) {
                   j["opcodes"][0]["time_distribution"]["buckets"][0][1] = "@number@";
               }) == "/opcodes/0/time_distribution/buckets/0/1");
    // Integers beyond 64 bits, and floats where integers go, however integral.
    BOOST_TEST(with_number("18446744073709551616", [](auto& j) { j["opcodes"][1]["count"] = "@number@"; }) ==
               "/opcodes/1/count");
    BOOST_TEST(with_number("1e5", [](auto& j) { j["summary"]["total_instructions"] = "@number@"; }) ==
               "/summary/total_instructions");
    BOOST_TEST(with_number("-9223372036854775809", [](auto& j) { j["hotspots"][0]["line"] = "@number@"; }) ==
               "/hotspots/0/line");
    // A histogram whose min_ns is above its max_ns (percentile() clamps into [min_ns, max_ns]).
    BOOST_TEST(edited([](auto& j) {
                   auto& h = j["opcodes"][0]["time_distribution"];
                   h["min_ns"] = h["max_ns"].template get<std::uint64_t>() + 1;
               }) == "/opcodes/0/time_distribution/min_ns");
    // Bucket counts whose sum wraps around to the stated sample count.
    BOOST_TEST(edited([](auto& j) {
                   auto& h = j["opcodes"][0]["time_distribution"];
                   h["buckets"] = nlohmann::json::array({nlohmann::json::array({0, 1ULL << 63}),
                                                         nlohmann::json::array({1, 1ULL << 63}),
                                                         nlohmann::json::array({2, 1})});
                   h["samples"] = 1;
               }) == "/opcodes/0/time_distribution/buckets/1/1");
}

BOOST_AUTO_TEST_SUITE_END()
