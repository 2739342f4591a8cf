// TimeSampler: where the time goes, by sampling. A timer signal (SIGPROF, on the VM's own thread, about
// `sample_hz` times a second) finds the instruction the interpreter is running and walks the VM's call
// stack. Its ticks fall on the kernel's tick grid (CLOCK_MONOTONIC_COARSE's resolution, or half of it for
// rates between the kernel's HZ and twice that), so each tick, or every other one, shares the kernel's timer
// interrupt: in a VM guest an interrupt of its own costs a sample 30-80 us, sharing one a few
// (BENCHMARKS.md section 5). The periods are jittered ±25% in whole steps of the grid where the window
// holds two steps or more, and a period between one and two steps alternates between them, so it cannot
// lock onto a periodic program; at exactly one step (500 Hz on a 250 Hz kernel) the ticks are the kernel's
// own, unjittered: a program periodic with the kernel's tick could alias with them. Off the grid (rates above
// twice HZ, or a tick that cannot be read) the periods are jittered ±25%. The interpreter publishes only its
// top frame, at calls and returns; the running instruction is read from the interrupted thread's registers
// (the interpreter keeps `pc` in one): a register holding an instruction address inside the top frame's
// function. On other targets and in unoptimized builds (kPcFromRegisters false) the interpreter also stores
// pc on every dispatch. On request (`fast_start_ns`, e.g. kFastStartNs; the CLI's --fast-start), the first
// fast_start_ns of recorded time after a load are sampled at kFastStartHz (or the rate asked for, if higher),
// then the rate falls to `sample_hz`, so a short run gets enough samples to say something (a 50 ms run
// about 250); not by default, because on machines where a timer signal costs tens of microseconds it takes
// such a run far past the overhead budget (BENCHMARKS.md section 5). Each sample weighs the
// timer period that ended at it (its real interval, jitter included), scaled so the weights add up to the
// recorded wall time: shares stay unbiased across the change of rate, and the profile reports Kish's
// effective sample size (TimingInfo::effective_samples) for their intervals. Shares are therefore
// statistical, and right where timing every instruction with a clock is not: reading a clock takes several
// times as long as the instructions it would time, so it would multiply the run time and swamp what it
// measures.
//
// It attributes time to instructions (so opcodes and lines), functions (self, inclusive; natives apart),
// call edges, loops, and keeps the sampled call stacks (flame graphs). The handler allocates nothing; all
// tables are sized when a run begins. It also measures its own cost (handler time plus the signal
// delivery cost calibrated once per process) and reports it.
//
// Linux (timer_create with SIGEV_THREAD_ID). One sampling VM per thread at a time; the handler finds it
// through a thread-local pointer. Each run creates its timer for the thread running it, so many VMs sample at
// once on their own threads, and a VM that moves between threads from run to run samples on each. Natives may see EINTR from interrupted system calls (SA_RESTART is set).
//
// Living with the host's signals: the signal is SIGPROF unless the host picks another (set_sampler_signal,
// e.g. a real-time signal when it profiles with SIGPROF itself). Our timers mark their signals (SI_TIMER
// with our sigev_value); any other delivery of that signal goes to the handler that was installed before
// ours (a host handler, or another profiler's such as gperftools'; SIG_DFL and SIG_IGN: ignored). Each
// run that samples re-installs our handler if the host replaced it since, chaining the host's. A tick of a
// timer that is not this thread's sampler's (its thread exited, or its timer was deleted) is dropped.
// fork(): POSIX timers are not inherited, so a child forked during a sampled run samples no more in that
// run; its next run samples again. Destroying the VM deletes its timer.
#pragma once

#include <opscope/policy.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <vector>

namespace opscope {

// The signal the samplers use from their next run on (default SIGPROF); std::invalid_argument for one that
// cannot be caught. Process-wide, as signal handlers are.
void set_sampler_signal(int signo);
int sampler_signal_number();

class TimeSampler {
public:
    static constexpr std::string_view name = "sampler";
    // Only optimized builds keep the interpreter's pc in a register; unoptimized ones keep it on the stack.
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__)) && defined(__OPTIMIZE__)
    static constexpr bool kPcFromRegisters = true;
#else
    static constexpr bool kPcFromRegisters = false;
#endif
    static constexpr bool samples_stack = true;
    static constexpr bool samples_pc = !kPcFromRegisters;
    // Each signal costs the interrupted thread far more than the handler's own work (timer interrupt,
    // delivery, sigreturn, and the predictors and caches it cools), so the rate trades resolution for
    // overhead: this one keeps Full within its overhead budget (BENCHMARKS.md has the measurements). A run
    // of a second still gets about 500 samples; pass a higher rate for short runs.
    static constexpr double kDefaultHz = 500;
    // The start of the recorded time, sampled faster: 50 ms at 5 kHz, i.e. the first ~250 samples (the fast
    // start is spent by the periods of the samples taken, so ticks lost while the thread waits for a core do
    // not use it up). 5 kHz, not 4 kHz: a 50 ms run must get 200 samples on a busy machine too. Each signal
    // costs the thread 25-60 µs on the 2-core VM of BENCHMARKS.md (not the handler: delivery, and the caches
    // and predictors it cools), so the fast start costs any run that outlasts it ~230 signals more than the
    // default rate would, and a run shorter than 50 ms ~10 times the default rate's cost.
    static constexpr double kFastStartHz = 5000;
    static constexpr std::uint64_t kFastStartNs = 50'000'000;
    static constexpr std::size_t kMaxWalk = 256;  // frames walked per sample (top ones; main always)

    TimeSampler() : TimeSampler(kDefaultHz) {}
    explicit TimeSampler(double sample_hz, std::uint64_t fast_start_ns = 0);
    ~TimeSampler();
    TimeSampler(TimeSampler&& other) noexcept;
    TimeSampler& operator=(TimeSampler&&) = delete;
    TimeSampler(const TimeSampler&) = delete;

    void on_load(const Machine& machine);  // builds the tables for the new program (and zeroes them)
    void on_run_begin(const Machine& machine);
    void on_run_end(const Machine& machine);
    void reset();
    void start(const Machine& machine);
    void stop(const Machine& machine);
    bool recording() const { return recording_; }
    void profile_into(Profile& out, const Machine& machine) const;

    double sample_hz() const { return sample_hz_; }
    double fast_start_hz() const { return sample_hz_ > kFastStartHz ? sample_hz_ : kFastStartHz; }
    // With `on`, the ticks while recording set the machine's call trap (Machine::trap_calls), at most about
    // `sample_hz` times a second (so not at every tick of the fast start): FullProfiler's timeline windows.
    void trap_calls_at_ticks(bool on) { trap_calls_at_ticks_ = on; }
    std::uint64_t samples() const { return samples_; }

    // Signal-handler entry (public for the C handler only); `context` is the handler's ucontext_t.
    void take_sample(const void* context);
    // Whether `kernel_timer_id` (siginfo's si_timerid) is this sampler's armed timer.
    bool owns_timer(int kernel_timer_id) const;

private:
    struct StackNode {  // a calling-context tree node; the root is index 0
        std::int32_t parent = -1;
        std::int32_t frame = -1;  // function index, or functions + native index
        std::uint32_t line = 0;   // of the sampled instruction (leaf) or of the call (callers); 0: none
        std::int32_t first_child = -1;
        std::int32_t next_sibling = -1;
        std::uint64_t samples = 0;
        std::uint64_t weight = 0;  // ns, as the weighted tables
    };
    using Clock = std::chrono::steady_clock;
    void arm_timer();
    void disarm_timer();
    const Instr* running_pc(const void* context, const Frame* top);
    std::int32_t child(std::int32_t parent, std::int32_t frame, std::uint32_t line);
    struct Groups;  // profile_into: what it reads, derived once, and one function per Profile group

    double sample_hz_;
    const Machine* machine_ = nullptr;  // the one whose program is loaded
    bool ran_ = false;                  // a run began since the program was loaded (else nothing to report)
    bool recording_ = true;
    bool in_run_ = false;
    std::atomic<bool> sampling_{false};

    // Per program-wide instruction id: self samples in 1/12ths (a fused dispatch spreads over its
    // instructions); the call edge a call site belongs to (-1: not a call); loops enclosing it (CSR).
    static constexpr std::uint64_t kUnits = 12;
    std::vector<std::uint64_t> self_units_;
    std::vector<std::uint8_t> covers_;
    std::vector<std::int32_t> site_edge_;
    std::vector<std::uint32_t> loop_begin_, loop_ids_;
    // Per function (bytecode functions, then natives), per edge, per loop: inclusive samples, deduplicated
    // within a sample by stamping with the sample number.
    std::vector<std::uint64_t> inclusive_, edge_samples_, loop_samples_;
    std::vector<std::uint64_t> inclusive_stamp_, edge_stamp_, loop_stamp_;
    // The same tables weighted: each sample adds its weight (the timer period that ended at it, ns) where the
    // tables above add 1 (self: weight / covers per covered instruction).
    std::vector<std::uint64_t> self_weight_, inclusive_weight_, edge_weight_, loop_weight_;
    struct Edge {
        std::int32_t caller, callee;  // frame indices as in StackNode::frame
    };
    std::vector<Edge> edges_;
    struct Loop {
        std::uint32_t function, start, end;
    };
    std::vector<Loop> loops_;
    std::vector<StackNode> nodes_;  // capacity fixed at bind; when full, samples keep their times but not stacks
    std::vector<std::int32_t> walk_;
    std::vector<std::uint32_t> walk_lines_;  // the line of each walked frame
    std::vector<std::uint32_t> line_of_;     // per program-wide instruction id
    std::uint64_t start_unix_ns_ = 0;        // CLOCK_REALTIME when the first recorded run began (0: none yet)
    // Per general register: how often it held a different instruction address than at its last sample.
    // The interpreter's pc register keeps moving; others that point into code (a jump's source kept for
    // later, a loop's exit) stay put, so the register that moved most is taken as pc.
    std::uint64_t register_moves_[32] = {};
    std::uintptr_t register_last_[32] = {};

    std::uint64_t samples_ = 0;      // taken while recording
    std::uint64_t truncated_ = 0;
    std::uint64_t handler_ns_ = 0;
    std::uint64_t wall_ns_ = 0;
    std::uint64_t period_ns_ = 0;      // the period the timer is armed with: the weight of its next sample
    std::uint64_t next_tick_ns_ = 0;   // CLOCK_MONOTONIC time the timer is armed for (absolute)
    std::uint64_t fast_start_ns_ = 0;  // recorded time to sample at fast_start_hz() after a load (0: none)
    std::uint64_t fast_left_ns_ = 0;   // what is left of it
    std::uint64_t weight_sum_ = 0;     // of the recorded samples' weights, ns
    double weight_squares_ = 0;        // their squares' sum, ns^2 (Kish's effective sample size)
    Clock::time_point interval_start_{};
    std::uint64_t rng_ = 0x9E3779B97F4A7C15ull;
    void* timer_ = nullptr;  // timer_t
    bool trap_calls_at_ticks_ = false;
    std::uint64_t trap_due_ns_ = 0;  // timer periods since a tick last set the call trap
    bool timer_armed_ = false;
    std::int64_t carried_ns_ = 0;  // of the period, left when the last run's timer was disarmed
};

} // namespace opscope
