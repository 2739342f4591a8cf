// Comparing two profiles: diff() joins every group of a base and a new profile by its key (opcodes by name,
// hotspots by function + offset, lines by line, functions by name, branches, loops, call-graph edges, opcode
// pairs, sampled call stacks by their frames) and gives base, new, delta and delta % per key and metric;
// the writers (text, JSON, differential folded stacks) and the --fail-if gate read the ProfileDiff only.
//
// Exact rows (counts of every event) changed when their delta is not zero. Statistical rows (sampled
// times and samples) changed only beyond sampling noise: a two-proportion z-test on the row's share of its
// profile's samples, |z| > 1.96 (95%, two-sided); docs/exports.md ("opscope diff") gives the details.
// Names: `base` and `next` (the new profile: `new` is a keyword).
#pragma once

#include <opscope/profile.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace opscope {

// What a diff row counts. instructions: exact counts of executed instructions and of what they decide
// (branch decisions, loop iterations, opcode pairs, inclusive instructions); calls: exact call counts;
// samples: timer samples of the call stacks; time: nanoseconds (sampled, or timed per call: the group says).
enum class DiffMetric : std::uint8_t { instructions, calls, samples, time };
std::string_view to_string(DiffMetric metric);
std::optional<DiffMetric> parse_diff_metric(std::string_view name);

struct DiffRow {
    std::string group;   // the profile group: "summary", "functions", "lines", "call_stacks", ...
    std::string key;     // the group's key as text: "fib", "6", "fib+12", "main -> fib", "main;fib;fib"
    std::string detail;  // what else identifies it (a line's source text, a hotspot's opcode and line)
    DiffMetric metric = DiffMetric::instructions;
    Accuracy accuracy = Accuracy::exact;
    std::optional<std::uint64_t> base;  // absent: the key is not in the base profile (counts as 0)
    std::optional<std::uint64_t> next;  // absent: the key is not in the new profile (counts as 0)
    // Statistical rows: the samples behind the row and behind its profile (the test's n and N). A sampled
    // time row (any group's, the call stacks' included) has N = the profile's samples at their effective size
    // (TimingInfo::effective_samples: fewer than the samples where they weigh unequally) and n = its time over
    // the profile's sampled time (the stacks', else the lines', else the opcodes') times N, rounded, at most
    // N: `samples_estimated`. The call stacks' sample counts are compared as counted.
    std::optional<std::uint64_t> base_samples, next_samples, base_total_samples, next_total_samples;
    bool samples_estimated = false;
    std::optional<double> z;  // statistical rows with samples on both sides: the z statistic
    bool changed = false;     // exact: delta != 0; statistical: |z| > kNoiseZ

    std::uint64_t base_value() const { return base.value_or(0); }
    std::uint64_t next_value() const { return next.value_or(0); }
    double delta() const;                        // next - base
    std::optional<double> delta_percent() const;  // 100 * delta / base; absent when base is 0
    bool operator==(const DiffRow&) const = default;
};

inline constexpr double kNoiseZ = 1.959963984540054;  // two-sided 95% of the standard normal

struct ProfileDiff {
    std::string base_source, next_source;  // the programs' files
    std::string base_policy, next_policy;
    bool base_partial = false, next_partial = false;
    // Every row of every metric: per group in a fixed order, within a group by |delta|, largest first, then
    // by key. Summary rows (key "total") come first.
    std::vector<DiffRow> rows;
    std::vector<std::string> notes;  // groups only one profile has, different programs, ...
};

// Joins every group both profiles measured; a group one of them lacks is left out with a note.
ProfileDiff diff(const Profile& base, const Profile& next);

// The two-proportion z statistic of n1 of N1 against n2 of N2 (pooled); absent when a total is 0 or the
// pooled share is 0 or 1 (no variance: equal shares).
std::optional<double> two_proportion_z(std::uint64_t n1, std::uint64_t total1, std::uint64_t n2, std::uint64_t total2);

struct DiffOptions {
    DiffMetric metric = DiffMetric::instructions;
    std::size_t top = 10;          // text and HTML: rows per group
    double threshold_percent = 0;  // rows whose |delta| is below this percent of the group's base total are left out
};

// Writers. Text: a section per group for the chosen metric (no line wider than 100 columns); JSON: the
// "opscope-profile-diff" document, version 1 (docs/exports.md); folded: `stack base new` lines, the
// two-column differential input of flamegraph.pl, from the call stacks (samples, time) or, for
// instructions, from the hotspots as `function;function (file:line)` (the base's program file named as the new
// one's, so versions saved under different names match). Folded throws MissingGroupError when
// either profile lacks the group, and std::invalid_argument for the calls metric. HTML: one self-contained
// page (no network, readable with JavaScript off; DOM contract in docs/exports.md): both programs, the notes,
// every metric's total, the differential flame graph of the folded stacks (widths by new, red grew, blue
// shrank; a visible note instead when a profile lacks the group or the metric is calls) and a table per
// group of the metric, lines first; --threshold and --top as in text. It never throws for a missing group.
std::string format_diff_text(const ProfileDiff& diff, const DiffOptions& options = {});
std::string format_diff_json(const ProfileDiff& diff, const DiffOptions& options = {});
std::string format_diff_folded(const Profile& base, const Profile& next, DiffMetric metric);
std::string format_diff_html(const Profile& base, const Profile& next, const DiffOptions& options = {});

// --fail-if: rules separated by commas, each `[GROUP:KEY ]METRIC(>|<)(+|-)N[%]`, e.g. `instructions>+2%`,
// `calls>+0`, `functions:fib instructions>+100`, `samples<-10%`. Unscoped rules compare the metric's total
// ("summary" row). A rule trips when the delta (absolute, or % of base; a base of 0 with a positive delta is
// +infinity %) is beyond N in the rule's direction, and, for a statistical row, the change is beyond noise.
struct DiffRule {
    std::string text;   // as written
    std::string group;  // empty: the total
    std::string key;
    DiffMetric metric = DiffMetric::instructions;
    bool greater = true;  // '>' (else '<')
    double limit = 0;     // signed
    bool percent = false;
    bool operator==(const DiffRule&) const = default;
};

// A bad --fail-if expression; position() is the 1-based column in the expression.
class DiffRuleError : public std::invalid_argument {
public:
    DiffRuleError(std::size_t position, const std::string& problem);
    std::size_t position() const { return position_; }

private:
    std::size_t position_;
};

std::vector<DiffRule> parse_fail_if(std::string_view expression);

struct TrippedRule {
    DiffRule rule;
    DiffRow row;
    std::string message;  // "instructions>+0%: total 1000 -> 1001 (+1, +0.1%)"
};
// The rules that trip. Throws DiffRuleError (position 0) when a scoped rule names a key neither profile has.
std::vector<TrippedRule> evaluate_fail_if(const ProfileDiff& diff, const std::vector<DiffRule>& rules);

} // namespace opscope
