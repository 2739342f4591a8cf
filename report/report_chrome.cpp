// format_chrome_trace: Chrome's Trace Event Format (JSON object form: traceEvents, displayTimeUnit,
// otherData), which Perfetto's UI and chrome://tracing open. One process (`opscope FILE`), one thread (`vm`);
// each span of the call timeline is a B/E pair (balanced across gaps by timeline_spans.cpp; cat `call`,
// `native`, plus `,enter-not-recorded` for a frame opened where the data shows it live); gaps are instant
// events named "[gap: ...]"; ts in microseconds with the nanoseconds as fraction. No args on B/E (speedscope's
// trace importer would add them to the frame names). otherData says what is exact and what is statistical.
#include "export_support.hpp"
#include "json_writer.hpp"
#include "timeline_spans.hpp"

#include <fmt/format.h>

namespace opscope {

namespace {

constexpr int kPid = 1;
constexpr int kTid = 1;

double micros(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

void write_metadata(json::Writer& w, std::string_view name, std::string_view value) {
    w.begin_object()
        .field("name", name)
        .field("ph", "M")
        .field("pid", kPid)
        .field("tid", kTid)
        .key("args")
        .begin_object()
        .field("name", value)
        .end_object()
        .end_object();
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

void write_chrome_trace(const Profile& profile, const ReportSink& sink) {
    if (!profile.timeline)
        throw MissingGroupError("chrome", "the call timeline (timeline)", profile.policy, exports::kTimelineRecordedBy);
    const Timeline& timeline = *profile.timeline;
    const exports::TimelineSpans spans = exports::balanced_spans(timeline);
    const exports::FunctionIndex functions(profile);
    const std::string program = profile.source_file.empty() ? std::string("program") : profile.source_file;

    // Invalid UTF-8 (a host may name functions anyhow) becomes U+FFFD rather than an exception.
    json::ChunkedOutput out(sink);
    json::Writer w(out, json::Writer::Style::compact);
    w.begin_object().key("traceEvents").begin_array();
    write_metadata(w, "process_name", "opscope " + program);
    write_metadata(w, "thread_name", "vm");
    // Gaps go before the spans of the event they precede, at the previous event's time.
    std::size_t next_gap = 0;
    auto emit_gaps_before = [&](std::size_t index) {
        for (; next_gap < spans.gaps.size() && spans.gaps[next_gap].before <= index; ++next_gap) {
            const exports::TimelineGap& gap = spans.gaps[next_gap];
            w.begin_object()
                .field("name", gap_name(gap))
                .field("cat", "gap")
                .field("ph", "i")
                .field("s", "t")
                .field("ts", micros(gap.time_ns))
                .field("pid", kPid)
                .field("tid", kTid)
                .end_object();
        }
    };
    for (const exports::SpanEvent& e : spans.events) {
        emit_gaps_before(e.event);
        const bool is_open = e.kind == exports::SpanEvent::Kind::open;
        std::string cat = functions.native(e.function) ? "native" : "call";
        if (!e.enter_recorded) cat += ",enter-not-recorded";  // on B and E alike: the engine pairs them by name and cat
        w.begin_object()
            .field("name", e.function)
            .field("cat", cat)
            .field("ph", is_open ? "B" : "E")
            .field("ts", micros(e.time_ns))
            .field("pid", kPid)
            .field("tid", kTid)
            .end_object();
    }
    emit_gaps_before(timeline.events.size());
    // The heap: the profile keeps totals, not values over time; the one value with a time is the live bytes
    // at the run's end (exact), drawn as a counter there.
    if (profile.memory) {
        const std::uint64_t end = spans.events.empty() ? 0 : spans.events.back().time_ns;
        w.begin_object()
            .field("name", "heap")
            .field("ph", "C")
            .field("ts", micros(end))
            .field("pid", kPid)
            .field("tid", kTid)
            .key("args")
            .begin_object()
            .field("live_bytes", profile.memory->live_bytes)
            .end_object()
            .end_object();
    }
    w.end_array().field("displayTimeUnit", "ns").key("otherData").begin_object();

    w.field("exporter", "opscope")
        .field("program", program)
        .field("policy", profile.policy)
        .field("exact", "the order and nesting of the recorded calls and returns, the event counts (recorded, dropped, "
                        "skipped), the memory totals")
        .field("statistical", fmt::format("the event times ({}: every 64th event and each window's first and last read the "
                                          "clock, the others are interpolated)", to_string(timeline.time_accuracy)))
        .field("time_accuracy", to_string(timeline.time_accuracy))
        .field("capacity", timeline.capacity)
        .field("recorded", timeline.recorded)
        .field("kept", timeline.events.size())
        .field("dropped", timeline.dropped)
        .field("window", timeline.window)
        .field("skipped", timeline.skipped)
        .field("enter_events", spans.recorded_enters)
        .field("enters_not_recorded", spans.unrecorded_enters)
        .key("gaps")
        .begin_array();
    for (const exports::TimelineGap& gap : spans.gaps)
        w.begin_object()
            .field("before_event", gap.before)
            .field("ts", micros(gap.time_ns))
            .field("evidence", evidence_name(gap.evidence))
            .field("events", gap.events)
            .end_object();
    w.end_array()
        .field("heap_counter", profile.memory ? "one value: live bytes at the run's end" : "absent: no memory group")
        .field("partial", profile.partial);
    if (profile.memory) {
        const MemoryStats& m = *profile.memory;
        w.key("memory")
            .begin_object()
            .field("accuracy", to_string(m.accuracy))
            .field("allocations", m.allocations)
            .field("allocated_bytes", m.allocated_bytes)
            .field("freed_bytes", m.freed_bytes)
            .field("peak_bytes", m.peak_bytes)
            .field("live_bytes_at_end", m.live_bytes)
            .field("gc_cycles", m.gc_cycles)
            .field("over_time", "not recorded: the profile keeps totals only, so the heap counter has one value, "
                                "the live bytes at the run's end")
            .end_object();
    }
    if (profile.partial) w.field("partial_note", exports::partial_note(profile));
    if (!profile.error.empty()) w.field("error", profile.error);
    w.end_object().end_object().end_document();
}

std::string format_chrome_trace(const Profile& profile) {
    return json::collected([&](const ReportSink& sink) { write_chrome_trace(profile, sink); });
}

} // namespace opscope
