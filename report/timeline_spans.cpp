// balanced_spans (timeline_spans.hpp): the timeline's events paired by depth into balanced spans.
#include "timeline_spans.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace opscope::exports {

namespace {

struct LiveFrame {
    std::string function;
    std::uint32_t depth = 0;
    bool enter_recorded = true;
};

std::uint64_t distance(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : b - a; }

} // namespace

void require_events(const Timeline& timeline, std::string_view reader) {
    if (timeline.events_left_out)
        throw std::invalid_argument(fmt::format("{} needs the timeline's events, and this profile was built without "
                                                "them, for a summary (CallTimeline::set_events_in_profile(false))",
                                                reader));
}

TimelineSpans balanced_spans(const Timeline& timeline) {
    require_events(timeline, "a timeline export");
    TimelineSpans out;
    const std::vector<TimelineEvent>& events = timeline.events;
    if (events.empty()) return out;
    using Kind = TimelineEvent::Kind;

    std::vector<LiveFrame> live;  // root first
    std::size_t current = 0;      // the event being paired
    std::uint64_t last_time = events.front().time_ns;
    // Times never go back (interpolated times are monotonic within a run; merged runs are laid end to end).
    auto at = [&](std::uint64_t t) { return last_time = std::max(last_time, t); };
    auto open = [&](const std::string& function, std::uint32_t depth, std::uint64_t t, bool recorded) {
        out.events.push_back(SpanEvent{SpanEvent::Kind::open, function, at(t), depth, recorded, current});
        live.push_back(LiveFrame{function, depth, recorded});
        if (!recorded) ++out.unrecorded_enters;
    };
    auto close_top = [&](std::uint64_t t) {
        out.events.push_back(SpanEvent{SpanEvent::Kind::close, live.back().function, at(t), live.back().depth, live.back().enter_recorded, current});
        live.pop_back();
    };

    if (timeline.dropped > 0)
        out.gaps.push_back(TimelineGap{TimelineGap::Evidence::dropped, 0, events.front().time_ns, timeline.dropped});

    // The frames live at event `from` at depths above `above` and below `below`, found by their exits: after
    // `from`, an exit below every depth seen since is a frame that was live at `from`. Root first.
    auto live_at = [&](std::size_t from, std::uint32_t above, std::uint32_t below) {
        std::vector<LiveFrame> found;  // deepest first
        std::uint32_t lowest = below;  // frames at depths up to `lowest` are still those live at `from`
        for (std::size_t j = from; j < events.size() && lowest > above; ++j) {
            const TimelineEvent& e = events[j];
            if (e.kind == Kind::exit && e.depth <= lowest && e.depth > above) {
                found.push_back(LiveFrame{e.function, e.depth, false});
                lowest = e.depth - 1;
            } else if (e.kind == Kind::enter) {
                lowest = std::min(lowest, e.depth - std::min<std::uint32_t>(e.depth, 1));
            }
        }
        return std::vector<LiveFrame>(found.rbegin(), found.rend());
    };

    // Pass 1: frames live since before the first kept event.
    const TimelineEvent& first = events.front();
    std::uint64_t depth_now = first.kind == Kind::enter ? first.depth - std::min<std::uint32_t>(first.depth, 1) : first.depth;
    for (const LiveFrame& f : live_at(0, 0, static_cast<std::uint32_t>(depth_now)))
        open(f.function, f.depth, first.time_ns, false);

    // Pass 2.
    for (std::size_t i = 0; i < events.size(); ++i) {
        const TimelineEvent& e = events[i];
        current = i;
        const std::uint64_t previous = i == 0 ? e.time_ns : events[i - 1].time_ns;
        // Events that must have happened since the previous one (depth_now: frames live after it).
        std::uint64_t missing = e.kind == Kind::enter ? distance(depth_now + 1, e.depth) : distance(depth_now, e.depth);
        // Frames of depth `own` and deeper returned in a gap; frames between the live top and `own` were
        // entered in one: those whose exits are recorded open now, at the previous event's time.
        const std::uint32_t own = e.depth;
        while (!live.empty() && live.back().depth > own) close_top(previous);
        if (!live.empty() && live.back().depth == own && (e.kind == Kind::enter || live.back().function != e.function)) {
            if (e.kind == Kind::exit) missing += 2;  // another function's frame at this depth returned in a gap
            close_top(previous);
        }
        const std::uint32_t top = live.empty() ? 0 : live.back().depth;
        if (i > 0 && top + 1 < own)
            for (const LiveFrame& f : live_at(i + 1, top, own - 1)) open(f.function, f.depth, previous, false);
        if (e.kind == Kind::enter) {
            open(e.function, e.depth, e.time_ns, true);
            ++out.recorded_enters;
            depth_now = e.depth;
        } else {
            if (live.empty() || live.back().depth != own) open(e.function, own, previous, false);
            close_top(e.time_ns);
            depth_now = own - std::min<std::uint32_t>(own, 1);
        }
        // The first event continues from the frames pass 1 opened: no gap is shown there (but `dropped`).
        if (i > 0 && missing > 0) {
            out.gaps.push_back(TimelineGap{TimelineGap::Evidence::depth, i, previous, missing});
        } else if (i > 0 && e.window_start) {
            out.gaps.push_back(TimelineGap{TimelineGap::Evidence::window, i, previous, 0});
        }
    }
    current = events.size();
    while (!live.empty()) close_top(last_time);
    return out;
}

} // namespace opscope::exports
