// Running programs: runtime errors and their backtraces, reuse of a VM after an error, the host's limits
// (fuel, call depth, stack slots, heap bytes), the garbage collector under pressure, and globals across runs.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

using namespace opscope;
using test::main_program;

// Under AddressSanitizer an allocation the host cannot satisfy aborts the process by default; let it fail
// as it would without the sanitizer, so stacks_the_host_cannot_allocate_are_a_runtime_error tests the VM.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OPSCOPE_TEST_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define OPSCOPE_TEST_UNDER_ASAN 1
#endif
#if defined(OPSCOPE_TEST_UNDER_ASAN)
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif

namespace {

// A VM with `text` loaded and its output captured.
struct Loaded {
    explicit Loaded(std::string_view text, Limits limits = {}) : vm(limits) {
        vm.set_output(out);
        vm.load(test::assemble_recorded(text));
    }
    RuntimeError error() {
        return test::thrown_by<RuntimeError>([&] { vm.run(); });
    }
    std::string run_output() {
        out.str("");
        vm.run();
        return out.str();
    }
    Vm<> vm;
    std::ostringstream out;
};

// The backtrace as "function+offset:line" items, innermost first.
std::string frames(const RuntimeError& e) {
    std::string out;
    for (const TraceFrame& f : e.backtrace()) {
        if (!out.empty()) out += ' ';
        out += f.function + "+" + std::to_string(f.offset) + ":" + std::to_string(f.line);
    }
    return out;
}

using test::kThreeDeep;

// Counts to 10 in a loop: executes exactly 98 instructions (2 + 11 * 4 + 10 * 5 + 2).
constexpr std::string_view kCountToTen = R"(.func main 0 1
    push 0
    store 0
loop:
    load 0
    push 10
    lt
    jz end
    load 0
    push 1
    add
    store 0
    jmp loop
end:
    load 0
    ret
.end
)";
constexpr std::uint64_t kCountToTenInstructions = 98;

constexpr std::string_view kFib = R"(.func fib 1 1
    load 0
    push 2
    lt
    jz recurse
    load 0
    ret
recurse:
    load 0
    push 1
    sub
    call fib
    load 0
    push 2
    sub
    call fib
    add
    ret
.end
.func main 0 0
    push 15
    call fib
    print
    call clock
    pop
    halt
.end
)";

constexpr std::string_view kInfiniteRecursion = R"(.func f 0 0
    call f
    ret
.end
.func main 0 0
    call f
    ret
.end
)";

// countdown(n) recurses until 0: n + 1 frames of countdown under main.
constexpr std::string_view kCountdown = R"(.func countdown 1 1
    load 0
    jz bottom
    load 0
    push 1
    sub
    call countdown
    ret
bottom:
    push "bottom"
    ret
.end
.func main 0 0
    push 9
    call countdown
    ret
.end
)";

} // namespace

BOOST_AUTO_TEST_SUITE(errors_and_backtraces)

BOOST_AUTO_TEST_CASE(backtrace_names_functions_offsets_and_opasm_lines) {
    const RuntimeError e = test::runtime_error_of(kThreeDeep);
    BOOST_TEST(e.message() == "division by zero");
    BOOST_TEST(frames(e) == "g+2:14 f+1:8 main+1:3");
    for (const TraceFrame& f : e.backtrace()) BOOST_TEST(f.file == "t.opasm");
    BOOST_TEST(e.format() == "error: division by zero\n"
                             "  at g+2 (t.opasm:14)\n"
                             "  at f+1 (t.opasm:8)\n"
                             "  at main+1 (t.opasm:3)");
    BOOST_TEST(std::string(e.what()) == "error: division by zero");
}

BOOST_AUTO_TEST_CASE(line_directives_give_the_source_lines) {
    const RuntimeError e = test::runtime_error_of(R"(.source "prog.ops"
.func main 0 0
.line 7
    push 1
    push 0
.line 9 3
    div
    ret
.end
)");
    BOOST_TEST(frames(e) == "main+2:9");
    BOOST_TEST(e.format() == "error: division by zero\n  at main+2 (prog.ops:9)");
}

BOOST_AUTO_TEST_CASE(without_positions_the_backtrace_has_no_lines) {
    Program p;
    p.constants = {std::int64_t{1}, std::int64_t{0}};
    Function main;
    main.name = "main";
    main.code = {{Op::push, 0}, {Op::push, 1}, {Op::mod, 0}, {Op::ret, 0}};
    p.functions.push_back(main);
    Vm<> vm;
    vm.load(p);
    const RuntimeError e = test::thrown_by<RuntimeError>([&] { vm.run(); });
    BOOST_TEST(frames(e) == "main+2:0");
    BOOST_TEST(e.format() == "error: division by zero\n  at main+2");
}

BOOST_AUTO_TEST_CASE(a_native_error_points_at_the_call) {
    const RuntimeError e = test::runtime_error_of(R"(.func f 1 1
    load 0
    call sqrt
    ret
.end
.func main 0 0
    push nil
    call f
    ret
.end
)");
    BOOST_TEST(e.message() == "in native 'sqrt': type error: 'sqrt' needs a number, got nil");
    BOOST_TEST(frames(e) == "f+1:3 main+1:8");
}

BOOST_AUTO_TEST_CASE(output_before_the_error_is_kept) {
    Loaded l(main_program("    push \"before\"\n    print\n    push 1\n    push 0\n    div\n    print\n    halt"));
    BOOST_CHECK_THROW(l.vm.run(), RuntimeError);
    BOOST_TEST(l.out.str() == "before\n");
}

BOOST_AUTO_TEST_CASE(running_without_a_program_is_an_error) {
    Vm<> vm;
    const RuntimeError e = test::thrown_by<RuntimeError>([&] { vm.run(); });
    BOOST_TEST(e.message() == "no program is loaded");
    BOOST_TEST(e.backtrace().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reuse_after_errors)

BOOST_AUTO_TEST_CASE(the_same_program_fails_the_same_way_again) {
    Loaded l(kThreeDeep);
    const RuntimeError first = l.error();
    const RuntimeError second = l.error();
    BOOST_TEST(second.format() == first.format());
}

BOOST_AUTO_TEST_CASE(a_program_runs_again_after_an_error) {
    // Fails on the first run (the global is undefined), succeeds once the host sets it.
    Loaded l(main_program("    push 1\n    store 0\n    push 2\n    gload limit\n    add\n    print\n    load 1\n"
                          "    print\n    halt"));
    BOOST_TEST(l.error().message() == "undefined global 'limit' (read before it was stored)");
    l.vm.set_global("limit", Value::integer(40));
    BOOST_TEST(l.run_output() == "42\nnil\n");
}

BOOST_AUTO_TEST_CASE(another_program_loads_and_runs_after_errors) {
    Loaded l(kInfiniteRecursion, Limits{.max_call_depth = 1000});
    BOOST_TEST(l.error().message().starts_with("call depth limit exceeded"));
    l.vm.load(test::assemble_recorded(kFib));
    BOOST_TEST(l.run_output() == "610\n");
    l.vm.load(test::assemble_recorded(kThreeDeep));
    BOOST_TEST(l.error().message() == "division by zero");
    l.vm.load(test::assemble_recorded(main_program("    load 3\n    print\n    push 5\n    ret")));
    BOOST_TEST(l.run_output() == "nil\n");
}

BOOST_AUTO_TEST_CASE(limits_can_be_raised_after_a_failure) {
    Loaded l(kCountToTen, Limits{.fuel = 10});
    BOOST_TEST(l.error().message().starts_with("fuel exhausted after "));
    l.vm.set_limits(Limits{.fuel = 1000});
    const Value result = l.vm.run();
    BOOST_TEST(to_display(result) == "10");
    BOOST_TEST(l.vm.fuel_used() == kCountToTenInstructions);
}

// Issue 12: a load that fails after verification (its constants do not fit the heap limit) is a RuntimeError
// and leaves the loaded program whole, its policy's tables with it. It used to throw a Fault half way
// through replacing it, and the next run read the freed constants.
template <class Profiler>
void check_a_failed_load_leaves_the_loaded_program_whole() {
    const std::string text = main_program("    push \"" + std::string(2000, 'x') + "\"\n    len\n    ret", 0);
    Vm<Profiler> vm;
    vm.load(test::assemble_recorded(text));
    vm.set_limits(Limits{.heap_bytes = 1000});
    BOOST_TEST(vm.run().as.i == 2000);
    const RuntimeError e = test::thrown_by<RuntimeError>([&] { vm.load(test::assemble_recorded(text)); });
    BOOST_TEST(e.message().starts_with("cannot load the program: heap limit exceeded: "), e.message());
    BOOST_TEST(e.backtrace().empty());
    BOOST_TEST(vm.loaded());
    vm.heap().collect();
    BOOST_TEST(vm.run().as.i == 2000);
    if constexpr (!std::is_same_v<Profiler, NullProfiler>) {
        const Profile profile = vm.profile();
        BOOST_TEST_REQUIRE(profile.functions.has_value());
        BOOST_TEST_REQUIRE(profile.functions->entries.size() == 1u);
        BOOST_TEST(profile.functions->entries[0].name == "main");
    }
    vm.set_limits({});
    vm.load(test::assemble_recorded(text));
    BOOST_TEST(vm.run().as.i == 2000);
}

BOOST_AUTO_TEST_CASE(a_failed_load_leaves_the_loaded_program_whole) {
    check_a_failed_load_leaves_the_loaded_program_whole<NullProfiler>();
    check_a_failed_load_leaves_the_loaded_program_whole<FullProfiler>();
}

// The issue's sequence: the heap limit applies from the VM's construction, so the first load already fails,
// cleanly, and no program is loaded.
BOOST_AUTO_TEST_CASE(constants_count_against_the_heap_limit_from_the_first_load) {
    const std::string text = main_program("    push \"" + std::string(2000, 'x') + "\"\n    len\n    ret", 0);
    Vm<> vm(Limits{.heap_bytes = 1000});
    const RuntimeError e = test::thrown_by<RuntimeError>([&] { vm.load(test::assemble_recorded(text)); });
    BOOST_TEST(e.message().starts_with("cannot load the program: heap limit exceeded: "), e.message());
    BOOST_TEST(!vm.loaded());
    BOOST_TEST(test::thrown_by<RuntimeError>([&] { vm.run(); }).message() == "no program is loaded");
    BOOST_TEST(test::thrown_by<RuntimeError>([&] { vm.load(test::assemble_recorded(text)); }).message() == e.message());
    BOOST_TEST(test::thrown_by<RuntimeError>([&] { vm.run(); }).message() == "no program is loaded");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fuel)

// Issue 12: fuel is charged a straight-line run at a time, so a run may stop well short of its limit; the
// message used to say "the limit of 12 instructions was reached" after 5.
BOOST_AUTO_TEST_CASE(out_of_fuel_says_how_many_ran_and_why_the_next_run_does_not_fit) {
    // Two runs: offsets 0-4 (5 instructions, through the jmp), then 5-14 (10, through the ret).
    const std::string text = main_program("    push 1\n    push 2\n    add\n    pop\n    jmp next\nnext:\n" +
                                          std::string("    push 3\n    pop\n").append("    push 4\n    pop\n") +
                                          "    push 5\n    pop\n    push 6\n    pop\n    push 7\n    ret");
    Vm<test::InstructionCounter> counter(Limits{.fuel = 12});
    counter.load(test::assemble_recorded(text));
    BOOST_CHECK_THROW(counter.run(), RuntimeError);
    BOOST_TEST(counter.profiler().executed == 5u);  // what really ran

    Loaded l(text, Limits{.fuel = 12});
    BOOST_TEST(l.error().message() == "fuel exhausted after 5 of 12 instructions: the next straight-line run of 10 "
                                      "instructions does not fit in the 7 left");
    BOOST_TEST(l.vm.fuel_used() == 5u);
    l.vm.set_limits(Limits{.fuel = 15});
    BOOST_TEST(to_display(l.vm.run()) == "7");
    BOOST_TEST(l.vm.fuel_used() == 15u);
    l.vm.set_limits(Limits{.fuel = 4});  // main's first run does not fit: nothing runs
    BOOST_TEST(l.error().message() == "fuel exhausted after 0 of 4 instructions: the next straight-line run of 5 "
                                      "instructions does not fit in the 4 left");
    BOOST_TEST(l.vm.fuel_used() == 0u);
}

BOOST_AUTO_TEST_CASE(a_program_of_n_instructions_needs_exactly_n) {
    // The instruction count is confirmed by a policy that sees every instruction.
    Vm<test::InstructionCounter> counter;
    counter.load(test::assemble_recorded(kCountToTen));
    counter.run();
    BOOST_TEST(counter.profiler().executed == kCountToTenInstructions);

    Loaded enough(kCountToTen, Limits{.fuel = kCountToTenInstructions});
    BOOST_TEST(to_display(enough.vm.run()) == "10");
    BOOST_TEST(enough.vm.fuel_used() == kCountToTenInstructions);

    Loaded short_by_one(kCountToTen, Limits{.fuel = kCountToTenInstructions - 1});
    const RuntimeError e = short_by_one.error();
    BOOST_TEST(e.message().starts_with("fuel exhausted after "));
    BOOST_TEST(e.message().find(" of 97 instructions: ") != std::string::npos);
    BOOST_TEST_REQUIRE(e.backtrace().size() == 1u);
    BOOST_TEST(e.backtrace()[0].function == "main");
}

BOOST_AUTO_TEST_CASE(fuel_counts_every_instruction_across_calls_natives_and_halt) {
    const std::vector<std::string> programs = {
        std::string(kFib),
        std::string(kCountdown),
        R"(.func stop 0 0
    push "stopping"
    print
    halt
.end
.func main 0 0
    push 2
    push 3
    call sqrt
    pop
    call stop
    ret
.end
)",
        main_program("    push 3\n    newarray\n    dup\n    push 0\n    push 1\n    aset\n    len\n    ret"),
    };
    for (const std::string& text : programs) {
        Vm<test::InstructionCounter> counter;
        std::ostringstream sink;
        counter.set_output(sink);
        counter.load(test::assemble_recorded(text));
        counter.run();
        const std::uint64_t n = counter.profiler().executed;
        BOOST_TEST_REQUIRE(n > 0u);

        Loaded exact(text, Limits{.fuel = n});
        exact.vm.run();
        BOOST_TEST(exact.vm.fuel_used() == n, text);
        Loaded plenty(text, Limits{.fuel = n * 10});
        plenty.vm.run();
        BOOST_TEST(plenty.vm.fuel_used() == n, text);
        Loaded short_by_one(text, Limits{.fuel = n - 1});
        const std::string message = short_by_one.error().message();
        BOOST_TEST(message.find(" of " + std::to_string(n - 1) + " instructions: ") != std::string::npos, message);
        BOOST_TEST(short_by_one.vm.fuel_used() <= n - 1, text);
    }
}

BOOST_AUTO_TEST_CASE(fuel_used_after_a_failed_run) {
    // Exhausted: the instructions that ran, not the budget. Runs: 7 (through the first `jmp`), then 5 per
    // iteration; 7 + 198 * 5 = 997, and the next 5 do not fit in the 3 left.
    Loaded exhausted(main_program("    push 0\n    store 0\ntop:\n    load 0\n    push 1\n    add\n    store 0\n"
                                  "    jmp top"),
                     Limits{.fuel = 1000});
    BOOST_TEST(exhausted.error().message() == "fuel exhausted after 997 of 1000 instructions: the next straight-line "
                                              "run of 5 instructions does not fit in the 3 left");
    BOOST_TEST(exhausted.vm.fuel_used() == 997u);
    Loaded nothing_fits(kCountToTen, Limits{.fuel = 1});
    BOOST_TEST(nothing_fits.error().message().starts_with("fuel exhausted after 0 of 1 instructions: "));
    BOOST_TEST(nothing_fits.vm.fuel_used() == 0u);

    // Another error: exactly the instructions that ran, the faulting one included (the rest of its run was
    // charged but never ran).
    const std::string text = main_program(R"(
    push 0
    store 0
top:
    load 0
    push 1
    add
    dup
    store 0
    push 100
    lt
    jnz top
    push 1
    push 0
    div
    ret)");
    Vm<test::InstructionCounter> counter;
    counter.load(test::assemble_recorded(text));
    BOOST_CHECK_THROW(counter.run(), RuntimeError);
    const std::uint64_t executed = counter.profiler().executed;  // including the failing `div`
    BOOST_TEST(executed == 2u + 100u * 8u + 3u);
    Loaded failing(text, Limits{.fuel = 100000});
    BOOST_TEST(failing.error().message() == "division by zero");
    BOOST_TEST(failing.vm.fuel_used() == executed);
}

BOOST_AUTO_TEST_CASE(the_largest_fuel_limit_counts_exactly) {
    Loaded l(kCountToTen, Limits{.fuel = std::numeric_limits<std::uint64_t>::max()});
    BOOST_TEST(to_display(l.vm.run()) == "10");
    BOOST_TEST(l.vm.fuel_used() == kCountToTenInstructions);
}

BOOST_AUTO_TEST_CASE(without_a_limit_nothing_is_counted) {
    Loaded l(kCountToTen);
    l.vm.run();
    BOOST_TEST(l.vm.fuel_used() == 0u);
}

BOOST_AUTO_TEST_CASE(an_infinite_loop_stops) {
    Loaded l(main_program("top:\n    push 1\n    pop\n    jmp top"), Limits{.fuel = 1'000'000});
    const RuntimeError e = l.error();
    BOOST_TEST(e.message() == "fuel exhausted after 999999 of 1000000 instructions: the next straight-line run of 3 "
                                   "instructions does not fit in the 1 left");
    BOOST_TEST(frames(e).starts_with("main+"));
}

BOOST_AUTO_TEST_CASE(infinite_recursion_under_fuel_stops) {
    Loaded l(kInfiniteRecursion, Limits{.fuel = 5000});
    BOOST_TEST(l.error().message() == "fuel exhausted after 5000 of 5000 instructions: the next straight-line run of 1 "
                                              "instruction does not fit in the 0 left");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(call_depth)

BOOST_AUTO_TEST_CASE(infinite_recursion_hits_the_default_limit) {
    const RuntimeError e = test::runtime_error_of(kInfiniteRecursion);
    BOOST_TEST(e.message() == "call depth limit exceeded: calling 'f' would make 100001 frames (limit 100000)");
    BOOST_TEST(e.backtrace().size() == 100000u);
}

// The printed backtrace of a deep recursion is a few lines; backtrace() keeps every frame.
BOOST_AUTO_TEST_CASE(a_deep_backtrace_prints_in_a_bounded_number_of_lines) {
    const RuntimeError e = test::runtime_error_of(kInfiniteRecursion);
    BOOST_TEST(e.format() == "error: call depth limit exceeded: calling 'f' would make 100001 frames (limit 100000)\n"
                             "  at f+0 (t.opasm:2)\n"
                             "  ... the same frame 99998 more times\n"
                             "  at main+0 (t.opasm:6)");
    const RuntimeError two = test::runtime_error_of(kInfiniteRecursion, Limits{.max_call_depth = 3});
    BOOST_TEST(two.format() == "error: call depth limit exceeded: calling 'f' would make 4 frames (limit 3)\n"
                               "  at f+0 (t.opasm:2)\n  ... the same frame 1 more time\n  at main+0 (t.opasm:6)");

    // f and g calling each other: no two neighbours alike, so the first 30 and the last 10 frames print.
    const RuntimeError mutual = test::runtime_error_of(R"(.func f 0 0
    call g
    ret
.end
.func g 0 0
    call f
    ret
.end
.func main 0 0
    call f
    ret
.end
)", Limits{.max_call_depth = 1000});
    BOOST_TEST(mutual.backtrace().size() == 1000u);
    std::vector<std::string> lines;
    std::istringstream text(mutual.format());
    for (std::string line; std::getline(text, line);) lines.push_back(line);
    BOOST_TEST_REQUIRE(lines.size() == 1u + RuntimeError::kMaxTraceLines + 1u);
    BOOST_TEST(lines[1] == "  at f+0 (t.opasm:2)");  // main + 999 frames: f innermost
    BOOST_TEST(lines[2] == "  at g+0 (t.opasm:6)");
    const std::size_t head = RuntimeError::kMaxTraceLines - RuntimeError::kTraceTailLines;
    BOOST_TEST(lines[1 + head] == "  ... " + std::to_string(1000 - RuntimeError::kMaxTraceLines) + " more frames not shown");
    BOOST_TEST(lines.back() == "  at main+0 (t.opasm:10)");
}

BOOST_AUTO_TEST_CASE(the_limit_counts_frames_including_main) {
    const RuntimeError e = test::runtime_error_of(kInfiniteRecursion, Limits{.max_call_depth = 50});
    BOOST_TEST(e.message() == "call depth limit exceeded: calling 'f' would make 51 frames (limit 50)");
    BOOST_TEST_REQUIRE(e.backtrace().size() == 50u);
    BOOST_TEST(e.backtrace().front().function == "f");
    BOOST_TEST(e.backtrace().back().function == "main");
    // countdown(9) needs main + 10 frames.
    BOOST_TEST(test::run_text(kCountdown, Limits{.max_call_depth = 11}).result == "bottom");
    BOOST_TEST(test::error_message_of(kCountdown, Limits{.max_call_depth = 10}) ==
               "call depth limit exceeded: calling 'countdown' would make 11 frames (limit 10)");
}

// The stacks start at page offsets that follow the VM's own address (Machine::stack_page_offsets: so the
// loop's loads of the VM's limits do not wait on stores to the stacks' tops), half a page apart, wherever the
// host puts the VM, and the limits hold from wherever they start.
BOOST_AUTO_TEST_CASE(the_stacks_start_at_page_offsets_that_follow_the_vm) {
    constexpr std::size_t kPage = 4096;
    const auto page_offset = [](std::uintptr_t a, std::uintptr_t b) { return (a - b) % kPage; };
    const std::size_t bytes = 2 * kPage + sizeof(Vm<>);
    void* raw = ::operator new(bytes, std::align_val_t{kPage});
    std::vector<std::size_t> values_from_vm;
    for (std::size_t offset = 0; offset < kPage; offset += 448) {  // 10 placements, each on another 64-byte line of the page
        auto* vm = new (static_cast<std::byte*>(raw) + offset) Vm<>(Limits{.max_call_depth = 11});
        vm->load(test::assemble_recorded(kCountdown));
        BOOST_TEST(to_display(vm->run()) == "bottom");
        const auto vm_at = reinterpret_cast<std::uintptr_t>(vm);
        const auto frames_at = reinterpret_cast<std::uintptr_t>(vm->frame_stack());
        const auto values_at = reinterpret_cast<std::uintptr_t>(vm->frame_stack()->base);
        values_from_vm.push_back(page_offset(values_at, vm_at));
        BOOST_TEST(page_offset(frames_at, values_at) == kPage / 2);
        vm->~Vm();
    }
    ::operator delete(raw, std::align_val_t{kPage});
    BOOST_TEST(std::ranges::count(values_from_vm, values_from_vm.front()) == static_cast<std::ptrdiff_t>(values_from_vm.size()));
    BOOST_TEST(test::error_message_of(kCountdown, Limits{.max_call_depth = 10}) ==
               "call depth limit exceeded: calling 'countdown' would make 11 frames (limit 10)");
}

BOOST_AUTO_TEST_CASE(a_limit_of_one_allows_main_alone) {
    BOOST_TEST(test::run_text(main_program("    push 7\n    ret"), Limits{.max_call_depth = 1}).result == "7");
    BOOST_TEST(test::run_text(main_program("    call clock\n    pop\n    push 7\n    ret"), Limits{.max_call_depth = 1})
                   .result == "7");
    BOOST_TEST(test::error_message_of(".func f 0 0\n    push 1\n    ret\n.end\n.func main 0 0\n    call f\n    ret\n.end\n",
                                      Limits{.max_call_depth = 1}) ==
               "call depth limit exceeded: calling 'f' would make 2 frames (limit 1)");
}

BOOST_AUTO_TEST_CASE(deep_recursion_within_the_limits_works) {
    const std::string text = R"(.func sum 1 1
    load 0
    jz zero
    load 0
    load 0
    push 1
    sub
    call sum
    add
    ret
zero:
    push 0
    ret
.end
.func main 0 0
    push 50000
    call sum
    ret
.end
)";
    BOOST_TEST(test::run_text(text).result == "1250025000");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stack_slots)

BOOST_AUTO_TEST_CASE(a_small_limit_overflows_in_recursion) {
    // countdown's frame: 1 local + at most 2 operands.
    const RuntimeError e = test::runtime_error_of(kCountdown, Limits{.stack_slots = 10});
    BOOST_TEST(e.message() == "stack overflow: calling 'countdown' needs 3 more stack slots (limit 10 slots)");
    BOOST_TEST(e.backtrace().front().function == "countdown");
    BOOST_TEST(e.backtrace().back().function == "main");
    BOOST_TEST(test::run_text(kCountdown, Limits{.stack_slots = 100}).result == "bottom");
}

BOOST_AUTO_TEST_CASE(main_itself_may_not_fit) {
    const RuntimeError e = test::runtime_error_of(
        main_program("    push 1\n    push 2\n    push 3\n    add\n    add\n    ret", 0), Limits{.stack_slots = 2});
    BOOST_TEST(e.message() == "stack overflow: 'main' needs 3 stack slots, the limit is 2");
    BOOST_TEST(test::run_text(main_program("    push 1\n    push 2\n    push 3\n    add\n    add\n    ret", 0),
                              Limits{.stack_slots = 3})
                   .result == "6");
}

BOOST_AUTO_TEST_CASE(infinite_recursion_overflows_the_stack_first_when_it_is_small) {
    const std::string text = ".func f 1 4\n    load 0\n    call f\n    ret\n.end\n.func main 0 0\n    push 1\n"
                             "    call f\n    ret\n.end\n";
    BOOST_TEST(test::error_message_of(text, Limits{.stack_slots = 1000}) ==
               "stack overflow: calling 'f' needs 5 more stack slots (limit 1000 slots)");
}

// Issue 12: stacks the host cannot allocate are a RuntimeError from run(), not a bad_alloc escaping it, and
// the VM stays usable. (Where the host can allocate them, the run simply succeeds.)
BOOST_AUTO_TEST_CASE(stacks_the_host_cannot_allocate_are_a_runtime_error) {
    constexpr std::uint32_t kHuge = std::numeric_limits<std::uint32_t>::max();
    for (const Limits limits : {Limits{.stack_slots = kHuge}, Limits{.max_call_depth = kHuge}}) {
        Loaded l(kFib, limits);
        try {
            l.vm.run();
        } catch (const RuntimeError& e) {
            BOOST_TEST(e.message().starts_with("out of memory: cannot allocate "), e.message());
        }
        l.vm.set_limits({});
        BOOST_TEST(l.run_output() == "610\n");
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(heap_limit)

BOOST_AUTO_TEST_CASE(one_allocation_beyond_the_limit_fails) {
    const std::string message =
        test::error_message_of(main_program("    push 100000\n    newarray\n    len\n    ret"), Limits{.heap_bytes = 1 << 20});
    BOOST_TEST(message.starts_with("heap limit exceeded: "), message);
    BOOST_TEST(message.ends_with(" limit 1048576"), message);
}

BOOST_AUTO_TEST_CASE(live_data_growing_beyond_the_limit_fails) {
    // A linked list of 16-element arrays, all kept alive through local 0.
    const std::string text = main_program(R"(
top:
    push 16
    newarray
    dup
    push 0
    load 0
    aset
    store 0
    jmp top)");
    const RuntimeError e = test::runtime_error_of(text, Limits{.heap_bytes = 256 * 1024});
    BOOST_TEST(e.message().starts_with("heap limit exceeded: "), e.message());
    BOOST_TEST(frames(e).starts_with("main+"));
}

BOOST_AUTO_TEST_CASE(garbage_does_not_count_against_the_limit) {
    // One small array alive at a time, 4 MB allocated in total: the limit is about live bytes, so the
    // collector must run before the limit is declared exceeded.
    const std::string text = main_program(R"(
    push 0
    store 0
top:
    load 0
    push 20000
    lt
    jz done
    push 8
    newarray
    store 1
    load 0
    push 1
    add
    store 0
    jmp top
done:
    load 1
    len
    ret)");
    Loaded l(text, Limits{.heap_bytes = 256 * 1024});
    const Value result = l.vm.run();
    BOOST_TEST(to_display(result) == "8");
    BOOST_TEST(l.vm.heap().stats().peak_bytes <= 256u * 1024u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(garbage_collection)

#ifdef NDEBUG
constexpr int kChurnArrays = 3'000'000;
#else
constexpr int kChurnArrays = 2'000'000;
#endif

BOOST_AUTO_TEST_CASE(millions_of_short_lived_arrays_run_in_bounded_memory) {
    const std::string text = main_program(R"(
    push 0
    store 0
top:
    load 0
    push )" + std::to_string(kChurnArrays) + R"(
    lt
    jz done
    push 4
    newarray
    dup
    push 0
    load 0
    aset
    store 1
    load 0
    push 1
    add
    store 0
    jmp top
done:
    load 1
    push 0
    aget
    ret)");
    Loaded l(text);
    BOOST_TEST(to_display(l.vm.run()) == std::to_string(kChurnArrays - 1));
    const HeapStats& stats = l.vm.heap().stats();
    BOOST_TEST(stats.array_allocations >= static_cast<std::uint64_t>(kChurnArrays));
    BOOST_TEST(stats.gc_cycles > 0u);
    BOOST_TEST(stats.peak_bytes < 4u * 1024u * 1024u);
    BOOST_TEST(stats.frees > 0u);
    BOOST_TEST(stats.live_bytes <= stats.peak_bytes);
}

// Large blocks freed by a collection are reused (Heap::allocate_large): a new array in a reused block must
// still start all nil, and the accounting must not notice the difference.
BOOST_AUTO_TEST_CASE(a_large_array_in_reused_memory_starts_nil) {
    Vm<> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(compile_source(R"(
let nils = 0;
for (let r = 0; r < 5; r = r + 1) {
    let a = array(100000);
    for (let i = 0; i < 100000; i = i + 1) {
        if (a[i] == nil) { nils = nils + 1; }
        a[i] = r + 1;
    }
}
print(nils);
)", "reuse.ops"));
    vm.run();
    BOOST_TEST(out.str() == "500000\n");  // every element of every array was nil when made
    const HeapStats& stats = vm.heap().stats();
    BOOST_TEST(stats.array_allocations == 5u);
    BOOST_TEST(stats.frees >= 3u);  // at least three arrays were collected while the next was made
    BOOST_TEST(stats.live_bytes <= 2u * stats.array_bytes / 5u);
}

// A long array of nils starts packed, a byte per element, which the collector does not scan (value.hpp's
// Array). Once a store of a string unpacks it, its elements are Values again and must be scanned: the strings
// stored must survive the collections that the garbage made after them forces. The accounting is the same
// either way: the allocation has the unpacked layout's size.
BOOST_AUTO_TEST_CASE(an_unpacked_array_keeps_its_strings_alive_across_collections) {
    Vm<> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(compile_source(R"(
let keep = array(1000);
let small = array(10);
for (let i = 0; i < 1000; i = i + 1) { keep[i] = i % 2 == 0; }
let tag = "s";
for (let i = 0; i < 1000; i = i + 7) {
    keep[i] = tag;
    tag = tag + ".";
}
let junk = "";
for (let i = 0; i < 200000; i = i + 1) { junk = "x" + "y"; }
let ok = 0;
let want = "s";
for (let i = 0; i < 1000; i = i + 1) {
    if (i % 7 == 0) {
        if (keep[i] == want) { ok = ok + 1; }
        want = want + ".";
    } else {
        if (keep[i] == (i % 2 == 0)) { ok = ok + 1; }
    }
}
print(ok);
)", "unpack.ops"));
    vm.run();
    BOOST_TEST(out.str() == "1000\n");
    const HeapStats& stats = vm.heap().stats();
    BOOST_TEST(stats.gc_cycles > 0u);
    BOOST_TEST(stats.array_bytes == 2 * sizeof(Array) + (1000 + 10) * sizeof(Value));
}

BOOST_AUTO_TEST_CASE(string_concatenation_churn_runs_in_bounded_memory) {
    const std::string text = main_program(R"(
    push 0
    store 0
top:
    load 0
    push 300000
    lt
    jz done
    push "0123456789"
    push "abcdefghij"
    add
    store 1
    load 0
    push 1
    add
    store 0
    jmp top
done:
    load 1
    ret)");
    Loaded l(text);
    BOOST_TEST(to_display(l.vm.run()) == "0123456789abcdefghij");
    BOOST_TEST(l.vm.heap().stats().string_allocations >= 300000u);
    BOOST_TEST(l.vm.heap().stats().gc_cycles > 0u);
    BOOST_TEST(l.vm.heap().stats().peak_bytes < 4u * 1024u * 1024u);
}

// Allocates `n` garbage arrays (and strings) in a callee, forcing collections while the caller's values
// sit in locals, globals, the operand stack and nested arrays.
constexpr std::string_view kChurnFunction = R"(
.func churn 1 2
    push 0
    store 1
top:
    load 1
    load 0
    lt
    jz done
    push 6
    newarray
    pop
    push "x"
    push "y"
    add
    pop
    load 1
    push 1
    add
    store 1
    jmp top
done:
    push 0
    ret
.end
)";

BOOST_AUTO_TEST_CASE(reachable_objects_survive_collections) {
    const std::string text = std::string(kChurnFunction) + R"(
.func pair 2 3
    push 2
    newarray
    store 2
    load 2
    push 0
    load 0
    aset
    load 2
    push 1
    load 1
    aset
    load 2
    ret
.end
.func keep_argument 1 1
    push 300000
    call churn
    pop
    load 0
    ret
.end
.func main 0 3
    ; local 0: a nested array built from run-time strings
    push 3
    newarray
    store 0
    load 0
    push 0
    push 1
    push "one"
    push "!"
    add
    call pair
    aset
    load 0
    push 1
    push 2
    push 0
    newarray
    call pair
    aset
    load 0
    push 2
    push 3.5
    push "three"
    call pair
    aset
    ; a global: an array holding a run-time string
    push 1
    newarray
    dup
    push 0
    push "glo"
    push "bal"
    add
    aset
    gstore kept
    ; the operand stack: an array left there across the churn
    push 2
    newarray
    dup
    push 1
    push "on the stack"
    aset
    push 300000
    call churn
    pop
    print
    load 0
    print
    gload kept
    print
    push "constant"
    print
    push "ar"
    push "g"
    add
    call keep_argument
    print
    load 0
    push 1
    aget
    push 1
    aget
    len
    print
    halt
.end
)";
    Loaded l(text);
    BOOST_TEST(l.run_output() ==
               "[nil, on the stack]\n[[1, one!], [2, []], [3.5, three]]\n[global]\nconstant\narg\n0\n");
    BOOST_TEST(l.vm.heap().stats().gc_cycles > 0u);
}

BOOST_AUTO_TEST_CASE(objects_held_by_globals_survive_between_runs) {
    const std::string text = std::string(kChurnFunction) + R"(
.func main 0 0
    gload first
    jz fill
    push 200000
    call churn
    pop
    gload data
    print
    halt
fill:
    push 1
    gstore first
    push 2
    newarray
    dup
    push 0
    push "kept"
    push " safe"
    add
    aset
    gstore data
    halt
.end
)";
    Loaded l(text);
    l.vm.set_global("first", Value::boolean(false));
    BOOST_TEST(l.run_output().empty());
    const std::uint64_t cycles_before = l.vm.heap().stats().gc_cycles;
    BOOST_TEST(l.run_output() == "[kept safe, nil]\n");
    BOOST_TEST(l.vm.heap().stats().gc_cycles > cycles_before);
}

BOOST_AUTO_TEST_CASE(a_native_result_survives_collections) {
    Vm<> vm;
    vm.register_native("label", 1, [](Machine& m, std::span<const Value> args) {
        return m.make_string("label-" + to_display(args[0]));
    });
    std::ostringstream out;
    vm.set_output(out);
    vm.load(test::assemble_recorded(std::string(kChurnFunction) + R"(
.func main 0 1
    push 5
    call label
    store 0
    push 300000
    call churn
    pop
    load 0
    print
    halt
.end
)"));
    vm.run();
    BOOST_TEST(out.str() == "label-5\n");
    BOOST_TEST(vm.heap().stats().gc_cycles > 0u);
}

BOOST_AUTO_TEST_CASE(an_explicit_collection_frees_everything_unreachable_after_a_run) {
    Loaded l(main_program("    push 1000\n    newarray\n    pop\n    push \"k\"\n    print\n    halt"));
    l.vm.run();
    const std::uint64_t with_garbage = l.vm.heap().stats().live_bytes;
    l.vm.heap().collect();
    const HeapStats& after = l.vm.heap().stats();
    BOOST_TEST(after.live_bytes < with_garbage);
    BOOST_TEST(with_garbage - after.live_bytes >= 1000u * sizeof(Value));
    BOOST_TEST(l.run_output() == "k\n");  // the constant string is still there
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(globals)

constexpr std::string_view kCounter = R"(.func main 0 0
    gload count
    push 1
    add
    dup
    gstore count
    ret
.end
)";

BOOST_AUTO_TEST_CASE(globals_persist_across_runs_of_one_program) {
    Loaded l(kCounter);
    l.vm.set_global("count", Value::integer(0));
    BOOST_TEST(to_display(l.vm.run()) == "1");
    BOOST_TEST(to_display(l.vm.run()) == "2");
    BOOST_TEST(to_display(l.vm.run()) == "3");
    const std::optional<Value> count = l.vm.global("count");
    BOOST_TEST_REQUIRE(count.has_value());
    BOOST_TEST(to_display(*count) == "3");
}

BOOST_AUTO_TEST_CASE(load_resets_globals) {
    Loaded l(kCounter);
    l.vm.set_global("count", Value::integer(10));
    BOOST_TEST(to_display(l.vm.run()) == "11");
    l.vm.load(test::assemble_recorded(kCounter));
    BOOST_TEST(!l.vm.global("count").has_value());
    BOOST_TEST(l.error().message() == "undefined global 'count' (read before it was stored)");
}

BOOST_AUTO_TEST_CASE(a_global_stored_by_the_program_is_visible_to_the_host) {
    Loaded l(main_program("    push \"v\"\n    gstore name\n    halt"));
    BOOST_TEST(!l.vm.global("name").has_value());
    l.vm.run();
    BOOST_TEST_REQUIRE(l.vm.global("name").has_value());
    BOOST_TEST(to_display(*l.vm.global("name")) == "v");
    BOOST_TEST(!l.vm.global("other").has_value());
    BOOST_CHECK_THROW(l.vm.set_global("other", Value::nil()), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(printing)

// a = [a, a], forty times over: 2^40 leaves through arrays shared at every level.
constexpr std::string_view kSharedDagSource = R"(let a = array(1);
let i = 0;
while (i < 40) { let b = array(2); b[0] = a; b[1] = a; a = b; i = i + 1; }
print(a);
)";
constexpr std::string_view kSharedDagAssembly = R"(.func main 0 3
    push 1
    newarray
    store 0
    push 0
    store 1
top:
    load 1
    push 40
    lt
    jz done
    push 2
    newarray
    store 2
    load 2
    push 0
    load 0
    aset
    load 2
    push 1
    load 0
    aset
    load 2
    store 0
    load 1
    push 1
    add
    store 1
    jmp top
done:
    load 0
    print
    halt
.end
)";

// What printing the shared 2^40-leaf array writes: the first part of it, the marker, the brackets closed.
void check_bounded_dag_output(const std::string& out) {
    BOOST_TEST(out.size() <= kMaxDisplayChars + 200);
    BOOST_TEST(out.starts_with(std::string(41, '[') + "nil], [nil]], [[nil], [nil]]], "));
    const std::size_t marker = out.find(kDisplayTruncated);
    BOOST_TEST_REQUIRE(marker != std::string::npos);
    BOOST_TEST(marker == out.rfind(kDisplayTruncated));
    // The marker, then only the brackets of the arrays still open, then the newline.
    BOOST_TEST(out.find_first_not_of(']', marker + kDisplayTruncated.size()) == out.size() - 1);
    BOOST_TEST(out.back() == '\n');
    BOOST_TEST(std::count(out.begin(), out.end(), '[') == std::count(out.begin(), out.end(), ']'));
}

BOOST_AUTO_TEST_CASE(printing_arrays_shared_at_every_level_is_bounded) {
    // Before the bound, print walked all 2^40 leaves: it never finished and its text grew without limit.
    Loaded assembled(kSharedDagAssembly, Limits{.fuel = 100000});
    check_bounded_dag_output(assembled.run_output());

    Vm<> vm(Limits{.fuel = 100000});
    std::ostringstream out;
    vm.set_output(out);
    vm.load(compile_source(kSharedDagSource, "dag.ops"));
    vm.run();
    check_bounded_dag_output(out.str());
}

std::string run_error_message(Vm<>& vm) {
    try {
        vm.run();
    } catch (const RuntimeError& e) {
        return e.message();
    }
    return "(no error)";
}

BOOST_AUTO_TEST_CASE(the_output_limit_stops_print_before_the_text_that_would_pass_it) {
    // Each print writes "12345\n": with 20 bytes three fit (18 bytes) and the fourth is refused whole.
    Vm<> vm(Limits{.output_bytes = 20});
    std::ostringstream out;
    vm.set_output(out);
    vm.load(compile_source("let i = 0; while (i < 10) { print(12345); i = i + 1; }", "out.ops"));
    const std::string message = run_error_message(vm);
    BOOST_TEST(message == "output limit: print would pass the limit of 20 bytes (18 written)");
    BOOST_TEST(out.str() == "12345\n12345\n12345\n");
    // The budget is per run.
    out.str("");
    BOOST_CHECK_THROW(vm.run(), RuntimeError);
    BOOST_TEST(out.str() == "12345\n12345\n12345\n");
}

BOOST_AUTO_TEST_CASE(the_output_limit_bounds_printing_a_shared_array_many_times) {
    // Without it a print of the DAG builds 1,000,000 characters per instruction, whatever the fuel: fuel
    // bounded the instructions, not the time. Under the limit the first print builds at most the budget.
    Vm<> vm(Limits{.fuel = 1000000, .output_bytes = 4096});
    std::ostringstream out;
    vm.set_output(out);
    vm.load(compile_source(std::string(kSharedDagSource) + "let k = 0; while (k < 100000) { print(a); k = k + 1; }\n",
                           "dag.ops"));
    const std::string message = run_error_message(vm);
    BOOST_TEST(message.starts_with("output limit: print would pass the limit of 4096 bytes"));
    BOOST_TEST(out.str().size() <= 4096u);
}

BOOST_AUTO_TEST_CASE(display_past_its_budget_ends_with_the_marker_and_closes_the_brackets) {
    // main returns [1, [2, 3], 4] and ["hello", 1].
    Loaded l(main_program(R"(    push 3
    newarray
    dup
    push 0
    push 1
    aset
    dup
    push 1
    push 2
    newarray
    dup
    push 0
    push 2
    aset
    dup
    push 1
    push 3
    aset
    aset
    dup
    push 2
    push 4
    aset
    ret)"));
    const Value nested = l.vm.run();
    BOOST_TEST(to_display(nested) == "[1, [2, 3], 4]");
    BOOST_TEST(to_display(nested, 14) == "[1, [2, 3], 4]");
    BOOST_TEST(to_display(nested, 8) == "[1, [2, 3], ...(truncated)]");
    BOOST_TEST(to_display(nested, 5) == "[1, [...(truncated)]]");
    BOOST_TEST(to_display(nested, 1) == "[...(truncated)]");
    BOOST_TEST(to_display(nested, 0) == "...(truncated)");

    Loaded strings(main_program(R"(    push 2
    newarray
    dup
    push 0
    push "hello"
    aset
    dup
    push 1
    push 1
    aset
    ret)"));
    const Value with_string = strings.vm.run();
    BOOST_TEST(to_display(with_string, 3) == "[he...(truncated)]");
    BOOST_TEST(to_display(with_string, 6) == "[hello, ...(truncated)]");
    BOOST_TEST(to_display(with_string, 9) == "[hello, 1]");
}

BOOST_AUTO_TEST_CASE(an_array_inside_itself_prints_once_with_a_marker) {
    Loaded l(main_program(R"(    push 2
    newarray
    store 0
    load 0
    push 0
    load 0
    aset
    load 0
    push 1
    load 0
    aset
    load 0
    print
    halt)"));
    BOOST_TEST(l.run_output() == "[[...], [...]]\n");
}

BOOST_AUTO_TEST_SUITE_END()
