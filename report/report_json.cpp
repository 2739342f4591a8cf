// format_json: a Profile as the versioned "opscope-profile" JSON document (docs/profile-format.md).
// Every group key is always written, null when not measured; so is every field a group can lack. Derived
// figures (percent, mean_ns, p50_ns, taken_rate, the *_estimate objects, ...) are written for readers and
// ignored by parse_json.
#include <opscope/report.hpp>
#include "canonical_copy.hpp"
#include "json_writer.hpp"
#include "timeline_spans.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string_view>
#include <tuple>

namespace opscope {
namespace {

using json::ChunkedOutput;
using json::put_literal;

// The timeline's events as `dump(2)` writes an array at the depth of timeline.events: the same text, byte
// for byte (test_profile_report checks it against nlohmann's dump of the parsed document), without a Json
// object per event. A Full profile of a 30 ms run holds some 2,800 events; as Json objects (five keys each,
// ordered_json) they took 16,000 instructions an event, 10 ms: more than the profiler's whole cost.
void write_timeline_events(const std::vector<TimelineEvent>& events, ChunkedOutput& out) {
    if (events.empty()) {
        out.write("[]");
        return;
    }
    // The layout around an event's values, in order: time_ns, kind, function, depth, window_start.
    static constexpr char kOpen[] = "      {\n        \"time_ns\": ", kKind[] = ",\n        \"kind\": \"",
                          kFunction[] = "\",\n        \"function\": ", kDepth[] = ",\n        \"depth\": ",
                          kWindowStart[] = ",\n        \"window_start\": ", kNext[] = "\n      },\n",
                          kLast[] = "\n      }\n    ]";
    // A bound: each size counts its terminating NUL, and an event ends with kNext or kLast, not both.
    constexpr std::size_t kLayout = sizeof kOpen + sizeof kKind + sizeof kFunction + sizeof kDepth + sizeof kWindowStart +
                                    sizeof kNext + sizeof kLast;
    constexpr std::size_t kValues = 20 + 5 + 10 + 5;  // at most: a 64-bit number, a kind ("enter"), a 32-bit number, "false"
    // Each function name escaped once, as dump() escapes it (invalid UTF-8 replaced).
    std::map<std::string_view, std::string> quoted;
    const std::string* name = nullptr;
    out.write("[\n");
    for (std::size_t i = 0; i < events.size(); ++i) {
        const TimelineEvent& e = events[i];
        if (i == 0 || e.function != events[i - 1].function) {
            auto found = quoted.find(e.function);
            if (found == quoted.end())
                found = quoted.emplace(e.function, json::quoted(e.function)).first;
            name = &found->second;
        }
        char*& at = out.reserve(kLayout + kValues + name->size());
        const auto number = [&at](std::uint64_t value) { at = std::to_chars(at, at + 20, value).ptr; };
        put_literal(at, kOpen);
        number(e.time_ns);
        put_literal(at, kKind);
        const std::string_view kind = to_string(e.kind);
        std::memcpy(at, kind.data(), kind.size());
        at += kind.size();
        put_literal(at, kFunction);
        std::memcpy(at, name->data(), name->size());
        at += name->size();
        put_literal(at, kDepth);
        number(e.depth);
        put_literal(at, kWindowStart);
        if (e.window_start) put_literal(at, "true");
        else put_literal(at, "false");
        if (i + 1 < events.size()) put_literal(at, kNext);
        else put_literal(at, kLast);
    }
}


template <class Group>
std::optional<std::string_view> accuracy_name(const std::optional<Group>& group) {
    return group ? std::optional(to_string(group->accuracy)) : std::nullopt;
}
template <class Group>
std::optional<std::string_view> time_accuracy_name(const std::optional<Group>& group) {
    return group && group->time_accuracy ? std::optional(to_string(*group->time_accuracy)) : std::nullopt;
}

std::optional<double> percent_of(std::uint64_t count, std::optional<std::uint64_t> total) {
    if (!total || *total == 0) return std::nullopt;
    return 100.0 * static_cast<double>(count) / static_cast<double>(*total);
}

// A sampled time's share of the wall time with its 95% interval (SampledShare), or null when not sampled.
auto estimate(const Profile& p, std::optional<std::uint64_t> time_ns, std::optional<std::uint64_t> samples) {
    return [&p, time_ns, samples](json::Writer& w) {
        const auto s = sampled_share(p, time_ns, samples);
        if (!s) {
            w.value(nullptr);
            return;
        }
        w.begin_object()
            .field("samples", s->samples)
            .field("percent", 100 * s->share)
            .field("percent_low", 100 * s->low)
            .field("percent_high", 100 * s->high)
            .field("time_low_ns", static_cast<std::uint64_t>(std::llround(s->time_low_ns)))
            .field("time_high_ns", static_cast<std::uint64_t>(std::llround(s->time_high_ns)))
            .field("meaningful", s->meaningful)
            .end_object();
    };
}

void write_metrics(json::Writer& w, const Profile& p) {
    w.begin_object()
        .field("summary", accuracy_name(p.summary))
        .field("opcodes", accuracy_name(p.opcodes))
        .field("opcode_times", time_accuracy_name(p.opcodes))
        .field("hotspots", accuracy_name(p.instructions))
        .field("lines", accuracy_name(p.lines))
        .field("line_times", time_accuracy_name(p.lines))
        .field("functions", accuracy_name(p.functions))
        .field("function_times", time_accuracy_name(p.functions))
        .field("frames", accuracy_name(p.frames))
        .field("stack", accuracy_name(p.stack))
        .field("branches", accuracy_name(p.branches))
        .field("loops", accuracy_name(p.loops))
        .field("loop_times", time_accuracy_name(p.loops))
        .field("call_graph", accuracy_name(p.call_graph))
        .field("call_graph_times", time_accuracy_name(p.call_graph))
        .field("opcode_pairs", accuracy_name(p.opcode_pairs))
        .field("memory", accuracy_name(p.memory))
        .field("call_stacks", accuracy_name(p.call_stacks))
        .end_object();
}

void write_summary(json::Writer& w, const Summary& s) {
    w.begin_object()
        .field("total_instructions", s.total_instructions)
        .field("unique_instructions", s.unique_instructions)
        .field("wall_time_ns", s.wall_time_ns)
        .field("instructions_per_second", s.instructions_per_second())
        .field("max_call_depth", s.max_call_depth)
        .field("start_unix_ns", s.start_unix_ns)
        .end_object();
}

void write_timing(json::Writer& w, const TimingInfo& t, const std::optional<Summary>& summary) {
    std::optional<double> overhead_percent;
    if (t.overhead_ns && summary && summary->wall_time_ns && *summary->wall_time_ns > 0)
        overhead_percent = 100.0 * static_cast<double>(*t.overhead_ns) / static_cast<double>(*summary->wall_time_ns);
    w.begin_object()
        .field("method", t.method)
        .field("samples", t.samples)
        .field("overhead_ns", t.overhead_ns)
        .field("overhead_percent", overhead_percent)
        .field("sample_rate_hz", t.sample_rate_hz)
        .field("truncated_stacks", t.truncated_stacks)
        .field("effective_samples", t.effective_samples)
        .end_object();
}

void write_histogram(json::Writer& w, const TimeHistogram& h) {
    const bool any = h.samples > 0;
    w.begin_object()
        .field("sub_bucket_bits", TimeHistogram::kSubBucketBits)
        .field("samples", h.samples)
        .field("sum_ns", h.sum_ns)
        .field("min_ns", any ? std::optional(h.min_ns) : std::nullopt)
        .field("max_ns", any ? std::optional(h.max_ns) : std::nullopt)
        .key("buckets")
        .begin_array();
    for (std::size_t i = 0; i < h.buckets.size(); ++i)
        if (h.buckets[i] != 0) w.begin_array().value(i).value(h.buckets[i]).end_array();
    w.end_array().end_object();
}

// `entries` ordered by count, most first; ties keep their order.
template <class Stats>
std::vector<const Stats*> ranked_by_count(const std::vector<Stats>& entries) {
    std::vector<const Stats*> ranked;
    ranked.reserve(entries.size());
    for (const Stats& e : entries) ranked.push_back(&e);
    std::stable_sort(ranked.begin(), ranked.end(), [](const Stats* a, const Stats* b) { return a->count > b->count; });
    return ranked;
}

void write_opcodes(json::Writer& w, const Profile& p, const OpcodeGroup& group, std::optional<std::uint64_t> total) {
    w.begin_array();
    for (const OpcodeStats* e : ranked_by_count(group.entries)) {
        const TimeHistogram* h = e->time_distribution ? &*e->time_distribution : nullptr;
        const bool any = h && h->samples > 0;
        const auto at = [&](double percent) { return h ? h->percentile(percent) : std::nullopt; };
        w.begin_object()
            .field("name", e->name)
            .field("count", e->count)
            .field("percent", percent_of(e->count, total))
            .field("time_ns", e->time_ns)
            .field("mean_ns", e->mean_ns())
            .field("min_ns", any ? std::optional(h->min_ns) : std::nullopt)
            .field("max_ns", any ? std::optional(h->max_ns) : std::nullopt)
            .field("p50_ns", at(50))
            .field("p95_ns", at(95))
            .field("p99_ns", at(99))
            .key("time_distribution");
        if (h) write_histogram(w, *h);
        else w.value(nullptr);
        w.field("samples", e->samples).field("time_estimate", estimate(p, e->time_ns, e->samples)).end_object();
    }
    w.end_array();
}

void write_hotspots(json::Writer& w, const InstructionGroup& group, std::optional<std::uint64_t> total) {
    w.begin_array();
    for (const InstructionStats* e : ranked_by_count(group.entries))
        w.begin_object()
            .field("function", e->function)
            .field("offset", e->offset)
            .field("line", e->line)
            .field("opcode", e->opcode)
            .field("count", e->count)
            .field("percent", percent_of(e->count, total))
            .end_object();
    w.end_array();
}

void write_lines(json::Writer& w, const Profile& p, const LineGroup& group) {
    w.begin_array();
    for (const LineStats& e : group.entries)
        w.begin_object()
            .field("line", e.line)
            .field("count", e.count)
            .field("time_ns", e.time_ns)
            .field("source_text", e.source_text)
            .field("samples", e.samples)
            .field("time_estimate", estimate(p, e.time_ns, e.samples))
            .end_object();
    w.end_array();
}

void write_functions(json::Writer& w, const Profile& p, const FunctionGroup& group) {
    w.begin_array();
    for (const FunctionStats& e : group.entries)
        w.begin_object()
            .field("name", e.name)
            .field("calls", e.calls)
            .field("self_time_ns", e.self_time_ns)
            .field("total_time_ns", e.total_time_ns)
            .field("native", e.native)
            .field("file", e.file)
            .field("line", e.line)
            .field("inclusive_instructions", e.inclusive_instructions)
            .field("self_samples", e.self_samples)
            .field("total_samples", e.total_samples)
            .field("self_time_estimate", estimate(p, e.self_time_ns, e.self_samples))
            .field("total_time_estimate", estimate(p, e.total_time_ns, e.total_samples))
            .end_object();
    w.end_array();
}

void write_branches(json::Writer& w, const BranchGroup& group) {
    w.begin_array();
    for (const BranchStats& e : group.entries)
        w.begin_object()
            .field("function", e.function)
            .field("offset", e.offset)
            .field("line", e.line)
            .field("executed", e.executed)
            .field("taken", e.taken)
            .field("taken_rate", e.taken_rate())
            .end_object();
    w.end_array();
}

void write_loops(json::Writer& w, const Profile& p, const LoopGroup& group) {
    w.begin_array();
    for (const LoopStats& e : group.entries)
        w.begin_object()
            .field("function", e.function)
            .field("start_offset", e.start_offset)
            .field("end_offset", e.end_offset)
            .field("line", e.line)
            .field("iterations", e.iterations)
            .field("time_ns", e.time_ns)
            .field("samples", e.samples)
            .field("time_estimate", estimate(p, e.time_ns, e.samples))
            .end_object();
    w.end_array();
}

void write_call_graph(json::Writer& w, const Profile& p, const CallGraph& group) {
    w.begin_array();
    for (const CallEdge& e : group.entries) {
        w.begin_object()
            .field("caller", e.caller)
            .field("callee", e.callee)
            .field("calls", e.calls)
            .field("time_ns", e.time_ns)
            .field("inclusive_instructions", e.inclusive_instructions)
            .key("sites")
            .begin_array();
        for (const CallSite& s : e.sites)
            w.begin_object()
                .field("offset", s.offset)
                .field("line", s.line)
                .field("calls", s.calls)
                .field("inclusive_instructions", s.inclusive_instructions)
                .end_object();
        w.end_array()
            .field("samples", e.samples)
            .field("time_estimate", estimate(p, e.time_ns, e.samples))
            .end_object();
    }
    w.end_array();
}

void write_opcode_pairs(json::Writer& w, const OpcodePairGroup& group) {
    w.begin_array();
    for (const OpcodePair& e : group.entries)
        w.begin_object().field("first", e.first).field("second", e.second).field("count", e.count).end_object();
    w.end_array();
}

void write_memory(json::Writer& w, const MemoryStats& m) {
    w.begin_object()
        .field("allocations", m.allocations)
        .field("allocated_bytes", m.allocated_bytes)
        .field("frees", m.frees)
        .field("freed_bytes", m.freed_bytes)
        .field("peak_bytes", m.peak_bytes)
        .field("live_bytes", m.live_bytes)
        .field("gc_cycles", m.gc_cycles)
        .field("gc_time_ns", m.gc_time_ns)
        .key("by_type")
        .begin_array();
    for (const TypeMemory& e : m.by_type)
        w.begin_object().field("type", e.type).field("allocations", e.allocations).field("bytes", e.bytes).end_object();
    w.end_array().end_object();
}

void write_call_stacks(json::Writer& w, const Profile& p, const StackSampleGroup& group) {
    w.begin_array();
    for (const StackSample& e : group.entries) {
        w.begin_object().field("frames", e.frames).field("samples", e.samples).field("time_ns", e.time_ns).key("lines");
        if (e.lines.empty()) w.value(nullptr);
        else w.value(e.lines);
        w.field("time_estimate", estimate(p, e.time_ns, e.samples)).end_object();
    }
    w.end_array();
}

void write_timeline(json::Writer& w, const Timeline& t, ChunkedOutput& out) {
    w.begin_object()
        .field("time_accuracy", to_string(t.time_accuracy))
        .field("capacity", t.capacity)
        .field("recorded", t.recorded)
        .field("dropped", t.dropped)
        .field("window", t.window)
        .field("skipped", t.skipped)
        .key("events");
    w.raw("");  // the events write their own text at this place (an array at the timeline's depth)
    write_timeline_events(t.events, out);
    w.end_object();
}

void write_frames(json::Writer& w, const FrameStats& f) {
    w.begin_object().field("pushed", f.pushed).field("popped", f.popped).field("max_depth", f.max_depth).end_object();
}

void write_stack(json::Writer& w, const StackStats& s) {
    w.begin_object().field("pushes", s.pushes).field("pops", s.pops).field("max_depth", s.max_depth).end_object();
}

// `group` as `write` writes it, or null.
template <class Group, class Write>
auto group_or_null(const std::optional<Group>& group, Write write) {
    return [&group, write](json::Writer& w) {
        if (group) write(w, *group);
        else w.value(nullptr);
    };
}

} // namespace

void write_json(const Profile& original, const ReportSink& sink) {
    if (original.timeline) exports::require_events(*original.timeline, "the JSON profile");  // it is lossless
    const Profile p = report::canonical_copy_without_events(original);  // the events: from `original`
    const std::optional<std::uint64_t> total = total_instructions(p);
    const auto with_profile = [&p](auto write) { return [&p, write](json::Writer& w, const auto& g) { write(w, p, g); }; };
    // Invalid UTF-8 (in source text, say) is replaced by U+FFFD rather than failing the report.
    ChunkedOutput out(sink);
    json::Writer doc(out, json::Writer::Style::pretty);
    doc.begin_object()
        .field("format", kProfileFormat)
        .field("version", kProfileFormatVersion)
        .field("policy", p.policy)
        .field("source_file", p.source_file.empty() ? std::nullopt : std::optional(p.source_file))
        .field("partial", p.partial)
        .field("error", p.error.empty() ? std::nullopt : std::optional(p.error))
        .field("metrics", [&p](json::Writer& w) { write_metrics(w, p); })
        .field("summary", group_or_null(p.summary, write_summary))
        .field("timing", group_or_null(p.timing, [&p](json::Writer& w, const TimingInfo& t) { write_timing(w, t, p.summary); }))
        .field("opcodes", group_or_null(p.opcodes, [&](json::Writer& w, const OpcodeGroup& g) { write_opcodes(w, p, g, total); }))
        .field("hotspots", group_or_null(p.instructions, [&](json::Writer& w, const InstructionGroup& g) { write_hotspots(w, g, total); }))
        .field("lines", group_or_null(p.lines, with_profile(write_lines)))
        .field("functions", group_or_null(p.functions, with_profile(write_functions)))
        .field("frames", group_or_null(p.frames, write_frames))
        .field("stack", group_or_null(p.stack, write_stack))
        .field("branches", group_or_null(p.branches, write_branches))
        .field("loops", group_or_null(p.loops, with_profile(write_loops)))
        .field("call_graph", group_or_null(p.call_graph, with_profile(write_call_graph)))
        .field("opcode_pairs", group_or_null(p.opcode_pairs, write_opcode_pairs))
        .field("memory", group_or_null(p.memory, write_memory))
        .field("call_stacks", group_or_null(p.call_stacks, with_profile(write_call_stacks)))
        .key("timeline");
    if (original.timeline) write_timeline(doc, *original.timeline, out);
    else doc.value(nullptr);
    doc.end_object().end_document();
}

std::string format_json(const Profile& profile) {
    return json::collected([&](const ReportSink& sink) { write_json(profile, sink); });
}

ProfileFormatError::ProfileFormatError(std::string path, const std::string& problem)
    : std::runtime_error(path.empty() ? "invalid opscope profile: " + problem
                                      : "invalid opscope profile at " + path + ": " + problem),
      path_(std::move(path)) {}

} // namespace opscope
