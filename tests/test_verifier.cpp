// The verifier: every rule with a program it rejects (the message names the function and the instruction
// offset; assembled programs also get the instruction's line and column), and accepted programs with the
// maximum stack height it computes. Programs the assembler refuses to produce are built as Program structs.
#include "support.hpp"

#include <opscope/verifier.hpp>

#include <fmt/format.h>

#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace opscope;

namespace {

Function function(std::string name, std::uint32_t nargs, std::uint32_t nlocals, std::vector<Instruction> code) {
    Function f;
    f.name = std::move(name);
    f.nargs = nargs;
    f.nlocals = nlocals;
    f.code = std::move(code);
    return f;
}

Function main_function(std::vector<Instruction> code, std::uint32_t nlocals = 0) {
    return function("main", 0, nlocals, std::move(code));
}

Program program_of(std::vector<Function> functions) {
    Program p;
    p.source_file = "built.opasm";
    p.functions = std::move(functions);
    return p;
}

// The diagnostics of loading `program` into a fresh VM (which verifies it).
std::vector<Diagnostic> load_errors(Program program) {
    return test::thrown_by<ProgramError>([&] {
               Vm<> vm;
               vm.load(std::move(program));
           })
        .diagnostics();
}

std::vector<Diagnostic> assembly_errors(std::string_view text) { return test::program_error_of(text).diagnostics(); }

// The single message of a rejected program.
std::string only_message(const std::vector<Diagnostic>& diagnostics) {
    BOOST_TEST_REQUIRE(diagnostics.size() == 1u);
    return diagnostics[0].message;
}

// The Program as the VM holds it after loading (verified, max_stack set).
Program verified(std::string_view text) {
    Vm<> vm;
    vm.load(test::assemble_recorded(text));
    return vm.program();
}

std::uint32_t max_stack_of(std::string_view text, std::string_view name = "main") {
    const Program p = verified(text);
    const int index = p.find_function(name);
    BOOST_TEST_REQUIRE(index >= 0);
    return p.functions[static_cast<std::size_t>(index)].max_stack;
}

} // namespace

BOOST_AUTO_TEST_SUITE(jumps)

BOOST_AUTO_TEST_CASE(jump_past_the_end_is_rejected) {
    const auto errors = load_errors(program_of({main_function({{Op::jmp, 5}, {Op::halt, 0}})}));
    BOOST_TEST(only_message(errors) == "function 'main' offset 0: jump target 5 is outside the function (0..1)");
    BOOST_TEST(errors[0].file == "built.opasm");
}

BOOST_AUTO_TEST_CASE(negative_jump_target_is_rejected) {
    Program p = program_of({main_function({{Op::push, 0}, {Op::jz, -1}, {Op::halt, 0}})});
    p.constants.push_back(true);
    BOOST_TEST(only_message(load_errors(p)) == "function 'main' offset 1: jump target -1 is outside the function (0..2)");
}

BOOST_AUTO_TEST_CASE(jump_just_past_the_last_instruction_is_rejected) {
    Program p = program_of({main_function({{Op::push, 0}, {Op::jnz, 3}, {Op::halt, 0}})});
    p.constants.push_back(true);
    BOOST_TEST(only_message(load_errors(p)) == "function 'main' offset 1: jump target 3 is outside the function (0..2)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(locals)

BOOST_AUTO_TEST_CASE(local_slot_out_of_range_in_assembly) {
    const auto errors = assembly_errors(".func main 0 2\n    push 1\n    store 1\n    load 2\n    ret\n.end\n");
    BOOST_TEST(only_message(errors) == "function 'main' offset 2: local slot 2 is out of range (the function has 2 locals)");
    BOOST_TEST(errors[0].file == "t.opasm");
    BOOST_TEST(errors[0].line == 4u);
    BOOST_TEST(errors[0].column == 5u);
}

BOOST_AUTO_TEST_CASE(local_slot_out_of_range_in_a_callee) {
    BOOST_TEST(only_message(assembly_errors(
                   ".func f 1 1\n    load 0\n    store 1\n    push 0\n    ret\n.end\n"
                   ".func main 0 0\n    push 1\n    call f\n    ret\n.end\n")) ==
               "function 'f' offset 1: local slot 1 is out of range (the function has 1 locals)");
}

BOOST_AUTO_TEST_CASE(negative_local_slot_is_rejected) {
    Program p = program_of({main_function({{Op::push, 0}, {Op::store, -1}, {Op::halt, 0}}, 2)});
    p.constants.push_back(std::int64_t{1});
    BOOST_TEST(only_message(load_errors(p)) ==
               "function 'main' offset 1: local slot -1 is out of range (the function has 2 locals)");
}

BOOST_AUTO_TEST_CASE(no_locals_means_no_valid_slot) {
    BOOST_TEST(only_message(load_errors(program_of({main_function({{Op::load, 0}, {Op::ret, 0}})}))) ==
               "function 'main' offset 0: local slot 0 is out of range (the function has 0 locals)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stack_heights)

BOOST_AUTO_TEST_CASE(heights_differing_between_two_paths_are_rejected) {
    // Offset 3 is reached with 0 values (from the jz) and with 1 value (falling through from offset 2).
    const auto errors = assembly_errors(R"(.func main 0 0
    push 1
    jz join
    push 1
join:
    push 2
    ret
.end
)");
    const std::string message = only_message(errors);
    BOOST_TEST(message.starts_with("function 'main' offset 3: stack height differs between paths into this instruction"));
    BOOST_TEST((message.ends_with("(0 and 1)") || message.ends_with("(1 and 0)")), message);
    BOOST_TEST(errors[0].line == 6u);
}

BOOST_AUTO_TEST_CASE(a_loop_that_grows_the_stack_is_rejected) {
    const std::string message = only_message(assembly_errors(".func main 0 0\ntop:\n    push 1\n    jmp top\n.end\n"));
    BOOST_TEST(message.starts_with("function 'main' offset 0: stack height differs between paths into this instruction"));
}

BOOST_AUTO_TEST_CASE(underflow_is_rejected) {
    const auto errors = assembly_errors(".func main 0 0\n    pop\n    push 1\n    ret\n.end\n");
    BOOST_TEST(only_message(errors) == "function 'main' offset 0: stack underflow: 'pop' pops 1 but the stack holds 0");
    BOOST_TEST(errors[0].line == 2u);
    BOOST_TEST(errors[0].format() == "t.opasm:2:5: error: function 'main' offset 0: stack underflow: 'pop' pops 1 but "
                                     "the stack holds 0");
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\n    push 1\n    add\n    ret\n.end\n")) ==
               "function 'main' offset 1: stack underflow: 'add' pops 2 but the stack holds 1");
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\n    push 1\n    push 2\n    aset\n    halt\n.end\n")) ==
               "function 'main' offset 2: stack underflow: 'aset' pops 3 but the stack holds 2");
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\n    ret\n.end\n")) ==
               "function 'main' offset 0: stack underflow: 'ret' pops 1 but the stack holds 0");
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\n    jz end\nend:\n    halt\n.end\n")) ==
               "function 'main' offset 0: stack underflow: 'jz' pops 1 but the stack holds 0");
}

BOOST_AUTO_TEST_CASE(underflow_on_one_path_only_is_rejected) {
    BOOST_TEST(only_message(assembly_errors(R"(.func main 0 0
    push 1
    push 0
    jnz skip
    pop
skip:
    jmp end
end:
    halt
.end
)")).starts_with("function 'main' offset 4: stack height differs between paths"));
    BOOST_TEST(only_message(assembly_errors(R"(.func main 0 1
    load 0
    jz other
    push 1
    pop
    pop
    halt
other:
    halt
.end
)")) == "function 'main' offset 4: stack underflow: 'pop' pops 1 but the stack holds 0");
}

BOOST_AUTO_TEST_CASE(call_pops_the_callee_arity) {
    BOOST_TEST(only_message(assembly_errors(".func f 2 2\n    load 0\n    ret\n.end\n"
                                            ".func main 0 0\n    push 1\n    call f\n    ret\n.end\n")) ==
               "function 'main' offset 1: stack underflow: 'call' pops 2 but the stack holds 1");
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\n    call sqrt\n    ret\n.end\n")) ==
               "function 'main' offset 0: stack underflow: 'call' pops 1 but the stack holds 0");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(calls)

BOOST_AUTO_TEST_CASE(call_to_unknown_function_is_rejected) {
    const auto errors = assembly_errors(".func main 0 0\n    push 1\n    call nope\n    ret\n.end\n");
    BOOST_TEST(only_message(errors) == "function 'main' offset 1: call to unknown function 'nope'");
    BOOST_TEST(errors[0].line == 3u);
}

BOOST_AUTO_TEST_CASE(natives_are_known_only_through_the_arity_callback) {
    Program p = test::assemble_recorded(".func main 0 0\n    call clock\n    ret\n.end\n");
    const ProgramError e = test::thrown_by<ProgramError>([&] { verify(p, NativeArity{}); });
    BOOST_TEST(only_message(e.diagnostics()) == "function 'main' offset 0: call to unknown function 'clock'");
    verify(p, [](std::string_view name) -> std::optional<int> {
        if (name == "clock") return 0;
        return std::nullopt;
    });
    BOOST_TEST(p.functions[0].max_stack == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(falling_off_the_end)

BOOST_AUTO_TEST_CASE(code_that_runs_past_the_last_instruction_is_rejected) {
    const auto errors = assembly_errors(".func main 0 0\n    push 1\n    pop\n.end\n");
    BOOST_TEST(only_message(errors) == "function 'main' offset 1: execution can fall off the end of the function");
    BOOST_TEST(errors[0].line == 3u);
}

BOOST_AUTO_TEST_CASE(an_empty_function_is_rejected) {
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\n.end\n")) ==
               "function 'main' offset 0: has no instructions: execution falls off the end");
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\n    halt\n.end\n.func empty 0 0\n.end\n")) ==
               "function 'empty' offset 0: has no instructions: execution falls off the end");
}

BOOST_AUTO_TEST_CASE(a_function_ending_in_a_conditional_jump_is_rejected) {
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\ntop:\n    push 1\n    jz top\n.end\n")) ==
               "function 'main' offset 1: execution can fall off the end of the function");
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\n    push 1\n    jnz out\n    halt\nout:\n    push 0\n"
                                            "    jnz out\n.end\n")) ==
               "function 'main' offset 4: execution can fall off the end of the function");
}

BOOST_AUTO_TEST_CASE(a_function_ending_in_a_call_is_rejected) {
    BOOST_TEST(only_message(assembly_errors(".func main 0 0\n    call clock\n.end\n")) ==
               "function 'main' offset 0: execution can fall off the end of the function");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(functions)

BOOST_AUTO_TEST_CASE(missing_main_is_rejected) {
    const auto errors = assembly_errors(".func start 0 0\n    halt\n.end\n");
    BOOST_TEST(only_message(errors) == "the program has no 'main' function");
    BOOST_TEST(errors[0].file == "t.opasm");
    BOOST_TEST(errors[0].format() == "t.opasm: error: the program has no 'main' function");
    BOOST_TEST(only_message(load_errors(program_of({}))) == "the program has no 'main' function");
}

BOOST_AUTO_TEST_CASE(main_with_arguments_is_rejected) {
    BOOST_TEST(only_message(assembly_errors(".func main 2 2\n    load 0\n    ret\n.end\n")) ==
               "'main' must take 0 arguments, not 2");
    BOOST_TEST(only_message(load_errors(program_of({function("main", 1, 1, {{Op::halt, 0}})}))) ==
               "'main' must take 0 arguments, not 1");
}

BOOST_AUTO_TEST_CASE(fewer_locals_than_arguments_is_rejected) {
    BOOST_TEST(only_message(load_errors(program_of({main_function({{Op::halt, 0}}),
                                                    function("f", 2, 1, {{Op::load, 0}, {Op::ret, 0}})}))) ==
               "function 'f' offset 0: has 1 locals but 2 arguments (locals include the arguments)");
    // The assembler refuses to write such a function in the first place.
    const auto errors = assembly_errors(".func main 0 0\n    halt\n.end\n.func f 2 1\n    load 0\n    ret\n.end\n");
    BOOST_TEST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(errors[0].line == 4u);
}

BOOST_AUTO_TEST_CASE(duplicate_function_names_are_rejected) {
    const Function f = function("f", 0, 0, {{Op::halt, 0}});
    BOOST_TEST(only_message(load_errors(program_of({main_function({{Op::halt, 0}}), f, f}))) == "duplicate function 'f'");
    const auto errors = assembly_errors(".func main 0 0\n    halt\n.end\n.func main 0 0\n    halt\n.end\n");
    BOOST_TEST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(errors[0].line == 4u);
}

BOOST_AUTO_TEST_CASE(every_bad_function_is_reported) {
    const auto errors = assembly_errors(R"(.func a 0 0
    pop
    halt
.end
.func b 0 0
    push 1
.end
.func main 0 0
    call nope
    ret
.end
)");
    BOOST_TEST_REQUIRE(errors.size() == 3u);
    BOOST_TEST(errors[0].message == "function 'a' offset 0: stack underflow: 'pop' pops 1 but the stack holds 0");
    BOOST_TEST(errors[1].message == "function 'b' offset 0: execution can fall off the end of the function");
    BOOST_TEST(errors[2].message == "function 'main' offset 0: call to unknown function 'nope'");
    BOOST_TEST(errors[0].line == 2u);
    BOOST_TEST(errors[1].line == 6u);
    BOOST_TEST(errors[2].line == 9u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(operands)

BOOST_AUTO_TEST_CASE(table_indices_out_of_range_are_rejected) {
    BOOST_TEST(only_message(load_errors(program_of({main_function({{Op::push, 3}, {Op::ret, 0}})}))) ==
               "function 'main' offset 0: 'push' operand 3 is not a valid constant index (there are 0)");
    Program p = program_of({main_function({{Op::gload, 1}, {Op::ret, 0}})});
    p.globals = {"g"};
    BOOST_TEST(only_message(load_errors(p)) ==
               "function 'main' offset 0: 'gload' operand 1 is not a valid global index (there are 1)");
    p = program_of({main_function({{Op::push, 0}, {Op::gstore, -2}, {Op::halt, 0}})});
    p.constants = {Nil{}};
    BOOST_TEST(only_message(load_errors(p)) ==
               "function 'main' offset 1: 'gstore' operand -2 is not a valid global index (there are 0)");
    BOOST_TEST(only_message(load_errors(program_of({main_function({{Op::call, 0}, {Op::ret, 0}})}))) ==
               "function 'main' offset 0: 'call' operand 0 is not a valid call target index (there are 0)");
}

BOOST_AUTO_TEST_CASE(operand_on_an_instruction_without_one_is_rejected) {
    Program p = program_of({main_function({{Op::push, 0}, {Op::pop, 7}, {Op::halt, 0}})});
    p.constants = {std::int64_t{1}};
    BOOST_TEST(only_message(load_errors(p)) == "function 'main' offset 1: 'pop' takes no operand but has 7");
}

BOOST_AUTO_TEST_CASE(internal_and_unknown_opcodes_are_rejected) {
    const auto internal = static_cast<Op>(kUserOpCount);  // the first internal opcode
    BOOST_TEST(kOpTable[kUserOpCount].internal);
    BOOST_TEST(only_message(load_errors(program_of({main_function({{internal, 1}, {Op::ret, 0}})}))) ==
               "function 'main' offset 0: invalid opcode " + std::to_string(kUserOpCount));
    BOOST_TEST(only_message(load_errors(program_of({main_function({{Op::halt, 0}, {static_cast<Op>(250), 0}})}))) ==
               "function 'main' offset 1: invalid opcode 250");
}

BOOST_AUTO_TEST_CASE(debug_positions_must_match_the_code) {
    Function f = main_function({{Op::halt, 0}, {Op::halt, 0}});
    f.positions = {SourcePos{1, 1}};
    BOOST_TEST(only_message(load_errors(program_of({f}))) ==
               "function 'main' offset 0: debug positions do not match the instructions");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(accepted)

BOOST_AUTO_TEST_CASE(max_stack_of_straight_line_code) {
    BOOST_TEST(max_stack_of(".func main 0 0\n    push 1\n    push 2\n    push 3\n    add\n    add\n    ret\n.end\n") == 3u);
    BOOST_TEST(max_stack_of(".func main 0 0\n    halt\n.end\n") == 0u);
    BOOST_TEST(max_stack_of(".func main 0 0\n    push 1\n    ret\n.end\n") == 1u);
    BOOST_TEST(max_stack_of(".func main 0 0\n    push 1\n    dup\n    dup\n    pop\n    pop\n    ret\n.end\n") == 3u);
    BOOST_TEST(max_stack_of(".func main 0 1\n    push 1\n    push 2\n    push 3\n    aset\n    push 4\n    store 0\n"
                            "    halt\n.end\n") == 3u);
    // Locals do not count: they have their own slots.
    BOOST_TEST(max_stack_of(".func main 0 8\n    load 7\n    ret\n.end\n") == 1u);
}

BOOST_AUTO_TEST_CASE(max_stack_across_branches_and_loops) {
    BOOST_TEST(max_stack_of(R"(.func main 0 1
    push 1
    jz short
    push 1
    push 2
    push 3
    push 4
    add
    add
    add
    jmp join
short:
    push 5
join:
    ret
.end
)") == 4u);
    BOOST_TEST(max_stack_of(R"(.func main 0 1
    push 0
    store 0
top:
    load 0
    push 10
    lt
    jz done
    load 0
    push 1
    add
    store 0
    jmp top
done:
    load 0
    ret
.end
)") == 2u);
}

BOOST_AUTO_TEST_CASE(max_stack_with_calls) {
    const std::string text = R"(.func f 3 5
    load 0
    load 1
    load 2
    add
    add
    ret
.end
.func main 0 0
    push 1
    push 2
    push 3
    call f
    call clock
    push 2
    call sqrt
    add
    add
    ret
.end
)";
    BOOST_TEST(max_stack_of(text, "f") == 3u);
    BOOST_TEST(max_stack_of(text, "main") == 3u);
}

BOOST_AUTO_TEST_CASE(every_path_may_end_differently) {
    // Different heights are fine at different ends (ret, halt), only not where paths meet.
    BOOST_TEST(max_stack_of(R"(.func main 0 0
    push 1
    jz a
    push 1
    push 2
    push 3
    halt
a:
    push 7
    ret
.end
)") == 3u);
}

BOOST_AUTO_TEST_CASE(a_verified_program_runs) {
    BOOST_TEST(test::output_of(".func main 0 0\n    push 1\n    push 2\n    push 3\n    add\n    add\n    print\n"
                               "    halt\n.end\n") == "6\n");
}

BOOST_AUTO_TEST_CASE(loading_a_bad_program_keeps_the_vm_usable) {
    Vm<> vm;
    std::ostringstream out;
    vm.set_output(out);
    BOOST_CHECK_THROW(vm.load(test::assemble_recorded(".func main 0 0\n    pop\n    halt\n.end\n")), ProgramError);
    vm.load(test::assemble_recorded(".func main 0 0\n    push \"fine\"\n    print\n    halt\n.end\n"));
    vm.run();
    BOOST_TEST(out.str() == "fine\n");
    BOOST_CHECK_THROW(vm.load(program_of({})), ProgramError);
    vm.run();
    BOOST_TEST(out.str() == "fine\nfine\n");
}

BOOST_AUTO_TEST_SUITE_END()

// Issue 12: the program model's limits (program.hpp), for Programs built in memory (the assembler and the
// bytecode decoder refuse such counts where they read them). These used to verify (a count of 2^32-1 was an
// arity of -1 to the height arithmetic, and the call then wrote outside the stack) or to overflow it (2^31).
BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(counts_past_the_limits_are_rejected_without_wrapping) {
    for (const std::uint32_t count : {std::uint32_t{4294967295u}, std::uint32_t{2147483648u}, kMaxLocals + 1}) {
        Program p = program_of({main_function({{Op::call, 0}, {Op::ret, 0}}),
                                function("f", count, count, {{Op::load, 0}, {Op::ret, 0}})});
        p.call_targets = {"f"};
        const auto errors = load_errors(std::move(p));
        BOOST_TEST_REQUIRE(errors.size() == 2u, "count " << count);
        BOOST_TEST(errors[0].message ==
                   fmt::format("function 'main' offset 0: stack underflow: 'call' pops {} but the stack holds 0", count));
        BOOST_TEST(errors[1].message ==
                   fmt::format("function 'f' offset 0: has {} locals; at most 65535 are allowed", count));
        BOOST_TEST(only_message(load_errors(program_of({main_function({{Op::halt, 0}}, count)}))) ==
                   fmt::format("function 'main' offset 0: has {} locals; at most 65535 are allowed", count));
    }
}

BOOST_AUTO_TEST_CASE(a_stack_deeper_than_the_limit_is_rejected) {
    std::vector<Instruction> code(kMaxStack, Instruction{Op::push, 0});
    code.push_back({Op::ret, 0});
    Program p = program_of({main_function(code, kMaxLocals)});
    p.constants = {std::int64_t{1}};
    Vm<> vm;
    vm.load(p);  // the largest frame: kMaxLocals + kMaxStack slots
    BOOST_TEST(vm.program().functions[0].max_stack == kMaxStack);
    BOOST_TEST(vm.linked().functions()[0].frame_slots == kMaxLocals + kMaxStack);
    BOOST_TEST(vm.run().as.i == 1);
    p.functions[0].code.insert(p.functions[0].code.begin(), Instruction{Op::push, 0});
    BOOST_TEST(only_message(load_errors(p)) ==
               "function 'main' offset 65535: the stack grows past 65535 values, the most a function may use");
}

BOOST_AUTO_TEST_CASE(a_native_of_negative_arity_is_rejected) {
    Program p = test::assemble_recorded(".func main 0 0\n    call clock\n    ret\n.end\n");
    const ProgramError e = test::thrown_by<ProgramError>(
        [&] { verify(p, [](std::string_view) -> std::optional<int> { return -1; }); });
    BOOST_TEST(only_message(e.diagnostics()) == "function 'main' offset 0: call to native 'clock' of negative arity -1");
}

BOOST_AUTO_TEST_SUITE_END()
