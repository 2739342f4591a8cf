// One test body over every profiler policy (BOOST_AUTO_TEST_CASE_TEMPLATE): a policy never changes what a
// program does, and its profile lifecycle behaves — pausing leaves out exactly the paused region (checked
// against the naive reference counter, which pauses too), reset clears, and merging the profiles of
// separate runs equals the profile of one VM that ran them all. A new policy joins by one line in `Policies`.
#include "policy_support.hpp"

#include <opscope/policies/counting.hpp>
#include <opscope/policies/full.hpp>
#include <opscope/policies/null.hpp>
#include <opscope/policies/timing.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace opscope;
using test::count_differences;
using test::count_view;
using test::exact_part;
using test::memory_text;
using test::without_zero_counts;

namespace {

using Policies = std::tuple<NullProfiler, CountingProfiler, InclusiveCountingProfiler, TimingProfiler, FullProfiler,
                            InclusiveFullProfiler>;

template <class P>
concept Pausable = requires(Vm<P>& vm) {
    vm.stop_profiling();
    vm.start_profiling();
};
template <class P>
concept Resettable = requires(Vm<P>& vm) { vm.reset_profile(); };

struct Case {
    std::string name;
    Program program;
    Limits limits;
};

using test::kThreeDeep;

// The examples (made small) and programs that fail in different ways.
std::vector<Case> cases() {
    std::vector<Case> out;
    const std::pair<const char*, std::int64_t> opasm[] = {
        {"calls.opasm", 1000}, {"fib.opasm", 15}, {"loop.opasm", 10000}, {"sieve.opasm", 1000}};
    for (const auto& [name, size] : opasm) out.push_back({name, assemble(test::opasm_example_sized(name, size), name), {}});
    out.push_back({"hello.opasm", assemble(test::example_text("hello.opasm"), "hello.opasm"), {}});
    const std::pair<const char*, std::pair<const char*, const char*>> ops[] = {
        {"fib.ops", {"let N = 30;", "let N = 15;"}},
        {"loop.ops", {"let N = 100000000;", "let N = 10000;"}},
        {"sieve.ops", {"let N = 2000000;", "let N = 1000;"}},
        {"calls.ops", {"let N = 10000000;", "let N = 1000;"}},
    };
    for (const auto& [name, change] : ops)
        out.push_back({name, compile_source(test::replaced(test::example_text(name), change.first, change.second), name), {}});
    out.push_back({"hello.ops", compile_source(test::example_text("hello.ops"), "hello.ops"), {}});

    out.push_back({"division by zero, three deep", assemble(kThreeDeep, "three.opasm"), {}});
    out.push_back({"aget out of range", compile_source("let a = array(3);\nfn at(i) { return a[i]; }\nprint(at(1));\nprint(at(5));\n", "range.ops"), {}});
    out.push_back({"type error on a fused path", assemble(test::main_program("    push 2.5\n    store 0\n    push \"x\"\n    store 1\n"
                                                                           "    load 0\n    push 1\n    add\n    print\n"
                                                                           "    load 1\n    push 1\n    sub\n    ret"),
                                                         "fused.opasm"),
                   {}});
    out.push_back({"failing native", assemble(test::main_program("    push 4\n    call sqrt\n    print\n    push nil\n    call sqrt\n    ret"), "native.opasm"), {}});
    out.push_back({"undefined global", assemble(test::main_program("    push 1\n    print\n    gload nowhere\n    ret"), "global.opasm"), {}});
    out.push_back({"call depth limit", compile_source("fn down(n) { return down(n + 1) + 1; }\nprint(down(0));\n", "deep.ops"),
                   Limits{.max_call_depth = 50}});
    out.push_back({"fuel exhausted", assemble(test::opasm_example_sized("loop.opasm", 100000), "loop.opasm"), Limits{.fuel = 5000}});
    out.push_back({"halt inside calls", assemble(".func stop 0 0\n    push \"bye\"\n    print\n    halt\n.end\n"
                                  ".func mid 0 0\n    call stop\n    ret\n.end\n"
                                  ".func main 0 0\n    push 1\n    print\n    call mid\n    print\n    push 2\n    ret\n.end\n",
                                  "halt.opasm"),
                   {}});
    return out;
}

// The timeline's events without their times, one per line.
std::string timeline_events(const Profile& p) {
    if (!p.timeline) return "<no timeline>";
    std::string out = fmt::format("capacity {} recorded {} dropped {}\n", p.timeline->capacity, p.timeline->recorded, p.timeline->dropped);
    for (const TimelineEvent& e : p.timeline->events)
        out += fmt::format("{} {} {}\n", to_string(e.kind), e.function, e.depth);
    return out;
}

// Checks that two profiles agree on everything exact, explaining any difference.
void check_same_exact_part(const Profile& expected, const Profile& actual, const std::string& context) {
    const Profile e = exact_part(expected), a = exact_part(actual);
    BOOST_TEST(count_differences(count_view(e), count_view(a)).empty(),
               context << ": counts differ:\n" << count_differences(count_view(e), count_view(a)));
    BOOST_TEST(memory_text(e) == memory_text(a), context << ": memory differs");
    BOOST_TEST(timeline_events(expected) == timeline_events(actual), context << ": timeline events differ");
    BOOST_TEST((e == a), context << ": the profiles differ in some other field");
}

// The profile of one run of `program` on a new VM.
template <class P>
Profile profile_of_one_fresh_run(const Program& program) {
    std::ostringstream sink;
    Vm<P> fresh(Limits{}, P());
    fresh.set_output(sink);
    fresh.load(program);
    fresh.run();
    return fresh.profile();
}

template <class P>
std::string run_transcript(Vm<P>& vm) {
    std::ostringstream out;
    vm.set_output(out);
    try {
        const Value result = vm.run();
        out << "=> " << to_display(result);
    } catch (const RuntimeError& e) {
        out << e.format();
    }
    return out.str();
}

} // namespace

BOOST_AUTO_TEST_SUITE(policies)

// VMs are built as `Vm<P> vm(Limits{}, P())`: Vm's default argument `Profiler profiler = {}` cannot call the
// explicit default constructors of TimingProfiler and FullProfiler.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_policy_never_changes_what_a_program_does, P, Policies) {
    Vm<NullProfiler> reference;
    Vm<P> profiled(Limits{}, P());
    for (const Case& c : cases()) {
        const test::Attempt expected = test::attempt(reference, c.program, c.limits, /*with_result=*/true);
        const test::Attempt actual = test::attempt(profiled, c.program, c.limits, /*with_result=*/true);
        BOOST_TEST(actual.transcript == expected.transcript, c.name);
        BOOST_TEST(actual.error.has_value() == expected.error.has_value(), c.name);
        if (actual.error && expected.error) {
            BOOST_TEST(actual.error->message() == expected.error->message(), c.name);
            BOOST_TEST(actual.error->backtrace().size() == expected.error->backtrace().size(), c.name);
        }
    }
}

// Loop A (10 passes) recorded; `quiet` pauses from inside a call; loop B (20 iterations, in `work`) paused;
// `pstart` from main; loop C (30 iterations, in `work` again) recorded.
constexpr std::string_view kPaused = R"(.func work 1 2
    push 0
    store 1
    jmp test
body:
    load 1
    push 1
    add
    store 1
test:
    load 1
    load 0
    lt
    jnz body
    load 1
    ret
.end
.func quiet 0 0
    call pstop
    pop
    push 0
    ret
.end
.func main 0 1
    push 0
    store 0
a:
    load 0
    push 1
    add
    store 0
    load 0
    push 10
    lt
    jnz a
    call quiet
    pop
    push 20
    call work
    pop
    call pstart
    pop
    push 30
    call work
    print
    halt
.end
)";

// Paused in main, resumed inside a call two deep that then returns through frames entered while paused.
constexpr std::string_view kResumedInside = R"(.func inner 0 1
    call pstart
    pop
    push 5
    store 0
again:
    load 0
    push 1
    sub
    dup
    store 0
    jnz again
    push 7
    ret
.end
.func outer 0 0
    call inner
    push 1
    add
    ret
.end
.func main 0 0
    call pstop
    pop
    call outer
    call outer
    add
    print
    halt
.end
)";

BOOST_AUTO_TEST_CASE_TEMPLATE(pausing_leaves_out_exactly_the_paused_region, P, Policies) {
    for (const std::string_view text : {kPaused, kResumedInside}) {
        const Program program = assemble(text, "paused.opasm");
        Vm<P> vm(Limits{}, P());
        test::register_pause_natives(vm);
        vm.load(program);
        Vm<test::NaiveCounter> naive;
        test::register_pause_natives(naive);
        naive.load(program);
        const std::string expected = run_transcript(naive);
        BOOST_TEST(run_transcript(vm) == expected);
        if constexpr (Pausable<P>) {
            const Profile profile = vm.profile();
            const auto actual_view = count_view(without_zero_counts(profile), /*exact_only=*/true);
            const auto naive_view = count_view(without_zero_counts(naive.profile()));
            BOOST_TEST(count_differences(naive_view, actual_view, /*only_groups_of_actual=*/true).empty(),
                       "the paused region leaks into the profile:\n"
                           << count_differences(naive_view, actual_view, true) << "--- program ---\n" << text);
            if (text == kPaused && profile.loops) {
                // A's back edge is taken 9 times (10 passes); B's 20 are paused; C's 30 count.
                const test::GroupView loops = count_view(profile).at("loops");
                BOOST_TEST(loops.at("main+2..9") == "line 28 iterations 9");
                BOOST_TEST(loops.at("work+3..10") == "line 6 iterations 30");
            }
            if (text == kPaused && profile.frames) {
                // main, quiet, and work for loop C; popped: work's return and main at halt.
                BOOST_TEST(profile.frames->pushed == 3u);
                BOOST_TEST(profile.frames->popped == 2u);
                BOOST_TEST(profile.frames->max_depth == 2u);
            }
            if (text == kResumedInside && profile.frames) {
                BOOST_TEST(profile.frames->pushed == 3u);  // main's entry, then the second outer and inner
                BOOST_TEST(profile.frames->popped == 5u);  // inner, outer, inner, outer, main at halt
                BOOST_TEST(profile.frames->max_depth == 3u);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reset_profile_clears_what_was_recorded, P, Policies) {
    if constexpr (Resettable<P>) {
        const Program program = assemble(test::opasm_example_sized("fib.opasm", 10), "fib.opasm");
        Vm<P> vm(Limits{}, P());
        std::ostringstream sink;
        vm.set_output(sink);
        vm.load(program);
        vm.run();
        vm.run();
        vm.reset_profile();
        const Profile cleared = without_zero_counts(vm.profile());
        BOOST_TEST(total_instructions(cleared).value_or(0) == 0u);
        if (cleared.instructions) BOOST_TEST(cleared.instructions->entries.empty());
        if (cleared.opcode_pairs) BOOST_TEST(cleared.opcode_pairs->entries.empty());
        if (cleared.call_graph) BOOST_TEST(cleared.call_graph->entries.empty());
        if (cleared.frames) BOOST_TEST((cleared.frames->pushed == 0u && cleared.frames->popped == 0u && cleared.frames->max_depth == 0u));
        if (cleared.summary) BOOST_TEST(cleared.summary->max_call_depth.value_or(0) == 0u);
        if (cleared.functions)
            for (const FunctionStats& f : cleared.functions->entries) BOOST_TEST(f.calls == 0u, f.name);
        if (cleared.timeline) BOOST_TEST(cleared.timeline->events.empty());
        if (cleared.memory) BOOST_TEST(cleared.memory->allocations == 0u);

        // After the reset, one run records what one run on a fresh VM does.
        vm.run();
        check_same_exact_part(profile_of_one_fresh_run<P>(program), vm.profile(), "one run after reset");
    }
}

// Loading another program starts the profile afresh in every part of every policy (the on_load hook): the
// VM's profile of the second program equals a fresh VM's, heap statistics and timeline included.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_new_program_starts_the_profile_afresh, P, Policies) {
    const Program first = compile_source("let a = array(100);\nfn f(n) { return array(n); }\nprint(len(f(50)));\n", "first.ops");
    const Program second = assemble(test::opasm_example_sized("fib.opasm", 8), "fib.opasm");
    std::ostringstream sink;
    Vm<P> vm(Limits{}, P());
    vm.set_output(sink);
    vm.load(first);
    vm.run();
    vm.load(second);
    vm.run();
    check_same_exact_part(profile_of_one_fresh_run<P>(second), vm.profile(), "after loading a second program");
}

// A policy object put in after load() (vm.profiler() = P()) has seen no on_load: it binds itself to the
// program when the run begins, instead of counting into tables sized for nothing.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_policy_assigned_after_load_binds_at_the_run, P, Policies) {
    if constexpr (std::is_move_assignable_v<P>) {
        const Program program = assemble(test::opasm_example_sized("fib.opasm", 8), "fib.opasm");
        std::ostringstream sink;
        Vm<P> vm(Limits{}, P());
        vm.set_output(sink);
        vm.load(program);
        vm.profiler() = P();
        vm.run();
        check_same_exact_part(profile_of_one_fresh_run<P>(program), vm.profile(), "a policy assigned after load");
    }
}

// Sums an array of n elements; divides by n - 3 (so n = 3 fails).
constexpr std::string_view kInputs = R"(.func fill 1 3
    load 0
    newarray
    store 1
    push 0
    store 2
    jmp test
body:
    load 1
    load 2
    load 2
    aset
    load 2
    push 1
    add
    store 2
test:
    load 2
    load 0
    lt
    jnz body
    load 0
    ret
.end
.func main 0 0
    gload n
    call fill
    push 100
    gload n
    push 3
    sub
    div
    add
    print
    push "done"
    print
    push nil
    ret
.end
)";

BOOST_AUTO_TEST_CASE_TEMPLATE(merged_profiles_of_separate_runs_equal_one_vm_running_them_all, P, Policies) {
    const Program program = assemble(kInputs, "inputs.opasm");
    const std::int64_t inputs[] = {5, 8, 3, 12, 1};
    std::ostringstream sink;
    std::vector<Profile> separate;
    for (const std::int64_t n : inputs) {
        Vm<P> vm(Limits{}, P());
        vm.set_output(sink);
        vm.load(program);
        vm.set_global("n", Value::integer(n));
        run_transcript(vm);
        separate.push_back(vm.profile());
    }
    Vm<P> one(Limits{}, P());
    one.set_output(sink);
    one.load(program);
    for (const std::int64_t n : inputs) {
        one.set_global("n", Value::integer(n));
        run_transcript(one);
    }
    check_same_exact_part(merge(separate), one.profile(), "merge of separate runs");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {
// A policy declaring every hook of OPSCOPE_HOOKS, generated from the list, counting each one's calls.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
struct EveryHook {
    std::map<std::string, std::uint64_t>* calls;
#define OPSCOPE_COUNTED_HOOK(hook, member, parameters, arguments, meaning) \
    void member parameters { ++(*calls)[#hook]; }
    OPSCOPE_HOOKS(OPSCOPE_COUNTED_HOOK)
#undef OPSCOPE_COUNTED_HOOK
};
#pragma GCC diagnostic pop
} // namespace

// Every hook in the list has a call site: a row added to OPSCOPE_HOOKS without one in the interpreter fails
// here. The program reaches every hook point: a native, a call and return, a branch the block counts
// cannot give (it jumps to its own fall-through), halt, and (with a safe point every instruction) refills.
BOOST_AUTO_TEST_CASE(every_hook_in_the_list_is_called) {
    std::map<std::string, std::uint64_t> calls;
    Vm<EveryHook> vm(Limits{}, EveryHook{&calls});
    vm.set_safe_point_interval(1);
    std::ostringstream sink;
    vm.set_output(sink);
    vm.load(assemble(".func f 1 1\n    load 0\n    ret\n.end\n"
                     ".func main 0 0\n    push 4\n    call sqrt\n    pop\n    push 2\n    call f\n    jz next\n"
                     "next:\n    halt\n.end\n",
                     "hooks.opasm"));
    vm.trap_calls(true);  // the trapped hooks too
    vm.run();
    const std::vector<std::string> hooks = {
#define OPSCOPE_HOOK_NAME(hook, ...) #hook,
        OPSCOPE_HOOKS(OPSCOPE_HOOK_NAME)
#undef OPSCOPE_HOOK_NAME
    };
    BOOST_TEST(hooks.size() == 18u);  // a new hook: extend the program above so that it is called
    for (const std::string& hook : hooks) BOOST_TEST(calls[hook] > 0u, "hook '" << hook << "' was never called");
    BOOST_TEST(calls["loop_enter"] == 1u);  // once around the run's loop, and left once
    BOOST_TEST(calls["loop_exit"] == 1u);
}

namespace {
// Hears the calls and returns of a window: traps them when the run begins and clears the trap after
// `window` of them (none: never traps).
struct TrapWindow {
    static constexpr std::string_view name = "trap-window";
    std::size_t window = 0;
    std::vector<std::string>* heard = nullptr;
    const Machine* machine = nullptr;

    void on_run_begin(const Machine& m) {
        machine = &m;
        m.trap_calls(window > 0);
    }
    void on_run_end(const Machine& m) { m.trap_calls(false); }
    void on_trapped_call(const LinkedFunction* caller, std::size_t offset, const LinkedFunction& callee, std::size_t depth) {
        hear(fmt::format("call {} from {}@{} depth {}", callee.source->name, caller ? caller->source->name : "host",
                         offset, depth));
    }
    void on_trapped_return(const LinkedFunction& f, std::size_t depth) {
        hear(fmt::format("return {} depth {}", f.source->name, depth));
    }
    void hear(std::string event) {
        BOOST_TEST(machine->calls_trapped());
        heard->push_back(std::move(event));
        if (heard->size() == window) machine->trap_calls(false);
    }
};

constexpr std::string_view kTwoCalls = ".func f 1 1\n    load 0\n    ret\n.end\n"
                                       ".func main 0 0\n    push 4\n    call f\n    push 5\n    call f\n    add\n    ret\n.end\n";
} // namespace

// While the trap is set every call and return is heard, main's own included; once cleared, none is, and the
// program runs on unchanged.
BOOST_AUTO_TEST_CASE(trapped_calls_and_returns_are_heard_while_the_trap_is_set) {
    const std::vector<std::string> all = {"call main from host@0 depth 1", "call f from main@1 depth 2",
                                          "return f depth 2",              "call f from main@3 depth 2",
                                          "return f depth 2",              "return main depth 1"};
    for (const std::size_t window : {std::size_t{0}, std::size_t{3}, std::size_t{6}, std::size_t{100}}) {
        std::vector<std::string> heard;
        Vm<TrapWindow> vm(Limits{}, TrapWindow{window, &heard, nullptr});
        vm.load(assemble(kTwoCalls, "two_calls.opasm"));
        const Value result = vm.run();
        BOOST_TEST((result.is_int() && result.as.i == 9));
        const std::vector<std::string> expected(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(window, all.size())));
        BOOST_TEST(heard == expected, "window " << window);
        BOOST_TEST(!vm.calls_trapped());
    }
}

// The trap moves the call-depth check's limit; the real limit still holds while it is set.
BOOST_AUTO_TEST_CASE(the_call_depth_limit_holds_while_calls_are_trapped) {
    std::vector<std::string> heard;
    Vm<TrapWindow> vm(Limits{.max_call_depth = 4}, TrapWindow{1000, &heard, nullptr});
    vm.load(assemble(".func f 1 1\n    load 0\n    call f\n    ret\n.end\n"
                     ".func main 0 0\n    push 1\n    call f\n    ret\n.end\n",
                     "deep.opasm"));
    BOOST_CHECK_EXCEPTION(vm.run(), RuntimeError, [](const RuntimeError& e) {
        return std::string_view(e.what()).find("call depth limit exceeded") != std::string_view::npos;
    });
    BOOST_TEST(heard.size() == 4u);  // main and three calls of f; the fourth call of f overflowed
    BOOST_TEST(heard.back() == "call f from f@1 depth 4");
    // The VM is usable afterwards, and the trap clear.
    BOOST_TEST(!vm.calls_trapped());
    vm.load(assemble(kTwoCalls, "two_calls.opasm"));
    const Value again = vm.run();
    BOOST_TEST((again.is_int() && again.as.i == 9));
}
