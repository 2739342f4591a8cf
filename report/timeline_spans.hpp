// The timeline's enter/exit events made into balanced spans, the shape speedscope's evented profiles and
// Chrome's B/E slices need (report_speedscope.cpp, report_chrome.cpp). Private to report/.
//
// The recorded events are windows separated by gaps (Timeline::window, skipped) after an overwritten start
// (dropped), so an exit may have no recorded enter and an enter's frame may have returned unseen. Frames are
// paired by depth, as docs/profile-format.md says a reader does across a gap (EXPORTS.md §3.3):
// pass 1: an exit whose depth is below every earlier event's belongs to a frame live since before the first
//         kept event: it opens at the first event's time, root first;
// pass 2: an enter at depth d first closes live frames of depth >= d at the previous event's time (they
//         returned in a gap); an exit at depth d closes deeper frames at the previous time, then closes its
//         own frame, or, when that frame's enter was not recorded, opens it at the previous time and closes it
//         now; everything still open closes at the last event's time.
// Spans whose enter was not recorded say so (`enter_recorded` false). Opens and closes come out in order,
// properly nested, with non-decreasing times.
#pragma once

#include <opscope/profile.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace opscope::exports {

struct SpanEvent {
    enum class Kind : std::uint8_t { open, close } kind = Kind::open;
    std::string function;
    std::uint64_t time_ns = 0;
    std::uint32_t depth = 0;
    bool enter_recorded = true;  // false: opened where the data shows it was live, not at its recorded enter
                                 // (a close: its span's open)
    std::size_t event = 0;       // the timeline event that caused it (events.size(): the final closes)
};

// Where the recorded events show a gap: before event `before` (events.size(): after the last).
struct TimelineGap {
    enum class Evidence : std::uint8_t { dropped, depth, window } evidence = Evidence::depth;
    std::size_t before = 0;
    std::uint64_t time_ns = 0;  // the previous event's time (the first event's for `dropped`)
    std::uint64_t events = 0;   // events not recorded there, when known (dropped: exact), else 0
};

struct TimelineSpans {
    std::vector<SpanEvent> events;  // balanced: every open has its close, nested
    std::vector<TimelineGap> gaps;  // in order
    std::uint64_t recorded_enters = 0;    // enter events of the timeline
    std::uint64_t unrecorded_enters = 0;  // spans opened without their enter (enter_recorded false)
};

// Gaps: `dropped` before the first event when the ring buffer overwrote older ones; `depth` where the
// depths of two consecutive events cannot follow each other without events in between; `window` where the
// profile marks an event as the first after a gap (TimelineEvent::window_start) and the depths do not already
// show it. All three are certain: none is inferred from counts.
// Throws std::invalid_argument when the profile was built without the events (Timeline::events_left_out).
TimelineSpans balanced_spans(const Timeline& timeline);

// Throws std::invalid_argument, naming `reader`, when the timeline's events were left out of the profile.
void require_events(const Timeline& timeline, std::string_view reader);

} // namespace opscope::exports
