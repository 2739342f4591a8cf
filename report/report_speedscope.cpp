// format_speedscope: speedscope's JSON file format (jlfwong/speedscope src/lib/file-format-spec.ts): shared
// frames, a sampled profile of the sampled call stacks (statistical) and an evented profile of the call
// timeline (exact order, times as the timeline says), balanced across its gaps by timeline_spans.cpp.
// Frames are keyed (name, file, line): one per function at its first line, and one per (function, line) of
// the stacks when their lines are known. `$schema` names the format; nothing is fetched.
#include "export_support.hpp"
#include "timeline_spans.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <tuple>

namespace opscope {

namespace {

using Json = nlohmann::ordered_json;  // keys in the order written: deterministic and readable

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
    Json json() const {
        Json frames = Json::array();
        for (const auto& [key, index] : index_) {
            Json frame = {{"name", key.name}};
            if (key.file) frame["file"] = *key.file;
            if (key.line) frame["line"] = key.line;
            frames.push_back(std::move(frame));
        }
        return frames;
    }

private:
    const exports::FunctionIndex& functions_;
    std::map<FrameKey, std::size_t> index_;
};

} // namespace

std::string format_speedscope(const Profile& profile, const SpeedscopeOptions& options) {
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

    Json sampled = {
        {"type", "sampled"},
        {"name", fmt::format("{}: sampled call stacks ({}, statistical: estimated from timer samples{}){}", program,
                             by_time ? "sampled nanoseconds" : "samples", method, partial)},
        {"unit", by_time ? "nanoseconds" : "none"},
        {"startValue", 0},
    };
    std::uint64_t total = 0;
    Json stacks = Json::array(), weights = Json::array();
    for (const auto& [keys, weight] : samples) {
        Json stack = Json::array();
        for (const FrameKey* key : keys) stack.push_back(frames[*key]);
        stacks.push_back(std::move(stack));
        weights.push_back(weight);
        total += weight;
    }
    sampled["endValue"] = total;
    sampled["samples"] = std::move(stacks);
    sampled["weights"] = std::move(weights);

    Json profiles = Json::array();
    profiles.push_back(std::move(sampled));
    std::string timeline_note = "no evented profile: the profile has no call timeline (policy full records it)";
    if (spans) {
        const Timeline& t = *profile.timeline;
        Json events = Json::array();
        for (const exports::SpanEvent& e : spans->events)
            events.push_back({{"type", e.kind == exports::SpanEvent::Kind::open ? "O" : "C"},
                              {"frame", frames[frames.add(e.function)]},
                              {"at", e.time_ns}});
        const std::uint64_t start = spans->events.empty() ? 0 : spans->events.front().time_ns;
        const std::uint64_t end = spans->events.empty() ? 0 : spans->events.back().time_ns;
        timeline_note = fmt::format("call timeline: order exact, times {}; {} of {} events kept ({} overwritten, {} in gaps "
                                    "between windows), {} frames entered before what was kept or in a gap",
                                    to_string(t.time_accuracy), t.events.size(), t.recorded + t.skipped, t.dropped,
                                    t.skipped, spans->unrecorded_enters);
        profiles.push_back({{"type", "evented"},
                            {"name", fmt::format("{}: {}{}", program, timeline_note, partial)},
                            {"unit", "nanoseconds"},
                            {"startValue", start},
                            {"endValue", end},
                            {"events", std::move(events)}});
    }

    Json file = {
        {"$schema", "https://www.speedscope.app/file-format-schema.json"},
        {"exporter", fmt::format("opscope (policy {}): sampled profile statistical; {}", profile.policy.empty() ? "unknown" : profile.policy,
                                 timeline_note)},
        {"name", fmt::format("opscope {}{}", program, partial)},
        {"activeProfileIndex", 0},
        {"shared", {{"frames", frames.json()}}},
        {"profiles", std::move(profiles)},
    };
    // Invalid UTF-8 (a host may name functions anyhow) becomes U+FFFD rather than an exception.
    return file.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace opscope
