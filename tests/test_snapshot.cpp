// Vm::snapshot: interval profiles that add up to the whole run. On random programs, snapshots fall at safe
// points (every few instructions; taken from the fuel_refill hook, so that they fall at the same landings in
// every VM) and at natives: each interval's exact counts equal those of NaiveCounter split at the same points,
// and the intervals merged equal one whole run, opcode pairs and inclusive instructions included. Then
// snapshots requested from another thread while the VM runs, for every policy, and the safe points' own
// contract (tasks from other threads, their exceptions, idle VMs).
#include "policy_support.hpp"
#include "program_generator.hpp"

#include <opscope/policies/counting.hpp>
#include <opscope/policies/full.hpp>
#include <opscope/policies/timing.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace opscope;

namespace {

constexpr std::uint64_t kGuardFuel = 20'000'000;

// `Base`, plus a callback at each safe point (after the refill): where a snapshot from another thread lands.
template <class Base>
struct AtSafePoints : Base {
    std::function<void()> callback;
    void on_fuel_refill(const Machine& machine, std::int64_t added) {
        if constexpr (hooks::fuel_refill<Base>) Base::on_fuel_refill(machine, added);
        if (callback) callback();
    }
};

// A VM whose profile is cut into intervals: at every `every`-th safe point and at each call of the natives
// `pstop` and `pstart` (which the generator sprinkles in), and after each run.
template <class Base>
struct SplitVm {
    Vm<AtSafePoints<Base>> vm;
    std::vector<Profile> intervals;
    std::uint64_t safe_points = 0;

    SplitVm(std::uint32_t interval, std::uint64_t every) {
        vm.set_safe_point_interval(interval);
        vm.profiler().callback = [this, every] {
            if (++safe_points % every == 0) intervals.push_back(vm.snapshot());
        };
        for (const char* name : {"pstop", "pstart"})
            vm.register_native(name, 0, [this](Machine&, std::span<const Value>) {
                intervals.push_back(vm.snapshot());
                return Value::nil();
            });
    }
};

// Output, then the result or the error.
template <class P>
std::string run_once(Vm<P>& vm) {
    std::ostringstream out;
    vm.set_output(out);
    try {
        out << "=> " << to_display(vm.run());
    } catch (const RuntimeError& e) {
        out << e.format();
    }
    return out.str();
}

// The exact groups of `p`, without opcode pairs (a pair across a boundary counts in the later interval here,
// and in neither for NaiveCounter, which splits by stop and start).
test::CountView without_pairs(const Profile& p) {
    test::CountView view = test::count_view(p);
    view.erase("opcode_pairs");
    return view;
}

std::string differences(const Profile& expected, const Profile& actual) {
    return test::count_differences(test::count_view(expected), test::count_view(actual)) +
           test::view_differences(test::inclusive_view(expected), test::inclusive_view(actual));
}

} // namespace

BOOST_AUTO_TEST_SUITE(snapshot)

BOOST_AUTO_TEST_CASE(intervals_are_exact_and_add_up_to_the_whole_run_on_random_programs) {
    constexpr std::uint64_t kSeed = 0x736e617073686f74;  // "snapshot"
    constexpr int kPrograms = 150;
    test::ProgramGenerator generator(kSeed);
    std::mt19937_64 random(kSeed);
    const auto below = [&](std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(random); };
    int failures = 0;
    std::uint64_t intervals = 0, at_landings = 0;
    for (int n = 0; n < kPrograms && failures < 3; ++n) {
        generator.set_options(test::GeneratorOptions{.pause_percent = n % 2 ? 10 : 0});
        const std::string text = generator.generate();
        const Program program = assemble(text, "generated.opasm");
        const auto interval = static_cast<std::uint32_t>(1 + below(12));
        const std::uint64_t every = 1 + below(4);
        const int runs = n % 5 == 0 ? 2 : 1;
        // A small value stack: three fresh VMs per program, and an ASan build spends most of its time poisoning
        // the default 64 MB stack of each one. The generated programs nest at most 27 calls (their gas), a few
        // hundred slots.
        const Limits limits{.fuel = n % 7 == 3 ? 1 + below(400) : kGuardFuel, .stack_slots = 1u << 16};

        SplitVm<InclusiveCountingProfiler> split(interval, every);
        SplitVm<test::NaiveCounter> reference(interval, every);
        Vm<InclusiveCountingProfiler> whole;
        for (const char* name : {"pstop", "pstart"})
            whole.register_native(name, 0, [](Machine&, std::span<const Value>) { return Value::nil(); });
        std::string transcripts[3];
        Machine* vms[3] = {&split.vm, &reference.vm, &whole};
        for (Machine* vm : vms) vm->set_limits(limits);
        split.vm.load(program);
        reference.vm.load(program);
        whole.load(program);
        for (int run = 0; run < runs; ++run) {
            transcripts[0] += run_once(split.vm);
            split.intervals.push_back(split.vm.snapshot());
            transcripts[1] += run_once(reference.vm);
            reference.intervals.push_back(reference.vm.snapshot());
            transcripts[2] += run_once(whole);
        }
        at_landings += split.safe_points / every;
        intervals += split.intervals.size();
        std::string problems;
        if (transcripts[0] != transcripts[2] || transcripts[1] != transcripts[2]) problems += "  the runs' output differs\n";
        if (split.intervals.size() != reference.intervals.size()) {
            problems += "  " + std::to_string(split.intervals.size()) + " intervals, the reference cut " +
                        std::to_string(reference.intervals.size()) + "\n";
        } else {
            for (std::size_t i = 0; i < split.intervals.size(); ++i) {
                const std::string d = test::count_differences(without_pairs(reference.intervals[i]), without_pairs(split.intervals[i])) +
                                      test::view_differences(test::inclusive_view(reference.intervals[i]),
                                                             test::inclusive_view(split.intervals[i]));
                if (!d.empty()) problems += "  interval " + std::to_string(i) + ":\n" + d;
            }
        }
        const std::string sum = differences(whole.profile(), merge(split.intervals));
        if (!sum.empty()) problems += "  the intervals merged differ from the whole run:\n" + sum;
        if (!problems.empty()) {
            ++failures;
            BOOST_ERROR("program " << n << " (safe point every " << interval << " instructions, a snapshot every " << every
                                   << ", fuel " << limits.fuel << "):\n" << problems << "--- program ---\n" << text);
        }
    }
    BOOST_TEST_MESSAGE(intervals << " intervals, " << at_landings << " cut at safe points");
    BOOST_TEST(at_landings > 1000u);  // the safe points' boundaries were exercised, not only the natives'
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// A few million instructions of calls, loops, arrays and strings: long enough for many snapshots (a tenth of
// that in unoptimized builds, which run and snapshot ten times slower).
#if defined(__OPTIMIZE__)
#define OPSCOPE_BUSY_ROUNDS "200000"
#else
#define OPSCOPE_BUSY_ROUNDS "20000"
#endif
constexpr const char* kBusy = R"(
fn step(i, acc) {
    if (i % 3 == 0) { return acc + i; }
    return acc - 1;
}
let total = 0;
let i = 0;
let parts = array(64);
while (i < )" OPSCOPE_BUSY_ROUNDS R"() {
    total = step(i, total);
    parts[i % 64] = i;
    if (i % 1000 == 0) { let s = "x" + "y"; total = total + len(s); }
    i = i + 1;
}
print(total);
)";
#undef OPSCOPE_BUSY_ROUNDS

template <class P>
Profile whole_run_profile(const Program& program, std::string& output) {
    Vm<P> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(program);
    vm.run();
    output = out.str();
    return vm.profile();
}

} // namespace

BOOST_AUTO_TEST_SUITE(snapshot_from_another_thread)

using Policies = std::tuple<CountingProfiler, InclusiveCountingProfiler, TimingProfiler, FullProfiler>;

// A thread takes a snapshot every 2 ms or so while the VM runs (twice); with the one taken after, they merge
// into exactly the counts of the same runs without snapshots.
BOOST_AUTO_TEST_CASE_TEMPLATE(snapshots_taken_while_the_vm_runs_add_up_to_the_whole, P, Policies) {
    const Program program = compile_source(kBusy, "busy.ops");
    std::string expected_output;
    Profile whole = whole_run_profile<P>(program, expected_output);
    whole = merge(whole, whole);  // two runs

    Vm<P> vm;
    vm.set_safe_point_interval(997);
    std::ostringstream out;
    vm.set_output(out);
    vm.load(program);
    std::vector<Profile> intervals;
    std::atomic<bool> ready{false}, done{false};
    std::thread snapshots([&] {
        ready.store(true);
        while (!done.load()) {
            intervals.push_back(vm.snapshot());
            std::this_thread::sleep_for(std::chrono::milliseconds(2));  // pacing only: any number of snapshots is right
        }
    });
    while (!ready.load()) std::this_thread::yield();
    vm.run();
    vm.run();
    done.store(true);
    snapshots.join();
    intervals.push_back(vm.snapshot());
    BOOST_TEST(out.str() == expected_output + expected_output);
    BOOST_TEST_MESSAGE(intervals.size() << " intervals");
    BOOST_TEST(intervals.size() > 2u);
    const Profile merged = merge(intervals);
    BOOST_TEST(differences(whole, merged).empty(), differences(whole, merged));
    BOOST_TEST(merged.summary->total_instructions == whole.summary->total_instructions);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(safe_points)

// From another thread, a task waits for the running VM's next safe point and runs there, on the VM's thread,
// at a landing; what it throws reaches its caller, not the run. (The program runs from before the tasks are
// posted until both ran.)
BOOST_AUTO_TEST_CASE(a_task_from_another_thread_runs_on_the_vm_thread_at_a_landing) {
    Vm<CountingProfiler> vm;
    vm.set_safe_point_interval(100);
    std::atomic<int> tasks_done{0};
    std::atomic<bool> started{false};
    vm.register_native("begin", 0, [&](Machine&, std::span<const Value>) {
        started.store(true);
        return Value::nil();
    });
    vm.register_native("served", 0, [&](Machine&, std::span<const Value>) { return Value::integer(tasks_done.load()); });
    std::ostringstream out;
    vm.set_output(out);
    vm.load(compile_source("begin();\nlet i = 0;\nwhile (served() < 2) { i = i + 1; }\nprint(i > 0);\n", "wait.ops",
                           {{"begin", 0}, {"served", 0}}));
    std::thread::id ran_on;
    bool landed = false;
    std::string error;
    std::thread other([&] {
        while (!started.load()) std::this_thread::yield();
        vm.run_at_safe_point([&] {
            ran_on = std::this_thread::get_id();
            landed = vm.at_landing();
        });
        ++tasks_done;
        try {
            vm.run_at_safe_point([] { throw std::runtime_error("the task's own error"); });
        } catch (const std::runtime_error& e) {
            error = e.what();
        }
        ++tasks_done;
    });
    const std::thread::id vm_thread = std::this_thread::get_id();
    vm.run();
    other.join();
    BOOST_TEST(out.str() == "true\n");
    BOOST_TEST(error == "the task's own error");
    BOOST_TEST((ran_on == vm_thread));
    BOOST_TEST(landed);
}

BOOST_AUTO_TEST_CASE(an_idle_vm_runs_the_task_at_once_on_the_caller_thread) {
    Vm<CountingProfiler> vm;
    vm.load(compile_source("print(1);", "one.ops"));
    std::thread::id ran_on;
    std::thread other([&] { vm.run_at_safe_point([&] { ran_on = std::this_thread::get_id(); }); });
    const std::thread::id other_id = other.get_id();
    other.join();
    BOOST_TEST((ran_on == other_id));
    BOOST_CHECK_THROW(vm.set_safe_point_interval(0), std::invalid_argument);
}

// Between runs a snapshot is the profile so far, and the next one starts from nothing.
BOOST_AUTO_TEST_CASE(a_snapshot_between_runs_is_the_profile_and_starts_the_next_afresh) {
    Vm<CountingProfiler> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(compile_source("let i = 0; while (i < 10) { i = i + 1; }", "loop.ops"));
    vm.run();
    const Profile before = vm.profile();
    const Profile first = vm.snapshot();
    BOOST_TEST(test::count_differences(test::count_view(before), test::count_view(first)).empty());
    BOOST_TEST(vm.snapshot().summary->total_instructions == 0u);
    vm.run();
    BOOST_TEST(vm.snapshot().summary->total_instructions == first.summary->total_instructions);
}

BOOST_AUTO_TEST_SUITE_END()
