// format_chrome_trace: Chrome's Trace Event Format (JSON object form: traceEvents, displayTimeUnit,
// otherData), which Perfetto's UI and chrome://tracing open. One process (`opscope FILE`), one thread (`vm`);
// each span of the call timeline is a B/E pair (balanced across gaps by timeline_spans.cpp; cat `call`,
// `native`, plus `,enter-not-recorded` for a frame opened where the data shows it live); gaps are instant
// events named "[gap: ...]"; ts in microseconds with the nanoseconds as fraction. No args on B/E (speedscope's
// trace importer would add them to the frame names). otherData says what is exact and what is statistical.
#include "export_support.hpp"
#include "timeline_spans.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace opscope {

namespace {

using Json = nlohmann::ordered_json;

constexpr int kPid = 1;
constexpr int kTid = 1;

double micros(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

Json metadata(std::string_view name, std::string_view value) {
    return {{"name", name}, {"ph", "M"}, {"pid", kPid}, {"tid", kTid}, {"args", {{"name", value}}}};
}

std::string gap_name(const exports::TimelineGap& gap) {
    switch (gap.evidence) {
    case exports::TimelineGap::Evidence::dropped:
        return fmt::format("[gap: {} older events not recorded (overwritten in the ring buffer)]", gap.events);
    case exports::TimelineGap::Evidence::depth:
        return fmt::format("[gap: at least {} events not recorded]", gap.events);
    case exports::TimelineGap::Evidence::window:
        break;
    }
    return "[gap: events not recorded (a recording window begins)]";
}

std::string_view evidence_name(exports::TimelineGap::Evidence evidence) {
    switch (evidence) {
    case exports::TimelineGap::Evidence::dropped: return "dropped (exact count)";
    case exports::TimelineGap::Evidence::depth: return "call depths (certain; the count is a lower bound)";
    case exports::TimelineGap::Evidence::window: return "window start (marked in the profile: certain; the count is not known)";
    }
    return "";
}

} // namespace

std::string format_chrome_trace(const Profile& profile) {
    if (!profile.timeline)
        throw MissingGroupError("chrome", "the call timeline (timeline)", profile.policy, exports::kTimelineRecordedBy);
    const Timeline& timeline = *profile.timeline;
    const exports::TimelineSpans spans = exports::balanced_spans(timeline);
    const exports::FunctionIndex functions(profile);
    const std::string program = profile.source_file.empty() ? std::string("program") : profile.source_file;

    Json events = Json::array();
    events.push_back(metadata("process_name", "opscope " + program));
    events.push_back(metadata("thread_name", "vm"));
    // Gaps go before the spans of the event they precede, at the previous event's time.
    std::size_t next_gap = 0;
    auto emit_gaps_before = [&](std::size_t index) {
        for (; next_gap < spans.gaps.size() && spans.gaps[next_gap].before <= index; ++next_gap) {
            const exports::TimelineGap& gap = spans.gaps[next_gap];
            events.push_back({{"name", gap_name(gap)},
                              {"cat", "gap"},
                              {"ph", "i"},
                              {"s", "t"},
                              {"ts", micros(gap.time_ns)},
                              {"pid", kPid},
                              {"tid", kTid}});
        }
    };
    for (const exports::SpanEvent& e : spans.events) {
        emit_gaps_before(e.event);
        const bool is_open = e.kind == exports::SpanEvent::Kind::open;
        std::string cat = functions.native(e.function) ? "native" : "call";
        if (!e.enter_recorded) cat += ",enter-not-recorded";  // on B and E alike: the engine pairs them by name and cat
        events.push_back({{"name", e.function},
                          {"cat", cat},
                          {"ph", is_open ? "B" : "E"},
                          {"ts", micros(e.time_ns)},
                          {"pid", kPid},
                          {"tid", kTid}});
    }
    emit_gaps_before(timeline.events.size());

    // The heap: the profile keeps totals, not values over time; the one value with a time is the live bytes
    // at the run's end (exact), drawn as a counter there.
    std::optional<Json> memory;
    if (profile.memory) {
        const MemoryStats& m = *profile.memory;
        const std::uint64_t end = spans.events.empty() ? 0 : spans.events.back().time_ns;
        events.push_back({{"name", "heap"},
                          {"ph", "C"},
                          {"ts", micros(end)},
                          {"pid", kPid},
                          {"tid", kTid},
                          {"args", {{"live_bytes", m.live_bytes}}}});
        memory = Json{{"accuracy", to_string(m.accuracy)},
                      {"allocations", m.allocations},
                      {"allocated_bytes", m.allocated_bytes},
                      {"freed_bytes", m.freed_bytes},
                      {"peak_bytes", m.peak_bytes},
                      {"live_bytes_at_end", m.live_bytes},
                      {"gc_cycles", m.gc_cycles},
                      {"over_time", "not recorded: the profile keeps totals only, so the heap counter has one value, "
                                    "the live bytes at the run's end"}};
    }

    Json gaps = Json::array();
    for (const exports::TimelineGap& gap : spans.gaps)
        gaps.push_back({{"before_event", gap.before}, {"ts", micros(gap.time_ns)}, {"evidence", evidence_name(gap.evidence)},
                        {"events", gap.events}});
    Json other = {
        {"exporter", "opscope"},
        {"program", program},
        {"policy", profile.policy},
        {"exact", "the order and nesting of the recorded calls and returns, the event counts (recorded, dropped, "
                  "skipped), the memory totals"},
        {"statistical", fmt::format("the event times ({}: every 64th event and each window's first and last read the "
                                    "clock, the others are interpolated)", to_string(timeline.time_accuracy))},
        {"time_accuracy", to_string(timeline.time_accuracy)},
        {"capacity", timeline.capacity},
        {"recorded", timeline.recorded},
        {"kept", timeline.events.size()},
        {"dropped", timeline.dropped},
        {"window", timeline.window},
        {"skipped", timeline.skipped},
        {"enter_events", spans.recorded_enters},
        {"enters_not_recorded", spans.unrecorded_enters},
        {"gaps", std::move(gaps)},
        {"heap_counter", memory ? Json("one value: live bytes at the run's end") : Json("absent: no memory group")},
        {"partial", profile.partial},
    };
    if (memory) other["memory"] = std::move(*memory);
    if (profile.partial) other["partial_note"] = exports::partial_note(profile);
    if (!profile.error.empty()) other["error"] = profile.error;

    const Json trace = {{"traceEvents", std::move(events)}, {"displayTimeUnit", "ns"}, {"otherData", std::move(other)}};
    // Invalid UTF-8 (a host may name functions anyhow) becomes U+FFFD rather than an exception.
    return trace.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

} // namespace opscope
