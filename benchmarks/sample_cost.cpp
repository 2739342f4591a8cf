// What one timer sample costs, four ways: a timer signal (a CLOCK_MONOTONIC POSIX timer delivering a signal
// to the thread, whose handler here only counts) ticking between the kernel's scheduler ticks, the same timer
// ticking on the kernel's tick grid (what TimeSampler does: its ticks share the kernel's timer interrupts
// where they can), a perf_event software clock writing each sample (instruction pointer and user registers)
// into a ring buffer with no signal at all, and a sampler thread that sleeps to absolute times and reads what
// the sampled thread publishes, never interrupting it. Each is the CPU time of a fixed busy loop over the same
// loop unsampled, per sample, median of interleaved rounds; the sampler thread's row adds its own CPU time,
// which a process's CPU time (what a user of `opscope profile` pays) includes.
//
//   opscope_sample_cost [--period-us N] [--rounds N] [--loop-ms N]
//
// On this project's 2-core VMs a sample between ticks costs tens of microseconds either way, signal or ring
// buffer: the cost is the guest's timer interrupt, not the signal. On the tick grid it costs a few
// (BENCHMARKS.md section 5). A sampler thread moves the interrupt to the other core, where waking it still
// costs the process 10-20 us a sample. The grid is the kernel's tick, CLOCK_MONOTONIC_COARSE's resolution; --period-us
// is rounded to a multiple of it or to an equal division of it.
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

volatile std::uint64_t sink;
std::atomic<long> signals_heard{0};

double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// A dependent chain the compiler cannot shorten: the same work every round.
void busy(std::uint64_t iterations) {
    std::uint64_t x = 1;
    for (std::uint64_t i = 0; i < iterations; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink = x;
}

void count_signal(int) { signals_heard.fetch_add(1, std::memory_order_relaxed); }

struct Round {
    double seconds = 0;
    long samples = 0;
    double sampler_seconds = 0;  // a sampler thread's own CPU time
};

Round unsampled(std::uint64_t iterations) {
    const double start = thread_cpu_seconds();
    busy(iterations);
    return {thread_cpu_seconds() - start, 0};
}

std::uint64_t monotonic_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
}

// `on_grid`: the first tick on a multiple of the kernel's tick (Linux aligns its tick to those), else half a
// period off it (so no tick is on the grid).
Round with_timer_signal(std::uint64_t iterations, long period_us, long kernel_tick_us, bool on_grid) {
    struct sigaction action{};
    action.sa_handler = count_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGPROF, &action, nullptr);
    sigevent event{};
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = SIGPROF;
    event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0) {
        std::fprintf(stderr, "sample_cost: timer_create: %s\n", std::strerror(errno));
        std::exit(1);
    }
    const std::uint64_t tick_ns = static_cast<std::uint64_t>(kernel_tick_us) * 1000;
    const std::uint64_t first = (monotonic_ns() / tick_ns + 1) * tick_ns + (on_grid ? 0 : static_cast<std::uint64_t>(period_us) * 500);
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(first / 1'000'000'000u);
    spec.it_value.tv_nsec = static_cast<long>(first % 1'000'000'000u);
    spec.it_interval.tv_nsec = period_us * 1000;
    signals_heard = 0;
    const double start = thread_cpu_seconds();
    timer_settime(timer, TIMER_ABSTIME, &spec, nullptr);
    busy(iterations);
    timer_delete(timer);
    return {thread_cpu_seconds() - start, signals_heard.load()};
}

// The kernel writes each sample into the mapped ring buffer; nothing runs in the thread. Returns false (and
// says why) where perf_event_open is refused (perf_event_paranoid, seccomp).
bool with_perf_ring(std::uint64_t iterations, long period_us, Round& round) {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.sample_period = static_cast<std::uint64_t>(period_us) * 1000;
    attr.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_REGS_USER;
    // x86-64's perf register numbers: ax..sp and ip are 0-8, r8..r15 are 16-23 (9-15, the flags and segment
    // registers, are refused or useless): every register a VM could keep its state in.
    attr.sample_regs_user = 0x1ffull | (0xffull << 16);
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    attr.disabled = 1;
    const int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
    if (fd < 0) {
        std::printf("perf_event ring buffer: unavailable (perf_event_open: %s)\n", std::strerror(errno));
        return false;
    }
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t data_pages = 1024;  // 4 MiB: every sample of a round fits, none is lost
    void* map = mmap(nullptr, page * (1 + data_pages), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        std::printf("perf_event ring buffer: unavailable (mmap: %s)\n", std::strerror(errno));
        close(fd);
        return false;
    }
    const double start = thread_cpu_seconds();
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    busy(iterations);
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    round.seconds = thread_cpu_seconds() - start;
    const auto* header = static_cast<const perf_event_mmap_page*>(map);
    const std::uint64_t head = __atomic_load_n(&header->data_head, __ATOMIC_ACQUIRE);
    const char* data = static_cast<const char*>(map) + header->data_offset;
    round.samples = 0;
    for (std::uint64_t at = 0; at < head;) {
        const auto* record = reinterpret_cast<const perf_event_header*>(data + at % header->data_size);
        if (record->type == PERF_RECORD_SAMPLE) ++round.samples;
        if (record->size == 0) break;
        at += record->size;
    }
    munmap(map, page * (1 + data_pages));
    close(fd);
    return true;
}

// Another thread wakes at absolute CLOCK_MONOTONIC times, a period apart, and reads a shared value (as a
// sampler thread would read an interpreter's published pc): no interrupt reaches the busy thread, but every
// wake is one on the sampler's core.
Round with_sampler_thread(std::uint64_t iterations, long period_us) {
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> published{1};
    Round round;
    std::uint64_t seen = 0;
    std::thread sampler([&] {
        const double start = thread_cpu_seconds();
        std::uint64_t next = monotonic_ns();
        while (!done.load(std::memory_order_relaxed)) {
            next += static_cast<std::uint64_t>(period_us) * 1000;
            const timespec at{static_cast<time_t>(next / 1'000'000'000u), static_cast<long>(next % 1'000'000'000u)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
            seen += published.load(std::memory_order_relaxed);
            ++round.samples;
        }
        round.sampler_seconds = thread_cpu_seconds() - start;
    });
    const double start = thread_cpu_seconds();
    busy(iterations);
    round.seconds = thread_cpu_seconds() - start;
    done.store(true, std::memory_order_relaxed);
    sampler.join();
    sink = seen;
    return round;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

long arg_value(int& k, int argc, char** argv) {
    if (k + 1 >= argc) {
        std::fprintf(stderr, "sample_cost: %s needs a number\n", argv[k]);
        std::exit(2);
    }
    const long value = std::strtol(argv[++k], nullptr, 10);
    if (value <= 0) {
        std::fprintf(stderr, "sample_cost: %s takes a positive number\n", argv[k - 1]);
        std::exit(2);
    }
    return value;
}

} // namespace

int main(int argc, char** argv) {
    long period_us = 250;
    long rounds = 7;
    long loop_ms = 300;
    for (int k = 1; k < argc; ++k) {
        const std::string_view a = argv[k];
        if (a == "--period-us") period_us = arg_value(k, argc, argv);
        else if (a == "--rounds") rounds = arg_value(k, argc, argv);
        else if (a == "--loop-ms") loop_ms = arg_value(k, argc, argv);
        else {
            std::fprintf(stderr, "usage: opscope_sample_cost [--period-us N] [--rounds N] [--loop-ms N]\n");
            return 2;
        }
    }
    if (period_us >= 1'000'000) {
        std::fprintf(stderr, "sample_cost: --period-us must be under 1000000\n");
        return 2;
    }
    timespec resolution{};
    clock_getres(CLOCK_MONOTONIC_COARSE, &resolution);
    const long tick_us = resolution.tv_sec == 0 && resolution.tv_nsec >= 1'000'000 ? resolution.tv_nsec / 1000 : 4000;
    // The period on the grid: a multiple of the tick, or the tick divided into equal steps.
    period_us = period_us >= tick_us ? (period_us + tick_us / 2) / tick_us * tick_us
                                     : tick_us / ((tick_us + period_us - 1) / period_us);
    // Iterations for about loop_ms of CPU, from a short calibration run.
    const std::uint64_t probe = 20'000'000;
    const double probe_s = unsampled(probe).seconds;
    const auto iterations = static_cast<std::uint64_t>(static_cast<double>(probe) * (static_cast<double>(loop_ms) / 1000.0) /
                                                       std::max(probe_s, 1e-6));

    std::vector<double> plain, signal, grid, ring, thread, thread_own;
    std::vector<double> signal_samples, grid_samples, ring_samples, thread_samples;
    bool ring_available = true;
    for (long r = 0; r < rounds; ++r) {  // interleaved: drift in the machine's speed hits all three alike
        plain.push_back(unsampled(iterations).seconds);
        const Round s = with_timer_signal(iterations, period_us, tick_us, false);
        signal.push_back(s.seconds);
        signal_samples.push_back(static_cast<double>(s.samples));
        const Round g = with_timer_signal(iterations, period_us, tick_us, true);
        grid.push_back(g.seconds);
        grid_samples.push_back(static_cast<double>(g.samples));
        if (Round p; ring_available && (ring_available = with_perf_ring(iterations, period_us, p))) {
            ring.push_back(p.seconds);
            ring_samples.push_back(static_cast<double>(p.samples));
        }
        const Round t = with_sampler_thread(iterations, period_us);
        thread.push_back(t.seconds);
        thread_own.push_back(t.seconds + t.sampler_seconds);
        thread_samples.push_back(static_cast<double>(t.samples));
    }
    const double base = median(plain);
    std::printf("busy loop: %.1f ms of thread CPU unsampled (median of %ld rounds); period %ld us, kernel tick %ld us\n",
                base * 1e3, rounds, period_us, tick_us);
    const auto report = [&](const char* name, const std::vector<double>& seconds, const std::vector<double>& samples) {
        const double cost = median(seconds) - base;
        const double n = median(samples);
        std::printf("%-24s %8.1f ms  %6.0f samples  %+6.1f%%  %6.1f us a sample\n", name, median(seconds) * 1e3, n,
                    100.0 * cost / base, n > 0 ? cost / n * 1e6 : 0.0);
    };
    report("timer signal off-grid", signal, signal_samples);
    report("timer signal on grid", grid, grid_samples);
    if (!ring.empty()) report("perf_event ring buffer", ring, ring_samples);
    report("sampler thread: sampled", thread, thread_samples);
    report("  with the sampler's CPU", thread_own, thread_samples);
    return 0;
}
