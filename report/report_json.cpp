// format_json: a Profile as the versioned "opscope-profile" JSON document (docs/profile-format.md).
// Every group key is always written, null when not measured; so is every field a group can lack. Derived
// figures (percent, mean_ns, p50_ns, taken_rate, the *_estimate objects, ...) are written for readers and
// ignored by parse_json.
#include <opscope/report.hpp>
#include "canonical_copy.hpp"
#include "timeline_spans.hpp"

#include <nlohmann/json.hpp>

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

using Json = nlohmann::ordered_json;

template <class T>
Json or_null(const std::optional<T>& value) {
    return value ? Json(*value) : Json(nullptr);
}

Json accuracy_json(std::optional<Accuracy> accuracy) {
    return accuracy ? Json(std::string(to_string(*accuracy))) : Json(nullptr);
}

template <class Group>
std::optional<Accuracy> accuracy_of(const std::optional<Group>& group) {
    return group ? std::optional(group->accuracy) : std::nullopt;
}
template <class Group>
std::optional<Accuracy> time_accuracy_of(const std::optional<Group>& group) {
    return group ? group->time_accuracy : std::nullopt;
}

Json percent_json(std::uint64_t count, std::optional<std::uint64_t> total) {
    if (!total || *total == 0) return nullptr;
    return 100.0 * static_cast<double>(count) / static_cast<double>(*total);
}

// A sampled time's share of the wall time with its 95% interval (SampledShare), or null when not sampled.
Json estimate_json(const Profile& p, std::optional<std::uint64_t> time_ns, std::optional<std::uint64_t> samples) {
    const auto s = sampled_share(p, time_ns, samples);
    if (!s) return nullptr;
    return Json{{"samples", s->samples},
                {"percent", 100 * s->share},
                {"percent_low", 100 * s->low},
                {"percent_high", 100 * s->high},
                {"time_low_ns", static_cast<std::uint64_t>(std::llround(s->time_low_ns))},
                {"time_high_ns", static_cast<std::uint64_t>(std::llround(s->time_high_ns))},
                {"meaningful", s->meaningful}};
}

Json metrics_json(const Profile& p) {
    return Json{{"summary", accuracy_json(accuracy_of(p.summary))},
                {"opcodes", accuracy_json(accuracy_of(p.opcodes))},
                {"opcode_times", accuracy_json(time_accuracy_of(p.opcodes))},
                {"hotspots", accuracy_json(accuracy_of(p.instructions))},
                {"lines", accuracy_json(accuracy_of(p.lines))},
                {"line_times", accuracy_json(time_accuracy_of(p.lines))},
                {"functions", accuracy_json(accuracy_of(p.functions))},
                {"function_times", accuracy_json(time_accuracy_of(p.functions))},
                {"frames", accuracy_json(accuracy_of(p.frames))},
                {"stack", accuracy_json(accuracy_of(p.stack))},
                {"branches", accuracy_json(accuracy_of(p.branches))},
                {"loops", accuracy_json(accuracy_of(p.loops))},
                {"loop_times", accuracy_json(time_accuracy_of(p.loops))},
                {"call_graph", accuracy_json(accuracy_of(p.call_graph))},
                {"call_graph_times", accuracy_json(time_accuracy_of(p.call_graph))},
                {"opcode_pairs", accuracy_json(accuracy_of(p.opcode_pairs))},
                {"memory", accuracy_json(accuracy_of(p.memory))},
                {"call_stacks", accuracy_json(accuracy_of(p.call_stacks))}};
}

Json summary_json(const Summary& s) {
    return Json{{"total_instructions", s.total_instructions},
                {"unique_instructions", or_null(s.unique_instructions)},
                {"wall_time_ns", or_null(s.wall_time_ns)},
                {"instructions_per_second", or_null(s.instructions_per_second())},
                {"max_call_depth", or_null(s.max_call_depth)},
                {"start_unix_ns", or_null(s.start_unix_ns)}};
}

Json timing_json(const TimingInfo& t, const std::optional<Summary>& summary) {
    Json overhead_percent = nullptr;
    if (t.overhead_ns && summary && summary->wall_time_ns && *summary->wall_time_ns > 0)
        overhead_percent = 100.0 * static_cast<double>(*t.overhead_ns) / static_cast<double>(*summary->wall_time_ns);
    return Json{{"method", t.method},
                {"samples", t.samples},
                {"overhead_ns", or_null(t.overhead_ns)},
                {"overhead_percent", overhead_percent},
                {"sample_rate_hz", or_null(t.sample_rate_hz)},
                {"truncated_stacks", t.truncated_stacks},
                {"effective_samples", or_null(t.effective_samples)}};
}

Json histogram_json(const TimeHistogram& h) {
    Json buckets = Json::array();
    for (std::size_t i = 0; i < h.buckets.size(); ++i)
        if (h.buckets[i] != 0) buckets.push_back(Json::array({i, h.buckets[i]}));
    const bool any = h.samples > 0;
    return Json{{"sub_bucket_bits", TimeHistogram::kSubBucketBits},
                {"samples", h.samples},
                {"sum_ns", h.sum_ns},
                {"min_ns", any ? Json(h.min_ns) : Json(nullptr)},
                {"max_ns", any ? Json(h.max_ns) : Json(nullptr)},
                {"buckets", std::move(buckets)}};
}

Json opcodes_json(const Profile& p, const OpcodeGroup& group, std::optional<std::uint64_t> total) {
    std::vector<const OpcodeStats*> ranked;
    for (const OpcodeStats& e : group.entries) ranked.push_back(&e);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const OpcodeStats* a, const OpcodeStats* b) { return a->count > b->count; });
    Json list = Json::array();
    for (const OpcodeStats* e : ranked) {
        const TimeHistogram* h = e->time_distribution ? &*e->time_distribution : nullptr;
        const auto at = [&](double percent) { return h ? or_null(h->percentile(percent)) : Json(nullptr); };
        list.push_back(Json{{"name", e->name},
                            {"count", e->count},
                            {"percent", percent_json(e->count, total)},
                            {"time_ns", or_null(e->time_ns)},
                            {"mean_ns", or_null(e->mean_ns())},
                            {"min_ns", h && h->samples > 0 ? Json(h->min_ns) : Json(nullptr)},
                            {"max_ns", h && h->samples > 0 ? Json(h->max_ns) : Json(nullptr)},
                            {"p50_ns", at(50)},
                            {"p95_ns", at(95)},
                            {"p99_ns", at(99)},
                            {"time_distribution", h ? histogram_json(*h) : Json(nullptr)},
                            {"samples", or_null(e->samples)},
                            {"time_estimate", estimate_json(p, e->time_ns, e->samples)}});
    }
    return list;
}

Json hotspots_json(const InstructionGroup& group, std::optional<std::uint64_t> total) {
    std::vector<const InstructionStats*> ranked;
    for (const InstructionStats& e : group.entries) ranked.push_back(&e);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const InstructionStats* a, const InstructionStats* b) { return a->count > b->count; });
    Json list = Json::array();
    for (const InstructionStats* e : ranked)
        list.push_back(Json{{"function", e->function},
                            {"offset", e->offset},
                            {"line", e->line},
                            {"opcode", e->opcode},
                            {"count", e->count},
                            {"percent", percent_json(e->count, total)}});
    return list;
}

Json lines_json(const Profile& p, const LineGroup& group) {
    Json list = Json::array();
    for (const LineStats& e : group.entries)
        list.push_back(Json{{"line", e.line},
                            {"count", e.count},
                            {"time_ns", or_null(e.time_ns)},
                            {"source_text", or_null(e.source_text)},
                            {"samples", or_null(e.samples)},
                            {"time_estimate", estimate_json(p, e.time_ns, e.samples)}});
    return list;
}

Json functions_json(const Profile& p, const FunctionGroup& group) {
    Json list = Json::array();
    for (const FunctionStats& e : group.entries)
        list.push_back(Json{{"name", e.name},
                            {"calls", e.calls},
                            {"self_time_ns", or_null(e.self_time_ns)},
                            {"total_time_ns", or_null(e.total_time_ns)},
                            {"native", e.native},
                            {"file", or_null(e.file)},
                            {"line", or_null(e.line)},
                            {"inclusive_instructions", or_null(e.inclusive_instructions)},
                            {"self_samples", or_null(e.self_samples)},
                            {"total_samples", or_null(e.total_samples)},
                            {"self_time_estimate", estimate_json(p, e.self_time_ns, e.self_samples)},
                            {"total_time_estimate", estimate_json(p, e.total_time_ns, e.total_samples)}});
    return list;
}

Json branches_json(const BranchGroup& group) {
    Json list = Json::array();
    for (const BranchStats& e : group.entries)
        list.push_back(Json{{"function", e.function},
                            {"offset", e.offset},
                            {"line", e.line},
                            {"executed", e.executed},
                            {"taken", e.taken},
                            {"taken_rate", or_null(e.taken_rate())}});
    return list;
}

Json loops_json(const Profile& p, const LoopGroup& group) {
    Json list = Json::array();
    for (const LoopStats& e : group.entries)
        list.push_back(Json{{"function", e.function},
                            {"start_offset", e.start_offset},
                            {"end_offset", e.end_offset},
                            {"line", e.line},
                            {"iterations", e.iterations},
                            {"time_ns", or_null(e.time_ns)},
                            {"samples", or_null(e.samples)},
                            {"time_estimate", estimate_json(p, e.time_ns, e.samples)}});
    return list;
}

Json call_graph_json(const Profile& p, const CallGraph& group) {
    Json list = Json::array();
    for (const CallEdge& e : group.entries) {
        Json sites = Json::array();
        for (const CallSite& s : e.sites)
            sites.push_back(Json{{"offset", s.offset},
                                 {"line", s.line},
                                 {"calls", s.calls},
                                 {"inclusive_instructions", or_null(s.inclusive_instructions)}});
        list.push_back(Json{{"caller", e.caller},
                            {"callee", e.callee},
                            {"calls", e.calls},
                            {"time_ns", or_null(e.time_ns)},
                            {"inclusive_instructions", or_null(e.inclusive_instructions)},
                            {"sites", std::move(sites)},
                            {"samples", or_null(e.samples)},
                            {"time_estimate", estimate_json(p, e.time_ns, e.samples)}});
    }
    return list;
}

Json opcode_pairs_json(const OpcodePairGroup& group) {
    Json list = Json::array();
    for (const OpcodePair& e : group.entries)
        list.push_back(Json{{"first", e.first}, {"second", e.second}, {"count", e.count}});
    return list;
}

Json memory_json(const MemoryStats& m) {
    Json by_type = Json::array();
    for (const TypeMemory& e : m.by_type)
        by_type.push_back(Json{{"type", e.type}, {"allocations", e.allocations}, {"bytes", e.bytes}});
    return Json{{"allocations", m.allocations},
                {"allocated_bytes", m.allocated_bytes},
                {"frees", m.frees},
                {"freed_bytes", m.freed_bytes},
                {"peak_bytes", m.peak_bytes},
                {"live_bytes", m.live_bytes},
                {"gc_cycles", m.gc_cycles},
                {"gc_time_ns", or_null(m.gc_time_ns)},
                {"by_type", std::move(by_type)}};
}

Json call_stacks_json(const Profile& p, const StackSampleGroup& group) {
    Json list = Json::array();
    for (const StackSample& e : group.entries)
        list.push_back(Json{{"frames", e.frames},
                            {"samples", e.samples},
                            {"time_ns", or_null(e.time_ns)},
                            {"lines", e.lines.empty() ? Json(nullptr) : Json(e.lines)},
                            {"time_estimate", estimate_json(p, e.time_ns, e.samples)}});
    return list;
}

// The timeline without its events: format_json writes them into the document's text (timeline_events).
Json timeline_json(const Timeline& t) {
    return Json{{"time_accuracy", std::string(to_string(t.time_accuracy))},
                {"capacity", t.capacity},
                {"recorded", t.recorded},
                {"dropped", t.dropped},
                {"window", t.window},
                {"skipped", t.skipped},
                {"events", Json::array()}};
}

// Text for a ReportSink, in pieces of at most about kChunk bytes (more only for one value longer than that):
// the report never sits in memory whole. A Full profile's JSON is ~0.4 MB, ~100 pages whose first touch costs
// ~10 us each on the guests of BENCHMARKS.md (section 8); one chunk reused is 4 pages.
class ChunkedOutput {
public:
    static constexpr std::size_t kChunk = 16 * 1024;
    explicit ChunkedOutput(const ReportSink& sink) : sink_(sink), chunk_(kChunk, '\0'), at_(chunk_.data()) {}
    // Room for `bound` more bytes at at(), flushing first if needed.
    char*& reserve(std::size_t bound) {
        if (static_cast<std::size_t>(chunk_.data() + chunk_.size() - at_) < bound) {
            flush();
            if (chunk_.size() < bound) {  // a value longer than a chunk
                chunk_.resize(bound);
                at_ = chunk_.data();
            }
        }
        return at_;
    }
    void write(std::string_view text) {
        char*& at = reserve(text.size());
        std::memcpy(at, text.data(), text.size());
        at += text.size();
    }
    void flush() {
        if (at_ != chunk_.data()) sink_(std::string_view(chunk_.data(), static_cast<std::size_t>(at_ - chunk_.data())));
        at_ = chunk_.data();
    }

private:
    const ReportSink& sink_;
    std::string chunk_;
    char* at_;
};

// Copies a string literal (its size known when compiling, so the copy is a few moves, not a call) to `at`.
template <std::size_t N>
void put_literal(char*& at, const char (&text)[N]) {
    std::memcpy(at, text, N - 1);
    at += N - 1;
}

// A string as dump() quotes it, escapes and U+FFFD (for invalid UTF-8) included. Printable ASCII, nearly every
// string here, is copied; anything else goes through nlohmann's own escaping.
void write_quoted(ChunkedOutput& out, std::string_view text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x80;
    });
    if (!plain) {
        out.write(Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace));
        return;
    }
    char*& at = out.reserve(2 * text.size() + 2);
    *at++ = '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') *at++ = '\\';
        *at++ = c;
    }
    *at++ = '"';
}

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
                found = quoted.emplace(e.function, Json(e.function).dump(-1, ' ', false, Json::error_handler_t::replace)).first;
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

// `value` as `dump(2, ' ', false, replace)` writes it at nesting `depth`, byte for byte (test_profile_report
// checks), but into `out` as it goes: nlohmann's serializer writes one character at a time through a virtual
// call into a string that then holds the whole document. `events_at`, if not null, is the timeline's
// (empty) events array, whose place the events themselves take.
void write_pretty(ChunkedOutput& out, const Json& value, int depth, const Json* events_at,
                  const std::vector<TimelineEvent>* events) {
    const auto indent = [&out](int levels) {
        char*& at = out.reserve(static_cast<std::size_t>(2 * levels));
        at = std::fill_n(at, 2 * levels, ' ');
    };
    if (&value == events_at) {
        write_timeline_events(*events, out);
        return;
    }
    switch (value.type()) {
    case Json::value_t::object: {
        const auto& members = value.get_ref<const Json::object_t&>();
        if (members.empty()) {
            out.write("{}");
            return;
        }
        out.write("{\n");
        for (auto member = members.begin(); member != members.end(); ++member) {
            if (member != members.begin()) out.write(",\n");
            indent(depth + 1);
            write_quoted(out, member->first);
            out.write(": ");
            write_pretty(out, member->second, depth + 1, events_at, events);
        }
        out.write("\n");
        indent(depth);
        out.write("}");
        return;
    }
    case Json::value_t::array: {
        const auto& elements = value.get_ref<const Json::array_t&>();
        if (elements.empty()) {
            out.write("[]");
            return;
        }
        out.write("[\n");
        for (auto element = elements.begin(); element != elements.end(); ++element) {
            if (element != elements.begin()) out.write(",\n");
            indent(depth + 1);
            write_pretty(out, *element, depth + 1, events_at, events);
        }
        out.write("\n");
        indent(depth);
        out.write("]");
        return;
    }
    case Json::value_t::string:
        write_quoted(out, value.get_ref<const std::string&>());
        return;
    case Json::value_t::boolean:
        out.write(value.get<bool>() ? "true" : "false");
        return;
    case Json::value_t::number_integer: {
        char*& at = out.reserve(20);
        at = std::to_chars(at, at + 20, value.get<std::int64_t>()).ptr;
        return;
    }
    case Json::value_t::number_unsigned: {
        char*& at = out.reserve(20);
        at = std::to_chars(at, at + 20, value.get<std::uint64_t>()).ptr;
        return;
    }
    case Json::value_t::number_float: {
        const double x = value.get<double>();
        if (!std::isfinite(x)) {
            out.write("null");
            return;
        }
        // nlohmann's own shortest-digits formatting ("1.0", "1e-05"), so the text stays dump()'s.
        char*& at = out.reserve(64);
        at = nlohmann::detail::to_chars(at, at + 64, x);
        return;
    }
    case Json::value_t::null:
        out.write("null");
        return;
    case Json::value_t::binary:  // not in a profile; dump() writes them as ever
    case Json::value_t::discarded:
        out.write(value.dump(2, ' ', false, Json::error_handler_t::replace));
        return;
    }
}

Json frames_json(const FrameStats& f) {
    return Json{{"pushed", f.pushed}, {"popped", f.popped}, {"max_depth", f.max_depth}};
}

Json stack_json(const StackStats& s) {
    return Json{{"pushes", s.pushes}, {"pops", s.pops}, {"max_depth", s.max_depth}};
}

// `write(*group)` or null.
template <class Group, class Write>
Json group_json(const std::optional<Group>& group, Write write) {
    return group ? write(*group) : Json(nullptr);
}

} // namespace

void write_json(const Profile& original, const ReportSink& sink) {
    if (original.timeline) exports::require_events(*original.timeline, "the JSON profile");  // it is lossless
    const Profile p = report::canonical_copy_without_events(original);  // the events: from `original`
    const std::optional<std::uint64_t> total = total_instructions(p);
    Json doc{{"format", std::string(kProfileFormat)},
             {"version", kProfileFormatVersion},
             {"policy", p.policy},
             {"source_file", p.source_file.empty() ? Json(nullptr) : Json(p.source_file)},
             {"partial", p.partial},
             {"error", p.error.empty() ? Json(nullptr) : Json(p.error)},
             {"metrics", metrics_json(p)}};
    doc["summary"] = group_json(p.summary, summary_json);
    doc["timing"] = group_json(p.timing, [&](const TimingInfo& t) { return timing_json(t, p.summary); });
    doc["opcodes"] = group_json(p.opcodes, [&](const OpcodeGroup& g) { return opcodes_json(p, g, total); });
    doc["hotspots"] = group_json(p.instructions, [&](const InstructionGroup& g) { return hotspots_json(g, total); });
    const auto with_profile = [&](auto write) { return [&, write](const auto& g) { return write(p, g); }; };
    doc["lines"] = group_json(p.lines, with_profile(lines_json));
    doc["functions"] = group_json(p.functions, with_profile(functions_json));
    doc["frames"] = group_json(p.frames, frames_json);
    doc["stack"] = group_json(p.stack, stack_json);
    doc["branches"] = group_json(p.branches, branches_json);
    doc["loops"] = group_json(p.loops, with_profile(loops_json));
    doc["call_graph"] = group_json(p.call_graph, with_profile(call_graph_json));
    doc["opcode_pairs"] = group_json(p.opcode_pairs, opcode_pairs_json);
    doc["memory"] = group_json(p.memory, memory_json);
    doc["call_stacks"] = group_json(p.call_stacks, with_profile(call_stacks_json));
    doc["timeline"] = group_json(p.timeline, timeline_json);
    // Invalid UTF-8 (in source text, say) is replaced by U+FFFD rather than failing the report.
    ChunkedOutput out(sink);
    const Json* events_at = p.timeline ? &doc["timeline"]["events"] : nullptr;
    write_pretty(out, doc, 0, events_at, p.timeline ? &original.timeline->events : nullptr);
    out.write("\n");
    out.flush();
}

std::string format_json(const Profile& profile) {
    std::string out;
    write_json(profile, [&out](std::string_view piece) { out += piece; });
    return out;
}

ProfileFormatError::ProfileFormatError(std::string path, const std::string& problem)
    : std::runtime_error(path.empty() ? "invalid opscope profile: " + problem
                                      : "invalid opscope profile at " + path + ": " + problem),
      path_(std::move(path)) {}

} // namespace opscope
