// canonicalize() and merge() of Profiles: lists combine by key, groups and fields survive only when every
// input has them, timelines are laid end to end. Every rule here is associative, so a merge of N profiles
// does not depend on grouping. A count or time whose sum would pass 2^64 - 1 is refused with a
// ProfileFormatError naming it: a wrapped count would be silently wrong.
#include <opscope/profile.hpp>
#include <opscope/report.hpp>
#include "canonical_copy.hpp"
#include "timeline_spans.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

namespace opscope {
namespace {

Accuracy combine(Accuracy a, Accuracy b) {
    return a == Accuracy::statistical || b == Accuracy::statistical ? Accuracy::statistical : Accuracy::exact;
}

// Both known: combined; otherwise unknown.
std::optional<Accuracy> combine_known(std::optional<Accuracy> a, std::optional<Accuracy> b) {
    if (!a || !b) return std::nullopt;
    return combine(*a, *b);
}
// Where a sum goes in the merged document: the JSON Pointer of its field, or of its list and the entry's key.
struct Field {
    std::string path;   // e.g. "/summary/total_instructions", or "/opcodes" for an entry
    std::string entry;  // the entry's key ("add", "main+4"), empty for a group's own field
    std::string name;   // the field within the entry ("count"), empty for a group's own field
};

// a + b, or a ProfileFormatError at the field when the sum does not fit 64 bits. `at` makes the Field, only
// when it is needed.
template <class At>
std::uint64_t sum(std::uint64_t a, std::uint64_t b, At at) {
    if (b <= std::numeric_limits<std::uint64_t>::max() - a) return a + b;
    const Field field = at();
    const std::string what = field.entry.empty() ? "" : field.entry + " " + field.name + " ";
    throw ProfileFormatError(field.path, what + std::to_string(a) + " + " + std::to_string(b) +
                                             " is past 2^64 - 1, so the merged value would wrap");
}
// A group's own field.
auto at(std::string path) {
    return [path = std::move(path)] { return Field{path, {}, {}}; };
}
// A field of a list entry; `key` gives the entry's key as text.
template <class Key>
auto at(std::string_view list, Key key, std::string_view name) {
    return [=] { return Field{"/" + std::string(list), key(), std::string(name)}; };
}

template <class At>
std::optional<std::uint64_t> add_known(std::optional<std::uint64_t> a, std::optional<std::uint64_t> b, At where) {
    if (!a || !b) return std::nullopt;
    return sum(*a, *b, where);
}
std::optional<std::uint64_t> max_known(std::optional<std::uint64_t> a, std::optional<std::uint64_t> b) {
    if (!a || !b) return std::nullopt;
    return std::max(*a, *b);
}
// Both known and equal: that value; otherwise unknown.
std::optional<std::uint64_t> equal_known(std::optional<std::uint64_t> a, std::optional<std::uint64_t> b) {
    if (!a || !b || *a != *b) return std::nullopt;
    return a;
}

// Entry level, where a missing side means "this key did not occur there": whatever is known adds.
template <class At>
void add_into(std::optional<std::uint64_t>& into, const std::optional<std::uint64_t>& other, At where) {
    if (other) into = sum(into.value_or(0), *other, where);
}
// Bucket counts add up to `samples`, so when the samples fit, so does every bucket.
template <class SamplesAt, class SumAt>
void add_into(std::optional<TimeHistogram>& into, const std::optional<TimeHistogram>& other, SamplesAt samples_at,
              SumAt sum_at) {
    if (!other) return;
    if (!into) into.emplace();
    (void)sum(into->samples, other->samples, samples_at);
    (void)sum(into->sum_ns, other->sum_ns, sum_at);
    into->add(*other);
}
// Both entries known: the sum; either unknown: unknown (an exact total cannot be had from one side).
template <class At>
void add_both(std::optional<std::uint64_t>& into, const std::optional<std::uint64_t>& other, At where) {
    if (!into || !other) into.reset();
    else into = sum(*into, *other, where);
}
std::optional<std::uint64_t> min_known(std::optional<std::uint64_t> a, std::optional<std::uint64_t> b) {
    if (!a || !b) return std::nullopt;
    return std::min(*a, *b);
}
void keep_first_line(std::uint32_t& into, std::uint32_t other) {
    if (into == 0) into = other;
}

// The distinct non-empty parts of `a` then `b` (split on `separator`), in first-seen order.
std::string join_distinct(std::string_view a, std::string_view b, std::string_view separator) {
    std::vector<std::string_view> parts;
    for (std::string_view text : {a, b}) {
        while (!text.empty()) {
            const std::size_t end = std::min(text.find(separator), text.size());
            const std::string_view part = text.substr(0, end);
            if (!part.empty() && std::find(parts.begin(), parts.end(), part) == parts.end()) parts.push_back(part);
            text.remove_prefix(std::min(text.size(), end + separator.size()));
        }
    }
    std::string joined;
    for (std::string_view part : parts) {
        if (!joined.empty()) joined += separator;
        joined += part;
    }
    return joined;
}

// Sorts `entries` by `key` (stable, so the earlier input wins "first" attributes) and folds equal keys.
template <class Entry, class Key, class Add>
void combine_by_key(std::vector<Entry>& entries, Key key, Add add) {
    std::stable_sort(entries.begin(), entries.end(),
                     [&](const Entry& x, const Entry& y) { return key(x) < key(y); });
    std::vector<Entry> combined;
    combined.reserve(entries.size());
    for (Entry& entry : entries) {
        if (!combined.empty() && key(combined.back()) == key(entry))
            add(combined.back(), entry);
        else
            combined.push_back(std::move(entry));
    }
    entries = std::move(combined);
}

template <class Entry>
std::vector<Entry> concat(const std::vector<Entry>& a, const std::vector<Entry>& b) {
    std::vector<Entry> all = a;
    all.insert(all.end(), b.begin(), b.end());
    return all;
}

// --- each group: normalize (combine keys, drop times the group does not measure) and merge ---

void normalize(OpcodeGroup& group) {
    combine_by_key(group.entries, [](const OpcodeStats& e) { return std::tie(e.name); },
                   [](OpcodeStats& into, const OpcodeStats& e) {
                       const auto key = [&] { return "'" + into.name + "'"; };
                       into.count = sum(into.count, e.count, at("opcodes", key, "count"));
                       add_into(into.time_ns, e.time_ns, at("opcodes", key, "time_ns"));
                       add_into(into.samples, e.samples, at("opcodes", key, "samples"));
                       add_into(into.time_distribution, e.time_distribution,
                                at("opcodes", key, "time_distribution/samples"),
                                at("opcodes", key, "time_distribution/sum_ns"));
                   });
    if (!group.time_accuracy)
        for (OpcodeStats& e : group.entries) e.time_ns.reset(), e.time_distribution.reset(), e.samples.reset();
}

void normalize(InstructionGroup& group) {
    combine_by_key(group.entries, [](const InstructionStats& e) { return std::tie(e.function, e.offset); },
                   [](InstructionStats& into, const InstructionStats& e) {
                       const auto key = [&] { return "'" + into.function + "+" + std::to_string(into.offset) + "'"; };
                       into.count = sum(into.count, e.count, at("hotspots", key, "count"));
                       keep_first_line(into.line, e.line);
                       if (into.opcode.empty()) into.opcode = e.opcode;
                   });
}

void normalize(LineGroup& group) {
    combine_by_key(group.entries, [](const LineStats& e) { return std::tie(e.line); },
                   [](LineStats& into, const LineStats& e) {
                       const auto key = [&] { return "line " + std::to_string(into.line); };
                       into.count = sum(into.count, e.count, at("lines", key, "count"));
                       add_into(into.time_ns, e.time_ns, at("lines", key, "time_ns"));
                       add_into(into.samples, e.samples, at("lines", key, "samples"));
                       if (!into.source_text) into.source_text = e.source_text;
                   });
    if (!group.time_accuracy)
        for (LineStats& e : group.entries) e.time_ns.reset(), e.samples.reset();
}

void normalize(FunctionGroup& group) {
    combine_by_key(group.entries, [](const FunctionStats& e) { return std::tie(e.name); },
                   [](FunctionStats& into, const FunctionStats& e) {
                       const auto key = [&] { return "'" + into.name + "'"; };
                       into.calls = sum(into.calls, e.calls, at("functions", key, "calls"));
                       add_into(into.self_time_ns, e.self_time_ns, at("functions", key, "self_time_ns"));
                       add_into(into.total_time_ns, e.total_time_ns, at("functions", key, "total_time_ns"));
                       add_into(into.self_samples, e.self_samples, at("functions", key, "self_samples"));
                       add_into(into.total_samples, e.total_samples, at("functions", key, "total_samples"));
                       into.native = into.native || e.native;
                       if (!into.file) into.file = e.file;
                       if (!into.line) into.line = e.line;
                       add_both(into.inclusive_instructions, e.inclusive_instructions,
                                at("functions", key, "inclusive_instructions"));
                   });
    if (!group.time_accuracy)
        for (FunctionStats& e : group.entries)
            e.self_time_ns.reset(), e.total_time_ns.reset(), e.self_samples.reset(), e.total_samples.reset();
}

void normalize(BranchGroup& group) {
    combine_by_key(group.entries, [](const BranchStats& e) { return std::tie(e.function, e.offset); },
                   [](BranchStats& into, const BranchStats& e) {
                       const auto key = [&] { return "'" + into.function + "+" + std::to_string(into.offset) + "'"; };
                       into.executed = sum(into.executed, e.executed, at("branches", key, "executed"));
                       into.taken = sum(into.taken, e.taken, at("branches", key, "taken"));
                       keep_first_line(into.line, e.line);
                   });
}

void normalize(LoopGroup& group) {
    combine_by_key(group.entries,
                   [](const LoopStats& e) { return std::tie(e.function, e.start_offset, e.end_offset); },
                   [](LoopStats& into, const LoopStats& e) {
                       const auto key = [&] {
                           return "'" + into.function + "+" + std::to_string(into.start_offset) + ".." +
                                  std::to_string(into.end_offset) + "'";
                       };
                       into.iterations = sum(into.iterations, e.iterations, at("loops", key, "iterations"));
                       add_into(into.time_ns, e.time_ns, at("loops", key, "time_ns"));
                       add_into(into.samples, e.samples, at("loops", key, "samples"));
                       keep_first_line(into.line, e.line);
                   });
    if (!group.time_accuracy)
        for (LoopStats& e : group.entries) e.time_ns.reset(), e.samples.reset();
}

// An edge's sites combine by offset; sites known on one side only (the other's empty: unknown) are dropped.
void normalize_sites(CallEdge& edge) {
    const auto edge_key = "'" + edge.caller + "' -> '" + edge.callee + "'";
    combine_by_key(edge.sites, [](const CallSite& s) { return s.offset; }, [&](CallSite& into, const CallSite& s) {
        const auto key = [&] { return edge_key + " site " + std::to_string(into.offset); };
        into.calls = sum(into.calls, s.calls, at("call_graph", key, "calls"));
        add_both(into.inclusive_instructions, s.inclusive_instructions,
                 at("call_graph", key, "inclusive_instructions"));
        keep_first_line(into.line, s.line);
    });
}

void normalize(CallGraph& group) {
    combine_by_key(group.entries, [](const CallEdge& e) { return std::tie(e.caller, e.callee); },
                   [](CallEdge& into, const CallEdge& e) {
                       const auto key = [&] { return "'" + into.caller + "' -> '" + into.callee + "'"; };
                       into.calls = sum(into.calls, e.calls, at("call_graph", key, "calls"));
                       add_into(into.time_ns, e.time_ns, at("call_graph", key, "time_ns"));
                       add_into(into.samples, e.samples, at("call_graph", key, "samples"));
                       add_both(into.inclusive_instructions, e.inclusive_instructions,
                                at("call_graph", key, "inclusive_instructions"));
                       if (into.sites.empty() || e.sites.empty()) into.sites.clear();
                       else into.sites.insert(into.sites.end(), e.sites.begin(), e.sites.end());
                   });
    for (CallEdge& e : group.entries) normalize_sites(e);
    if (!group.time_accuracy)
        for (CallEdge& e : group.entries) e.time_ns.reset(), e.samples.reset();
}

void normalize(OpcodePairGroup& group) {
    combine_by_key(group.entries, [](const OpcodePair& e) { return std::tie(e.first, e.second); },
                   [](OpcodePair& into, const OpcodePair& e) {
                       const auto key = [&] { return "'" + into.first + " " + into.second + "'"; };
                       into.count = sum(into.count, e.count, at("opcode_pairs", key, "count"));
                   });
}

// Times are all or nothing: one entry without a time (in any input) drops them all.
void normalize(StackSampleGroup& group) {
    const bool timed = std::all_of(group.entries.begin(), group.entries.end(),
                                   [](const StackSample& e) { return e.time_ns.has_value(); });
    // A frame's line is part of the key: the same functions called from other lines are another stack.
    combine_by_key(group.entries, [](const StackSample& e) { return std::tie(e.frames, e.lines); },
                   [](StackSample& into, const StackSample& e) {
                       const auto key = [&] {
                           std::string folded;
                           for (const std::string& frame : into.frames) folded += (folded.empty() ? "" : ";") + frame;
                           return "'" + folded + "'";
                       };
                       into.samples = sum(into.samples, e.samples, at("call_stacks", key, "samples"));
                       add_into(into.time_ns, e.time_ns, at("call_stacks", key, "time_ns"));
                   });
    if (!timed)
        for (StackSample& e : group.entries) e.time_ns.reset();
}

void normalize(MemoryStats& memory) {
    combine_by_key(memory.by_type, [](const TypeMemory& e) { return std::tie(e.type); },
                   [](TypeMemory& into, const TypeMemory& e) {
                       const auto key = [&] { return "'" + into.type + "'"; };
                       into.allocations = sum(into.allocations, e.allocations, at("memory/by_type", key, "allocations"));
                       into.bytes = sum(into.bytes, e.bytes, at("memory/by_type", key, "bytes"));
                   });
}

// Groups whose merge is "accuracies combine, entry lists concatenate, then normalize".
template <class Group>
Group merge_group(const Group& a, const Group& b) {
    Group merged;
    merged.accuracy = combine(a.accuracy, b.accuracy);
    if constexpr (requires { a.time_accuracy; })
        merged.time_accuracy = combine_known(a.time_accuracy, b.time_accuracy);
    merged.entries = concat(a.entries, b.entries);
    normalize(merged);
    return merged;
}

Summary merge_group(const Summary& a, const Summary& b) {
    Summary merged;
    merged.accuracy = combine(a.accuracy, b.accuracy);
    merged.total_instructions =
        sum(a.total_instructions, b.total_instructions, at("/summary/total_instructions"));
    merged.wall_time_ns = add_known(a.wall_time_ns, b.wall_time_ns, at("/summary/wall_time_ns"));
    merged.max_call_depth = max_known(a.max_call_depth, b.max_call_depth);
    merged.start_unix_ns = min_known(a.start_unix_ns, b.start_unix_ns);  // the earlier run's start
    // unique_instructions is recounted by merge() when the instructions are known.
    return merged;
}

TimingInfo merge_group(const TimingInfo& a, const TimingInfo& b) {
    return TimingInfo{join_distinct(a.method, b.method, "; "), sum(a.samples, b.samples, at("/timing/samples")),
                      add_known(a.overhead_ns, b.overhead_ns, at("/timing/overhead_ns")),
                      equal_known(a.sample_rate_hz, b.sample_rate_hz),
                      sum(a.truncated_stacks, b.truncated_stacks, at("/timing/truncated_stacks")),
                      std::nullopt};  // effective_samples: merge() recomputes it, it needs the wall times
}

FrameStats merge_group(const FrameStats& a, const FrameStats& b) {
    return FrameStats{combine(a.accuracy, b.accuracy), sum(a.pushed, b.pushed, at("/frames/pushed")),
                      sum(a.popped, b.popped, at("/frames/popped")), std::max(a.max_depth, b.max_depth)};
}

StackStats merge_group(const StackStats& a, const StackStats& b) {
    return StackStats{combine(a.accuracy, b.accuracy), sum(a.pushes, b.pushes, at("/stack/pushes")),
                      sum(a.pops, b.pops, at("/stack/pops")), std::max(a.max_depth, b.max_depth)};
}

MemoryStats merge_group(const MemoryStats& a, const MemoryStats& b) {
    MemoryStats merged;
    merged.accuracy = combine(a.accuracy, b.accuracy);
    merged.allocations = sum(a.allocations, b.allocations, at("/memory/allocations"));
    merged.allocated_bytes = sum(a.allocated_bytes, b.allocated_bytes, at("/memory/allocated_bytes"));
    merged.frees = sum(a.frees, b.frees, at("/memory/frees"));
    merged.freed_bytes = sum(a.freed_bytes, b.freed_bytes, at("/memory/freed_bytes"));
    merged.peak_bytes = std::max(a.peak_bytes, b.peak_bytes);
    merged.live_bytes = sum(a.live_bytes, b.live_bytes, at("/memory/live_bytes"));  // each run's heap is its own
    merged.gc_cycles = sum(a.gc_cycles, b.gc_cycles, at("/memory/gc_cycles"));
    merged.gc_time_ns = add_known(a.gc_time_ns, b.gc_time_ns, at("/memory/gc_time_ns"));
    merged.by_type = concat(a.by_type, b.by_type);
    normalize(merged);
    return merged;
}

// The second run's timeline after the first's. Its times shift by the first run's length: its wall time
// when both runs know theirs, else its last event's time. When only one knows its wall time there is no
// consistent length to shift by (and the merge will know no wall time), so there is no timeline: this
// keeps the merge associative.
std::optional<Timeline> merge_timelines(const Profile& first, const Profile& second) {
    if (!first.timeline || !second.timeline) return std::nullopt;
    const auto wall_time = [](const Profile& p) { return p.summary ? p.summary->wall_time_ns : std::nullopt; };
    const std::optional<std::uint64_t> first_wall = wall_time(first);
    if (first_wall.has_value() != wall_time(second).has_value()) return std::nullopt;
    const Timeline& a = *first.timeline;
    const Timeline& b = *second.timeline;
    exports::require_events(a, "merge");
    exports::require_events(b, "merge");
    const std::uint64_t shift = first_wall ? *first_wall : a.events.empty() ? 0 : a.events.back().time_ns;
    Timeline merged;
    merged.time_accuracy = combine(a.time_accuracy, b.time_accuracy);
    merged.capacity = std::max(a.capacity, b.capacity);
    merged.recorded = sum(a.recorded, b.recorded, at("/timeline/recorded"));
    merged.dropped = sum(a.dropped, b.dropped, at("/timeline/dropped"));
    merged.window = std::max(a.window, b.window);
    merged.skipped = sum(a.skipped, b.skipped, at("/timeline/skipped"));
    merged.events = concat(a.events, b.events);
    if (a.events.size() < merged.events.size()) merged.events[a.events.size()].window_start = true;  // another run
    for (std::size_t i = a.events.size(); i < merged.events.size(); ++i)
        merged.events[i].time_ns =
            sum(merged.events[i].time_ns, shift,
                [i] { return Field{"/timeline/events/" + std::to_string(i) + "/time_ns", {}, {}}; });
    return merged;
}

template <class Group>
std::optional<Group> merge_optional(const std::optional<Group>& a, const std::optional<Group>& b) {
    if (!a || !b) return std::nullopt;
    return merge_group(*a, *b);
}

template <class Group>
void normalize_optional(std::optional<Group>& group) {
    if (group) normalize(*group);
}

} // namespace

void canonicalize(Profile& profile) {
    normalize_optional(profile.opcodes);
    normalize_optional(profile.instructions);
    normalize_optional(profile.lines);
    normalize_optional(profile.functions);
    normalize_optional(profile.branches);
    normalize_optional(profile.loops);
    normalize_optional(profile.call_graph);
    normalize_optional(profile.opcode_pairs);
    normalize_optional(profile.memory);
    normalize_optional(profile.call_stacks);
    // The timeline's events are a sequence: already canonical.
}

namespace report {

Profile canonical_copy_without_events(const Profile& profile) {
    // Every field by name: a field added to Profile or Timeline stops this from compiling until it is copied.
    const auto& [policy, source_file, partial, error, summary, timing, opcodes, instructions, lines, functions, frames,
                 stack, branches, loops, call_graph, opcode_pairs, memory, call_stacks, timeline] = profile;
    Profile copy{policy,    source_file, partial,  error,      summary,      timing, opcodes,     instructions, lines,
                 functions, frames,      stack,    branches,   loops,        call_graph,   opcode_pairs, memory,
                 call_stacks, std::nullopt};
    if (timeline) {
        const auto& [time_accuracy, capacity, recorded, dropped, events, window, skipped, events_left_out] = *timeline;
        (void)events;  // not copied: see canonical_copy.hpp
        copy.timeline = Timeline{time_accuracy, capacity, recorded, dropped, {}, window, skipped, events_left_out};
    }
    canonicalize(copy);
    return copy;
}

} // namespace report

// Kish's effective sample size of the pooled samples. Each run's weights add up to its wall time T with
// effective size n, so their squares add up to T^2 / n; pooled: (T1 + T2)^2 / (T1^2 / n1 + T2^2 / n2).
// Without both wall times, or when both runs weighed their samples equally (no effective_samples): absent,
// and the merged samples are the effective size.
std::optional<double> merged_effective_samples(const Profile& first, const Profile& second) {
    if (!first.timing->effective_samples && !second.timing->effective_samples) return std::nullopt;
    const auto wall = [](const Profile& p) { return p.summary ? p.summary->wall_time_ns : std::nullopt; };
    const auto n1 = effective_samples(first), n2 = effective_samples(second);
    const auto t1 = wall(first), t2 = wall(second);
    if (!t1 || !t2) return std::nullopt;
    const double a = static_cast<double>(*t1), b = static_cast<double>(*t2);
    double squares = 0;
    if (a > 0) squares += *n1 > 0 ? a * a / *n1 : 0;
    if (b > 0) squares += *n2 > 0 ? b * b / *n2 : 0;
    const double pooled = squares > 0 ? (a + b) * (a + b) / squares : *n1 + *n2;
    if (!std::isfinite(pooled)) return std::nullopt;  // a hostile document's sizes near the double's range
    return pooled;
}

Profile merge(const Profile& first, const Profile& second) {
    Profile merged;
    merged.policy = join_distinct(first.policy, second.policy, " + ");
    merged.source_file = join_distinct(first.source_file, second.source_file, ", ");
    merged.partial = first.partial || second.partial;
    merged.error = join_distinct(first.error, second.error, "\n");
    merged.summary = merge_optional(first.summary, second.summary);
    merged.timing = merge_optional(first.timing, second.timing);
    if (merged.timing) merged.timing->effective_samples = merged_effective_samples(first, second);
    merged.opcodes = merge_optional(first.opcodes, second.opcodes);
    merged.instructions = merge_optional(first.instructions, second.instructions);
    merged.lines = merge_optional(first.lines, second.lines);
    merged.functions = merge_optional(first.functions, second.functions);
    merged.frames = merge_optional(first.frames, second.frames);
    merged.stack = merge_optional(first.stack, second.stack);
    merged.branches = merge_optional(first.branches, second.branches);
    merged.loops = merge_optional(first.loops, second.loops);
    merged.call_graph = merge_optional(first.call_graph, second.call_graph);
    merged.opcode_pairs = merge_optional(first.opcode_pairs, second.opcode_pairs);
    merged.memory = merge_optional(first.memory, second.memory);
    merged.call_stacks = merge_optional(first.call_stacks, second.call_stacks);
    merged.timeline = merge_timelines(first, second);
    if (merged.summary && merged.instructions)
        merged.summary->unique_instructions = static_cast<std::uint64_t>(
            std::count_if(merged.instructions->entries.begin(), merged.instructions->entries.end(),
                          [](const InstructionStats& e) { return e.count > 0; }));
    return merged;
}

Profile merge(std::span<const Profile> profiles) {
    if (profiles.empty()) return Profile{};
    Profile merged = profiles.front();
    canonicalize(merged);
    for (const Profile& next : profiles.subspan(1)) merged = merge(merged, next);
    return merged;
}

} // namespace opscope
