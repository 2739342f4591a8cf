// parse_json: reads an "opscope-profile" JSON document (docs/profile-format.md) back into a Profile.
// Strict about what it reads (types, ranges, a group's data agreeing with its `metrics` entry) and
// tolerant of keys it does not know; derived figures are recomputed, never read. Keys added to version 1
// later (Node::added) may be missing, for documents written before them. Every error carries the JSON
// Pointer of the offending value.
#include <opscope/report.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace opscope {
namespace {

using Json = nlohmann::json;

// A JSON value and its JSON Pointer.
class Node {
public:
    Node(const Json& value, std::string path) : value_(&value), path_(std::move(path)) {}

    [[noreturn]] void fail(const std::string& problem) const { throw ProfileFormatError(path_, problem); }
    [[noreturn]] void expected(std::string_view what) const {
        fail("expected " + std::string(what) + ", found " + value_->type_name());
    }

    // A member that must be there (null counts as there; the accessors reject it).
    Node at(std::string_view key) const {
        const Json& object = this->object();
        const auto found = object.find(key);
        if (found == object.end()) Node(*value_, child_path(key)).fail("missing");
        return Node(*found, child_path(key));
    }
    // A member that may be missing or null.
    std::optional<Node> maybe(std::string_view key) const {
        const Json& object = this->object();
        const auto found = object.find(key);
        if (found == object.end() || found->is_null()) return std::nullopt;
        return Node(*found, child_path(key));
    }
    // A member added to version 1 after documents without it were written: it may be missing, and then
    // has its default; when there, it is read like any other (so null is rejected where it cannot be).
    std::optional<Node> added(std::string_view key) const {
        const Json& object = this->object();
        const auto found = object.find(key);
        if (found == object.end()) return std::nullopt;
        return Node(*found, child_path(key));
    }
    std::vector<Node> items() const {
        if (!value_->is_array()) expected("an array");
        std::vector<Node> nodes;
        for (std::size_t i = 0; i < value_->size(); ++i)
            nodes.emplace_back((*value_)[i], path_ + "/" + std::to_string(i));
        return nodes;
    }

    std::uint64_t u64() const {
        if (!value_->is_number_unsigned()) expected("a non-negative integer");
        return value_->get<std::uint64_t>();
    }
    std::uint32_t u32() const {
        const std::uint64_t value = u64();
        if (value > std::numeric_limits<std::uint32_t>::max()) fail("out of range (at most 4294967295)");
        return static_cast<std::uint32_t>(value);
    }
    double number() const {
        if (!value_->is_number()) expected("a number");
        return value_->get<double>();
    }
    std::string str() const {
        if (!value_->is_string()) expected("a string");
        return value_->get<std::string>();
    }
    bool boolean() const {
        if (!value_->is_boolean()) expected("true or false");
        return value_->get<bool>();
    }
    const std::string& path() const { return path_; }

private:
    const Json& object() const {
        if (!value_->is_object()) expected("an object");
        return *value_;
    }
    std::string child_path(std::string_view key) const {
        std::string path = path_ + "/";
        for (char c : key) path += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
        return path;
    }

    const Json* value_;
    std::string path_;
};

std::optional<std::uint64_t> maybe_u64(const Node& object, std::string_view key) {
    const auto node = object.maybe(key);
    return node ? std::optional(node->u64()) : std::nullopt;
}

Accuracy accuracy_from(const Node& node, std::string_view expected) {
    const std::string value = node.str();
    if (value == "exact") return Accuracy::exact;
    if (value == "statistical") return Accuracy::statistical;
    node.fail("expected " + std::string(expected) + ", found \"" + value + "\"");
}

std::optional<Accuracy> accuracy_at(const Node& metrics, std::string_view key) {
    const auto node = metrics.maybe(key);
    if (!node) return std::nullopt;
    return accuracy_from(*node, "\"exact\", \"statistical\" or null");
}

// A group's data and its accuracy from /metrics: both present or both absent.
struct GroupNode {
    Node data;
    Accuracy accuracy;
};
std::optional<GroupNode> group_at(const Node& root, const Node& metrics, std::string_view key) {
    const auto data = root.maybe(key);
    const auto accuracy = accuracy_at(metrics, key);
    if (data && !accuracy) data->fail("present, but /metrics/" + std::string(key) + " is null");
    if (!data && accuracy) root.at(key).fail("null or missing, but /metrics/" + std::string(key) + " is set");
    if (!data) return std::nullopt;
    return GroupNode{*data, *accuracy};
}

// A time field: required when the group's times are measured, null or missing otherwise.
std::optional<std::uint64_t> time_at(const Node& entry, std::string_view key, std::optional<Accuracy> measured) {
    if (measured) return entry.at(key).u64();
    if (const auto node = entry.maybe(key)) node->fail("present, but the group's times are not measured");
    return std::nullopt;
}

// The samples behind a time (added after version 1's first documents): may be missing or null; present
// only when the group's times are measured.
std::optional<std::uint64_t> samples_at(const Node& entry, std::string_view key, std::optional<Accuracy> measured) {
    const auto node = entry.maybe(key);
    if (node && !measured) node->fail("present, but the group's times are not measured");
    return node ? std::optional(node->u64()) : std::nullopt;
}

TimeHistogram histogram_from(const Node& node) {
    const Node bits = node.at("sub_bucket_bits");
    if (bits.u64() != TimeHistogram::kSubBucketBits)
        bits.fail("unsupported bucket layout (this build uses " + std::to_string(TimeHistogram::kSubBucketBits) +
                  ")");
    TimeHistogram h;
    h.samples = node.at("samples").u64();
    h.sum_ns = node.at("sum_ns").u64();
    std::uint64_t counted = 0;  // never wraps: a document whose counts pass 2^64 - 1 is rejected
    for (const Node& pair : node.at("buckets").items()) {
        const std::vector<Node> parts = pair.items();
        if (parts.size() != 2) pair.fail("expected [bucket index, count]");
        const std::uint64_t index = parts[0].u64();
        const std::uint64_t count = parts[1].u64();
        if (index >= TimeHistogram::kMaxBuckets) parts[0].fail("bucket index out of range");
        if (index < h.buckets.size()) parts[0].fail("bucket indices must increase");
        if (count == 0) parts[1].fail("a listed bucket must have a non-zero count");
        if (count > std::numeric_limits<std::uint64_t>::max() - counted)
            parts[1].fail("the counts add up to more than 18446744073709551615");
        h.buckets.resize(index + 1, 0);
        h.buckets[index] = count;
        counted += count;
    }
    if (counted != h.samples)
        node.at("buckets").fail("counts add up to " + std::to_string(counted) + ", but samples is " +
                                std::to_string(h.samples));
    if (h.samples > 0) {
        h.min_ns = node.at("min_ns").u64();
        h.max_ns = node.at("max_ns").u64();
        // percentile() clamps a bucket's middle into [min_ns, max_ns]: the two must be in order.
        if (h.min_ns > h.max_ns)
            node.at("min_ns").fail("above max_ns (" + std::to_string(h.max_ns) + ")");
    }
    return h;
}

Summary summary_from(const Node& node, Accuracy accuracy) {
    Summary s;
    s.accuracy = accuracy;
    s.total_instructions = node.at("total_instructions").u64();
    s.unique_instructions = maybe_u64(node, "unique_instructions");
    s.wall_time_ns = maybe_u64(node, "wall_time_ns");
    s.max_call_depth = maybe_u64(node, "max_call_depth");
    s.start_unix_ns = maybe_u64(node, "start_unix_ns");
    return s;
}

TimingInfo timing_from(const Node& node) {
    const auto truncated = node.added("truncated_stacks");
    std::optional<double> effective;
    if (const auto n = node.maybe("effective_samples")) {
        effective = n->number();
        if (!(*effective >= 0 && std::isfinite(*effective))) n->fail("expected a non-negative finite number");
    }
    return TimingInfo{node.at("method").str(), node.at("samples").u64(), maybe_u64(node, "overhead_ns"),
                      maybe_u64(node, "sample_rate_hz"), truncated ? truncated->u64() : 0, effective};
}

OpcodeGroup opcodes_from(const GroupNode& group, std::optional<Accuracy> times) {
    OpcodeGroup out{group.accuracy, times, {}};
    for (const Node& e : group.data.items()) {
        OpcodeStats stats{e.at("name").str(), e.at("count").u64(), time_at(e, "time_ns", times), std::nullopt,
                          samples_at(e, "samples", times)};
        if (const auto distribution = e.maybe("time_distribution")) {
            if (!times) distribution->fail("present, but the group's times are not measured");
            stats.time_distribution = histogram_from(*distribution);
        }
        out.entries.push_back(std::move(stats));
    }
    return out;
}

InstructionGroup instructions_from(const GroupNode& group) {
    InstructionGroup out{group.accuracy, {}};
    for (const Node& e : group.data.items())
        out.entries.push_back(InstructionStats{e.at("function").str(), e.at("offset").u32(), e.at("line").u32(),
                                               e.at("opcode").str(), e.at("count").u64()});
    return out;
}

LineGroup lines_from(const GroupNode& group, std::optional<Accuracy> times) {
    LineGroup out{group.accuracy, times, {}};
    for (const Node& e : group.data.items()) {
        const auto text = e.maybe("source_text");
        out.entries.push_back(LineStats{e.at("line").u32(), e.at("count").u64(), time_at(e, "time_ns", times),
                                        text ? std::optional(text->str()) : std::nullopt,
                                        samples_at(e, "samples", times)});
    }
    return out;
}

FunctionGroup functions_from(const GroupNode& group, std::optional<Accuracy> times) {
    FunctionGroup out{group.accuracy, times, {}};
    for (const Node& e : group.data.items()) {
        const auto native = e.added("native");
        const auto file = e.maybe("file");
        const auto line = e.maybe("line");
        out.entries.push_back(FunctionStats{e.at("name").str(), e.at("calls").u64(),
                                            time_at(e, "self_time_ns", times), time_at(e, "total_time_ns", times),
                                            native ? native->boolean() : false,
                                            file ? std::optional(file->str()) : std::nullopt,
                                            line ? std::optional(line->u32()) : std::nullopt,
                                            maybe_u64(e, "inclusive_instructions"),
                                            samples_at(e, "self_samples", times), samples_at(e, "total_samples", times)});
    }
    return out;
}

BranchGroup branches_from(const GroupNode& group) {
    BranchGroup out{group.accuracy, {}};
    for (const Node& e : group.data.items()) {
        BranchStats b{e.at("function").str(), e.at("offset").u32(), e.at("line").u32(), e.at("executed").u64(),
                      e.at("taken").u64()};
        if (b.taken > b.executed) e.at("taken").fail("taken exceeds executed");
        out.entries.push_back(std::move(b));
    }
    return out;
}

LoopGroup loops_from(const GroupNode& group, std::optional<Accuracy> times) {
    LoopGroup out{group.accuracy, times, {}};
    for (const Node& e : group.data.items())
        out.entries.push_back(LoopStats{e.at("function").str(), e.at("start_offset").u32(), e.at("end_offset").u32(),
                                        e.at("line").u32(), e.at("iterations").u64(), time_at(e, "time_ns", times),
                                        samples_at(e, "samples", times)});
    return out;
}

CallGraph call_graph_from(const GroupNode& group, std::optional<Accuracy> times) {
    CallGraph out{group.accuracy, times, {}};
    for (const Node& e : group.data.items()) {
        CallEdge edge{e.at("caller").str(), e.at("callee").str(), e.at("calls").u64(),
                      time_at(e, "time_ns", times), maybe_u64(e, "inclusive_instructions"), {},
                      samples_at(e, "samples", times)};
        if (const auto sites = e.maybe("sites"))
            for (const Node& site : sites->items())
                edge.sites.push_back(CallSite{site.at("offset").u32(), site.at("line").u32(), site.at("calls").u64(),
                                              maybe_u64(site, "inclusive_instructions")});
        out.entries.push_back(std::move(edge));
    }
    return out;
}

OpcodePairGroup opcode_pairs_from(const GroupNode& group) {
    OpcodePairGroup out{group.accuracy, {}};
    for (const Node& e : group.data.items())
        out.entries.push_back(OpcodePair{e.at("first").str(), e.at("second").str(), e.at("count").u64()});
    return out;
}

MemoryStats memory_from(const GroupNode& group) {
    const Node& m = group.data;
    MemoryStats out;
    out.accuracy = group.accuracy;
    out.allocations = m.at("allocations").u64();
    out.allocated_bytes = m.at("allocated_bytes").u64();
    out.frees = m.at("frees").u64();
    out.freed_bytes = m.at("freed_bytes").u64();
    out.peak_bytes = m.at("peak_bytes").u64();
    out.live_bytes = m.at("live_bytes").u64();
    out.gc_cycles = m.at("gc_cycles").u64();
    out.gc_time_ns = maybe_u64(m, "gc_time_ns");
    if (const auto by_type = m.maybe("by_type"))
        for (const Node& e : by_type->items())
            out.by_type.push_back(TypeMemory{e.at("type").str(), e.at("allocations").u64(), e.at("bytes").u64()});
    return out;
}

// Every entry has a time, or none has.
StackSampleGroup call_stacks_from(const GroupNode& group) {
    StackSampleGroup out{group.accuracy, {}};
    for (const Node& e : group.data.items()) {
        StackSample sample;
        const Node frames = e.at("frames");
        for (const Node& frame : frames.items()) sample.frames.push_back(frame.str());
        if (sample.frames.empty()) frames.fail("expected at least one frame");
        sample.samples = e.at("samples").u64();
        sample.time_ns = maybe_u64(e, "time_ns");
        if (const auto lines = e.maybe("lines")) {
            for (const Node& line : lines->items()) sample.lines.push_back(line.u32());
            if (sample.lines.size() != sample.frames.size())
                lines->fail(std::to_string(sample.lines.size()) + " lines for " + std::to_string(sample.frames.size()) +
                            " frames");
        }
        if (!out.entries.empty() && sample.time_ns.has_value() != out.entries.front().time_ns.has_value())
            throw ProfileFormatError(e.path() + "/time_ns", sample.time_ns
                                                                ? "present, but the first entry has no time"
                                                                : "null, but the first entry has a time");
        out.entries.push_back(std::move(sample));
    }
    return out;
}

TimelineEvent::Kind event_kind_from(const Node& node) {
    const std::string value = node.str();
    if (value == "enter") return TimelineEvent::Kind::enter;
    if (value == "exit") return TimelineEvent::Kind::exit;
    node.fail("expected \"enter\" or \"exit\", found \"" + value + "\"");
}

Timeline timeline_from(const Node& node) {
    Timeline out;
    out.time_accuracy = accuracy_from(node.at("time_accuracy"), "\"exact\" or \"statistical\"");
    out.capacity = node.at("capacity").u64();
    out.recorded = node.at("recorded").u64();
    out.dropped = node.at("dropped").u64();
    if (const auto window = node.added("window")) out.window = window->u64();
    if (const auto skipped = node.added("skipped")) out.skipped = skipped->u64();
    const Node events = node.at("events");
    for (const Node& e : events.items()) {
        const auto window_start = e.added("window_start");
        out.events.push_back(TimelineEvent{e.at("time_ns").u64(), event_kind_from(e.at("kind")),
                                           e.at("function").str(), e.at("depth").u32(),
                                           window_start ? window_start->boolean() : false});
    }
    if (out.events.size() > out.recorded)
        events.fail(std::to_string(out.events.size()) + " events, but only " + std::to_string(out.recorded) +
                    " recorded");
    if (out.dropped != out.recorded - out.events.size())
        node.at("dropped").fail("expected recorded - kept events = " +
                                std::to_string(out.recorded - out.events.size()));
    return out;
}

// Times of a group are measured only if the group is.
std::optional<Accuracy> times_at(const Node& metrics, std::string_view key, bool group_present) {
    const auto accuracy = accuracy_at(metrics, key);
    if (accuracy && !group_present) metrics.at(key).fail("set, but its group is not measured");
    return accuracy;
}

template <class Out, class Read>
std::optional<Out> read_group(const std::optional<GroupNode>& group, Read read) {
    return group ? std::optional<Out>(read(*group)) : std::nullopt;
}

Profile profile_from(const Node& root) {
    const auto format = root.maybe("format");
    if (!format) root.at("format").fail("missing or null: not an opscope profile");
    if (format->str() != kProfileFormat)
        format->fail("expected \"" + std::string(kProfileFormat) + "\", found \"" + format->str() + "\"");
    const Node version = root.at("version");
    if (version.u64() != static_cast<std::uint64_t>(kProfileFormatVersion))
        version.fail("unsupported version " + std::to_string(version.u64()) + " (this build reads version " +
                     std::to_string(kProfileFormatVersion) + ")");

    Profile p;
    p.policy = root.at("policy").str();
    if (const auto file = root.maybe("source_file")) p.source_file = file->str();
    if (const auto partial = root.maybe("partial")) p.partial = partial->boolean();
    if (const auto error = root.maybe("error")) p.error = error->str();

    const Node metrics = root.at("metrics");
    const auto group = [&](std::string_view key) { return group_at(root, metrics, key); };
    const auto times = [&](std::string_view key, const std::optional<GroupNode>& of) {
        return times_at(metrics, key, of.has_value());
    };

    const auto summary = group("summary");
    p.summary = read_group<Summary>(summary, [](const GroupNode& g) { return summary_from(g.data, g.accuracy); });
    if (const auto timing = root.maybe("timing")) p.timing = timing_from(*timing);
    const auto opcodes = group("opcodes");
    const auto opcode_times = times("opcode_times", opcodes);
    p.opcodes = read_group<OpcodeGroup>(opcodes, [&](const GroupNode& g) { return opcodes_from(g, opcode_times); });
    p.instructions = read_group<InstructionGroup>(group("hotspots"), instructions_from);
    const auto lines = group("lines");
    const auto line_times = times("line_times", lines);
    p.lines = read_group<LineGroup>(lines, [&](const GroupNode& g) { return lines_from(g, line_times); });
    const auto functions = group("functions");
    const auto function_times = times("function_times", functions);
    p.functions =
        read_group<FunctionGroup>(functions, [&](const GroupNode& g) { return functions_from(g, function_times); });
    p.frames = read_group<FrameStats>(group("frames"), [](const GroupNode& g) {
        return FrameStats{g.accuracy, g.data.at("pushed").u64(), g.data.at("popped").u64(),
                          g.data.at("max_depth").u64()};
    });
    p.stack = read_group<StackStats>(group("stack"), [](const GroupNode& g) {
        return StackStats{g.accuracy, g.data.at("pushes").u64(), g.data.at("pops").u64(),
                          g.data.at("max_depth").u64()};
    });
    p.branches = read_group<BranchGroup>(group("branches"), branches_from);
    const auto loops = group("loops");
    const auto loop_times = times("loop_times", loops);
    p.loops = read_group<LoopGroup>(loops, [&](const GroupNode& g) { return loops_from(g, loop_times); });
    const auto call_graph = group("call_graph");
    const auto call_graph_times = times("call_graph_times", call_graph);
    p.call_graph =
        read_group<CallGraph>(call_graph, [&](const GroupNode& g) { return call_graph_from(g, call_graph_times); });
    p.opcode_pairs = read_group<OpcodePairGroup>(group("opcode_pairs"), opcode_pairs_from);
    p.memory = read_group<MemoryStats>(group("memory"), memory_from);
    p.call_stacks = read_group<StackSampleGroup>(group("call_stacks"), call_stacks_from);
    if (const auto timeline = root.maybe("timeline")) p.timeline = timeline_from(*timeline);
    canonicalize(p);
    return p;
}

// The JSON Pointer of the value being read while nlohmann's parser runs, kept up to date from its callback
// events, so that a number it cannot hold (out of a double's range, such as 1e400) is reported where it is.
class PathTracker {
public:
    bool on_event(int, Json::parse_event_t event, const Json& parsed) {
        switch (event) {
        case Json::parse_event_t::object_start: open_.push_back(Level{false, 0, ""}); break;
        case Json::parse_event_t::array_start: open_.push_back(Level{true, 0, ""}); break;
        case Json::parse_event_t::key:
            if (!open_.empty()) open_.back().key = parsed.get<std::string>();
            break;
        case Json::parse_event_t::object_end:
        case Json::parse_event_t::array_end:
            if (!open_.empty()) open_.pop_back();
            value_done();
            break;
        case Json::parse_event_t::value: value_done(); break;
        }
        return true;
    }
    // Where the value being parsed is (its key already read, or the next element of an array).
    std::string path() const {
        std::string path;
        for (const Level& level : open_) {
            path += '/';
            if (level.is_array) {
                path += std::to_string(level.done);
            } else {
                for (char c : level.key) path += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
            }
        }
        return path;
    }

private:
    void value_done() {
        if (!open_.empty() && open_.back().is_array) ++open_.back().done;
    }
    struct Level {
        bool is_array;
        std::size_t done;  // an array's elements read so far
        std::string key;   // an object's key last read
    };
    std::vector<Level> open_;
};

} // namespace

Profile parse_json(std::string_view text) {
    Json doc;
    PathTracker tracker;
    try {
        doc = Json::parse(text, [&](int depth, Json::parse_event_t event, Json& parsed) {
            return tracker.on_event(depth, event, parsed);
        });
    } catch (const Json::parse_error& e) {  // its message gives the byte offset
        throw ProfileFormatError("", std::string("not valid JSON (") + e.what() + ")");
    } catch (const Json::exception& e) {   // out_of_range: a number beyond a double's range, such as 1e400
        throw ProfileFormatError(tracker.path(), std::string("number out of range (") + e.what() + ")");
    }
    return profile_from(Node(doc, ""));
}

} // namespace opscope
