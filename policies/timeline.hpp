// CallTimeline: a bounded ring buffer of call enter/exit events, for timelines (Chrome trace). Recording an
// event is a store into the ring; reading a clock for every call would cost more than the call itself, so
// only every 64th event reads the clock (an anchor) and the times of the events between anchors are
// interpolated: statistical, within the ~1-2 us an anchor interval takes on call-heavy code.
#pragma once

#include "policy.hpp"

#include <chrono>
#include <cstdint>
#include <vector>

namespace opscope {

class CallTimeline {
public:
    static constexpr std::string_view name = "timeline";
    static constexpr std::size_t kDefaultCapacity = 1u << 16;  // events kept (a power of two)
    static constexpr std::uint64_t kAnchorEvery = 64;

    CallTimeline() : CallTimeline(kDefaultCapacity) {}
    explicit CallTimeline(std::size_t capacity);

    void on_call(const LinkedFunction*, std::size_t, const LinkedFunction& callee, std::size_t depth) {
        record(callee.index, /*exit=*/false, depth);
    }
    void on_return(const LinkedFunction& f, std::size_t depth) { record(f.index, /*exit=*/true, depth); }
    void on_run_begin(const Machine& machine);
    void on_run_end(const Machine& machine);
    void start(const Machine&) { recording_ = true; }
    void stop(const Machine&) { recording_ = false; }
    void reset();
    void profile_into(Profile& out, const Machine& machine) const;

private:
    struct Event {
        std::uint32_t function;  // high bit: exit
        std::uint32_t depth;
    };
    struct Anchor {
        std::uint64_t sequence;  // the event it timed
        std::uint64_t ns;        // since the first run began
    };
    void record(std::uint32_t function, bool exit, std::size_t depth) {
        if (!recording_) return;
        events_[sequence_ & mask_] = Event{function | (exit ? 0x80000000u : 0u), static_cast<std::uint32_t>(depth)};
        if ((sequence_ & (kAnchorEvery - 1)) == 0) anchor();
        ++sequence_;
    }
    void anchor();
    std::uint64_t now_ns() const;

    std::vector<Event> events_;
    std::vector<Anchor> anchors_;  // a ring of capacity / kAnchorEvery + 2
    std::uint64_t mask_;
    std::uint64_t sequence_ = 0;   // events recorded
    std::uint64_t anchor_count_ = 0;
    bool recording_ = true;
    bool started_ = false;
    std::chrono::steady_clock::time_point origin_{};
    std::uint64_t generation_ = 0;
};

} // namespace opscope
