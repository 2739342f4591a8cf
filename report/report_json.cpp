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


// A JSON document written as it is made: the text nlohmann's dump(2, ' ', false, replace) gives the same
// document, byte for byte (test_profile_report checks it against dump() of the parsed text), with no
// document in memory. Building an ordered_json document first (a node per value, a vector per object,
// then a dump that writes a character at a time through a virtual call) took more instructions than
// everything else a cold `opscope profile --format json` does after the run.
class JsonWriter {
public:
    explicit JsonWriter(ChunkedOutput& out) : out_(out) {}

    JsonWriter& begin_object() { return open('{'); }
    JsonWriter& end_object() { return close('}'); }
    JsonWriter& begin_array() { return open('['); }
    JsonWriter& end_array() { return close(']'); }
    JsonWriter& key(std::string_view name) {
        element();
        write_quoted(out_, name);
        out_.write(": ");
        after_key_ = true;
        return *this;
    }
    template <class T>
    JsonWriter& field(std::string_view name, const T& v) {
        key(name);
        return value(v);
    }

    JsonWriter& value(std::nullptr_t) { return raw("null"); }
    JsonWriter& value(bool v) { return raw(v ? "true" : "false"); }
    JsonWriter& value(std::string_view v) {
        element();
        write_quoted(out_, v);
        return *this;
    }
    JsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
    JsonWriter& value(const char* v) { return value(std::string_view(v)); }  // not bool
    template <std::integral T>
    JsonWriter& value(T v) {
        element();
        char*& at = out_.reserve(20);
        at = std::to_chars(at, at + 20, v).ptr;
        return *this;
    }
    JsonWriter& value(double v) {
        if (!std::isfinite(v)) return raw("null");  // as dump() writes NaN and infinities
        element();
        // nlohmann's own shortest-digits formatting ("1.0", "1e-05"), so the text stays dump()'s.
        char*& at = out_.reserve(64);
        at = nlohmann::detail::to_chars(at, at + 64, v);
        return *this;
    }
    template <class T>
    JsonWriter& value(const std::optional<T>& v) {
        return v ? value(*v) : value(nullptr);
    }
    template <class T>
    JsonWriter& value(const std::vector<T>& list) {
        begin_array();
        for (const T& v : list) value(v);
        return end_array();
    }
    // A value that a function writes (exactly one: an object, an array, a scalar or null).
    template <class Write>
        requires std::invocable<const Write&, JsonWriter&>
    JsonWriter& value(const Write& write) {
        write(*this);
        return *this;
    }
    // Text already in the document's form at this place (the timeline's events).
    JsonWriter& raw(std::string_view text) {
        element();
        out_.write(text);
        return *this;
    }

private:
    // Before a value: the separator and indentation of its place, unless a key has just put it there.
    void element() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (open_.empty()) return;
        out_.write(open_.back()++ == 0 ? "\n" : ",\n");
        indent(open_.size());
    }
    JsonWriter& open(char bracket) {
        element();
        out_.write(std::string_view(&bracket, 1));
        open_.push_back(0);
        return *this;
    }
    JsonWriter& close(char bracket) {
        const bool empty = open_.back() == 0;
        open_.pop_back();
        if (!empty) {
            out_.write("\n");
            indent(open_.size());
        }
        out_.write(std::string_view(&bracket, 1));
        return *this;
    }
    void indent(std::size_t levels) {
        char*& at = out_.reserve(2 * levels);
        at = std::fill_n(at, 2 * levels, ' ');
    }

    ChunkedOutput& out_;
    std::vector<std::size_t> open_;  // per open object or array, the values written in it so far
    bool after_key_ = false;
};

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
    return [&p, time_ns, samples](JsonWriter& w) {
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

void write_metrics(JsonWriter& w, const Profile& p) {
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

void write_summary(JsonWriter& w, const Summary& s) {
    w.begin_object()
        .field("total_instructions", s.total_instructions)
        .field("unique_instructions", s.unique_instructions)
        .field("wall_time_ns", s.wall_time_ns)
        .field("instructions_per_second", s.instructions_per_second())
        .field("max_call_depth", s.max_call_depth)
        .field("start_unix_ns", s.start_unix_ns)
        .end_object();
}

void write_timing(JsonWriter& w, const TimingInfo& t, const std::optional<Summary>& summary) {
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

void write_histogram(JsonWriter& w, const TimeHistogram& h) {
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

void write_opcodes(JsonWriter& w, const Profile& p, const OpcodeGroup& group, std::optional<std::uint64_t> total) {
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

void write_hotspots(JsonWriter& w, const InstructionGroup& group, std::optional<std::uint64_t> total) {
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

void write_lines(JsonWriter& w, const Profile& p, const LineGroup& group) {
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

void write_functions(JsonWriter& w, const Profile& p, const FunctionGroup& group) {
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

void write_branches(JsonWriter& w, const BranchGroup& group) {
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

void write_loops(JsonWriter& w, const Profile& p, const LoopGroup& group) {
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

void write_call_graph(JsonWriter& w, const Profile& p, const CallGraph& group) {
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

void write_opcode_pairs(JsonWriter& w, const OpcodePairGroup& group) {
    w.begin_array();
    for (const OpcodePair& e : group.entries)
        w.begin_object().field("first", e.first).field("second", e.second).field("count", e.count).end_object();
    w.end_array();
}

void write_memory(JsonWriter& w, const MemoryStats& m) {
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

void write_call_stacks(JsonWriter& w, const Profile& p, const StackSampleGroup& group) {
    w.begin_array();
    for (const StackSample& e : group.entries) {
        w.begin_object().field("frames", e.frames).field("samples", e.samples).field("time_ns", e.time_ns).key("lines");
        if (e.lines.empty()) w.value(nullptr);
        else w.value(e.lines);
        w.field("time_estimate", estimate(p, e.time_ns, e.samples)).end_object();
    }
    w.end_array();
}

void write_timeline(JsonWriter& w, const Timeline& t, ChunkedOutput& out) {
    w.begin_object()
        .field("time_accuracy", to_string(t.time_accuracy))
        .field("capacity", t.capacity)
        .field("recorded", t.recorded)
        .field("dropped", t.dropped)
        .field("window", t.window)
        .field("skipped", t.skipped)
        .key("events");
    if (t.events.empty()) {
        w.value(std::vector<int>{});
    } else {
        w.raw("");  // the events write their own text at this place (an array at the timeline's depth)
        write_timeline_events(t.events, out);
    }
    w.end_object();
}

void write_frames(JsonWriter& w, const FrameStats& f) {
    w.begin_object().field("pushed", f.pushed).field("popped", f.popped).field("max_depth", f.max_depth).end_object();
}

void write_stack(JsonWriter& w, const StackStats& s) {
    w.begin_object().field("pushes", s.pushes).field("pops", s.pops).field("max_depth", s.max_depth).end_object();
}

// `group` as `write` writes it, or null.
template <class Group, class Write>
auto group_or_null(const std::optional<Group>& group, Write write) {
    return [&group, write](JsonWriter& w) {
        if (group) write(w, *group);
        else w.value(nullptr);
    };
}

} // namespace

void write_json(const Profile& original, const ReportSink& sink) {
    if (original.timeline) exports::require_events(*original.timeline, "the JSON profile");  // it is lossless
    const Profile p = report::canonical_copy_without_events(original);  // the events: from `original`
    const std::optional<std::uint64_t> total = total_instructions(p);
    const auto with_profile = [&p](auto write) { return [&p, write](JsonWriter& w, const auto& g) { write(w, p, g); }; };
    // Invalid UTF-8 (in source text, say) is replaced by U+FFFD rather than failing the report.
    ChunkedOutput out(sink);
    JsonWriter doc(out);
    doc.begin_object()
        .field("format", kProfileFormat)
        .field("version", kProfileFormatVersion)
        .field("policy", p.policy)
        .field("source_file", p.source_file.empty() ? std::nullopt : std::optional(p.source_file))
        .field("partial", p.partial)
        .field("error", p.error.empty() ? std::nullopt : std::optional(p.error))
        .field("metrics", [&p](JsonWriter& w) { write_metrics(w, p); })
        .field("summary", group_or_null(p.summary, write_summary))
        .field("timing", group_or_null(p.timing, [&p](JsonWriter& w, const TimingInfo& t) { write_timing(w, t, p.summary); }))
        .field("opcodes", group_or_null(p.opcodes, [&](JsonWriter& w, const OpcodeGroup& g) { write_opcodes(w, p, g, total); }))
        .field("hotspots", group_or_null(p.instructions, [&](JsonWriter& w, const InstructionGroup& g) { write_hotspots(w, g, total); }))
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
    doc.end_object();
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
