// The assembler: literal forms, operands, labels, positions and every error class with its line:col.
#include "support.hpp"
#include <opscope/compiler.hpp>
#include <opscope/errors.hpp>
#include <opscope/program.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <ostream>

using namespace opscope;


namespace {

const std::string kFile = "test.opasm";

// Every diagnostic of a text that must fail, as "line:col: message".
std::vector<std::string> errors_of(std::string_view text) {
    try {
        assemble(text, kFile);
    } catch (const ProgramError& e) {
        std::vector<std::string> out;
        for (const Diagnostic& d : e.diagnostics()) out.push_back(fmt::format("{}:{}: {}", d.line, d.column, d.message));
        return out;
    }
    BOOST_FAIL("expected a ProgramError for:\n" << text);
    return {};
}

// The only diagnostic of a text that must fail.
std::string error_of(std::string_view text) {
    const std::vector<std::string> errors = errors_of(text);
    BOOST_TEST_REQUIRE(errors.size() == 1u, "expected one error, got " << errors.size());
    return errors[0];
}

// The error of one instruction line placed inside a function, at line 2.
std::string error_in_function(std::string_view line) { return error_of(fmt::format(".func main 0 1\n{}\n.end\n", line)); }

// The constant `push LITERAL` interns.
Constant literal(std::string_view text) {
    const Program program = assemble(fmt::format(".func main 0 0\n    push {}\n    ret\n.end\n", text), kFile);
    BOOST_TEST_REQUIRE(program.constants.size() == 1u);
    return program.constants[0];
}

std::uint64_t bits(double d) { return std::bit_cast<std::uint64_t>(d); }

} // namespace

BOOST_AUTO_TEST_SUITE(assembler)

BOOST_AUTO_TEST_CASE(integer_literals) {
    BOOST_TEST(std::get<std::int64_t>(literal("0")) == 0);
    BOOST_TEST(std::get<std::int64_t>(literal("-12")) == -12);
    BOOST_TEST(std::get<std::int64_t>(literal("0x1f")) == 31);
    BOOST_TEST(std::get<std::int64_t>(literal("0X1F")) == 31);
    BOOST_TEST(std::get<std::int64_t>(literal("-0x1f")) == -31);
    BOOST_TEST(std::get<std::int64_t>(literal("9223372036854775807")) == std::numeric_limits<std::int64_t>::max());
    BOOST_TEST(std::get<std::int64_t>(literal("-9223372036854775808")) == std::numeric_limits<std::int64_t>::min());
    BOOST_TEST(std::get<std::int64_t>(literal("0x7fffffffffffffff")) == std::numeric_limits<std::int64_t>::max());
    BOOST_TEST(std::get<std::int64_t>(literal("-0x8000000000000000")) == std::numeric_limits<std::int64_t>::min());
}

BOOST_AUTO_TEST_CASE(float_literals) {
    BOOST_TEST(std::get<double>(literal("1.5")) == 1.5);
    BOOST_TEST(std::get<double>(literal("2e3")) == 2000.0);
    BOOST_TEST(std::get<double>(literal("2E+3")) == 2000.0);
    BOOST_TEST(std::get<double>(literal("-1.5e-3")) == -1.5e-3);
    BOOST_TEST(std::get<double>(literal("0.1")) == 0.1);
    BOOST_TEST(std::get<double>(literal("1.0")) == 1.0);
    BOOST_TEST(std::get<double>(literal("5e-324")) == 5e-324);
    BOOST_TEST(bits(std::get<double>(literal("-0.0"))) == bits(-0.0));
    BOOST_TEST(std::get<double>(literal("inf")) == std::numeric_limits<double>::infinity());
    BOOST_TEST(std::get<double>(literal("-inf")) == -std::numeric_limits<double>::infinity());
    BOOST_TEST(std::isnan(std::get<double>(literal("nan"))));
}

BOOST_AUTO_TEST_CASE(other_literals) {
    BOOST_TEST(std::holds_alternative<Nil>(literal("nil")));
    BOOST_TEST(std::get<bool>(literal("true")) == true);
    BOOST_TEST(std::get<bool>(literal("false")) == false);
    BOOST_TEST(std::get<std::string>(literal(R"("a\n\t\"\\")")) == "a\n\t\"\\");
    BOOST_TEST(std::get<std::string>(literal(R"("\r\0\x41\xfF;x")")) == std::string("\r\0A\xff;x", 6));
    BOOST_TEST(std::get<std::string>(literal(R"("")")).empty());
    BOOST_TEST(std::get<std::string>(literal(R"("; not a comment")")) == "; not a comment");
}

BOOST_AUTO_TEST_CASE(constants_intern_by_type_and_bits) {
    const Program p = assemble(".func main 0 0\n"
                               "  push 1\n  push 1.0\n  push 1\n  push 0.0\n  push -0.0\n  push nan\n  push nan\n"
                               "  push \"1\"\n  push true\n  push 0x1\n  halt\n.end\n",
                               kFile);
    BOOST_TEST_REQUIRE(p.constants.size() == 7u);
    BOOST_TEST(std::get<std::int64_t>(p.constants[0]) == 1);
    BOOST_TEST(std::get<double>(p.constants[1]) == 1.0);
    BOOST_TEST(bits(std::get<double>(p.constants[2])) == bits(0.0));
    BOOST_TEST(bits(std::get<double>(p.constants[3])) == bits(-0.0));
    BOOST_TEST(std::isnan(std::get<double>(p.constants[4])));
    BOOST_TEST(std::get<std::string>(p.constants[5]) == "1");
    BOOST_TEST(std::get<bool>(p.constants[6]) == true);
    std::vector<std::int32_t> operands;
    for (const Instruction& i : p.functions[0].code) operands.push_back(i.operand);
    BOOST_TEST(operands == (std::vector<std::int32_t>{0, 1, 0, 2, 3, 4, 4, 5, 6, 0, 0}), boost::test_tools::per_element());
}

// The hash index merges exactly what the linear search did: by type, floats by bits (two NaNs of different
// bits are two constants), and it follows a table changed through program().
BOOST_AUTO_TEST_CASE(the_builder_interns_by_type_and_bits) {
    ProgramBuilder builder;
    const double nan_a = std::numeric_limits<double>::quiet_NaN();
    const double nan_b = std::bit_cast<double>(std::bit_cast<std::uint64_t>(nan_a) | 1);
    const std::vector<Constant> constants = {Nil{}, false, std::int64_t{0}, 0.0, -0.0, nan_a, nan_b, std::string{},
                                             std::string("0"), true, std::int64_t{1}, 1.0};
    for (std::size_t i = 0; i < constants.size(); ++i)
        BOOST_TEST(builder.constant(constants[i]) == static_cast<std::int32_t>(i));
    for (std::size_t i = constants.size(); i-- > 0;)
        BOOST_TEST(builder.constant(constants[i]) == static_cast<std::int32_t>(i));
    builder.program().constants.push_back(std::string("added"));
    BOOST_TEST(builder.constant(std::string("added")) == static_cast<std::int32_t>(constants.size()));
    BOOST_TEST(builder.global("g") == 0);
    BOOST_TEST(builder.call_target("g") == 0);
    BOOST_TEST(builder.global("h") == 1);
    BOOST_TEST(builder.global("g") == 0);
}

// Issue 12: interning searched the table linearly, so 200,000 distinct constants took 42 s (user time,
// Release). With the hash index it is about 0.1 s; the bound is generous for slow and instrumented builds.
BOOST_AUTO_TEST_CASE(many_distinct_constants_assemble_in_linear_time) {
    constexpr int kConstants = 200'000;
    std::string text = ".func main 0 0\n";
    for (int i = 0; i < kConstants; ++i) text += fmt::format("  push {}\n  pop\n", i);
    text += "  halt\n.end\n";
    const auto start = std::chrono::steady_clock::now();
    const Program p = assemble(text, kFile);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    BOOST_TEST(p.constants.size() == static_cast<std::size_t>(kConstants));
    BOOST_TEST(std::chrono::duration<double>(elapsed).count() < 10.0);
}

BOOST_AUTO_TEST_CASE(operand_kinds) {
    const Program p = assemble(".func f 2 3\n"
                               "  load 2\n  store 0\n  gload x\n  gstore y\n  gload x\n  call g\n  call f\n  call g\n"
                               "  pop\n  ret\n.end\n",
                               kFile);
    BOOST_TEST(p.globals == (std::vector<std::string>{"x", "y"}), boost::test_tools::per_element());
    BOOST_TEST(p.call_targets == (std::vector<std::string>{"g", "f"}), boost::test_tools::per_element());
    const std::vector<Instruction> expected = {{Op::load, 2},  {Op::store, 0}, {Op::gload, 0}, {Op::gstore, 1},
                                               {Op::gload, 0}, {Op::call, 0},  {Op::call, 1},  {Op::call, 0},
                                               {Op::pop, 0},   {Op::ret, 0}};
    BOOST_TEST(p.functions[0].code == expected);
    BOOST_TEST(p.functions[0].name == "f");
    BOOST_TEST(p.functions[0].nargs == 2u);
    BOOST_TEST(p.functions[0].nlocals == 3u);
    BOOST_TEST(p.functions[0].max_stack == 0u);
    BOOST_TEST(p.find_function("f") == 0);
    BOOST_TEST(p.find_function("g") == -1);
}

BOOST_AUTO_TEST_CASE(identifiers_allow_dots_and_dollars) {
    const Program p = assemble(".func $a.b_1 0 0\n.x$: gload mod.var$\n  jmp .x$\n  call _c.d\n.end\n", kFile);
    BOOST_TEST(p.functions[0].name == "$a.b_1");
    BOOST_TEST(p.globals[0] == "mod.var$");
    BOOST_TEST(p.call_targets[0] == "_c.d");
    BOOST_TEST(p.functions[0].code[1].operand == 0);
}

BOOST_AUTO_TEST_CASE(labels_forward_backward_and_at_end) {
    const Program p = assemble(".func main 0 1\n"
                               "    jmp forward        ; 0\n"
                               "back:\n"
                               "    jz done            ; 1\n"
                               "forward: push 1       ; 2\n"
                               "    jnz back           ; 3\n"
                               "    jmp back           ; 4\n"
                               "done:\n"
                               ".end\n"
                               ".func other 0 0\n"
                               "back: jmp back\n"  // labels are local to their function
                               ".end\n",
                               kFile);
    const std::vector<Instruction> expected = {
        {Op::jmp, 2}, {Op::jz, 5}, {Op::push, 0}, {Op::jnz, 1}, {Op::jmp, 1}};
    BOOST_TEST(p.functions[0].code == expected);
    BOOST_TEST(p.functions[1].code == (std::vector<Instruction>{{Op::jmp, 0}}));
}

BOOST_AUTO_TEST_CASE(positions_default_to_the_assembly_text) {
    const Program p = assemble("; header\n.func main 0 0\n\tpush 1\n  x: print\n    halt\n.end\n", kFile);
    BOOST_TEST(p.source_file == kFile);
    const std::vector<SourcePos> expected = {{3, 2}, {4, 6}, {5, 5}};
    BOOST_TEST(p.functions[0].positions == expected);
}

BOOST_AUTO_TEST_CASE(source_without_line_keeps_assembly_positions) {
    const Program p = assemble(".source \"prog.ops\"\n.func main 0 0\n  halt\n.end\n", kFile);
    BOOST_TEST(p.source_file == "prog.ops");
    BOOST_TEST(p.functions[0].positions == (std::vector<SourcePos>{{3, 3}}));
}

BOOST_AUTO_TEST_CASE(line_directives_give_explicit_positions) {
    const Program p = assemble(".source \"a \\\"b\\\".ops\"\n"
                               ".func f 0 0\n"
                               "  push 1\n"  // before any .line in this function: 0:0
                               "  .line 7 3\n"
                               "  push 2\n"
                               "L: print\n"
                               "  .line 9\n"  // column defaults to 0
                               "  halt\n"
                               ".end\n"
                               ".func main 0 0\n"
                               "  halt\n"  // resets per function
                               ".end\n",
                               kFile);
    BOOST_TEST(p.source_file == "a \"b\".ops");
    const std::vector<SourcePos> f = {{0, 0}, {7, 3}, {7, 3}, {9, 0}};
    BOOST_TEST(p.functions[0].positions == f);
    BOOST_TEST(p.functions[1].positions == (std::vector<SourcePos>{{0, 0}}));
}

BOOST_AUTO_TEST_CASE(line_directive_without_source_leaves_source_file_empty) {
    const Program p = assemble(".func main 0 0\n.line 4 2\nhalt\n.end\n", kFile);
    BOOST_TEST(p.source_file.empty());
    BOOST_TEST(p.functions[0].positions == (std::vector<SourcePos>{{4, 2}}));
}

BOOST_AUTO_TEST_CASE(table_directives_intern_in_order) {
    const Program p = assemble(".const \"s\"\n.const 2\n.global b\n.global a\n.target h\n.const 2\n"
                               ".func main 0 0\n  push 2\n  push 3\n  gload a\n  call main\n  halt\n.end\n",
                               kFile);
    BOOST_TEST(p.constants.size() == 3u);
    BOOST_TEST(std::get<std::string>(p.constants[0]) == "s");
    BOOST_TEST(std::get<std::int64_t>(p.constants[1]) == 2);
    BOOST_TEST(std::get<std::int64_t>(p.constants[2]) == 3);
    BOOST_TEST(p.globals == (std::vector<std::string>{"b", "a"}), boost::test_tools::per_element());
    BOOST_TEST(p.call_targets == (std::vector<std::string>{"h", "main"}), boost::test_tools::per_element());
    BOOST_TEST(p.functions[0].code[0].operand == 1);
    BOOST_TEST(p.functions[0].code[2].operand == 1);
}

BOOST_AUTO_TEST_CASE(crlf_and_empty_input) {
    const Program p = assemble(".func main 0 0\r\n  push \"x\"\r\n  halt ; done\r\n.end\r\n", kFile);
    BOOST_TEST(std::get<std::string>(p.constants[0]) == "x");
    BOOST_TEST(p.functions[0].code.size() == 2u);
    const Program empty = assemble("", kFile);
    BOOST_TEST(empty.functions.empty());
    BOOST_TEST(empty.source_file == kFile);
}

// --- errors: one per class, with its exact line:col ---

BOOST_AUTO_TEST_CASE(unknown_instruction) {
    BOOST_TEST(error_in_function("    pushh 1") == "2:5: unknown instruction 'pushh'");
    BOOST_TEST(error_in_function("  push_int 1") == "2:3: unknown instruction 'push_int'");  // internal opcode
    BOOST_TEST(error_in_function("  not_") == "2:3: unknown instruction 'not_'");
}

BOOST_AUTO_TEST_CASE(missing_and_unexpected_operands) {
    BOOST_TEST(error_in_function("  push") == "2:3: missing operand: 'push' takes a literal");
    BOOST_TEST(error_in_function("  load ; slot") == "2:3: missing operand: 'load' takes a local slot number");
    BOOST_TEST(error_in_function("  gload") == "2:3: missing operand: 'gload' takes a global name");
    BOOST_TEST(error_in_function("  jmp") == "2:3: missing operand: 'jmp' takes a label");
    BOOST_TEST(error_in_function("  call") == "2:3: missing operand: 'call' takes a function name");
    BOOST_TEST(error_in_function("  add 1") == "2:7: unexpected operand '1' ('add' takes none)");
    BOOST_TEST(error_in_function("  ret \"x\"") == "2:7: unexpected operand '\"x\"' ('ret' takes none)");
}

BOOST_AUTO_TEST_CASE(trailing_garbage) {
    BOOST_TEST(error_in_function("  push 1 2") == "2:10: unexpected '2' after the operand of 'push'");
    BOOST_TEST(error_in_function("  push \"a\"b") == "2:11: unexpected 'b' after the operand of 'push'");
    BOOST_TEST(error_in_function("  load 0:") == "2:9: unexpected ':' after the operand of 'load'");
    BOOST_TEST(error_of(".func main 0 0 extra\n.end\n") == "1:16: unexpected 'extra' after '.func NAME NARGS NLOCALS'");
    BOOST_TEST(error_of(".func main 0 0\n.end now\n") == "2:6: unexpected 'now' after '.end'");
    BOOST_TEST(error_of(".func main 0 0\n.line 1 2 3\n.end\n") == "2:11: unexpected '3' after '.line N C'");
}

BOOST_AUTO_TEST_CASE(bad_operands) {
    BOOST_TEST(error_in_function("  load -1") == "2:8: bad local slot '-1' (expected a non-negative integer)");
    BOOST_TEST(error_in_function("  load x") == "2:8: bad local slot 'x' (expected a non-negative integer)");
    BOOST_TEST(error_in_function("  store 65535") == "2:9: local slot '65535' out of range (at most 65534)");
    BOOST_TEST(error_in_function("  gload 1x") == "2:9: expected a global name, found '1x'");
    BOOST_TEST(error_in_function("  gstore \"x\"") == "2:10: expected a global name, found '\"x\"'");
    BOOST_TEST(error_in_function("  call 3") == "2:8: expected a function name, found '3'");
    BOOST_TEST(error_in_function("  jz :") == "2:6: expected a label, found ':'");
}

BOOST_AUTO_TEST_CASE(bad_literals) {
    BOOST_TEST(error_in_function("  push 9223372036854775808") == "2:8: integer literal '9223372036854775808' out of range");
    BOOST_TEST(error_in_function("  push -9223372036854775809") ==
               "2:8: integer literal '-9223372036854775809' out of range");
    BOOST_TEST(error_in_function("  push 0x8000000000000000") == "2:8: integer literal '0x8000000000000000' out of range");
    BOOST_TEST(error_in_function("  push 99999999999999999999999") ==
               "2:8: integer literal '99999999999999999999999' out of range");
    BOOST_TEST(error_in_function("  push 1e999") == "2:8: float literal '1e999' out of range");
    BOOST_TEST(error_in_function("  push -1e-999") == "2:8: float literal '-1e-999' out of range");
    BOOST_TEST(error_in_function("  push abc") == "2:8: bad literal 'abc'");
    BOOST_TEST(error_in_function("  push 1.5.3") == "2:8: bad literal '1.5.3'");
    BOOST_TEST(error_in_function("  push 0x") == "2:8: bad literal '0x'");
    BOOST_TEST(error_in_function("  push 0x1g") == "2:8: bad literal '0x1g'");
    BOOST_TEST(error_in_function("  push .5") == "2:8: bad literal '.5'");
    BOOST_TEST(error_in_function("  push 1.") == "2:8: bad literal '1.'");
    BOOST_TEST(error_in_function("  push 1e") == "2:8: bad literal '1e'");
    BOOST_TEST(error_in_function("  push +1") == "2:8: bad literal '+1'");
    BOOST_TEST(error_in_function("  push infinity") == "2:8: bad literal 'infinity'");
    BOOST_TEST(error_in_function("  push -nan") == "2:8: bad literal '-nan'");
    BOOST_TEST(error_in_function("  push -") == "2:8: bad literal '-'");
}

BOOST_AUTO_TEST_CASE(bad_strings) {
    BOOST_TEST(error_in_function("  push \"abc") == "2:8: unterminated string");
    BOOST_TEST(error_in_function("  push \"abc\\\"") == "2:8: unterminated string");
    BOOST_TEST(error_in_function("  push \"abc\\") == "2:8: unterminated string");
    BOOST_TEST(error_in_function("  push \"a\\qb\"") == "2:10: bad escape '\\q' in string");
    BOOST_TEST(error_in_function("  push \"\\x4\"") == "2:9: bad escape '\\x4\"' in string (expected \\xHH)");
    BOOST_TEST(error_in_function("  push \"\\xg0\"") == "2:9: bad escape '\\xg0' in string (expected \\xHH)");
    BOOST_TEST(error_of(".source \"a\\e\"\n") == "1:11: bad escape '\\e' in string");
}

BOOST_AUTO_TEST_CASE(labels) {
    BOOST_TEST(error_in_function("  jmp loop2") == "2:7: undefined label 'loop2'");
    BOOST_TEST(error_of(".func main 0 0\nloop: halt\n  loop:\n.end\n") ==
               "3:3: duplicate label 'loop' in function 'main' (first defined on line 2)");
    BOOST_TEST(error_of(".func f 0 0\nx: halt\n.end\n.func main 0 0\n  jmp x\n.end\n") == "5:7: undefined label 'x'");
    BOOST_TEST(error_in_function("1x: halt") == "2:1: bad label name '1x'");
    BOOST_TEST(error_in_function("x: .line 3") == "2:4: directive '.line' cannot follow a label on the same line");
}

BOOST_AUTO_TEST_CASE(functions) {
    BOOST_TEST(error_of(".func main 0 0\n.end\n.func f 1 1\n.end\n  .func main 1 1\n.end\n") ==
               "5:9: duplicate function 'main' (first defined on line 1)");
    BOOST_TEST(error_of("  push 1\n") == "1:3: instruction 'push' outside a function");
    BOOST_TEST(error_of("top: \n") == "1:1: label 'top' outside a function");
    BOOST_TEST(error_of(".end\n") == "1:1: '.end' outside a function");
    BOOST_TEST(error_of(".func main 0 0\n  halt\n.func f 0 0\n  halt\n.end\n") ==
               "3:1: '.func' inside function 'main' (missing '.end'?)");
    BOOST_TEST(error_of("\n  .func main 0 0\n  halt\n") == "2:3: missing '.end' for function 'main'");
}

BOOST_AUTO_TEST_CASE(function_headers) {
    BOOST_TEST(error_of(".func main 0\n.end\n") == "1:1: '.func' expects NAME NARGS NLOCALS");
    BOOST_TEST(error_of(".func 9main 0 0\n.end\n") == "1:7: bad function name '9main'");
    BOOST_TEST(error_of(".func main -1 0\n.end\n") == "1:12: bad argument count '-1' (expected a non-negative integer)");
    BOOST_TEST(error_of(".func main 0 x\n.end\n") == "1:14: bad local count 'x' (expected a non-negative integer)");
    BOOST_TEST(error_of(".func main 0 4294967296\n.end\n") ==
               "1:14: local count '4294967296' out of range (at most 65535)");
    BOOST_TEST(error_of(".func main 2 1\n.end\n") == "1:14: local count 1 is less than argument count 2");
}

// Issue 12: counts past the program model's limits (kMaxLocals) are refused where they are read, naming
// line:col, so no later sum (a frame's nlocals + max_stack) can wrap. These programs used to assemble and
// verify, then write outside the stack when called.
BOOST_AUTO_TEST_CASE(function_counts_past_the_limits_are_refused_where_read) {
    BOOST_TEST(error_of(".func main 0 0\n  call f\n  ret\n.end\n.func f 4294967295 4294967295\n  push 1\n  ret\n.end\n") ==
               "5:9: argument count '4294967295' out of range (at most 65535)");
    BOOST_TEST(error_of(".func main 0 4294967295\n  push 1\n  ret\n.end\n") ==
               "1:14: local count '4294967295' out of range (at most 65535)");
    BOOST_TEST(error_of(".func f 0 4294967295\n  push 1\n  ret\n.end\n") ==
               "1:11: local count '4294967295' out of range (at most 65535)");
    BOOST_TEST(error_of(".func f 2147483648 2147483648\n  push 1\n  ret\n.end\n") ==
               "1:9: argument count '2147483648' out of range (at most 65535)");
    BOOST_TEST(error_of(".func main 0 65536\n  push 1\n  ret\n.end\n") ==
               "1:14: local count '65536' out of range (at most 65535)");
    // The limit itself is allowed, and runs.
    const Program program = assemble(".func main 0 65535\n  load 65534\n  ret\n.end\n", kFile);
    BOOST_TEST(program.functions[0].nlocals == kMaxLocals);
    Vm<> vm;
    vm.load(program);
    BOOST_TEST(to_display(vm.run()) == "nil");
}

BOOST_AUTO_TEST_CASE(directives) {
    BOOST_TEST(error_of(".fun main 0 0\n") == "1:1: unknown directive '.fun'");
    BOOST_TEST(error_of(".func main 0 0\n  .lines 3\n.end\n") == "2:3: unknown directive '.lines'");
    BOOST_TEST(error_of(".line 3\n") == "1:1: '.line' outside a function");
    BOOST_TEST(error_of(".func main 0 0\n.line x\n.end\n") == "2:7: bad line number 'x' (expected a non-negative integer)");
    BOOST_TEST(error_of(".func main 0 0\n.line\n.end\n") == "2:1: '.line' expects a line number");
    BOOST_TEST(error_of(".func main 0 0\n.line 1 -2\n.end\n") ==
               "2:9: bad column number '-2' (expected a non-negative integer)");
    BOOST_TEST(error_of(".source x.ops\n") == "1:9: '.source' expects a quoted file name");
    BOOST_TEST(error_of(".source \"a\"\n.source \"b\"\n") == "2:1: duplicate '.source' (first given on line 1)");
    BOOST_TEST(error_of(".func main 0 0\n .source \"a\"\n.end\n") ==
               "2:2: '.source' inside function 'main' (it belongs before the functions)");
    BOOST_TEST(error_of(".func main 0 0\n.const 1\n.end\n") ==
               "2:1: '.const' inside function 'main' (it belongs before the functions)");
    BOOST_TEST(error_of(".const\n") == "1:1: '.const' expects a literal");
    BOOST_TEST(error_of(".const 1x\n") == "1:8: bad literal '1x'");
    BOOST_TEST(error_of(".global 1x\n") == "1:9: expected a name, found '1x'");
    BOOST_TEST(error_of(".target\n") == "1:1: '.target' expects a name");
    BOOST_TEST(error_of(": x\n") == "1:1: expected an instruction, label or directive, found ':'");
    BOOST_TEST(error_of("\"s\"\n") == "1:1: expected an instruction, label or directive, found '\"s\"'");
}

BOOST_AUTO_TEST_CASE(every_error_reported_in_one_throw_in_text_order) {
    const std::string text = "push 1\n"                 // 1: outside a function
                             ".func main 0 0\n"         // 2
                             "    pushh 1\n"            // 3: unknown instruction
                             "    jmp nowhere\n"        // 4: undefined label (found at .end)
                             "    push \"abc\n"         // 5: unterminated string
                             "    load\n"               // 6: missing operand
                             "    push 1 2\n"           // 7: trailing garbage
                             "a: a: halt\n"             // 8: duplicate label
                             ".end\n"                   // 9
                             ".func main 0 0\n"         // 10: duplicate function
                             "    halt\n";              // 11; missing .end reported at line 10
    const std::vector<std::string> expected = {
        "1:1: instruction 'push' outside a function",
        "3:5: unknown instruction 'pushh'",
        "4:9: undefined label 'nowhere'",
        "5:10: unterminated string",
        "6:5: missing operand: 'load' takes a local slot number",
        "7:12: unexpected '2' after the operand of 'push'",
        "8:4: duplicate label 'a' in function 'main' (first defined on line 8)",
        "10:1: missing '.end' for function 'main'",
        "10:7: duplicate function 'main' (first defined on line 2)",
    };
    BOOST_TEST(errors_of(text) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(diagnostics_carry_file_and_source_line) {
    try {
        assemble(".func main 0 0\n\tpushh 1 ; typo\r\n.end\n", "dir/x.opasm");
        BOOST_FAIL("expected a ProgramError");
    } catch (const ProgramError& e) {
        BOOST_TEST_REQUIRE(e.diagnostics().size() == 1u);
        const Diagnostic& d = e.diagnostics()[0];
        BOOST_TEST(d.file == "dir/x.opasm");
        BOOST_TEST(d.line == 2u);
        BOOST_TEST(d.column == 2u);
        BOOST_TEST(d.source_line == "\tpushh 1 ; typo");
        BOOST_TEST(std::string(e.what()).starts_with("dir/x.opasm:2:2: error: unknown instruction 'pushh'"));
    }
}

// Issue 16: binary garbage was echoed raw (terminal escape sequences included). The message and the source line
// show every non-printable byte as \xNN (printable_text), and the caret still points at the offending token.
BOOST_AUTO_TEST_CASE(messages_escape_non_printable_bytes) {
    const ProgramError e = test::thrown_by<ProgramError>(
        [] { assemble(".func main 0 0\n\x1b[2J \xff\x01 ; \x07\n.end\n", "g.opasm"); });
    const std::string message = e.what();
    BOOST_TEST(message == "g.opasm:2:1: error: unknown instruction '\\x1b[2J'\n"
                         "    \\x1b[2J \\xff\\x01 ; \\x07\n"
                         "    ^");
    BOOST_TEST(e.diagnostics()[0].message == "unknown instruction '\x1b[2J'");  // the data stays as it was
    const Diagnostic d{"f", 1, 6, "m", "\x01\tab\x02z"};
    BOOST_TEST(d.format() == "f:1:6: error: m\n    \\x01\tab\\x02z\n    \x20\x20\x20\x20\t  \x20\x20\x20\x20^");
    BOOST_TEST(printable_text("ok\t\n\x7f\x80\xc3\xa9") == "ok\t\\x0a\\x7f\\x80\xc3\xa9");
}

// Well-formed UTF-8 is shown as it is (a user's strings and names are not bytes to them); malformed UTF-8, C1
// controls and the bidirectional controls that make a line read otherwise than it runs are escaped; the caret
// counts a character's columns, two for a wide one.
BOOST_AUTO_TEST_CASE(messages_show_utf8_text_and_escape_what_could_mislead) {
    BOOST_TEST(printable_text("h\xc3\xa9llo \xe6\x97\xa5 \xf0\x9f\x98\x80") == "h\xc3\xa9llo \xe6\x97\xa5 \xf0\x9f\x98\x80");
    BOOST_TEST(printable_text("\xc0\xaf") == "\\xc0\\xaf");                  // overlong '/'
    BOOST_TEST(printable_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");         // a surrogate
    BOOST_TEST(printable_text("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
    BOOST_TEST(printable_text("\xe6\x97") == "\\xe6\\x97");                  // cut short
    BOOST_TEST(printable_text("\xc2\x85") == "\\xc2\\x85");                  // C1 control NEL
    BOOST_TEST(printable_text("a\xe2\x80\xae" "b") == "a\\xe2\\x80\\xaeb");        // RIGHT-TO-LEFT OVERRIDE
    BOOST_TEST(printable_text("\xe2\x81\xa6") == "\\xe2\\x81\\xa6");         // LEFT-TO-RIGHT ISOLATE

    const Diagnostic d{"f", 1, 11, "m", "\"\xe6\x97\xa5\xc3\xa9\" + ;"};  // the caret under ';', byte column 11
    BOOST_TEST(d.format() == "f:1:11: error: m\n    \"\xe6\x97\xa5\xc3\xa9\" + ;\n    " + std::string(8, ' ') + "^");
    BOOST_TEST(printable_text("a\xe2\x80\x8b" "b \xef\xbb\xbf \xc2\xad") == "a\\xe2\\x80\\x8bb \\xef\\xbb\\xbf \\xc2\\xad");  // shown as nothing
    const ProgramError e = test::thrown_by<ProgramError>([] { compile_source("let \xc3\xbc = 1;\n", "u.ops"); });
    BOOST_TEST(std::string(e.what()).starts_with("u.ops:1:5: error: unexpected character '\xc3\xbc'\n"
                                                 "    let \xc3\xbc = 1;\n"
                                                 "        ^"), e.what());
}

// A UTF-8 byte order mark (Notepad writes one) is an encoding's signature: both front ends skip it, and the
// columns of line 1 are counted after it, as editors count them.
BOOST_AUTO_TEST_CASE(a_leading_byte_order_mark_is_skipped) {
    const std::string bom = "\xEF\xBB\xBF";
    BOOST_TEST(assemble(bom + ".func main 0 0\n    push 1\n    ret\n.end\n", "b.opasm").functions.size() == 1u);
    BOOST_TEST(compile_source(bom + "print(1);\n", "b.ops").functions.size() == 1u);
    const ProgramError e = test::thrown_by<ProgramError>([&] { compile_source(bom + "print(1 +);\n", "b.ops"); });
    BOOST_TEST(std::string(e.what()) == "b.ops:1:10: error: expected expression, found ')'\n    print(1 +);\n             ^");
    // Only at the start: elsewhere it is a character the lexer does not know, shown escaped.
    const ProgramError inside = test::thrown_by<ProgramError>([&] { compile_source("print(1);\n" + bom + "print(2);\n", "b.ops"); });
    BOOST_TEST(std::string(inside.what()).starts_with("b.ops:2:1: error: unexpected character '\\xef\\xbb\\xbf'"), inside.what());
    BOOST_TEST(without_byte_order_mark(bom) == "");
    BOOST_TEST(without_byte_order_mark("\xEF\xBB") == "\xEF\xBB");
}

// Issue 16: a diagnostic kept its whole line, so a long line with many errors cost (errors x line) memory and a
// message as long. It keeps a window of kSourceWindow bytes around the column; the caret still lines up.
BOOST_AUTO_TEST_CASE(a_long_line_is_shown_as_a_window_around_the_error) {
    const std::string line = "    push 1 " + std::string(10000, ' ') + "oops";
    const ProgramError e = test::thrown_by<ProgramError>([&] { assemble(".func main 0 0\n" + line + "\n.end\n", "w.opasm"); });
    const Diagnostic& d = e.diagnostics().at(0);
    BOOST_TEST(d.column == 10012u);
    BOOST_TEST(d.source_line.size() == Diagnostic::kSourceWindow);
    BOOST_TEST(line.substr(d.source_line_column - 1, d.source_line.size()) == d.source_line);
    BOOST_TEST(d.source_line.ends_with("oops"));  // the window stops at the end of the line
    const std::string shown = d.format();
    const std::size_t source = shown.find('\n') + 1, caret = shown.find('\n', source) + 1;
    BOOST_TEST(shown.substr(source + shown.substr(caret).find('^'), 4) == "oops");
}

BOOST_AUTO_TEST_SUITE_END()
