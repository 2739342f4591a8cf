// Many VMs on many threads (issue 14). Each thread runs VMs of its own, one after another, several runs each,
// all threads at once, with natives that block (a sleep, a read of a pipe) while the samplers' timer signals
// arrive: every VM's output, results and exact counts equal those of the same runs done one at a time on one
// thread, and `merge` of all the VMs' profiles is their sum. One VM is used by one thread at a time: a second
// thread entering a running VM, or a native running its own VM, gets std::logic_error and harms nothing.
// Timers and threads: a thread that exits in the middle of a sampled run, and VMs destroyed right after a
// run with a tick in flight, leave every other sampler working.
//
// Naming: a `VmPlan` is one VM's program and runs, a thread's plan is its VMs in order; an `Outcome` is what
// one VM printed and returned, and its profile. Assertions run on the main thread only (Boost.Test's are not
// thread-safe): the threads hand back outcomes and exceptions.
#include "policy_support.hpp"
#include "program_generator.hpp"

#include <opscope/policies/counting.hpp>
#include <opscope/policies/full.hpp>
#include <opscope/policies/null.hpp>
#include <opscope/policies/timing.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <future>
#include <latch>
#include <map>
#include <semaphore>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

using namespace opscope;
using test::count_differences;
using test::count_view;

namespace {

using Policies = std::tuple<NullProfiler, CountingProfiler, InclusiveCountingProfiler, TimingProfiler, FullProfiler>;

// Sampling policies sample at 4 kHz here (the default rate is chosen for long runs): short runs get samples.
constexpr double kSampleHz = 4000;
template <class P>
P make_policy() {
    if constexpr (std::is_constructible_v<P, double>) return P(kSampleHz);
    else return P();
}

// --- blocking natives -----------------------------------------------------------------------------------

// Sleeps a signal interrupted (each resumed), and naps that ended early or reads that failed: the last two
// must stay 0.
std::atomic<int> interrupted_naps{0}, short_naps{0}, failed_reads{0};

// nap(us): sleeps as a native must where a sampler's signals arrive: nanosleep is never restarted after a
// signal handler (SA_RESTART or not), so it resumes with the time left.
Value nap(std::span<const Value> args) {
    const auto want = std::chrono::microseconds(args[0].as.i);
    const auto begin = std::chrono::steady_clock::now();
    timespec left{0, static_cast<long>(args[0].as.i) * 1000};
    while (::nanosleep(&left, &left) != 0) {
        if (errno != EINTR) throw std::runtime_error(std::strerror(errno));
        interrupted_naps.fetch_add(1);
    }
    if (std::chrono::steady_clock::now() - begin < want) short_naps.fetch_add(1);
    return Value::integer(args[0].as.i);
}

// A pipe read by the VMs of one thread, one byte per input() call, and written by a feeder thread that waits
// until the reader is about to read, then `gap` more, so that the read blocks for that long; or written all
// at once beforehand (no gap: nothing blocks).
struct Pipe {
    int fds[2] = {-1, -1};
    std::counting_semaphore<> reading{0};  // input() calls about to read
    Pipe() {
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    }
    ~Pipe() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    // Writes bytes 0..count-1 (mod 251).
    void feed(int count, std::chrono::microseconds gap) {
        for (int i = 0; i < count; ++i) {
            if (gap.count()) {
                reading.acquire();
                std::this_thread::sleep_for(gap);
            }
            const auto byte = static_cast<unsigned char>(i % 251);
            if (::write(fds[1], &byte, 1) != 1) throw std::runtime_error("write to the pipe failed");
        }
    }
    // input(): the next byte, read blocking with no retry on EINTR: a tick while it waits must not fail it
    // (the sampler's handler is installed with SA_RESTART, which restarts a pipe's read).
    Value read_byte() {
        reading.release();
        unsigned char byte = 0;
        if (const ssize_t n = ::read(fds[0], &byte, 1); n != 1) {
            failed_reads.fetch_add(1);
            throw std::runtime_error(n < 0 ? std::strerror(errno) : "end of input");
        }
        return Value::integer(byte);
    }
};

// --- the programs and the plans -------------------------------------------------------------------------

const std::vector<NativeDeclaration> kNatives = {{"size", 0}, {"nap", 1}, {"input", 0}};

// Calls, arrays, strings (each naps and reads a byte once per run), and two generated assembly programs
// (helpers calling each other, loops, arrays, sometimes a runtime fault).
const std::vector<Program>& programs() {
    static const std::vector<Program> all = [] {
        std::vector<Program> out;
        out.push_back(compile_source(R"(fn fib(k) { if (k < 2) { return k; } return fib(k - 1) + fib(k - 2); }
fn add3(a, b, c) { return a + b + c; }
let n = size();
let s = 0;
for (let i = 0; i < n * 20; i = i + 1) { s = add3(s, i, 1); }
nap(300);
print(fib(n + 6) + s + input());
)",
                                     "calls.ops", kNatives));
        out.push_back(compile_source(R"(fn primes(n) {
    let flags = array(n + 1);
    for (let i = 2; i <= n; i = i + 1) { flags[i] = true; }
    let count = 0;
    for (let i = 2; i <= n; i = i + 1) {
        if (flags[i]) {
            count = count + 1;
            for (let j = i * i; j <= n; j = j + i) { flags[j] = false; }
        }
    }
    return count;
}
let got = input();
nap(200);
print(primes(size() * 40) + got);
)",
                                     "arrays.ops", kNatives));
        out.push_back(compile_source(R"(let s = "";
let longest = 0;
for (let i = 0; i < size() * 10; i = i + 1) {
    s = s + "ab";
    if (len(s) > 30) { s = "x"; }
    if (len(s) > longest) { longest = len(s); }
}
nap(250);
print(s + "|" + "end");
print(longest + input());
)",
                                     "strings.ops", kNatives));
        test::ProgramGenerator generator(0x74687265616473);  // "threads"
        for (int k = 0; k < 2; ++k) out.push_back(assemble(generator.generate(), "generated.opasm"));
        return out;
    }();
    return all;
}
constexpr int kReadingPrograms = 3;  // programs()[0..2] read one byte per run

struct VmPlan {
    std::size_t program;
    std::vector<std::int64_t> sizes;  // one run each: what size() returns in it
};

constexpr int kThreads = 8;
constexpr int kVmsPerThread = 3;
constexpr int kRunsPerVm = 3;

// What thread `t` does: its VMs one after another, each running its program several times.
std::vector<VmPlan> plan_of(int t) {
    std::vector<VmPlan> plan;
    for (int v = 0; v < kVmsPerThread; ++v) {
        VmPlan vm{static_cast<std::size_t>(t + v) % programs().size(), {}};
        for (int r = 0; r < kRunsPerVm; ++r) vm.sizes.push_back(2 + (t * 3 + v * 5 + r) % 7);
        plan.push_back(vm);
    }
    return plan;
}

int reads_of(const std::vector<VmPlan>& plan) {
    int reads = 0;
    for (const VmPlan& vm : plan)
        if (vm.program < kReadingPrograms) reads += static_cast<int>(vm.sizes.size());
    return reads;
}

struct Outcome {
    std::string transcript;  // printed output, and each run's result or error
    Profile profile;
};

// One VM of a plan: created, loaded, run once per size, then its profile taken.
template <class P>
Outcome run_vm(const VmPlan& plan, Pipe& input) {
    Vm<P> vm(Limits{.fuel = test::kGuardFuel}, make_policy<P>());
    std::int64_t size = 0;
    vm.register_native("size", 0, [&size](Machine&, std::span<const Value>) { return Value::integer(size); });
    vm.register_native("nap", 1, [](Machine&, std::span<const Value> args) { return nap(args); });
    vm.register_native("input", 0, [&input](Machine&, std::span<const Value>) { return input.read_byte(); });
    std::ostringstream out;
    vm.set_output(out);
    vm.load(programs()[plan.program]);
    for (const std::int64_t s : plan.sizes) {
        size = s;
        try {
            out << "=> " << to_display(vm.run()) << "\n";
        } catch (const RuntimeError& e) {
            out << e.format() << "\n";
        }
    }
    return {out.str(), vm.profile()};
}

// A thread's plan run on the calling thread, its pipe fed `gap` apart by a feeder thread (no gap: at once).
template <class P>
std::vector<Outcome> run_plan(int t, std::chrono::microseconds gap, std::latch* start = nullptr) {
    const std::vector<VmPlan> plan = plan_of(t);
    Pipe pipe;
    std::vector<Outcome> outcomes;
    if (!gap.count()) pipe.feed(reads_of(plan), gap);  // fits the pipe's buffer: nothing blocks
    std::jthread feeder;
    if (gap.count()) feeder = std::jthread([&] { pipe.feed(reads_of(plan), gap); });
    struct Unblock {  // however the runs end, the feeder waits for no read that will not come (before its join)
        Pipe& pipe;
        int reads;
        ~Unblock() { pipe.reading.release(reads); }
    } unblock{pipe, reads_of(plan)};
    if (start) start->arrive_and_wait();
    for (const VmPlan& vm : plan) outcomes.push_back(run_vm<P>(vm, pipe));
    return outcomes;
}

// The counts a profile holds, summed over profiles by hand (no merge): per group, per key.
using Sums = std::map<std::string, std::map<std::string, std::uint64_t>>;
void add_counts(Sums& sums, const Profile& p) {
    if (p.summary && p.summary->accuracy == Accuracy::exact) sums["summary"]["total"] += p.summary->total_instructions;
    if (p.opcodes)
        for (const OpcodeStats& e : p.opcodes->entries) sums["opcodes"][e.name] += e.count;
    if (p.lines)
        for (const LineStats& e : p.lines->entries) sums["lines"][std::to_string(e.line)] += e.count;
    if (p.functions)
        for (const FunctionStats& e : p.functions->entries) sums["functions"][e.name] += e.calls;
    if (p.call_graph)
        for (const CallEdge& e : p.call_graph->entries) sums["call_graph"][e.caller + " -> " + e.callee] += e.calls;
    if (p.frames) sums["frames"]["pushed"] += p.frames->pushed, sums["frames"]["popped"] += p.frames->popped;
    if (p.timing) sums["timing"]["samples"] += p.timing->samples;
}
Sums without_zeros(Sums sums) {
    for (auto& [group, entries] : sums) std::erase_if(entries, [](const auto& entry) { return entry.second == 0; });
    return sums;
}

std::string sums_text(const Sums& sums) {
    std::string out;
    for (const auto& [group, entries] : sums)
        for (const auto& [key, n] : entries) out += group + " [" + key + "] " + std::to_string(n) + "\n";
    return out;
}

// What a VM recorded exactly, as text: the count view with times and zero counts left out, and its heap.
test::CountView exact_counts(const Profile& p) {
    test::CountView view = count_view(test::without_zero_counts(test::exact_part(p)));
    view["memory"]["allocations"] = test::memory_text(p);
    return view;
}

} // namespace

BOOST_AUTO_TEST_SUITE(threads)

BOOST_AUTO_TEST_CASE_TEMPLATE(vms_on_many_threads_count_exactly_what_they_count_one_at_a_time, P, Policies) {
    interrupted_naps = short_naps = failed_reads = 0;
    (void)programs();  // compiled before any thread starts

    std::vector<std::vector<Outcome>> concurrent(kThreads);
    std::vector<std::exception_ptr> failures(kThreads);
    {
        std::latch start(kThreads);  // every thread's first run begins once all threads exist
        std::vector<std::jthread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&, t] {
                try {
                    concurrent[t] = run_plan<P>(t, std::chrono::microseconds(1000), &start);
                } catch (...) {
                    failures[t] = std::current_exception();
                }
            });
    }

    // The same runs one at a time, afterwards (so that the first sampling policy's first timers, and the
    // sampler's one-time set-up, happen on many threads at once).
    std::vector<std::vector<Outcome>> serial;
    for (int t = 0; t < kThreads; ++t) serial.push_back(run_plan<P>(t, std::chrono::microseconds(0)));

    std::vector<Profile> profiles, serial_profiles;
    Sums summed;
    for (int t = 0; t < kThreads; ++t) {
        if (failures[t]) {
            try {
                std::rethrow_exception(failures[t]);
            } catch (const std::exception& e) {
                BOOST_FAIL("thread " << t << " failed: " << e.what());
            }
        }
        BOOST_TEST_REQUIRE(concurrent[t].size() == serial[t].size());
        for (std::size_t v = 0; v < serial[t].size(); ++v) {
            const Outcome &alone = serial[t][v], &together = concurrent[t][v];
            BOOST_TEST(together.transcript == alone.transcript, "thread " << t << " VM " << v << ": output and results differ");
            const std::string differences = count_differences(exact_counts(alone.profile), exact_counts(together.profile));
            BOOST_TEST(differences.empty(), "thread " << t << " VM " << v << ": counts differ:\n" << differences);
            profiles.push_back(together.profile);
            serial_profiles.push_back(alone.profile);
            add_counts(summed, together.profile);
        }
    }
    BOOST_TEST(short_naps.load() == 0, "naps ended early");
    BOOST_TEST(failed_reads.load() == 0, "reads failed (a tick's EINTR, if SA_RESTART did not restart them)");

    // merge adds: its counts are the sums taken by hand, samples included.
    const Profile merged = merge(profiles);
    Sums of_merged;
    add_counts(of_merged, merged);
    BOOST_TEST(sums_text(without_zeros(of_merged)) == sums_text(without_zeros(summed)));
    const std::string differences = count_differences(exact_counts(merge(serial_profiles)), exact_counts(merged));
    BOOST_TEST(differences.empty(), "merge of the threads' profiles differs from the serial runs':\n" << differences);
    if constexpr (std::is_constructible_v<P, double>) {
        BOOST_TEST(merged.timing->samples > 0u, "the samplers took no sample while the threads ran");
        BOOST_TEST(merged.timing->samples == summed["timing"]["samples"]);
        // The blocking natives were interrupted by ticks: the sleeps saw EINTR, and the reads were sampled.
        BOOST_TEST(interrupted_naps.load() > 0);
        const auto input = std::find_if(merged.functions->entries.begin(), merged.functions->entries.end(),
                                        [](const FunctionStats& f) { return f.name == "input"; });
        BOOST_TEST_REQUIRE((input != merged.functions->entries.end()));
        BOOST_TEST(input->self_time_ns.value_or(0) > 0u, "no tick arrived while input() waited for its byte");
    }
}

// Two threads on one VM: the second, entering while the first is inside run(), gets std::logic_error from
// run() and load(); the first's run is not disturbed. A native holds the first run until the second tried.
BOOST_AUTO_TEST_CASE(a_second_thread_entering_a_running_vm_gets_a_logic_error) {
    Vm<CountingProfiler> vm;
    std::promise<void> inside, tried;
    const std::future<void> tried_done = tried.get_future();
    bool hold = true;  // in the first run only
    vm.register_native("hold", 0, [&](Machine&, std::span<const Value>) {
        if (std::exchange(hold, false)) {
            inside.set_value();
            tried_done.wait();
        }
        return Value::integer(7);
    });
    std::ostringstream out;
    vm.set_output(out);
    const Program program = compile_source("let s = 0;\nfor (let i = 0; i < 100; i = i + 1) { s = s + i; }\nprint(s + hold());\n",
                                           "hold.ops", {{"hold", 0}});
    vm.load(program);
    std::string first_error;
    std::jthread first([&] {
        try {
            vm.run();
        } catch (const std::exception& e) {
            first_error = e.what();
        }
    });
    inside.get_future().wait();
    std::string run_error, load_error;
    try {
        vm.run();
    } catch (const std::logic_error& e) {
        run_error = e.what();
    }
    try {
        vm.load(program);
    } catch (const std::logic_error& e) {
        load_error = e.what();
    }
    tried.set_value();
    first.join();
    const std::string expected = "opscope: this VM is being run by another thread; a VM is used by one thread at a time";
    BOOST_TEST(run_error == expected);
    BOOST_TEST(load_error == expected);
    BOOST_TEST(first_error.empty());
    BOOST_TEST(out.str() == "4957\n");

    // The VM is free again, and its profile is that of the one run that happened.
    Vm<CountingProfiler> alone;
    alone.register_native("hold", 0, [](Machine&, std::span<const Value>) { return Value::integer(7); });
    std::ostringstream alone_out;
    alone.set_output(alone_out);
    alone.load(program);
    alone.run();
    BOOST_TEST(count_differences(count_view(alone.profile()), count_view(vm.profile())).empty());
    vm.run();
    BOOST_TEST(out.str() == "4957\n4957\n");
}

// Threads racing on one VM with no order between them: each run() either runs whole or throws
// std::logic_error at once, so the VM's exact counts are those of the runs that ran.
BOOST_AUTO_TEST_CASE(threads_racing_on_one_vm_run_whole_or_not_at_all) {
    const Program program = compile_source("let s = 0;\nfor (let i = 0; i < 2000; i = i + 1) { s = s + i % 7; }\nprint(s);\n",
                                           "race.ops");
    Vm<CountingProfiler> one;
    std::ostringstream one_out;
    one.set_output(one_out);
    one.load(program);
    one.run();
    const std::uint64_t per_run = one.profile().summary->total_instructions;

    Vm<CountingProfiler> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(program);
    vm.reset_profile();
    constexpr int kRacers = 4, kAttempts = 200;
    std::atomic<int> ran{0}, refused{0}, other{0};
    {
        std::latch start(kRacers);
        std::vector<std::jthread> racers;
        for (int r = 0; r < kRacers; ++r)
            racers.emplace_back([&] {
                start.arrive_and_wait();
                for (int a = 0; a < kAttempts; ++a) {
                    try {
                        vm.run();
                        ran.fetch_add(1);
                    } catch (const std::logic_error&) {
                        refused.fetch_add(1);
                    } catch (...) {
                        other.fetch_add(1);
                    }
                }
            });
    }
    BOOST_TEST(other.load() == 0);
    BOOST_TEST(ran.load() + refused.load() == kRacers * kAttempts);
    BOOST_TEST(ran.load() > 0);
    BOOST_TEST(vm.profile().summary->total_instructions == per_run * static_cast<std::uint64_t>(ran.load()));
    std::string expected_output;
    for (int k = 0; k < ran.load(); ++k) expected_output += one_out.str();
    BOOST_TEST(out.str() == expected_output);
}

// A native that runs or loads its own VM: the nested call throws std::logic_error, which fails the outer
// run with that message (as any native's exception does); the VM is usable afterwards.
BOOST_AUTO_TEST_CASE(a_native_running_its_own_vm_fails_that_run_cleanly) {
    Vm<FullProfiler> vm({}, FullProfiler(kSampleHz));
    bool nest = true;
    vm.register_native("again", 0, [&](Machine&, std::span<const Value>) {
        if (nest) vm.run();
        return Value::integer(1);
    });
    std::ostringstream out;
    vm.set_output(out);
    vm.load(compile_source("print(1);\nprint(again());\n", "again.ops", {{"again", 0}}));
    const RuntimeError e = test::thrown_by<RuntimeError>([&] { vm.run(); });
    BOOST_TEST(e.message().find("in native 'again': opscope: this VM is already running on this thread") == 0u, e.message());
    BOOST_TEST(out.str() == "1\n");
    nest = false;
    vm.run();
    BOOST_TEST(out.str() == "1\n1\n1\n");
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 14, item 2: timers and threads. A sampler's timer signals its own thread only; these check what
// happens around the ends of threads and VMs.
BOOST_AUTO_TEST_SUITE(timers_and_threads)

namespace {
// spin(us): busy for `us` microseconds (the sampler's timer counts wall time, but a busy native is sampled
// in it, which is what a sample's attribution needs).
Value spin(std::span<const Value> args) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(args[0].as.i);
    while (std::chrono::steady_clock::now() < end) {
    }
    return Value::nil();
}

const char* const kSpinLoop = "let s = 0;\nfor (let i = 0; i < 3000; i = i + 1) { s = s + i; }\nspin(20000);\nprint(s);\n";
const char* const kShortLoop = "let s = 0;\nfor (let i = 0; i < 500; i = i + 1) { s = s + i; }\nspin(1000);\n";

// A Full VM sampling at `hz`, with the natives spin and quit (which calls `on_quit`), `source` loaded, printing
// into `out`.
struct SpinVm {
    std::ostringstream out;
    Vm<FullProfiler> vm;
    explicit SpinVm(const std::string& source, std::function<void()> on_quit = [] {}, double hz = kSampleHz)
        : vm({}, FullProfiler(hz)) {
        vm.register_native("spin", 1, [](Machine&, std::span<const Value> args) { return spin(args); });
        vm.register_native("quit", 0, [on_quit](Machine&, std::span<const Value>) {
            on_quit();
            return Value::nil();
        });
        vm.set_output(out);
        load(source);
    }
    void load(const std::string& source) { vm.load(compile_source(source, "spin.ops", {{"spin", 1}, {"quit", 0}})); }
    std::uint64_t samples() const { return vm.profile().timing->samples; }
};

// One run of `source` on a fresh VM, on this thread: its output and exact counts.
std::pair<std::string, test::CountView> one_run(const std::string& source) {
    SpinVm alone(source);
    alone.vm.run();
    return {alone.out.str(), exact_counts(alone.vm.profile())};
}
} // namespace

// A thread that ends (pthread_exit) inside a sampled run, while another thread keeps sampling: the other's
// samples and counts are unaffected, and the VM whose thread ended samples again when another thread runs it.
BOOST_AUTO_TEST_CASE(a_thread_that_exits_in_a_sampled_run_leaves_every_sampler_working) {
    SpinVm orphan("spin(10000);\nquit();\nprint(1);\n", [] { pthread_exit(nullptr); });

    // A neighbour samples all along: its runs start before the exit and go on until after it.
    std::atomic<bool> exited{false};
    int neighbour_runs = 0;
    std::uint64_t neighbour_samples = 0;
    test::CountView neighbour_counts;
    std::jthread neighbour([&] {
        SpinVm n(kShortLoop);
        do {
            n.vm.run();
            ++neighbour_runs;
        } while (!exited.load() || neighbour_runs < 3);
        neighbour_samples = n.samples();
        neighbour_counts = exact_counts(n.vm.profile());
    });
    std::thread([&] {
        orphan.vm.run();
        BOOST_ERROR("pthread_exit returned");
    }).join();
    exited = true;
    neighbour.join();
    BOOST_TEST(orphan.out.str().empty());
    BOOST_TEST(neighbour_samples > 0u);
    const std::uint64_t per_run = std::stoull(one_run(kShortLoop).second.at("summary").at("total_instructions"));
    BOOST_TEST(neighbour_counts.at("summary").at("total_instructions") == std::to_string(per_run * neighbour_runs));

    // The VM left by the thread runs on this one: a new program, fresh counts, and samples again.
    orphan.load(kSpinLoop);
    orphan.vm.run();
    const auto [output, counts] = one_run(kSpinLoop);
    BOOST_TEST(orphan.out.str() == output);
    BOOST_TEST(orphan.samples() > 0u, "the VM whose thread exited samples on its new thread");
    const std::string differences = count_differences(counts, exact_counts(orphan.vm.profile()));
    BOOST_TEST(differences.empty(), differences);
}

// A VM that moves between threads from run to run samples on each (its timer signals the thread running it).
BOOST_AUTO_TEST_CASE(a_vm_moving_between_threads_samples_on_each) {
    SpinVm moving(kSpinLoop);
    std::vector<std::uint64_t> samples;
    for (int k = 0; k < 3; ++k) {
        std::jthread([&] { moving.vm.run(); }).join();
        samples.push_back(moving.samples());
    }
    BOOST_TEST(samples[0] > 0u);
    BOOST_TEST(samples[1] > samples[0]);
    BOOST_TEST(samples[2] > samples[1]);
    const std::string output = one_run(kSpinLoop).first;
    BOOST_TEST(moving.out.str() == output + output + output);
}

// VMs destroyed right after a run, their timers ticking every 20 us, half of the runs ended by a native's
// exception that is not a std::exception: such a run stops sampling when it ends, ticks still in flight when
// a timer is deleted are dropped, and the VM that samples next on this thread is unaffected.
BOOST_AUTO_TEST_CASE(vms_destroyed_right_after_a_run_leave_no_tick_behind) {
    struct NotAnError {};
    int sampled_after_the_end = 0, ended_by_it = 0;
    for (int k = 0; k < 200; ++k) {
        const auto quit = [k] {
            if (k % 2) throw NotAnError{};
        };
        SpinVm brief("let s = 0;\nfor (let i = 0; i < 300; i = i + 1) { s = s + i; }\nquit();\nprint(s);\n", quit, 50000);
        try {
            brief.vm.run();
        } catch (const NotAnError&) {
            ++ended_by_it;
            const std::uint64_t samples = brief.samples();
            spin(std::vector<Value>{Value::integer(200)});  // ten ticks' time: none may land now
            if (brief.samples() != samples) ++sampled_after_the_end;
        }
    }
    BOOST_TEST(ended_by_it == 100);
    BOOST_TEST(sampled_after_the_end == 0, "runs ended by a foreign exception kept sampling");
    SpinVm next(kSpinLoop);
    next.vm.run();
    const auto [output, counts] = one_run(kSpinLoop);
    BOOST_TEST(next.out.str() == output);
    BOOST_TEST(next.samples() > 0u);
    const std::string differences = count_differences(counts, exact_counts(next.vm.profile()));
    BOOST_TEST(differences.empty(), differences);
}

BOOST_AUTO_TEST_SUITE_END()
