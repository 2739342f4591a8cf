// CallTimeline (see timeline.hpp): windows, anchors and interpolation.
#include <opscope/policies/timeline.hpp>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace opscope {

CallTimeline::CallTimeline(std::size_t capacity, std::uint32_t window, std::uint32_t mean_gap)
    : window_(window), mean_gap_(std::max<std::uint32_t>(mean_gap, 2)) {
    if (capacity < kAnchorEvery || (capacity & (capacity - 1)) != 0)
        throw std::invalid_argument("timeline capacity must be a power of two of at least 64");
    capacity_ = capacity;
    anchor_slots_ = capacity / 8 + 16;  // a window of W events takes at most W/64 + 2 anchors
    events_ = std::make_unique_for_overwrite<Event[]>(capacity_);
    anchors_ = std::make_unique_for_overwrite<Anchor[]>(anchor_slots_);
    mask_ = capacity - 1;
}

CallTimeline::CallTimeline(Ticked, std::size_t capacity, std::uint32_t window) : CallTimeline(capacity, window) {
    ticked_ = true;
    countdown_ = kNever;
}

std::uint64_t CallTimeline::now_ns() const {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - origin_).count());
}

void CallTimeline::anchor(std::uint64_t sequence) {
    anchors_[anchor_count_ % anchor_slots_] = Anchor{sequence, now_ns()};
    ++anchor_count_;
}

void CallTimeline::trap_calls(bool on) const {
    if (ticked_ && in_run_) machine_->trap_calls(on);
}

void CallTimeline::record(std::uint32_t function, bool exit, std::size_t depth) {
    if ((sequence_ & (kAnchorEvery - 1)) == 0) anchor(sequence_);
    events_[sequence_ & mask_] = Event{function | (exit ? 0x80000000u : 0u),
                                       (static_cast<std::uint32_t>(depth) & 0x7FFFFFFFu) | (gap_pending_ ? 0x80000000u : 0u)};
    gap_pending_ = false;
    ++sequence_;
}

void CallTimeline::open_window(std::size_t depth) {
    window_left_ = 0;
    gap_pending_ = true;
    if (ticked_) {
        trap_calls(true);
        return;
    }
    close_gap(depth);
    countdown_ = 1;
    in_window_ = true;
}

void CallTimeline::close_gap(std::size_t depth) {
    skipped_ += gap_seen(depth);
    gap_length_ = 0;
}

// A recorded event: the first of a window or the next one in it (every event, with no windows). Hooks run
// before the interpreter publishes the new top frame: a call's caller (none for main) and a return's own
// frame are on top.
void CallTimeline::event(const LinkedFunction& f, bool exit, bool main) {
    const std::size_t top =
        main ? 0 : static_cast<std::size_t>(machine_->sample_point().frame.load(std::memory_order_relaxed) - machine_->frame_stack()) + 1;
    const std::size_t depth = exit ? top : top + 1;  // frames live after an enter, before an exit
    if (gap_length_ != 0) {  // a call ends the gap: it is recorded; the gap's other calls and returns are not
        skipped_ += gap_seen(top) - 2;  // countdown 0: gap_seen took this call, and a return for it, as skipped
        gap_length_ = 0;
        in_window_ = true;
    }
    if (window_ != 0 && window_left_ == 0) {
        window_left_ = window_;
        if ((sequence_ & (kAnchorEvery - 1)) != 0) anchor(sequence_);  // the window's first event is timed
    }
    record(f.index, exit, depth);
    if (!ticked_) countdown_ = 1;
    if (window_ == 0 || --window_left_ != 0) return;
    gap_pending_ = true;    // the window is complete: what follows it is not recorded until the next one
    anchor(sequence_ - 1);  // the window's last event is timed too
    if (ticked_) {  // then nothing until the next tick (profile_into derives the skipped events)
        trap_calls(false);
        return;
    }
    // Then a jittered gap (xorshift: no allocation, no locks).
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    gap_length_ = countdown_ = mean_gap_ / 2 + rng_ % mean_gap_ + 1;
    gap_depth_ = exit ? depth - 1 : depth;
    in_window_ = false;
}

void CallTimeline::reset() {
    sequence_ = anchor_count_ = skipped_ = unpopped_exits_ = 0;
    gap_length_ = 0;
    window_left_ = 0;
    countdown_ = recording_ && !ticked_ ? 1 : kNever;
    in_window_ = recording_ && !ticked_;
    trap_calls(recording_);
    // Mid-run (a snapshot), the next interval's times count from now.
    started_ = in_run_;
    if (in_run_) origin_ = std::chrono::steady_clock::now();
    gap_pending_ = true;
}

void CallTimeline::start(const Machine& machine) {
    if (recording_) return;
    recording_ = true;
    open_window(machine.live_frames().size());
}

void CallTimeline::stop(const Machine& machine) {
    if (!recording_) return;
    if (!ticked_) close_gap(machine.live_frames().size());
    recording_ = false;
    gap_pending_ = true;
    countdown_ = kNever;
    in_window_ = false;
    trap_calls(false);
}

void CallTimeline::on_run_begin(const Machine& machine) {
    if (!started_) {
        origin_ = std::chrono::steady_clock::now();
        started_ = true;
    }
    machine_ = &machine;
    in_run_ = true;
    if (recording_) open_window(0);  // every run's beginning is in the timeline (main is not entered yet)
}

// Frames a `halt` or a fault leaves live exit at the run's end, top first, recorded whatever the window;
// the end is an anchor.
void CallTimeline::on_run_end(const Machine& machine) {
    trap_calls(false);  // the next run opens its own window
    in_run_ = false;
    if (!recording_) return;
    const std::span<const Frame> frames = machine.live_frames();
    if (!ticked_) close_gap(frames.size());
    window_left_ = 0;
    for (std::size_t k = frames.size(); k-- > 0;) record(frames[k].function->index, /*exit=*/true, k + 1);
    if (machine.run_end() != RunEnd::halted) unpopped_exits_ += frames.size();  // Counting pops halt's frames only
    anchor(sequence_);
    gap_pending_ = true;
    countdown_ = kNever;  // until the next run opens a window
    in_window_ = false;
}

void CallTimeline::profile_into(Profile& out, const Machine& machine) const {
    if (!started_) return;
    Timeline timeline;
    timeline.capacity = capacity_;
    timeline.recorded = sequence_;
    timeline.window = window_;
    if (!ticked_) {
        timeline.skipped = skipped_ + gap_seen(machine.live_frames().size());
    } else if (out.frames) {
        // Events while recording: a frame pushed is an enter; a return or a halt pops it (exits Counting
        // counts), a fault's run end exits it here; a frame still live (mid-run) has not exited yet.
        const std::uint64_t events = out.frames->pushed + out.frames->popped + unpopped_exits_;
        timeline.skipped = events - sequence_;
    }
    const std::uint64_t kept = std::min<std::uint64_t>(sequence_, capacity_);
    timeline.dropped = sequence_ - kept;
    // Anchors still in their ring, oldest first.
    std::vector<Anchor> anchors;
    const std::uint64_t first_anchor = anchor_count_ > anchor_slots_ ? anchor_count_ - anchor_slots_ : 0;
    anchors.reserve(anchor_count_ - first_anchor);
    for (std::uint64_t a = first_anchor; a < anchor_count_; ++a) anchors.push_back(anchors_[a % anchor_slots_]);
    const auto& functions = machine.linked().functions();
    // Left out: the oldest and the newest kept event, for the summary's times.
    timeline.events_left_out = !events_in_profile_ && kept > 2;
    const std::uint64_t stride = timeline.events_left_out ? kept - 1 : 1;
    timeline.events.reserve(timeline.events_left_out ? 2 : kept);  // sized once: thousands of events (fib(30): ~2,800)
    std::size_t next = 0;  // first anchor with sequence > s
    for (std::uint64_t s = sequence_ - kept; s < sequence_; s += stride) {
        while (next < anchors.size() && anchors[next].sequence <= s) ++next;
        std::uint64_t t = 0;
        if (next == 0) {
            t = anchors.empty() ? 0 : anchors.front().ns;
        } else if (next == anchors.size()) {
            t = anchors.back().ns;
        } else {
            const Anchor& a = anchors[next - 1];
            const Anchor& b = anchors[next];
            t = a.ns + (b.ns - a.ns) * (s - a.sequence) / std::max<std::uint64_t>(b.sequence - a.sequence, 1);
        }
        const Event& e = events_[s & mask_];
        TimelineEvent event;
        event.time_ns = t;
        event.kind = (e.function & 0x80000000u) ? TimelineEvent::Kind::exit : TimelineEvent::Kind::enter;
        const std::uint32_t index = e.function & 0x7FFFFFFFu;
        event.function = index < functions.size() ? functions[index].source->name : "?";
        event.depth = e.depth & 0x7FFFFFFFu;
        event.window_start = (e.depth & 0x80000000u) != 0;
        timeline.events.push_back(std::move(event));
    }
    out.timeline = std::move(timeline);
}

} // namespace opscope
