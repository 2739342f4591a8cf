// CallTimeline (see timeline.hpp): anchors and interpolation.
#include "timeline.hpp"

#include <algorithm>
#include <stdexcept>

namespace opscope {

CallTimeline::CallTimeline(std::size_t capacity) {
    if (capacity < kAnchorEvery || (capacity & (capacity - 1)) != 0)
        throw std::invalid_argument("timeline capacity must be a power of two of at least 64");
    events_.resize(capacity);
    anchors_.resize(capacity / kAnchorEvery + 2);
    mask_ = capacity - 1;
}

std::uint64_t CallTimeline::now_ns() const {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - origin_).count());
}

void CallTimeline::anchor() {
    anchors_[anchor_count_ % anchors_.size()] = Anchor{sequence_, now_ns()};
    ++anchor_count_;
}

void CallTimeline::reset() {
    sequence_ = anchor_count_ = 0;
    started_ = false;
}

void CallTimeline::on_run_begin(const Machine& machine) {
    if (generation_ != machine.load_generation()) {  // event function indices belong to one program
        reset();
        generation_ = machine.load_generation();
    }
    if (!started_) {
        origin_ = std::chrono::steady_clock::now();
        started_ = true;
    }
}

// Frames a `halt` or a fault leaves live exit at the run's end, top first; the end is an anchor.
void CallTimeline::on_run_end(const Machine& machine) {
    if (!recording_) return;
    const std::span<const Frame> frames = machine.live_frames();
    for (std::size_t k = frames.size(); k-- > 0;) record(frames[k].function->index, /*exit=*/true, k + 1);
    anchor();
}

void CallTimeline::profile_into(Profile& out, const Machine& machine) const {
    if (generation_ != machine.load_generation() || !started_) return;
    Timeline timeline;
    timeline.capacity = events_.size();
    timeline.recorded = sequence_;
    const std::uint64_t kept = std::min<std::uint64_t>(sequence_, events_.size());
    timeline.dropped = sequence_ - kept;
    // Anchors still in their ring, oldest first.
    std::vector<Anchor> anchors;
    const std::uint64_t first_anchor = anchor_count_ > anchors_.size() ? anchor_count_ - anchors_.size() : 0;
    for (std::uint64_t a = first_anchor; a < anchor_count_; ++a) anchors.push_back(anchors_[a % anchors_.size()]);
    const auto& functions = machine.linked_functions();
    std::size_t next = 0;  // first anchor with sequence > s
    for (std::uint64_t s = sequence_ - kept; s < sequence_; ++s) {
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
        event.depth = e.depth;
        timeline.events.push_back(std::move(event));
    }
    out.timeline = std::move(timeline);
}

} // namespace opscope
