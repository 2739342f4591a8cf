// TimeSampler (see sampler.hpp): the timer, the signal handler's attribution, and the aggregation into a
// Profile, one function per group (Groups). Only take_sample() runs in signal context: it reads the VM's
// published state, writes preallocated tables, and calls only async-signal-safe functions (clock_gettime,
// timer_settime).
#include <opscope/policies/sampler.hpp>

#include "tick_grid.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

namespace opscope {

namespace {

// The sampler running on this thread (initial-exec TLS: safe to read from a signal handler).
__attribute__((tls_model("initial-exec"))) thread_local TimeSampler* active_sampler = nullptr;
// Set while signal_delivery_ns() raises signals at itself.
__attribute__((tls_model("initial-exec"))) thread_local bool calibrating = false;

// The signal the samplers' timers send (set_sampler_signal), and every timer's sigev_value: a signal with
// si_code SI_TIMER and this value is ours; any other is the host's and goes to the handler we replaced.
std::atomic<int> sampler_signal{SIGPROF};
const char kOurTimers = 0;

// The dispositions we replaced, per signal number, for chaining. Written under `claim_mutex` before our
// handler is installed over them (so the handler never reads one being written for its own signal).
std::mutex claim_mutex;
struct sigaction replaced[NSIG];

void on_sample_signal(int signo, siginfo_t* info, void* context) {
    const int saved_errno = errno;
    if (calibrating) {
        errno = saved_errno;
        return;
    }
    if (info && info->si_code == SI_TIMER && info->si_value.sival_ptr == &kOurTimers) {
        // Ours: for this thread's sampler, unless its timer is not the one that fired (a tick of a thread
        // that exited or of a deleted timer, delivered elsewhere): dropped.
        if (TimeSampler* sampler = active_sampler; sampler && sampler->owns_timer(info->si_timerid)) sampler->take_sample(context);
    } else if (const struct sigaction& host = replaced[signo]; host.sa_flags & SA_SIGINFO) {
        if (host.sa_sigaction) host.sa_sigaction(signo, info, context);
    } else if (host.sa_handler != SIG_DFL && host.sa_handler != SIG_IGN && host.sa_handler) {
        host.sa_handler(signo);
    }  // SIG_DFL or SIG_IGN before us: ignored (SIGPROF's default would end the process)
    errno = saved_errno;
}

// Makes our handler the signal's, keeping the one it replaces for chaining. Run at every arm, so a host
// that installed its own handler after ours (another profiler starting) gets chained, not cut off.
void claim_signal(int signo) {
    const std::lock_guard lock(claim_mutex);
    struct sigaction current;
    if (sigaction(signo, nullptr, &current) != 0)
        throw std::runtime_error(fmt::format("sampler: cannot read the handler of signal {}: {}", signo, std::strerror(errno)));
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_sample_signal) return;
    replaced[signo] = current;
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sample_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(signo, &action, nullptr) != 0)
        throw std::runtime_error(fmt::format("sampler: cannot install the handler of signal {}: {}", signo, std::strerror(errno)));
}

std::uint64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// What delivering one signal costs the interrupted thread beyond the handler's body (kernel entry, frame
// set-up, sigreturn): measured once per process with a handler that does nothing, as the fastest of a few
// small batches of raise(). Each raise costs 1.5-2 µs on the VMs of BENCHMARKS.md, and every process that
// samples pays for the calibration before its first run: 5 batches of 200 (1,000 signals) took 1.2-6 ms of
// CPU, 4-20% of a 30 ms profiled run, to calibrate a figure that ~15 samples multiply; 6 batches of 8 (48
// signals, ~0.1 ms) gave the same fastest batch within the run-to-run spread of either (BENCHMARKS.md,
// "Cold"). On the AMD EPYC guest of session 12 a raise costs 6-20 µs, so 48 cost 0.3-1 ms: now 3 batches of 4.
std::uint64_t signal_delivery_ns() {
    static const std::uint64_t cost = [] {
        constexpr int kBatches = 3, kRounds = 4;
        const int signo = sampler_signal.load();
        claim_signal(signo);
        calibrating = true;
        std::uint64_t best = UINT64_MAX;
        for (int batch = 0; batch < kBatches; ++batch) {
            const std::uint64_t begin = monotonic_ns();
            for (int i = 0; i < kRounds; ++i) raise(signo);
            best = std::min(best, (monotonic_ns() - begin) / kRounds);
        }
        calibrating = false;
        return best;
    }();
    return cost;
}

// The kernel's scheduler tick, where it can be read: the resolution of CLOCK_MONOTONIC_COARSE, which the
// tick advances (1-10 ms: HZ 1000..100); 0 where it cannot. Linux aligns the tick to multiples of it on the
// CLOCK_MONOTONIC clock.
std::uint64_t kernel_tick_ns() {
    static const std::uint64_t tick = [] {
        timespec resolution{};
        if (clock_getres(CLOCK_MONOTONIC_COARSE, &resolution) != 0 || resolution.tv_sec != 0) return std::uint64_t{0};
        const auto ns = static_cast<std::uint64_t>(resolution.tv_nsec);
        return ns >= 1'000'000 && ns <= 10'000'000 ? ns : std::uint64_t{0};
    }();
    return tick;
}

// How ticks of mean period `period_ns` are scheduled, for the profile's method.
std::string schedule(double period_ns) {
    const std::uint64_t step = tick_grid::step_ns(kernel_tick_ns(), static_cast<std::uint64_t>(period_ns));
    if (step == 0) return ", jittered";
    return fmt::format(", on the kernel tick's {:g} ms grid{}", static_cast<double>(step) / 1e6,
                       tick_grid::varies(period_ns, step) ? ", jittered in whole steps" : "");
}

} // namespace

void set_sampler_signal(int signo) {
    if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
        throw std::invalid_argument(fmt::format("sampler signal {} cannot be caught", signo));
    sampler_signal.store(signo);
}
int sampler_signal_number() { return sampler_signal.load(); }

bool TimeSampler::owns_timer(int kernel_timer_id) const {
    return timer_armed_ && static_cast<int>(reinterpret_cast<std::intptr_t>(timer_)) == kernel_timer_id;
}

TimeSampler::TimeSampler(double sample_hz, std::uint64_t fast_start_ns) : sample_hz_(sample_hz), fast_start_ns_(fast_start_ns) {
    if (!(sample_hz > 0 && sample_hz <= 100000))
        throw std::invalid_argument(fmt::format("sample rate {} Hz is out of range (0, 100000]", sample_hz));
}

TimeSampler::TimeSampler(TimeSampler&& other) noexcept : sample_hz_(other.sample_hz_), fast_start_ns_(other.fast_start_ns_) {}

TimeSampler::~TimeSampler() {
    if (active_sampler == this) active_sampler = nullptr;
    disarm_timer();
}

// The program's call edges and loops, per instruction its call edge and the loops around it, and the sample
// tables sized for them (zeroed by reset()).
void TimeSampler::on_load(const Machine& machine) {
    machine_ = &machine;
    ran_ = false;
    const auto& functions = machine.linked().functions();
    const std::size_t n = machine.linked().instruction_count();
    const std::size_t frames = functions.size() + machine.natives().size();
    covers_.assign(n, 1);
    site_edge_.assign(n, -1);
    line_of_.assign(n, 0);
    edges_.clear();
    loops_.clear();
    std::map<std::pair<std::int32_t, std::int32_t>, std::int32_t> edge_index;
    for (const LinkedFunction& f : functions) {
        for (std::size_t k = 0; k < f.code.size(); ++k) {
            const std::size_t id = f.first_instruction + k;
            covers_[id] = static_cast<std::uint8_t>(info(op_of(f.code[k])).covers);
            line_of_[id] = f.source->position(k).line;
            // A call site is the program's own `call` (a fused form that ends with one, like call_k, starts
            // earlier: its flow is the call's, but the call and its operand are at the call's offset).
            if (info(f.source->code[k].op).flow == Flow::call) {
                const std::int32_t callee = op_of(f.code[k]) == Op::call
                                                ? f.code[k].operand
                                                : static_cast<std::int32_t>(functions.size()) + f.code[k].operand;
                const auto key = std::make_pair(static_cast<std::int32_t>(f.index), callee);
                auto [it, fresh] = edge_index.try_emplace(key, static_cast<std::int32_t>(edges_.size()));
                if (fresh) edges_.push_back(Edge{key.first, key.second});
                site_edge_[id] = it->second;
            }
            const Instruction& in = f.source->code[k];
            if (is_jump(in.op) && static_cast<std::size_t>(in.operand) <= k)
                loops_.push_back(Loop{f.index, static_cast<std::uint32_t>(in.operand), static_cast<std::uint32_t>(k)});
        }
    }
    // Loops enclosing each instruction: a loop spans its offsets start..end in its function.
    loop_begin_.assign(n + 1, 0);
    loop_ids_.clear();
    for (const LinkedFunction& f : functions)
        for (std::size_t k = 0; k < f.code.size(); ++k) {
            const std::size_t id = f.first_instruction + k;
            loop_begin_[id] = static_cast<std::uint32_t>(loop_ids_.size());
            for (std::size_t l = 0; l < loops_.size(); ++l)
                if (loops_[l].function == f.index && loops_[l].start <= k && k <= loops_[l].end)
                    loop_ids_.push_back(static_cast<std::uint32_t>(l));
        }
    loop_begin_[n] = static_cast<std::uint32_t>(loop_ids_.size());
    self_units_.resize(n);
    self_weight_.resize(n);
    inclusive_weight_.resize(frames);
    edge_weight_.resize(edges_.size());
    loop_weight_.resize(loops_.size());
    inclusive_.resize(frames);
    inclusive_stamp_.resize(frames);
    edge_samples_.resize(edges_.size());
    edge_stamp_.resize(edges_.size());
    loop_samples_.resize(loops_.size());
    loop_stamp_.resize(loops_.size());
    nodes_.reserve(1u << 16);
    walk_.assign(kMaxWalk + 3, 0);  // walked frames, the truncation mark, main, a native
    walk_lines_.assign(kMaxWalk + 3, 0);
    fast_left_ns_ = fast_start_ns_;  // once per program: not again at every snapshot's reset
    reset();
}

// Zeroes everything sampled, keeping the tables (the handler never allocates).
void TimeSampler::reset() {
    for (auto* v : {&self_units_, &inclusive_, &inclusive_stamp_, &edge_samples_, &edge_stamp_, &loop_samples_, &loop_stamp_})
        std::fill(v->begin(), v->end(), 0);
    for (auto* v : {&self_weight_, &inclusive_weight_, &edge_weight_, &loop_weight_}) std::fill(v->begin(), v->end(), 0);
    weight_sum_ = 0;
    weight_squares_ = 0;
    nodes_.clear();
    nodes_.push_back(StackNode{});
    samples_ = truncated_ = handler_ns_ = wall_ns_ = 0;
    start_unix_ns_ = 0;
    interval_start_ = Clock::now();
}

void TimeSampler::arm_timer() {
    if (timer_armed_) return;
    const int signo = sampler_signal.load();
    claim_signal(signo);
    (void)signal_delivery_ns();
    sigevent event;
    std::memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = signo;
    event.sigev_value.sival_ptr = const_cast<char*>(&kOurTimers);
    event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0)
        throw std::runtime_error(fmt::format("sampler: cannot create a timer: {}", std::strerror(errno)));
    timer_ = timer;
    timer_armed_ = true;
    active_sampler = this;
    sampling_.store(true, std::memory_order_relaxed);
    // A run shorter than a period (a server's requests) is sampled by the running time of several runs
    // together: the timer starts with what the last run left of its period.
    const auto period = static_cast<std::int64_t>(1e9 / (recording_ && fast_left_ns_ > 0 ? fast_start_hz() : sample_hz_));
    const std::uint64_t now = monotonic_ns();
    const std::uint64_t wait = carried_ns_ > 0 && carried_ns_ <= period ? static_cast<std::uint64_t>(carried_ns_) : static_cast<std::uint64_t>(period);
    const std::uint64_t step = tick_grid::step_ns(kernel_tick_ns(), static_cast<std::uint64_t>(period));
    next_tick_ns_ = tick_grid::next_tick_after(now, static_cast<double>(wait), step, 0.5);
    period_ns_ = next_tick_ns_ - now;
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(next_tick_ns_ / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(next_tick_ns_ % 1000000000);
    timer_settime(timer, TIMER_ABSTIME, &spec, nullptr);
}

void TimeSampler::disarm_timer() {
    if (!timer_armed_) return;
    sampling_.store(false, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    const std::uint64_t now = monotonic_ns();
    carried_ns_ = next_tick_ns_ > now ? static_cast<std::int64_t>(next_tick_ns_ - now) : 0;
    timer_delete(static_cast<timer_t>(timer_));
    timer_armed_ = false;
    if (active_sampler == this) active_sampler = nullptr;
}

// A node is a (frame, line) under its parent: the same function called from two lines is two contexts.
std::int32_t TimeSampler::child(std::int32_t parent, std::int32_t frame, std::uint32_t line) {
    for (std::int32_t c = nodes_[static_cast<std::size_t>(parent)].first_child; c >= 0;
         c = nodes_[static_cast<std::size_t>(c)].next_sibling)
        if (nodes_[static_cast<std::size_t>(c)].frame == frame && nodes_[static_cast<std::size_t>(c)].line == line) return c;
    if (nodes_.size() == nodes_.capacity()) return -1;  // never reallocate in a signal handler
    StackNode node;
    node.parent = parent;
    node.frame = frame;
    node.line = line;
    node.next_sibling = nodes_[static_cast<std::size_t>(parent)].first_child;
    nodes_.push_back(node);
    const auto index = static_cast<std::int32_t>(nodes_.size() - 1);
    nodes_[static_cast<std::size_t>(parent)].first_child = index;
    return index;
}

// Signal context. The instruction the interpreted thread was running: the general register holding an
// instruction address (8-byte aligned in LinkedProgram::code()) in the top frame's function or the one below (the
// top frame is published at a call before the callee's first dispatch). Several candidates: the one that has
// moved most often between samples wins (see register_moves_). None: the interpreter is in a slow path or a
// native, which SAVE()d pc in the frame. An interpreter that publishes pc on every dispatch (samples_pc: an
// unoptimized build, where pc lives on the stack) is believed first; which one ran is decided where the
// interpreter was compiled, so it is checked here at run time.
const Instr* TimeSampler::running_pc(const void* context, const Frame* top) {
    const Machine& m = *machine_;
    if (const Instr* published = m.sample_point().pc.load(std::memory_order_relaxed)) return published;
    if constexpr (!kPcFromRegisters) {
        (void)context;
        return top->pc;
    } else {
        const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
        const auto* registers = reinterpret_cast<const std::uintptr_t*>(uc->uc_mcontext.gregs);
        constexpr std::size_t count = std::min<std::size_t>(NGREG, 32);
#else
        const auto* registers = reinterpret_cast<const std::uintptr_t*>(uc->uc_mcontext.regs);
        constexpr std::size_t count = 31;
#endif
        const auto in = [](const Frame* f, std::uintptr_t p) {
            const auto begin = reinterpret_cast<std::uintptr_t>(f->function->code.data());
            return p >= begin && p < begin + f->function->code.size() * sizeof(Instr) && (p - begin) % sizeof(Instr) == 0;
        };
        const Frame* const bottom = m.frame_stack();
        std::size_t best = count;
        for (std::size_t r = 0; r < count; ++r) {
            const std::uintptr_t value = registers[r];
            if (!in(top, value) && !(top > bottom && in(top - 1, value))) continue;
            if (value != register_last_[r]) ++register_moves_[r];
            register_last_[r] = value;
            if (best == count || register_moves_[r] > register_moves_[best]) best = r;
        }
        return best == count ? top->pc : reinterpret_cast<const Instr*>(registers[best]);
    }
}

// Signal context. The interpreter publishes the top frame on every call and return, and the running pc is
// read from the registers (or published on every dispatch where registers cannot be read), so for a few
// instructions around a call or return the two disagree; such samples are matched to the frame below when
// the pc is there, else attributed to nothing.
void TimeSampler::take_sample(const void* context) {
    if (!sampling_.load(std::memory_order_relaxed)) return;
    // The call trap (Full's timeline windows) is set at the default rate, not the fast start's: each window
    // it opens records events, and the fast start is there for samples, not for more windows.
    trap_due_ns_ += period_ns_;
    if (trap_calls_at_ticks_ && static_cast<double>(trap_due_ns_) * sample_hz_ >= 1e9) {
        trap_due_ns_ = 0;
        machine_->trap_calls(true);
    }
    const std::uint64_t begin = monotonic_ns();
    // Re-arm first, with jitter, at an absolute time: the next tick is due a period after this one was due,
    // so neither the delivery's latency nor the handler's own time shifts the schedule (a thread that lost
    // ticks waiting for a core starts afresh from now instead of catching up in a burst). The tick lands on
    // the kernel tick's grid (tick_grid::step_ns), so the jitter is in whole steps: none where the period is one.
    const auto uniform = [this] {
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        return static_cast<double>(rng_ >> 11) * 0x1.0p-53;
    };
    const std::uint64_t weight = period_ns_;  // the period that ended here
    // The fast start is spent only while recording: a run paused by stop_profiling() ticks at the low rate.
    const double mean_period = 1e9 / (recording_ && fast_left_ns_ > 0 ? fast_start_hz() : sample_hz_);
    const std::uint64_t step = tick_grid::step_ns(kernel_tick_ns(), static_cast<std::uint64_t>(mean_period));
    const double period = tick_grid::jittered_period(mean_period, step, uniform());
    const std::uint64_t from = static_cast<double>(next_tick_ns_) + period > static_cast<double>(begin) ? next_tick_ns_ : begin;
    next_tick_ns_ = tick_grid::next_tick_after(from, period, step, uniform());
    period_ns_ = next_tick_ns_ - from;
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(next_tick_ns_ / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(next_tick_ns_ % 1000000000);
    timer_settime(static_cast<timer_t>(timer_), TIMER_ABSTIME, &spec, nullptr);
    if (!recording_) return;

    ++samples_;
    fast_left_ns_ -= std::min(fast_left_ns_, weight);
    weight_sum_ += weight;
    weight_squares_ += static_cast<double>(weight) * static_cast<double>(weight);
    const Machine& m = *machine_;
    const Frame* top = m.sample_point().frame.load(std::memory_order_relaxed);
    const Instr* pc = top ? running_pc(context, top) : nullptr;
    const Frame* const bottom = m.frame_stack();
    const auto holds = [](const Frame* f, const Instr* p) {
        const auto& code = f->function->code;
        return p >= code.data() && p < code.data() + code.size();
    };
    // No pc or frame: host code between runs. Neither frame holds pc: caught mid call or return. Such
    // samples keep their share of the wall time but are attributed to nothing.
    if (pc && top && (holds(top, pc) || (top > bottom && holds(top - 1, pc)))) {
        if (!holds(top, pc)) --top;  // the callee's frame is published, its first dispatch not yet
        const std::uint32_t leaf = top->function->instruction_id(pc);
        const std::uint64_t share = kUnits / covers_[leaf];
        for (std::uint32_t k = 0; k < covers_[leaf]; ++k) {
            self_units_[leaf + k] += share;
            self_weight_[leaf + k] += weight / covers_[leaf];
        }

        const std::uint64_t stamp = samples_;
        const auto count_frame = [&](std::int32_t frame) {
            if (inclusive_stamp_[static_cast<std::size_t>(frame)] != stamp) {
                inclusive_stamp_[static_cast<std::size_t>(frame)] = stamp;
                ++inclusive_[static_cast<std::size_t>(frame)];
                inclusive_weight_[static_cast<std::size_t>(frame)] += weight;
            }
        };
        const auto count_site = [&](std::uint32_t id) {  // loops around it and the call edge it makes
            for (std::uint32_t l = loop_begin_[id]; l < loop_begin_[id + 1]; ++l) {
                const std::uint32_t loop = loop_ids_[l];
                if (loop_stamp_[loop] != stamp) {
                    loop_stamp_[loop] = stamp;
                    ++loop_samples_[loop];
                    loop_weight_[loop] += weight;
                }
            }
            if (const std::int32_t e = site_edge_[id]; e >= 0 && edge_stamp_[static_cast<std::size_t>(e)] != stamp) {
                edge_stamp_[static_cast<std::size_t>(e)] = stamp;
                ++edge_samples_[static_cast<std::size_t>(e)];
                edge_weight_[static_cast<std::size_t>(e)] += weight;
            }
        };
        // Walk from the top: the leaf at pc, callers at their call sites; at most kMaxWalk frames, plus main.
        std::size_t walked = 0;
        const std::size_t depth = static_cast<std::size_t>(top - bottom) + 1;
        const bool truncated = depth > kMaxWalk;
        truncated_ += truncated ? 1 : 0;
        const std::int32_t natives_base = static_cast<std::int32_t>(m.linked().functions().size());
        if (const Instr& in = *pc; op_of(in) == Op::call_native) {
            const std::int32_t native = natives_base + in.operand;
            count_frame(native);
            walk_lines_[walked] = 0;  // a host function has no line; its caller's is the call's
            walk_[walked++] = native;
        }
        for (std::size_t i = depth; i-- > 0;) {
            if (truncated && i == depth - 1 - kMaxWalk) {
                walk_lines_[walked] = 0;
                walk_[walked++] = -2;  // "[truncated]"
                i = 0;
            }
            const Frame* f = bottom + i;
            const std::uint32_t id = f == top ? leaf : f->function->instruction_id(f->pc);
            count_frame(static_cast<std::int32_t>(f->function->index));
            count_site(id);
            walk_lines_[walked] = line_of_[id];  // the leaf's sampled instruction, a caller's call
            walk_[walked++] = static_cast<std::int32_t>(f->function->index);
        }
        std::int32_t node = 0;  // the calling context, root first
        while (walked-- > 0 && node >= 0) node = child(node, walk_[walked], walk_lines_[walked]);
        if (node >= 0) {  // else the tree is full
            ++nodes_[static_cast<std::size_t>(node)].samples;
            nodes_[static_cast<std::size_t>(node)].weight += weight;
        }
    }
    handler_ns_ += monotonic_ns() - begin;
}

void TimeSampler::on_run_begin(const Machine& machine) {
    // The signal handler indexes tables built for the loaded program: a policy object put in after load()
    // (assigned through vm.profiler()) builds them before the timer is armed.
    if (machine_ != &machine || covers_.size() != machine.linked().instruction_count()) on_load(machine);
    ran_ = true;
    in_run_ = true;
    if (recording_ && start_unix_ns_ == 0) {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        start_unix_ns_ = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
    }
    interval_start_ = Clock::now();
    arm_timer();
}

void TimeSampler::on_run_end(const Machine&) {
    disarm_timer();
    if (recording_)
        wall_ns_ += nanoseconds_since(interval_start_);
    in_run_ = false;
}

void TimeSampler::stop(const Machine&) {
    if (!recording_) return;
    if (in_run_)
        wall_ns_ += nanoseconds_since(interval_start_);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    recording_ = false;
}

void TimeSampler::start(const Machine&) {
    if (recording_) return;
    interval_start_ = Clock::now();
    std::atomic_signal_fence(std::memory_order_seq_cst);
    recording_ = true;
}

// --- the profile: one function per group ----------------------------------------------------------------

// What the groups are read from, derived once: the time a unit of weight stands for, and the instructions'
// self samples and weights summed by opcode, line, function and native. A group adds its times and sample
// counts to the entries an earlier part of the composition (Counting) made, or makes the entries.
struct TimeSampler::Groups {
    const TimeSampler& sampled;
    const Machine& machine;
    double ns_per_weight;  // the weights, scaled to add up to the recorded wall time
    struct Tally {
        double samples = 0;  // fractional: a fused dispatch spreads over its instructions (see kUnits)
        double weight = 0;
    };
    std::map<std::string, Tally> opcode_samples, native_samples;
    std::map<std::uint32_t, Tally> line_samples;
    std::vector<Tally> function_self_samples;  // per function
    static constexpr std::optional<Accuracy> kTimeAccuracy = Accuracy::statistical;

    // `counted`: the profile so far, whose instruction counts (if any) tell which instructions ran.
    Groups(const TimeSampler& sampler, const Machine& m, const Profile& counted)
        : sampled(sampler), machine(m),
          ns_per_weight(sampler.weight_sum_ ? static_cast<double>(sampler.wall_ns_) / static_cast<double>(sampler.weight_sum_)
                                            : 0.0),
          function_self_samples(m.linked().functions().size()) {
        std::map<std::pair<std::string, std::uint32_t>, std::uint64_t> instruction_counts;
        if (counted.instructions)
            for (const InstructionStats& s : counted.instructions->entries) instruction_counts[{s.function, s.offset}] = s.count;
        for (const LinkedFunction& f : machine.linked().functions())
            for (std::size_t k = 0; k < f.code.size(); ++k) {
                const std::size_t id = f.first_instruction + k;
                const Tally here{static_cast<double>(sampled.self_units_[id]) / kUnits,
                                 static_cast<double>(sampled.self_weight_[id])};
                // A sample at an instruction that never ran (a register held a branch target, not the pc: see
                // running_pc) is attributed to nothing, like the samples caught mid call, when counts tell.
                const bool never_ran =
                    counted.instructions && !instruction_counts.contains({f.source->name, static_cast<std::uint32_t>(k)});
                if (here.samples == 0 || never_ran) continue;
                const auto add = [&](Tally& into) {
                    into.samples += here.samples;
                    into.weight += here.weight;
                };
                add(opcode_samples[std::string(mnemonic(f.source->code[k].op))]);
                add(line_samples[f.source->position(k).line]);
                if (op_of(f.code[k]) == Op::call_native)
                    add(native_samples[machine.natives()[static_cast<std::size_t>(f.code[k].operand)].name]);
                else
                    add(function_self_samples[f.index]);
            }
    }

    std::uint64_t ns(double weight) const { return static_cast<std::uint64_t>(std::llround(weight * ns_per_weight)); }
    static std::uint64_t count(double samples) { return static_cast<std::uint64_t>(std::llround(samples)); }

    // A StackNode's or an Edge's frame: a function, a native, or the truncation mark.
    std::string frame_name(std::int32_t frame) const {
        const auto& linked = machine.linked().functions();
        if (frame == -2) return "[truncated]";
        if (static_cast<std::size_t>(frame) < linked.size()) return linked[static_cast<std::size_t>(frame)].source->name;
        return machine.natives()[static_cast<std::size_t>(frame) - linked.size()].name;
    }

    void timing(Profile& out) const {
        TimingInfo measured;
        measured.method = fmt::format("timer signal ~{:g} Hz", sampled.sample_hz_);
        if (sampled.fast_start_ns_)
            measured.method += fmt::format(" ({:g} Hz for the first {} ms)", sampled.fast_start_hz(), sampled.fast_start_ns_ / 1000000);
        measured.method += schedule(1e9 / sampled.sample_hz_) + ", weighted by interval: running instruction + VM stack";
        measured.samples = sampled.samples_;
        measured.sample_rate_hz = static_cast<std::uint64_t>(std::llround(sampled.sample_hz_));
        measured.truncated_stacks = sampled.truncated_;
        measured.overhead_ns = sampled.handler_ns_ + sampled.samples_ * signal_delivery_ns();
        if (sampled.weight_squares_ > 0) {
            const auto sum = static_cast<double>(sampled.weight_sum_);
            measured.effective_samples = sum * sum / sampled.weight_squares_;
        }
        out.timing = measured;
    }

    // The wall time, unless a part before measured it; a summary of its own only when none did.
    void summary(Profile& out) const {
        if (!out.summary) {
            Summary estimated;
            estimated.accuracy = Accuracy::statistical;
            out.summary = estimated;
        }
        if (!out.summary->wall_time_ns) out.summary->wall_time_ns = sampled.wall_ns_;
        if (!out.summary->start_unix_ns && sampled.start_unix_ns_) out.summary->start_unix_ns = sampled.start_unix_ns_;
    }

    // Each opcode's self time and the samples behind it. No per-execution distribution: a timer sample
    // says where the time went, not how long one execution took.
    void opcodes(Profile& out) const {
        if (!out.opcodes) out.opcodes = OpcodeGroup{};
        out.opcodes->time_accuracy = kTimeAccuracy;
        for (const auto& entry : opcode_samples) {
            const std::string& opcode = entry.first;  // not a structured binding: lambdas capture it
            auto it = std::find_if(out.opcodes->entries.begin(), out.opcodes->entries.end(),
                                   [&](const OpcodeStats& s) { return s.name == opcode; });
            if (it == out.opcodes->entries.end()) it = out.opcodes->entries.insert(it, OpcodeStats{opcode, 0, {}, {}, {}});
            it->time_ns = ns(entry.second.weight);
            it->samples = count(entry.second.samples);
        }
        for (OpcodeStats& s : out.opcodes->entries) {
            if (!s.time_ns) s.time_ns = 0;
            if (!s.samples) s.samples = 0;
        }
    }

    void lines(Profile& out) const {
        if (!out.lines) out.lines = LineGroup{};
        out.lines->time_accuracy = kTimeAccuracy;
        for (const auto& entry : line_samples) {
            const std::uint32_t line = entry.first;
            auto it = std::find_if(out.lines->entries.begin(), out.lines->entries.end(),
                                   [&](const LineStats& s) { return s.line == line; });
            if (it == out.lines->entries.end()) it = out.lines->entries.insert(it, LineStats{line, 0, {}, {}, {}});
            it->time_ns = ns(entry.second.weight);
            it->samples = count(entry.second.samples);
        }
        for (LineStats& s : out.lines->entries) {
            if (!s.time_ns) s.time_ns = 0;
            if (!s.samples) s.samples = 0;
        }
    }

    // Self and inclusive times of the bytecode functions, and of the natives sampled (a native never sampled
    // keeps whatever count an earlier part gave it, with zero times).
    void functions(Profile& out) const {
        const auto& linked = machine.linked().functions();
        const auto& natives = machine.natives();
        if (!out.functions) out.functions = FunctionGroup{};
        out.functions->time_accuracy = kTimeAccuracy;
        const auto entry = [&](const std::string& function, bool native) -> FunctionStats& {
            for (FunctionStats& s : out.functions->entries)
                if (s.name == function) return s;
            FunctionStats s;
            s.name = function;
            s.native = native;
            out.functions->entries.push_back(s);
            return out.functions->entries.back();
        };
        const std::string& file = machine.program().source_file;
        for (const LinkedFunction& f : linked) {
            FunctionStats& s = entry(f.source->name, false);
            if (!s.file && !file.empty()) s.file = file;
            if (!s.line && f.source->first_line()) s.line = f.source->first_line();
            s.self_time_ns = ns(function_self_samples[f.index].weight);
            s.self_samples = count(function_self_samples[f.index].samples);
            s.total_time_ns = ns(static_cast<double>(sampled.inclusive_weight_[f.index]));
            s.total_samples = sampled.inclusive_[f.index];
        }
        for (std::size_t n = 0; n < natives.size(); ++n) {
            const auto self = native_samples.find(natives[n].name);
            const std::uint64_t total = sampled.inclusive_[linked.size() + n];
            if (self == native_samples.end() && total == 0) {
                for (FunctionStats& s : out.functions->entries)
                    if (s.name == natives[n].name) {
                        s.self_time_ns = s.total_time_ns = 0;
                        s.self_samples = s.total_samples = 0;
                    }
                continue;
            }
            FunctionStats& s = entry(natives[n].name, true);
            const Tally own = self == native_samples.end() ? Tally{} : self->second;
            s.self_time_ns = ns(own.weight);
            s.self_samples = count(own.samples);
            s.total_time_ns = ns(static_cast<double>(sampled.inclusive_weight_[linked.size() + n]));
            s.total_samples = total;
        }
    }

    // An edge's time is the callee's inclusive time under that caller; the host's call of main is main's.
    void call_graph(Profile& out) const {
        if (!out.call_graph) out.call_graph = CallGraph{};
        out.call_graph->time_accuracy = kTimeAccuracy;
        for (CallEdge& e : out.call_graph->entries) {
            e.time_ns = 0;
            e.samples = 0;
            if (e.caller.empty()) {
                if (const int main = machine.program().find_function("main"); main >= 0 && e.callee == "main") {
                    e.time_ns = ns(static_cast<double>(sampled.inclusive_weight_[static_cast<std::size_t>(main)]));
                    e.samples = sampled.inclusive_[static_cast<std::size_t>(main)];
                }
            }
        }
        for (std::size_t e = 0; e < sampled.edges_.size(); ++e) {
            const std::string caller = frame_name(sampled.edges_[e].caller), callee = frame_name(sampled.edges_[e].callee);
            auto it = std::find_if(out.call_graph->entries.begin(), out.call_graph->entries.end(),
                                   [&](const CallEdge& c) { return c.caller == caller && c.callee == callee; });
            if (it == out.call_graph->entries.end()) {
                if (!sampled.edge_samples_[e]) continue;
                it = out.call_graph->entries.insert(it, CallEdge{caller, callee, 0, {}, {}, {}, {}});
            }
            it->time_ns = ns(static_cast<double>(sampled.edge_weight_[e]));
            it->samples = sampled.edge_samples_[e];
        }
    }

    void loops(Profile& out) const {
        const auto& linked = machine.linked().functions();
        if (!out.loops) out.loops = LoopGroup{};
        out.loops->time_accuracy = kTimeAccuracy;
        for (LoopStats& l : out.loops->entries) l.time_ns = 0, l.samples = 0;
        for (std::size_t l = 0; l < sampled.loops_.size(); ++l) {
            const Loop& loop = sampled.loops_[l];
            const std::string& function = linked[loop.function].source->name;
            auto it = std::find_if(out.loops->entries.begin(), out.loops->entries.end(), [&](const LoopStats& s) {
                return s.function == function && s.start_offset == loop.start && s.end_offset == loop.end;
            });
            if (it == out.loops->entries.end()) {
                if (!sampled.loop_samples_[l]) continue;
                it = out.loops->entries.insert(
                    it, LoopStats{function, loop.start, loop.end, linked[loop.function].source->position(loop.start).line, 0, {}, {}});
            }
            it->time_ns = ns(static_cast<double>(sampled.loop_weight_[l]));
            it->samples = sampled.loop_samples_[l];
        }
    }

    // The calling-context tree's sampled nodes, each as its path from the root.
    void call_stacks(Profile& out) const {
        const std::vector<StackNode>& nodes = sampled.nodes_;
        StackSampleGroup stacks;
        std::vector<std::string> path;
        std::vector<std::uint32_t> lines;
        for (std::size_t i = 1; i < nodes.size(); ++i) {
            if (!nodes[i].samples) continue;
            path.clear();
            lines.clear();
            for (std::int32_t n = static_cast<std::int32_t>(i); n > 0; n = nodes[static_cast<std::size_t>(n)].parent) {
                path.push_back(frame_name(nodes[static_cast<std::size_t>(n)].frame));
                lines.push_back(nodes[static_cast<std::size_t>(n)].line);
            }
            std::reverse(path.begin(), path.end());
            std::reverse(lines.begin(), lines.end());
            StackSample sample;
            sample.frames = path;
            sample.lines = lines;
            sample.samples = nodes[i].samples;
            sample.time_ns = ns(static_cast<double>(nodes[i].weight));
            stacks.entries.push_back(std::move(sample));
        }
        out.call_stacks = std::move(stacks);
    }
};

void TimeSampler::profile_into(Profile& out, const Machine& machine) const {
    if (!ran_) return;  // nothing sampled for this program yet
    const Groups groups(*this, machine, out);
    groups.timing(out);
    groups.summary(out);
    groups.opcodes(out);
    groups.lines(out);
    groups.functions(out);
    groups.call_graph(out);
    groups.loops(out);
    groups.call_stacks(out);
    canonicalize(out);
}

} // namespace opscope
