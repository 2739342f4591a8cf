// CallTimeline: a bounded ring buffer of call enter/exit events, for timelines (Chrome trace), recorded in
// windows. Recording every call and return would cost call-heavy code a large share of its time (two stores
// and a clock anchor per call, where a call itself is a handful of instructions), far over Full's overhead
// budget, and so would long windows at short intervals. So the timeline records exact, in-order windows of
// `kWindow` consecutive events separated by gaps of about `kMeanGap` calls (jittered ±50%, so periodic
// programs cannot alias with it; about twice as many events, with the returns); a window opens when each
// run (or recording) begins. Between windows a call costs one decrement and a branch, and a return a test
// and a branch (no store: a store there would chain each return to the last through memory, which recursive
// code feels). Returns skipped in a gap are counted exactly from its calls and the depths where it began and
// ended. FullProfiler uses TickedCallTimeline (below) instead: no countdown, and nothing per call or return
// between windows.
// Within a window every 64th event reads the clock (an anchor), as do its first and last events; the times
// of the events between anchors are interpolated: statistical, within the time an anchor interval spans.
#pragma once

#include <opscope/policy.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace opscope {

class CallTimeline {
public:
    static constexpr std::string_view name = "timeline";
    static constexpr std::size_t kDefaultCapacity = 1u << 16;  // events kept (a power of two)
    static constexpr std::uint64_t kAnchorEvery = 64;
    static constexpr std::uint32_t kWindow = 256;      // events recorded in a row
    static constexpr std::uint32_t kMeanGap = 65536;   // calls skipped between windows, on average

    CallTimeline() : CallTimeline(kDefaultCapacity) {}
    // `window` 0 records every event (no gaps): exact sequences, at the full per-call cost.
    explicit CallTimeline(std::size_t capacity, std::uint32_t window = kWindow, std::uint32_t mean_gap = kMeanGap);

    // The hot path is the decrement alone: the depth is read off the published top frame (samples_stack)
    // only for the events recorded.
    static constexpr bool samples_stack = true;
    void on_call(const LinkedFunction* caller, std::size_t, const LinkedFunction& callee, std::size_t) {
        if (--countdown_ == 0) [[unlikely]] event(callee, /*exit=*/false, caller == nullptr);
    }
    void on_return(const LinkedFunction& f, std::size_t) {
        if (in_window_) [[unlikely]] event(f, /*exit=*/true, false);
    }
    void on_load(const Machine&) { reset(); }  // event function indices belong to one program
    void on_run_begin(const Machine& machine);
    void on_run_end(const Machine& machine);
    void start(const Machine&);
    void stop(const Machine&);
    void reset();
    bool recording() const { return recording_; }
    // false: profiles get the timeline's summary, its oldest and newest kept events only
    // (Timeline::events_left_out), for a report that shows no more (text, HTML): materializing thousands of
    // events cost a cold `opscope profile --policy full` of fib(30) ~2% of its CPU time, most of it in page faults.
    void set_events_in_profile(bool on) { events_in_profile_ = on; }
    void profile_into(Profile& out, const Machine& machine) const;

protected:
    struct Ticked {};
    // TickedCallTimeline: windows open when the machine's call trap is set (by a sampler's tick), not by a
    // countdown.
    CallTimeline(Ticked, std::size_t capacity, std::uint32_t window);
    void event(const LinkedFunction& function, bool exit, bool main);  // a recorded event (hooks' slow path)

private:
    struct Event {
        std::uint32_t function;  // high bit: exit
        std::uint32_t depth;     // high bit: the first event after a gap (TimelineEvent::window_start)
    };
    struct Anchor {
        std::uint64_t sequence;  // the event it timed
        std::uint64_t ns;        // since the first run began
    };
    static constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();  // a countdown that never ends

    void record(std::uint32_t function, bool exit, std::size_t depth);
    void trap_calls(bool on) const;  // ticked, during a run: hear the calls and returns from now on (or not)
    void open_window(std::size_t depth);  // the next event starts a window; `depth`: frames live now
                                          // (ticked: the next call or return, whatever the tick)
    void close_gap(std::size_t depth);    // counts the events the current gap skipped, and ends it
    // Events a gap has skipped, `depth` frames being live now: its calls, and as many returns give or take
    // the depth it changed by.
    std::uint64_t gap_seen(std::size_t depth) const {
        if (gap_length_ == 0) return 0;
        const std::uint64_t calls = gap_length_ - countdown_;
        return 2 * calls + gap_depth_ - depth;
    }
    void anchor(std::uint64_t sequence);
    std::uint64_t now_ns() const;

    // The rings, allocated uninitialized: a slot is read only after it was written (since the last reset),
    // so a run touches only the pages its events reach (a short run: a few of the 640 KiB), and the
    // constructor does not zero them all (a tenth of a millisecond and 160 page faults in every process).
    std::unique_ptr<Event[]> events_;
    std::unique_ptr<Anchor[]> anchors_;
    std::size_t capacity_;       // of events_
    std::size_t anchor_slots_;   // of anchors_
    std::uint64_t mask_;
    std::uint32_t window_;
    std::uint32_t mean_gap_;
    std::uint64_t countdown_ = kNever;  // calls until the next one is recorded
    bool in_window_ = false;            // returns are recorded
    std::uint64_t gap_length_ = 0;      // the countdown the current gap began with (0: not in a gap)
    std::uint64_t gap_depth_ = 0;       // frames live when it began
    std::uint32_t window_left_ = 0;     // events the current window still records
    std::uint64_t sequence_ = 0;        // events recorded
    std::uint64_t skipped_ = 0;         // events that fell between windows
    std::uint64_t anchor_count_ = 0;
    std::uint64_t rng_ = 0x2545F4914F6CDD1Dull;
    bool recording_ = true;
    bool started_ = false;
    bool in_run_ = false;
    std::chrono::steady_clock::time_point origin_{};
    const Machine* machine_ = nullptr;  // during a run
    bool ticked_ = false;
    std::uint64_t unpopped_exits_ = 0;  // ticked: exits recorded at run ends for frames a fault left live
    bool gap_pending_ = true;           // events may have gone unrecorded since the last recorded one
    bool events_in_profile_ = true;
};

// The timeline as FullProfiler uses it: a window opens at the first call or return after each tick of the
// sampler it is composed with (FullProfiler wires them). The tick sets the machine's call trap
// (Machine::trap_calls); the timeline hears calls and returns only while it is set, and clears it when the
// window is full. Between windows a call and a return cost nothing at all, where a flag test on each cost
// call-heavy code several percent. With no countdown there is no count of the calls between windows:
// `skipped` is derived from CountingProfiler's exact frame counts, which must come earlier in the
// composition.
class TickedCallTimeline : public CallTimeline {
public:
    TickedCallTimeline() : TickedCallTimeline(kDefaultCapacity) {}
    explicit TickedCallTimeline(std::size_t capacity, std::uint32_t window = kWindow)
        : CallTimeline(Ticked{}, capacity, window) {}
    void on_trapped_call(const LinkedFunction* caller, std::size_t, const LinkedFunction& callee, std::size_t) {
        event(callee, /*exit=*/false, caller == nullptr);
    }
    void on_trapped_return(const LinkedFunction& f, std::size_t) { event(f, /*exit=*/true, false); }
    // Not CallTimeline's countdown: the hooks above are the only ones (a deleted hook is no hook).
    void on_call(const LinkedFunction*, std::size_t, const LinkedFunction&, std::size_t) = delete;
    void on_return(const LinkedFunction&, std::size_t) = delete;
};

} // namespace opscope
