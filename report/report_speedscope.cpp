// format_speedscope: speedscope's JSON file format (jlfwong/speedscope src/lib/file-format-spec.ts): shared
// frames, a sampled profile of the sampled call stacks (statistical) and an evented profile of the call
// timeline (exact order, times as the timeline says), balanced across its gaps by timeline_spans.cpp.
// Frames are keyed (name, file, line): one per function at its first line, and one per (function, line) of
// the stacks when their lines are known. `$schema` names the format; nothing is fetched.
#include "export_support.hpp"
#include "json_writer.hpp"
#include "timeline_spans.hpp"

#include <fmt/format.h>

#include <map>
#include <tuple>

namespace opscope {

namespace {

struct FrameKey {
    std::string name;
    std::optional<std::string> file;
    std::uint32_t line = 0;
    auto operator<=>(const FrameKey&) const = default;
};

// The shared frames, numbered in key order once all are known.
class Frames {
public:
    explicit Frames(const exports::FunctionIndex& functions) : functions_(functions) {}
    // The frame of `name` at `line` (0: the function's first line).
    const FrameKey& add(const std::string& name, std::uint32_t line = 0) {
        FrameKey key{name, functions_.native(name) ? std::optional<std::string>("<native>") : functions_.file(name),
                     line ? line : functions_.first_line(name)};
        return index_.emplace(std::move(key), 0).first->first;
    }
    void number() {
        std::size_t i = 0;
        for (auto& [key, index] : index_) index = i++;
    }
    std::size_t operator[](const FrameKey& key) const { return index_.at(key); }
    void write(json::Writer& w) const {
        w.begin_array();
        for (const auto& [key, index] : index_) {
            w.begin_object().field("name", key.name);
            if (key.file) w.field("file", *key.file);
            if (key.line) w.field("line", key.line);
            w.end_object();
        }
        w.end_array();
    }

private:
    const exports::FunctionIndex& functions_;
    std::map<FrameKey, std::size_t> index_;
};

} // namespace

void write_speedscope(const Profile& profile, const SpeedscopeOptions& options, const ReportSink& sink) {
    const bool by_time = options.weight == SpeedscopeOptions::Weight::time;
    if (!profile.call_stacks)
        throw MissingGroupError("speedscope", "the sampled call stacks (call_stacks)", profile.policy, exports::kStacksRecordedBy);
    for (const StackSample& stack : profile.call_stacks->entries)
        if (by_time && !stack.time_ns)
            throw MissingGroupError("speedscope --weight time", "sampled times of the call stacks", profile.policy,
                                    exports::kStacksRecordedBy);

    const exports::FunctionIndex functions(profile);
    Frames frames(functions);
    // The sampled stacks as frame keys (empty stacks and zero weights left out: speedscope needs neither).
    std::vector<std::pair<std::vector<const FrameKey*>, std::uint64_t>> samples;
    for (const StackSample& stack : profile.call_stacks->entries) {
        const std::uint64_t weight = by_time ? *stack.time_ns : stack.samples;
        if (weight == 0 || stack.frames.empty()) continue;
        const bool with_lines = stack.lines.size() == stack.frames.size();
        std::vector<const FrameKey*> keys;
        for (std::size_t i = 0; i < stack.frames.size(); ++i)
            keys.push_back(&frames.add(stack.frames[i], with_lines ? stack.lines[i] : 0));
        samples.emplace_back(std::move(keys), weight);
    }
    std::optional<exports::TimelineSpans> spans;
    if (profile.timeline) {
        spans = exports::balanced_spans(*profile.timeline);
        for (const exports::SpanEvent& e : spans->events) frames.add(e.function);
    }
    frames.number();

    const std::string program = profile.source_file.empty() ? std::string("program") : profile.source_file;
    const std::string partial = profile.partial ? fmt::format(" [{}]", exports::partial_note(profile)) : std::string();
    const std::string method = profile.timing && !profile.timing->method.empty() ? fmt::format(", {}", profile.timing->method)
                                                                                  : std::string();

    std::uint64_t total = 0;
    for (const auto& sample : samples) total += sample.second;
    std::string timeline_note = "no evented profile: the profile has no call timeline (policy full records it)";
    if (spans) {
        const Timeline& t = *profile.timeline;
        timeline_note = fmt::format("call timeline: order exact, times {}; {} of {} events kept ({} overwritten, {} in gaps "
                                    "between windows), {} frames entered before what was kept or in a gap",
                                    to_string(t.time_accuracy), t.events.size(), t.recorded + t.skipped, t.dropped,
                                    t.skipped, spans->unrecorded_enters);
    }

    // Invalid UTF-8 (a host may name functions anyhow) becomes U+FFFD rather than an exception.
    json::ChunkedOutput out(sink);
    json::Writer w(out, json::Writer::Style::compact);
    w.begin_object()
        .field("$schema", "https://www.speedscope.app/file-format-schema.json")
        .field("exporter", fmt::format("opscope (policy {}): sampled profile statistical; {}",
                                       profile.policy.empty() ? "unknown" : profile.policy, timeline_note))
        .field("name", fmt::format("opscope {}{}", program, partial))
        .field("activeProfileIndex", 0)
        .key("shared")
        .begin_object()
        .key("frames");
    frames.write(w);
    w.end_object().key("profiles").begin_array();

    w.begin_object()
        .field("type", "sampled")
        .field("name", fmt::format("{}: sampled call stacks ({}, statistical: estimated from timer samples{}){}", program,
                                   by_time ? "sampled nanoseconds" : "samples", method, partial))
        .field("unit", by_time ? "nanoseconds" : "none")
        .field("startValue", 0)
        .field("endValue", total)
        .key("samples")
        .begin_array();
    for (const auto& [keys, weight] : samples) {
        w.begin_array();
        for (const FrameKey* key : keys) w.value(frames[*key]);
        w.end_array();
    }
    w.end_array().key("weights").begin_array();
    for (const auto& sample : samples) w.value(sample.second);
    w.end_array().end_object();

    if (spans) {
        const std::uint64_t start = spans->events.empty() ? 0 : spans->events.front().time_ns;
        const std::uint64_t end = spans->events.empty() ? 0 : spans->events.back().time_ns;
        w.begin_object()
            .field("type", "evented")
            .field("name", fmt::format("{}: {}{}", program, timeline_note, partial))
            .field("unit", "nanoseconds")
            .field("startValue", start)
            .field("endValue", end)
            .key("events")
            .begin_array();
        for (const exports::SpanEvent& e : spans->events)
            w.begin_object()
                .field("type", e.kind == exports::SpanEvent::Kind::open ? "O" : "C")
                .field("frame", frames[frames.add(e.function)])
                .field("at", e.time_ns)
                .end_object();
        w.end_array().end_object();
    }
    w.end_array().end_object().end_document();
}

std::string format_speedscope(const Profile& profile, const SpeedscopeOptions& options) {
    return json::collected([&](const ReportSink& sink) { write_speedscope(profile, options, sink); });
}

} // namespace opscope
