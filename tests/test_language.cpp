// The opscope language (.ops, issue 3): the semantics of each construct, the shape of the generated code,
// every compile error class with its line:col and message, error recovery, runtime backtraces with source
// lines, the four benchmark workloads of examples/ at small sizes against C++ reference implementations,
// and the `-S` round trip (disassemble, reassemble, compare).
//
// Every program runs on the default (fusing) VM and on an instruction-watching VM that runs the compiled
// instructions unfused; both must show the same transcript.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

using namespace opscope;

namespace {

const std::string kFile = "t.ops";

Program compile(std::string_view source, const std::vector<NativeDeclaration>& natives = {}) {
    return compile_source(source, kFile, natives);
}

// Output of a program that must compile and finish normally.
std::string output_of(std::string_view source) {
    const Program program = compile(source);
    Vm<> fused;
    Vm<test::InstructionCounter> unfused;
    const std::string shown = test::transcript(fused, program, true);
    BOOST_TEST(shown == test::transcript(unfused, program, true), "fused and unfused runs differ");
    Vm<> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(program);
    vm.run();
    return out.str();
}

// The runtime error a compiled program ends with.
RuntimeError runtime_error_of(std::string_view source) {
    const Program program = compile(source);
    return test::thrown_by<RuntimeError>([&] {
        Vm<> vm;
        std::ostringstream out;
        vm.set_output(out);
        vm.load(program);
        vm.run();
    });
}

// Every compile error as "line:col: message".
std::vector<std::string> errors_of(std::string_view source, const std::vector<NativeDeclaration>& natives = {}) {
    const ProgramError error = test::thrown_by<ProgramError>([&] { compile(source, natives); });
    std::vector<std::string> out;
    for (const Diagnostic& d : error.diagnostics()) out.push_back(fmt::format("{}:{}: {}", d.line, d.column, d.message));
    return out;
}
using Errors = std::vector<std::string>;

// A function's code as "mnemonic operand" lines: constants as literals, names by name, jump targets "@N".
std::vector<std::string> code_of(const Program& program, std::string_view function) {
    const int index = program.find_function(function);
    BOOST_TEST_REQUIRE(index >= 0, "no function " << function);
    std::vector<std::string> lines;
    for (const Instruction& in : program.functions[static_cast<std::size_t>(index)].code) {
        std::string line(mnemonic(in.op));
        const auto operand = static_cast<std::size_t>(in.operand);
        switch (info(in.op).operand) {
        case OperandKind::none:
        case OperandKind::immediate: break;
        case OperandKind::constant: line.append(1, ' ').append(constant_literal(program.constants[operand])); break;
        case OperandKind::local: line += fmt::format(" {}", in.operand); break;
        case OperandKind::global: line.append(1, ' ').append(program.globals[operand]); break;
        case OperandKind::label: line += fmt::format(" @{}", in.operand); break;
        case OperandKind::callee: line.append(1, ' ').append(program.call_targets[operand]); break;
        }
        lines.push_back(line);
    }
    return lines;
}
using Code = std::vector<std::string>;

const Function& function_named(const Program& program, std::string_view name) {
    const int index = program.find_function(name);
    BOOST_TEST_REQUIRE(index >= 0, "no function " << name);
    return program.functions[static_cast<std::size_t>(index)];
}

// The example `name` with `from` (a size constant) replaced by `to`.
std::string example_with(const std::string& name, const std::string& from, const std::string& to) {
    std::string text = read_text_file(std::string(OPSCOPE_SOURCE_DIR) + "/examples/" + name);
    const std::size_t at = text.find(from);
    BOOST_TEST_REQUIRE(at != std::string::npos, name << " has no '" << from << "'");
    return text.replace(at, from.size(), to);
}

// --- C++ reference implementations of bench/ALGORITHMS.md ------------------------------------------------
std::int64_t reference_fib(std::int64_t n) { return n < 2 ? n : reference_fib(n - 1) + reference_fib(n - 2); }

std::int64_t reference_loop(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum = (sum + i) % 1000003;
    return sum;
}

std::int64_t reference_sieve(std::int64_t n, int repetitions) {
    std::int64_t count = 0;
    for (int r = 0; r < repetitions; ++r) {
        std::vector<bool> flags(static_cast<std::size_t>(n + 1), true);
        for (std::int64_t i = 2; i * i <= n; ++i)
            if (flags[static_cast<std::size_t>(i)])
                for (std::int64_t j = i * i; j <= n; j += i) flags[static_cast<std::size_t>(j)] = false;
        count = 0;
        for (std::int64_t k = 2; k <= n; ++k) count += flags[static_cast<std::size_t>(k)] ? 1 : 0;
    }
    return count;
}

std::int64_t reference_calls(std::int64_t n) {
    std::int64_t s = 0;
    for (std::int64_t i = 0; i < n; ++i) s = s + i + 1;
    return s;
}

} // namespace

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(semantics)

BOOST_AUTO_TEST_CASE(arithmetic_and_precedence) {
    BOOST_TEST(output_of(R"(
print(1 + 2 * 3);
print((1 + 2) * 3);
print(10 - 4 - 3);
print(100 / 10 / 5);
print(7 / 2);
print(-7 / 2);
print(-7 % 3);
print(7 % -3);
print(2 * -3);
print(- -4);
print(-(2 + 3) * 2);
print(1 + 2 < 4 == true);
print(1 < 2 == 2 < 3);
print(true || false && false);
print((true || false) && false);
print(!0);
print(!1 == false);
print(9223372036854775807 + 1);
print(-9223372036854775808);
print(0x1f + 0X10);
)") == "7\n9\n3\n2\n3\n-3\n-1\n1\n-6\n4\n-10\ntrue\ntrue\ntrue\nfalse\ntrue\ntrue\n"
           "-9223372036854775808\n-9223372036854775808\n47\n");
}

BOOST_AUTO_TEST_CASE(floats_strings_and_literals) {
    BOOST_TEST(output_of(R"(
print(1.5 + 1);
print(2e3);
print(1.5e-3);
print(-2.5 * 2);
print(7.0 / 2);
print("con" + "cat");
print("q\"uote\" back\\slash");
print("a\tb");
print(len("hello"));
print(len("a\0b"));
print(nil);
print(true);
print("a" < "b");
print(1 == 1.0);
print("x" != "x");
)") == "2.5\n2000.0\n0.0015\n-5.0\n3.5\nconcat\nq\"uote\" back\\slash\na\tb\n5\n3\nnil\ntrue\ntrue\ntrue\nfalse\n");
}

// A return lands on the instruction after its call, and the ones that take the top of the stack (add, sub,
// mul, store, ret, and the fused add/sub/mul-and-return) take the returned value from a register there
// (interpreter.hpp, landing_table): every type, the fallbacks to the general handlers, and the faults'
// places must be what reading it from the stack gives.
BOOST_AUTO_TEST_CASE(returned_values_feed_arithmetic_stores_and_returns) {
    const std::string functions = R"(fn id(x) { return x; }
fn twice(x) { return id(id(x)); }
fn sum(a, b) { return id(a) + id(b); }
fn diff(a, b) { return id(a) - id(b); }
fn prod(a, b) { return id(a) * id(b); }
fn kept(a) { let y = 0; y = id(a); return y; }
fn spread(a, b) { let s = id(a) + id(b); let d = id(a) - id(b); let p = id(a) * id(b); return s + d + p; }
)";
    BOOST_TEST(output_of(functions + R"(print(sum(2, 3)); print(diff(10, 4)); print(prod(6, 7));
print(sum(1.5, 2)); print(diff(2, 0.5)); print(prod(2.5, 2)); print(sum("ab", "cd"));
print(sum(9223372036854775807, 1)); print(prod(4611686018427387904, 2));
print(kept("s")); print(kept(nil)); print(twice(7)); print(twice("t")); print(spread(7, 3)); print(spread(1.5, 0.5));
)") == "5\n6\n42\n3.5\n1.5\n5.0\nabcd\n-9223372036854775808\n-9223372036854775808\ns\nnil\n7\nt\n35\n3.75\n");
    const RuntimeError error = runtime_error_of(functions + "print(sum(1, \"x\"));\n");
    BOOST_TEST(error.message() == "type error: 'add' needs two numbers or two strings, got int and string");
    BOOST_TEST_REQUIRE(error.backtrace().size() == 2u);
    BOOST_TEST(error.backtrace()[0].function == "sum");
    BOOST_TEST(error.backtrace()[0].line == 3u);
    BOOST_TEST(error.backtrace()[0].offset == 4u);  // the add, after `load a; call id; load b; call id`
}

BOOST_AUTO_TEST_CASE(logical_operators_produce_bools) {
    BOOST_TEST(output_of(R"(
print(1 && 2);
print(0 && 2);
print(0 || nil);
print("s" || false);
print(!nil);
print(!"");
let t = 3;
let both = t > 1 && t < 5;
print(both);
)") == "true\nfalse\nfalse\ntrue\ntrue\nfalse\ntrue\n");
}

BOOST_AUTO_TEST_CASE(short_circuit_evaluates_only_what_it_needs) {
    BOOST_TEST(output_of(R"(
fn hit(tag, value) {
    print(tag);
    return value;
}
if (hit("a", false) && hit("b", true)) { print("then1"); }
if (hit("c", true) || hit("d", true)) { print("then2"); }
let r = hit("e", 0) || hit("f", 7);
print(r);
if (!(hit("g", 0) || hit("h", 1))) { print("no"); } else { print("yes"); }
hit("i", false) && hit("j", true);
hit("k", true) || hit("l", true);
while (hit("m", true) && hit("n", false)) { print("never"); }
)") == "a\nc\nthen2\ne\nf\ntrue\ng\nh\nyes\ni\nk\nm\nn\n");
}

BOOST_AUTO_TEST_CASE(if_else_if_chains) {
    BOOST_TEST(output_of(R"(
fn classify(n) {
    if (n < 0) {
        return "negative";
    } else if (n == 0) {
        return "zero";
    } else if (n < 10) {
        return "small";
    } else {
        return "large";
    }
}
for (let i = -1; i < 12; i = i + 4) { print(classify(i)); }  // -1 3 7 11
let x = 5;
if (x > 3) { print("big"); }
if (x > 30) { print("huge"); }
if (x == 5) { print("five"); } else { print("not five"); }
if (nil) { print("nil is truthy"); } else if (0.0) { print("0.0 is truthy"); } else { print("both falsy"); }
)") == "negative\nsmall\nsmall\nlarge\nbig\nfive\nboth falsy\n");
}

BOOST_AUTO_TEST_CASE(while_and_for_loops) {
    BOOST_TEST(output_of(R"(
let i = 0;
let total = 0;
while (i < 5) {
    total = total + i;
    i = i + 1;
}
print(total);
for (let k = 3; k > 0; k = k - 1) { print(k); }
let n = 0;
for (; n < 3;) { n = n + 1; }
print(n);
for (;;) { n = n + 10; if (n > 40) { break; } }
print(n);
while (false) { print("never"); }
)") == "10\n3\n2\n1\n3\n43\n");
}

BOOST_AUTO_TEST_CASE(break_and_continue_in_nested_loops) {
    // Inner `break`/`continue` act on the inner loop only; `continue` in a `for` runs the step.
    BOOST_TEST(output_of(R"(
for (let i = 0; i < 4; i = i + 1) {
    if (i == 1) { continue; }
    let j = 0;
    while (true) {
        j = j + 1;
        if (j > i) { break; }
        if (j == 2) { continue; }
        print(i * 10 + j);
    }
    if (i == 3) { break; }
    print("end " + "of row");
}
let w = 0;
while (w < 6) {
    w = w + 1;
    if (w % 2 == 0) { continue; }
    for (let q = 0; q < 10; q = q + 1) {
        if (q == 2) { break; }
        print(w * 100 + q);
    }
}
)") == "end of row\n21\nend of row\n31\n33\n100\n101\n300\n301\n500\n501\n");
}

BOOST_AUTO_TEST_CASE(block_scoping_and_shadowing) {
    BOOST_TEST(output_of(R"(
let x = "global";
fn show() { print(x); }
fn shadow() {
    let x = "local";
    print(x);
    show();
}
fn parameter(x) { return x; }
shadow();
{
    let x = "block";
    print(x);
    {
        let x = "inner";
        print(x);
    }
    print(x);
}
print(x);
print(parameter("argument"));
let y = 1;
{
    let y = y + 1;
    print(y);
}
print(y);
for (let x = 0; x < 1; x = x + 1) { print(x); }
print(x);
)") == "local\nglobal\nblock\ninner\nblock\nglobal\nargument\n2\n1\n0\nglobal\n");
}

BOOST_AUTO_TEST_CASE(locals_reuse_slots_after_their_scope) {
    const Program program = compile(R"(
fn f(a) {
    { let b = 1; let c = 2; }
    { let d = 3; }
    for (let i = 0; i < 1; i = i + 1) { let e = i; }
    return a;
}
{ let m = 1; }
{ let n = 2; let o = 3; }
let g = 4;
)");
    BOOST_TEST(function_named(program, "f").nargs == 1u);
    BOOST_TEST(function_named(program, "f").nlocals == 3u);
    BOOST_TEST(function_named(program, "main").nlocals == 2u);
    BOOST_TEST(program.globals == std::vector<std::string>{"g"});
}

BOOST_AUTO_TEST_CASE(globals_are_shared_with_functions) {
    BOOST_TEST(output_of(R"(
let count = 0;
fn bump(by) { count = count + by; }
fn read_later() { return later; }   // a global declared further down is visible in functions
bump(2);
bump(3);
print(count);
let later = "later";
print(read_later());
)") == "5\nlater\n");
}

BOOST_AUTO_TEST_CASE(recursion_and_calls_before_definition) {
    BOOST_TEST(output_of(R"(
print(fact(10));
print(is_even(10));
print(is_even(7));
fn fact(n) {
    if (n <= 1) { return 1; }
    return n * fact(n - 1);
}
fn is_even(n) { if (n == 0) { return true; } return is_odd(n - 1); }
fn is_odd(n) { if (n == 0) { return false; } return is_even(n - 1); }
)") == "3628800\ntrue\nfalse\n");
}

BOOST_AUTO_TEST_CASE(return_without_value_and_falling_off_the_end) {
    BOOST_TEST(output_of(R"(
fn nothing() { return; }
fn no_return(a) { a = a + 1; }
fn maybe(flag) { if (flag) { return "yes"; } }
fn early(n) {
    while (true) {
        if (n > 3) { return n; }
        n = n + 1;
    }
}
print(nothing());
print(no_return(1));
print(maybe(true));
print(maybe(false));
print(early(0));
)") == "nil\nnil\nyes\nnil\n4\n");
}

BOOST_AUTO_TEST_CASE(top_level_return_ends_the_program_with_its_value) {
    const Program program = compile("print(1);\nif (true) { return 6 * 7; }\nprint(2);\n");
    Vm<> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(program);
    const Value result = vm.run();
    BOOST_TEST(out.str() == "1\n");
    BOOST_TEST(to_display(result) == "42");
}

BOOST_AUTO_TEST_CASE(arrays) {
    BOOST_TEST(output_of(R"(
let a = array(3);
print(a);
a[0] = 1;
a[1] = 2 + 3;
a[2] = array(2);
a[2][1] = 7;
print(a);
print(len(a));
print(a[2][1] + a[1]);
let b = a;
b[0] = 99;
print(a[0]);
print(a == b);
print(array(0) == array(0));
fn fill(n) {
    let r = array(n);
    for (let i = 0; i < n; i = i + 1) { r[i] = i * i; }
    return r;
}
print(fill(5));
)") == "[nil, nil, nil]\n[1, 5, [nil, 7]]\n3\n12\n99\ntrue\nfalse\n[0, 1, 4, 9, 16]\n");
}

// An array of nils 64 or more long starts packed, a byte per element, while it holds only nils and booleans
// (value.hpp's Array): what a program reads back must not depend on the layout, nor on which store unpacks it
// (a local's value, a constant, a plain store) or where the unpacked elements land (the first and the last;
// unpacking goes down from the last element in place).
BOOST_AUTO_TEST_CASE(long_arrays_read_back_what_was_stored_packed_or_unpacked) {
    const std::string pattern = R"(
fn mark(a) {
    for (let i = 0; i < len(a); i = i + 1) {
        if (i % 3 == 1) { a[i] = true; }
        if (i % 3 == 2) { a[i] = false; }
    }
    return a;
}
// How many elements differ from mark's pattern, in value or in truth.
fn check(a) {
    let bad = 0;
    for (let i = 0; i < len(a); i = i + 1) {
        let want = nil;
        if (i % 3 == 1) { want = true; }
        if (i % 3 == 2) { want = false; }
        let truth = false;
        if (a[i]) { truth = true; }
        if (a[i] != want || truth != (want == true)) { bad = bad + 1; }
    }
    return bad;
}
)";
    BOOST_TEST(output_of(pattern + R"(
let a = mark(array(200));
print(check(a));
let s = mark(array(63));
print(check(s));
let x = mark(array(70));
x[69] = "last";
x[69] = nil;
print(check(x));
let y = mark(array(64));
y[0] = 5;
y[0] = nil;
print(check(y));
let z = mark(array(100));
z[50] = 1.5;
print(z[50]);
z[50] = false;
print(check(z));
let c = mark(array(66));
for (let i = 0; i < len(c); i = i + 1) { if (i == 65) { c[i] = "const"; } }
print(c[65]);
c[65] = false;
print(check(c));
print(mark(array(64)));
)") == "0\n0\n0\n0\n1.5\n0\nconst\n0\n"
                  "[nil, true, false, nil, true, false, nil, true, false, nil, true, false, nil, true, false, nil, "
                  "true, false, nil, true, false, nil, true, false, nil, true, false, nil, true, false, nil, true, "
                  "false, nil, true, false, nil, true, false, nil, true, false, nil, true, false, nil, true, false, "
                  "nil, true, false, nil, true, false, nil, true, false, nil, true, false, nil, true, false, nil]\n");
}

BOOST_AUTO_TEST_CASE(print_as_an_expression_yields_nil) {
    BOOST_TEST(output_of("let p = print(1);\nprint(p);\nprint(print(2));\n") == "1\nnil\n2\nnil\n");
}

BOOST_AUTO_TEST_CASE(expression_statements_discard_their_values) {
    // A value left behind per iteration would be rejected by the verifier or overflow the stack.
    BOOST_TEST(output_of(R"(
fn id(v) { return v; }
let g = 0;
for (let i = 0; i < 100000; i = i + 1) {
    id(i);
    i + 1;
    g;
    i;
    5;
    "text";
    i < 3 && id(true);
}
print("done");
)") == "done\n");
}

BOOST_AUTO_TEST_CASE(natives_builtin_and_registered) {
    BOOST_TEST(output_of("print(sqrt(16));\nprint(clock() > 0);\nlet t = clock();\nprint(clock() >= t);\n") ==
               "4.0\ntrue\ntrue\n");
    const Program program = compile("print(twice(21));\nprint(twice(sqrt(4)));\n", {{"twice", 1}});
    Vm<> vm;
    vm.register_native("twice", 1, [](Machine&, std::span<const Value> args) {
        return args[0].is_int() ? Value::integer(args[0].as.i * 2) : Value::floating(args[0].to_double() * 2);
    });
    std::ostringstream out;
    vm.set_output(out);
    vm.load(program);
    vm.run();
    BOOST_TEST(out.str() == "42\n4.0\n");
}

BOOST_AUTO_TEST_CASE(comments_and_layout) {
    BOOST_TEST(output_of("// leading comment\nprint(1); // trailing\n\n\t  print(\n  2\n  );// end") == "1\n2\n");
    BOOST_TEST(output_of("") == "");
    BOOST_TEST(output_of("// only a comment") == "");
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(generated_code)

BOOST_AUTO_TEST_CASE(for_loop_tests_its_condition_at_the_bottom) {
    const Program program = compile(R"(
fn sum(n) {
    let s = 0;
    for (let i = 0; i < n; i = i + 1) {
        s = s + i;
    }
    return s;
}
)");
    BOOST_TEST(code_of(program, "sum") == (Code{"push 0", "store 1", "push 0", "store 2", "jmp @13", "load 1",
                                                "load 2", "add", "store 1", "load 2", "push 1", "add", "store 2",
                                                "load 2", "load 0", "lt", "jnz @5", "load 1", "ret"}));
    BOOST_TEST(function_named(program, "sum").nlocals == 3u);
}

BOOST_AUTO_TEST_CASE(conditions_compile_to_jumps) {
    const Program program = compile(R"(
fn f(a, b) {
    while (a < b && !(a == 5)) { a = a + 1; }
    return a;
}
fn g(x) {
    if (x < 0 || x > 9) { return "out"; } else if (x == 0) { return "zero"; } else { print(x); }
}
fn h(a, b) { return a && b; }
)");
    BOOST_TEST(code_of(program, "f") == (Code{"jmp @5", "load 0", "push 1", "add", "store 0", "load 0", "load 1",
                                              "lt", "jz @13", "load 0", "push 5", "eq", "jz @1", "load 0", "ret"}));
    BOOST_TEST(code_of(program, "g") ==
               (Code{"load 0", "push 0", "lt", "jnz @8", "load 0", "push 9", "gt", "jz @10", "push \"out\"", "ret",
                     "load 0", "push 0", "eq", "jz @16", "push \"zero\"", "ret", "load 0", "print", "push nil",
                     "ret"}));
    BOOST_TEST(code_of(program, "h") ==
               (Code{"load 0", "jz @6", "load 1", "jz @6", "push true", "jmp @7", "push false", "ret"}));
}

BOOST_AUTO_TEST_CASE(constant_conditions_need_no_test) {
    const Program program = compile(R"(
fn spin(n) {
    while (true) {
        n = n - 1;
        if (n < 0) { break; }
    }
    return n;
}
)");
    // `if (c) { break; }` is one conditional jump to the loop's exit.
    BOOST_TEST(code_of(program, "spin") == (Code{"load 0", "push 1", "sub", "store 0", "load 0", "push 0", "lt",
                                                 "jnz @9", "jmp @0", "load 0", "ret"}));
}

BOOST_AUTO_TEST_CASE(statements_leave_nothing_and_return_directly) {
    const Program program = compile(R"(
fn k(a) {
    print(a);
    k2(a);
    a;
    7;
    return;
}
fn k2(b) { return b; }
fn unreachable_tail(c) {
    return c;
    print("dead");
}
)");
    BOOST_TEST(code_of(program, "k") == (Code{"load 0", "print", "load 0", "call k2", "pop", "push nil", "ret"}));
    BOOST_TEST(code_of(program, "k2") == (Code{"load 0", "ret"}));
    BOOST_TEST(code_of(program, "unreachable_tail") == (Code{"load 0", "ret"}));
    BOOST_TEST(program.constants.size() == 1u, "the dead code's string was not interned");
}

BOOST_AUTO_TEST_CASE(main_holds_the_top_level_and_ends_with_halt) {
    const Program program = compile(R"(
let g = 1;
for (let i = 0; i < 2; i = i + 1) { g = g + i; }
print(g);
)");
    BOOST_TEST(program.functions.size() == 1u);
    BOOST_TEST(program.functions[0].name == "main");
    BOOST_TEST(program.functions[0].nargs == 0u);
    BOOST_TEST(program.functions[0].nlocals == 1u);
    BOOST_TEST(code_of(program, "main") ==
               (Code{"push 1", "gstore g", "push 0", "store 0", "jmp @13", "gload g", "load 0", "add", "gstore g",
                     "load 0", "push 1", "add", "store 0", "load 0", "push 2", "lt", "jnz @5", "gload g", "print",
                     "halt"}));
}

BOOST_AUTO_TEST_CASE(builtins_compile_to_their_opcodes) {
    const Program program = compile("let a = array(2);\nprint(len(a));\nprint(sqrt(clock()));\n");
    BOOST_TEST(code_of(program, "main") == (Code{"push 2", "newarray", "gstore a", "gload a", "len", "print",
                                                 "call clock", "call sqrt", "print", "halt"}));
    BOOST_TEST(program.call_targets == (std::vector<std::string>{"clock", "sqrt"}));
}

BOOST_AUTO_TEST_CASE(tables_are_interned_in_first_use_order) {
    const Program program = compile(R"(
print(first());
let b = "x";
let a = 2;
fn first() { return second(a, b) + 1; }
fn second(p, q) { return 2; }
)");
    BOOST_TEST(program.call_targets == (std::vector<std::string>{"first", "second"}));
    BOOST_TEST(program.globals == (std::vector<std::string>{"b", "a"}));
    BOOST_TEST(program.constants.size() == 3u);  // "x", 2, 1
    BOOST_TEST(program.source_file == kFile);
    BOOST_TEST(program.functions[0].name == "main");
    BOOST_TEST(program.functions[1].name == "first");
    BOOST_TEST(program.functions[2].name == "second");
}

BOOST_AUTO_TEST_CASE(every_instruction_has_its_source_position) {
    const Program program = compile("let a = 10;\nlet b = 0;\nprint(a /\n      b);\n");
    const Function& main = program.functions[0];
    BOOST_TEST_REQUIRE(main.positions.size() == main.code.size());
    // push 10, gstore a, push 0, gstore b, gload a, gload b, div, print, halt
    const std::vector<SourcePos> expected{{1, 9}, {1, 1}, {2, 9}, {2, 1}, {3, 7}, {4, 7}, {3, 9}, {3, 1}, {4, 10}};
    BOOST_TEST_REQUIRE(main.positions.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        BOOST_TEST(main.positions[i].line == expected[i].line, "instruction " << i);
        BOOST_TEST(main.positions[i].column == expected[i].column, "instruction " << i);
    }
    for (const char* name : {"fib.ops", "loop.ops", "sieve.ops", "calls.ops", "hello.ops"}) {
        const Program example = compile(read_text_file(std::string(OPSCOPE_SOURCE_DIR) + "/examples/" + name));
        for (const Function& f : example.functions) {
            BOOST_TEST(f.positions.size() == f.code.size(), name << " " << f.name);
            for (const SourcePos& pos : f.positions) BOOST_TEST((pos.line > 0 && pos.column > 0));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(compile_errors)

BOOST_AUTO_TEST_CASE(syntax_errors_name_what_was_expected_and_found) {
    BOOST_TEST(errors_of("let x = 1 +;") == (Errors{"1:12: expected expression, found ';'"}));
    BOOST_TEST(errors_of("print(1)\nprint(2);") == (Errors{"2:1: expected ';', found identifier 'print'"}));
    BOOST_TEST(errors_of("if (1 { print(1); }") == (Errors{"1:7: expected ')', found '{'"}));
    BOOST_TEST(errors_of("if (1) print(1);") == (Errors{"1:8: expected '{', found identifier 'print'"}));
    BOOST_TEST(errors_of("let 5 = 3;") == (Errors{"1:5: expected variable name, found number '5'"}));
    BOOST_TEST(errors_of("fn (a) {}") == (Errors{"1:4: expected function name, found '('"}));
    BOOST_TEST(errors_of("fn f(a b) {}") == (Errors{"1:8: expected ',' or ')', found identifier 'b'"}));
    BOOST_TEST(errors_of("fn f(1) {}") == (Errors{"1:6: expected parameter name, found number '1'"}));
    BOOST_TEST(errors_of("print(1, 2;") == (Errors{"1:11: expected ',' or ')', found ';'"}));
    BOOST_TEST(errors_of("let a = array(2);\na[0 = 1;") == (Errors{"2:5: expected ']', found '='"}));
    BOOST_TEST(errors_of("print(\"s\" \"t\");") == (Errors{"1:11: expected ',' or ')', found string \"t\""}));
    BOOST_TEST(errors_of("while (true) { break }") == (Errors{"1:22: expected ';', found '}'"}));
    BOOST_TEST(errors_of("fn f() {\n    return 1;\n") == (Errors{"2:14: expected '}', found end of file"}));
    BOOST_TEST(errors_of("print(1);\n}\n") == (Errors{"2:1: unexpected '}'"}));
    BOOST_TEST(errors_of("else { }") == (Errors{"1:1: expected expression, found 'else'"}));
    BOOST_TEST(errors_of("for (let i = 0; i < 3) {}") == (Errors{"1:22: expected ';', found ')'"}));
}

BOOST_AUTO_TEST_CASE(lexical_errors) {
    BOOST_TEST(errors_of("let s = \"abc;\nprint(1);") ==
               (Errors{"1:9: unterminated string", "2:1: expected ';', found identifier 'print'"}));
    BOOST_TEST(errors_of("print(\"a\\qb\");") == (Errors{"1:9: invalid escape sequence '\\q' in string"}));
    BOOST_TEST(errors_of("let a = 1 # 2;") ==
               (Errors{"1:11: unexpected character '#'", "1:13: expected ';', found number '2'"}));
    BOOST_TEST(errors_of("let a = 1;\nif (a & 1) {}") ==
               (Errors{"2:7: unexpected character '&' (did you mean '&&'?)", "2:9: expected ')', found number '1'"}));
    BOOST_TEST(errors_of("print(12abc);") == (Errors{"1:7: invalid number '12abc'"}));
    BOOST_TEST(errors_of("print(0x);") == (Errors{"1:7: invalid number '0x'"}));
}

BOOST_AUTO_TEST_CASE(integer_literals_out_of_range) {
    BOOST_TEST(errors_of("print(9223372036854775808);") ==
               (Errors{"1:7: integer literal '9223372036854775808' is out of range (64-bit signed)"}));
    BOOST_TEST(errors_of("print(-9223372036854775809);") ==
               (Errors{"1:8: integer literal '-9223372036854775809' is out of range (64-bit signed)"}));
    BOOST_TEST(errors_of("print(99999999999999999999999);") ==
               (Errors{"1:7: integer literal '99999999999999999999999' is out of range (64-bit signed)"}));
    BOOST_TEST(errors_of("print(0x8000000000000000);") ==
               (Errors{"1:7: integer literal '0x8000000000000000' is out of range (64-bit signed)"}));
    BOOST_TEST(output_of("print(-9223372036854775808);\nprint(0x7fffffffffffffff);") ==
               "-9223372036854775808\n9223372036854775807\n");
}

// Issue 16: `1e999` compiled to 0.0 without a word (from_chars leaves the value alone when out of range). Like
// the assembler (test_assembler's bad_literals), a float literal beyond double's range either way is an error.
BOOST_AUTO_TEST_CASE(float_literals_out_of_range) {
    BOOST_TEST(errors_of("print(1e999);") == (Errors{"1:7: float literal '1e999' out of range"}));
    BOOST_TEST(errors_of("let x = 1;\nprint(x + 2.5e400);") == (Errors{"2:11: float literal '2.5e400' out of range"}));
    BOOST_TEST(errors_of("print(-1e-999);") == (Errors{"1:8: float literal '1e-999' out of range"}));
    BOOST_TEST(errors_of("print(1e999x);") == (Errors{"1:7: invalid number '1e999x'"}));  // one error, not two
    BOOST_TEST(output_of("print(1.7976931348623157e308);\nprint(5e-324 > 0.0);") == "1.7976931348623157e+308\ntrue\n");
}

// Issue 16: a line of garbage had one diagnostic per byte, each holding a copy of the whole line (a 100 KB line:
// 4 GB, and minutes; 10 MB: killed). A ProgramError keeps the first kMaxDiagnostics by position, then one line
// counting the rest, and each keeps only a window of its line.
BOOST_AUTO_TEST_CASE(errors_of_a_long_garbage_line_are_bounded) {
    const std::string source = "print(1);\n" + std::string(200000, '@') + "\n";
    const ProgramError e = test::thrown_by<ProgramError>([&] { compile(source); });
    BOOST_TEST_REQUIRE(e.diagnostics().size() == kMaxDiagnostics + 1);
    BOOST_TEST(e.diagnostics()[0].column == 1u);
    BOOST_TEST(e.diagnostics()[kMaxDiagnostics - 1].column == kMaxDiagnostics);
    BOOST_TEST(e.diagnostics().back().message == fmt::format("{} more errors not shown", 200000 - kMaxDiagnostics));
    for (const Diagnostic& d : e.diagnostics()) BOOST_TEST(d.source_line.size() <= Diagnostic::kSourceWindow);
    BOOST_TEST(std::string_view(e.what()).size() < 100000u);
}

BOOST_AUTO_TEST_CASE(undefined_names) {
    BOOST_TEST(errors_of("print(y);") == (Errors{"1:7: undefined variable 'y'"}));
    BOOST_TEST(errors_of("print(1);\nfoo(1, 2);") == (Errors{"2:1: undefined function 'foo'"}));
    BOOST_TEST(errors_of("print(g);\nlet g = 1;") == (Errors{"1:7: undefined variable 'g'"}));
    BOOST_TEST(errors_of("{ let inner = 1; }\nprint(inner);") == (Errors{"2:7: undefined variable 'inner'"}));
    BOOST_TEST(errors_of("for (let i = 0; i < 2; i = i + 1) {}\nprint(i);") ==
               (Errors{"2:7: undefined variable 'i'"}));
    BOOST_TEST(errors_of("fn f() { return local; }\nfn g() { let local = 1; return 0; }") ==
               (Errors{"1:17: undefined variable 'local'"}));
    BOOST_TEST(errors_of("let v = 1;\nv(2);") == (Errors{"2:1: undefined function 'v'"}));
}

BOOST_AUTO_TEST_CASE(wrong_number_of_arguments) {
    BOOST_TEST(errors_of("fn f(a, b) { return a; }\nprint(f(1));") ==
               (Errors{"2:7: wrong number of arguments to 'f': expected 2, got 1"}));
    BOOST_TEST(errors_of("print(1, 2);") == (Errors{"1:1: wrong number of arguments to 'print': expected 1, got 2"}));
    BOOST_TEST(errors_of("let a = array();") ==
               (Errors{"1:9: wrong number of arguments to 'array': expected 1, got 0"}));
    BOOST_TEST(errors_of("print(len(1, 2));") ==
               (Errors{"1:7: wrong number of arguments to 'len': expected 1, got 2"}));
    BOOST_TEST(errors_of("print(clock(1));") ==
               (Errors{"1:7: wrong number of arguments to 'clock': expected 0, got 1"}));
    BOOST_TEST(errors_of("print(sqrt());") == (Errors{"1:7: wrong number of arguments to 'sqrt': expected 1, got 0"}));
    BOOST_TEST(errors_of("print(twice(1, 2));", {{"twice", 1}}) ==
               (Errors{"1:7: wrong number of arguments to 'twice': expected 1, got 2"}));
    BOOST_TEST(errors_of("print(later());\nfn later(x) { return x; }") ==
               (Errors{"1:7: wrong number of arguments to 'later': expected 1, got 0"}));
}

BOOST_AUTO_TEST_CASE(assignments) {
    BOOST_TEST(errors_of("z = 1;") == (Errors{"1:1: assignment to undeclared variable 'z'"}));
    BOOST_TEST(errors_of("fn f() { w = 2; }") == (Errors{"1:10: assignment to undeclared variable 'w'"}));
    BOOST_TEST(errors_of("1 = 2;") == (Errors{"1:3: invalid assignment target"}));
    BOOST_TEST(errors_of("fn f() { return 1; }\nf() = 3;") == (Errors{"2:5: invalid assignment target"}));
    BOOST_TEST(errors_of("let a = 1;\nlet b = 2;\na + b = 3;") == (Errors{"3:7: invalid assignment target"}));
    BOOST_TEST(errors_of("let a = 1;\n(a) = nope;") ==
               (Errors{"2:7: undefined variable 'nope'"}));  // a parenthesised name is still a name
}

BOOST_AUTO_TEST_CASE(break_and_continue_outside_a_loop) {
    BOOST_TEST(errors_of("break;") == (Errors{"1:1: 'break' outside a loop"}));
    BOOST_TEST(errors_of("if (true) {\n    continue;\n}") == (Errors{"2:5: 'continue' outside a loop"}));
    // A function body is not inside the loop that calls it.
    BOOST_TEST(errors_of("fn f() { break; }\nwhile (true) { f(); }") == (Errors{"1:10: 'break' outside a loop"}));
}

BOOST_AUTO_TEST_CASE(duplicate_declarations) {
    BOOST_TEST(errors_of("fn f() {}\nfn f() {}") == (Errors{"2:4: duplicate function 'f' (first defined at line 1)"}));
    BOOST_TEST(errors_of("fn len(x) { return 0; }") ==
               (Errors{"1:4: 'len' is a built-in function and cannot be redefined"}));
    BOOST_TEST(errors_of("fn sqrt(x) { return 0; }") ==
               (Errors{"1:4: 'sqrt' is a built-in function and cannot be redefined"}));
    BOOST_TEST(errors_of("fn main() {}") == (Errors{"1:4: 'main' is reserved for top-level code"}));
    BOOST_TEST(errors_of("{\n    let a = 1;\n    let a = 2;\n}") ==
               (Errors{"3:9: 'a' is already declared in this scope"}));
    BOOST_TEST(errors_of("let g = 1;\nlet g = 2;") == (Errors{"2:5: 'g' is already declared in this scope"}));
    BOOST_TEST(errors_of("fn f(p, p) { return p; }") == (Errors{"1:9: duplicate parameter 'p'"}));
    BOOST_TEST(errors_of("fn f(p) { let p = 2; return p; }") ==
               (Errors{"1:15: 'p' is already declared in this scope"}));
    BOOST_TEST(errors_of("{\n    fn inner() {}\n}") == (Errors{"2:5: functions can only be defined at top level"}));
    // The same name in an inner scope is shadowing, not a duplicate.
    BOOST_TEST(output_of("{ let a = 1; { let a = 2; print(a); } print(a); }") == "2\n1\n");
}

BOOST_AUTO_TEST_CASE(several_errors_in_one_compile) {
    const std::string source = R"(fn f(a) {
    return a +;
}
print(undefined_thing);
let x = 1;
x = ;
fn f(b) { return b; }
while (x < 3) {
    x = x + 1
}
break;
nope(1);
print(f(1, 2));
)";
    BOOST_TEST(errors_of(source) == (Errors{
                                        "2:15: expected expression, found ';'",
                                        "4:7: undefined variable 'undefined_thing'",
                                        "6:5: expected expression, found ';'",
                                        "7:4: duplicate function 'f' (first defined at line 1)",
                                        "10:1: expected ';', found '}'",
                                        "11:1: 'break' outside a loop",
                                        "12:1: undefined function 'nope'",
                                        "13:7: wrong number of arguments to 'f': expected 1, got 2",
                                    }));
}

BOOST_AUTO_TEST_CASE(recovery_causes_no_follow_on_errors) {
    // A broken `let` still declares its name; a broken parameter list still declares the function.
    BOOST_TEST(errors_of("let x = ;\nprint(x);") == (Errors{"1:9: expected expression, found ';'"}));
    BOOST_TEST(errors_of("fn f(a b) { return a; }\nprint(f(1));\nprint(f());") ==
               (Errors{"1:8: expected ',' or ')', found identifier 'b'"}));
    // A broken statement inside a block does not end the block or the function.
    BOOST_TEST(errors_of("fn g() {\n    let y = 1 +;\n    return y;\n}\nprint(g());\nprint(zz);") ==
               (Errors{"2:16: expected expression, found ';'", "6:7: undefined variable 'zz'"}));
    // One error per broken statement, each resumed at the next statement.
    BOOST_TEST(errors_of("let a = (;\nlet b = );\nlet c = 1 2;\nprint(a, b, c);") ==
               (Errors{"1:10: expected expression, found ';'", "2:9: expected expression, found ')'",
                       "3:11: expected ';', found number '2'",
                       "4:1: wrong number of arguments to 'print': expected 1, got 3"}));
}

BOOST_AUTO_TEST_CASE(diagnostics_carry_file_source_line_and_caret) {
    const ProgramError error = test::thrown_by<ProgramError>([] { compile("let ok = 1;\nprint(ok + missing);\n"); });
    BOOST_TEST_REQUIRE(error.diagnostics().size() == 1u);
    const Diagnostic& d = error.diagnostics()[0];
    BOOST_TEST(d.file == kFile);
    BOOST_TEST(d.line == 2u);
    BOOST_TEST(d.column == 12u);
    BOOST_TEST(d.message == "undefined variable 'missing'");
    BOOST_TEST(d.source_line == "print(ok + missing);");
    BOOST_TEST(d.format() == "t.ops:2:12: error: undefined variable 'missing'\n"
                             "    print(ok + missing);\n"
                             "               ^");
    BOOST_TEST(std::string(error.what()).starts_with("t.ops:2:12: error: undefined variable 'missing'"));
}

BOOST_AUTO_TEST_CASE(pathological_nesting_is_an_error_not_a_crash) {
    const std::string deep_parens = std::string(5000, '(') + "1" + std::string(5000, ')');
    BOOST_TEST(errors_of("print(" + deep_parens + ");").size() == 1u);
    std::string long_conjunction = "print(1";
    for (int i = 0; i < 5000; ++i) long_conjunction += " && 1";
    BOOST_TEST(errors_of(long_conjunction + ");").size() == 1u);
    std::string sum_of_300 = "print(0";
    for (int i = 0; i < 300; ++i) sum_of_300 += " + 1";
    BOOST_TEST(output_of(sum_of_300 + ");") == "300\n");
}

BOOST_AUTO_TEST_CASE(an_else_if_chain_of_any_length_compiles) {
    // 100,000 clauses (over 1 MB of source): the parser reads an `else if` chain with a loop and the tree
    // holds it as one node, so neither parsing nor code generation recurses per clause (each used to, and
    // overflowed the stack; so did destroying the tree, before its nodes lived in pools).
    constexpr int kClauses = 100000;
    std::string empty_chain;  // the shape of the report: `if(1){}else if(1){}...`
    for (int i = 0; i < kClauses; ++i) empty_chain += i ? "else if(1){}" : "if(1){}";
    BOOST_TEST(output_of(empty_chain + "print(1);") == "1\n");
    std::string chain = "let x = 0;\n";  // only the last clause is true
    for (int i = 0; i < kClauses; ++i) chain += fmt::format("if (x == {}) {{ x = x; }} else ", i % 100 + 1);
    chain += "{ print(x - 1); }\n";
    BOOST_TEST(output_of(chain) == "-1\n");
}

BOOST_AUTO_TEST_CASE(an_else_if_chain_compiles_as_nested_ifs_do) {
    // One node for the chain, the same code as an `if` nested in each `else` block.
    const std::string chain = "let x = 2;\n"
                              "if (x == 1) { print(1); } else if (x == 2) { print(2); } else { print(3); }\n"
                              "if (x == 3) { print(4); } else if (x == 4) { print(5); }\n";
    const std::string nested = "let x = 2;\n"
                               "if (x == 1) { print(1); } else { if (x == 2) { print(2); } else { print(3); } }\n"
                               "if (x == 3) { print(4); } else { if (x == 4) { print(5); } }\n";
    BOOST_TEST(output_of(chain) == "2\n");
    BOOST_TEST(code_of(compile(chain), "main") == code_of(compile(nested), "main"), disassemble(compile(chain)));
}

BOOST_AUTO_TEST_CASE(nesting_past_the_limit_is_a_compile_error_at_the_place) {
    const auto first_error = [](const std::string& source) {
        const ProgramError error = test::thrown_by<ProgramError>([&] { compile(source); });
        BOOST_TEST_REQUIRE(!error.diagnostics().empty());
        return error.diagnostics().front().format();
    };
    const auto repeated = [](std::string_view text, int times) {
        std::string out;
        for (int i = 0; i < times; ++i) out += text;
        return out;
    };
    // 200 levels compile; 201 do not, and the error is where the 201st level opens (the statement's expression
    // and the call's argument are two).
    BOOST_TEST(output_of("print(" + repeated("(", 198) + "7" + repeated(")", 198) + ");") == "7\n");
    BOOST_TEST(first_error("print(" + repeated("(", 5000) + "1" + repeated(")", 5000) + ");")
                   .starts_with("t.ops:1:206: error: nesting deeper than 200\n"));
    BOOST_TEST(first_error("print(" + repeated("-(", 5000) + "1" + repeated(")", 5000) + ");")
                   .starts_with("t.ops:1:206: error: nesting deeper than 200\n"));
    const std::string too_deep = ": error: nesting deeper than 200\n";
    BOOST_TEST(first_error("print(" + repeated("-", 5000) + "x);").starts_with("t.ops:1:206" + too_deep));
    BOOST_TEST(first_error("print(" + repeated("!", 5000) + "true);").starts_with("t.ops:1:206" + too_deep));
    BOOST_TEST(first_error(repeated("{", 5000) + repeated("}", 5000)).starts_with("t.ops:1:201" + too_deep));
    BOOST_TEST(first_error(repeated("if (1) {", 5000) + repeated("}", 5000))
                   .starts_with("t.ops:1:1605: error: nesting deeper than 200\n"));
    BOOST_TEST(first_error("let a = array(1);\na[0] = 0;\nprint(" + repeated("a[", 5000) + "0" + repeated("]", 5000) +
                           ");")
                   .starts_with("t.ops:3:405: error: nesting deeper than 200\n"));
    BOOST_TEST(first_error("fn f(x) { return x; }\nprint(" + repeated("f(", 5000) + "0" + repeated(")", 5000) + ");")
                   .starts_with("t.ops:2:405: error: nesting deeper than 200\n"));
    // A chain of arithmetic or comparison operators is read and compiled by loops: any length.
    BOOST_TEST(output_of("print(0" + repeated(" + 1", 100000) + ");") == "100000\n");
    BOOST_TEST(output_of("print(0" + repeated(" - 1 * 2", 50000) + " < 1 == true);") == "true\n");
    // `&&`, `||` and indexing recurse on the left too: past 1000 levels they are an error, at the operator
    // that goes past.
    BOOST_TEST(first_error("print(1" + repeated(" && 1", 5000) + ");")
                   .starts_with("t.ops:1:5004: error: expression deeper than 1000"));
    BOOST_TEST(first_error("let a = array(1);\na[0] = a;\nprint(a" + repeated("[0]", 5000) + ");")
                   .starts_with("t.ops:3:3005: error: expression deeper than 1000"));
    BOOST_TEST(output_of("print(1" + repeated(" || 1", 998) + ");") == "true\n");  // 999 with the call
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(runtime_errors)

BOOST_AUTO_TEST_CASE(backtrace_names_functions_and_source_lines) {
    const std::string source = R"(fn inner(a, b) {
    return a / b;
}
fn outer(x) {
    return inner(x, 0) + 1;
}
print(outer(7));
)";
    const RuntimeError error = runtime_error_of(source);
    BOOST_TEST(error.message() == "division by zero");
    const auto& trace = error.backtrace();
    BOOST_TEST_REQUIRE(trace.size() == 3u);
    const std::vector<std::pair<std::string, std::uint32_t>> expected{{"inner", 2}, {"outer", 5}, {"main", 7}};
    const Program program = compile(source);
    for (std::size_t i = 0; i < trace.size(); ++i) {
        BOOST_TEST(trace[i].function == expected[i].first);
        BOOST_TEST(trace[i].line == expected[i].second);
        BOOST_TEST(trace[i].file == kFile);
        // The frame's offset is the faulting instruction (a call in the outer frames), at that line.
        const Function& f = function_named(program, trace[i].function);
        BOOST_TEST(f.position(trace[i].offset).line == expected[i].second);
        BOOST_TEST(mnemonic(f.code[trace[i].offset].op) == (i == 0 ? "div" : "call"));
    }
    BOOST_TEST(error.format().find("at inner+") != std::string::npos);
    BOOST_TEST(error.format().find("(t.ops:2)") != std::string::npos);
    BOOST_TEST(error.format().find("(t.ops:7)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(faults_point_at_their_line) {
    const auto line_of = [](std::string_view source) {
        const RuntimeError error = runtime_error_of(source);
        BOOST_TEST_REQUIRE(!error.backtrace().empty());
        return error.backtrace().front().line;
    };
    BOOST_TEST(line_of("let a = 1;\nlet b = nil;\nprint(a + b);\n") == 3u);
    BOOST_TEST(line_of("let a = array(2);\n\na[5] = 1;\n") == 3u);
    BOOST_TEST(line_of("let a = array(2);\nprint(a[0]);\nprint(a[-1]);\n") == 3u);
    BOOST_TEST(line_of("print(1);\nprint(len(3));\n") == 2u);
    BOOST_TEST(line_of("let n = -1;\nlet a = array(n);\n") == 2u);
    BOOST_TEST(line_of("print(1 % 0);\n") == 1u);
}

BOOST_AUTO_TEST_CASE(reading_a_global_before_its_let_ran_is_a_runtime_error) {
    const RuntimeError error = runtime_error_of("fn f() {\n    return late;\n}\nprint(f());\nlet late = 1;\n");
    BOOST_TEST_REQUIRE(error.backtrace().size() == 2u);
    BOOST_TEST(error.backtrace()[0].function == "f");
    BOOST_TEST(error.backtrace()[0].line == 2u);
    BOOST_TEST(error.message().find("late") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(workloads)

BOOST_AUTO_TEST_CASE(reference_implementations_match_the_documented_outputs) {
    BOOST_TEST(reference_fib(30) == 832040);
    BOOST_TEST(reference_loop(100000000) == 45150);
    BOOST_TEST(reference_sieve(2000000, 1) == 148933);
    BOOST_TEST(reference_calls(10000000) == 50000005000000);
}

BOOST_AUTO_TEST_CASE(fib_at_small_sizes) {
    for (const int n : {0, 1, 2, 10, 18}) {
        const std::string source = example_with("fib.ops", "let N = 30;", fmt::format("let N = {};", n));
        BOOST_TEST(output_of(source) == fmt::format("{}\n", reference_fib(n)), "n = " << n);
    }
}

BOOST_AUTO_TEST_CASE(loop_at_small_sizes) {
    for (const int n : {0, 1, 1000, 200000}) {
        const std::string source = example_with("loop.ops", "let N = 100000000;", fmt::format("let N = {};", n));
        BOOST_TEST(output_of(source) == fmt::format("{}\n", reference_loop(n)), "n = " << n);
    }
}

BOOST_AUTO_TEST_CASE(sieve_at_small_sizes) {
    for (const int n : {2, 10, 100, 30000}) {
        std::string source = example_with("sieve.ops", "let N = 2000000;", fmt::format("let N = {};", n));
        const std::size_t at = source.find("let R = 5;");
        BOOST_TEST_REQUIRE(at != std::string::npos);
        source.replace(at, 10, "let R = 2;");
        BOOST_TEST(output_of(source) == fmt::format("{}\n", reference_sieve(n, 2)), "n = " << n);
    }
}

BOOST_AUTO_TEST_CASE(calls_at_small_sizes) {
    for (const int n : {0, 1, 5000, 100000}) {
        const std::string source = example_with("calls.ops", "let N = 10000000;", fmt::format("let N = {};", n));
        BOOST_TEST(output_of(source) == fmt::format("{}\n", reference_calls(n)), "n = " << n);
    }
}

BOOST_AUTO_TEST_CASE(hello_example) {
    BOOST_TEST(output_of(read_text_file(std::string(OPSCOPE_SOURCE_DIR) + "/examples/hello.ops")) ==
               "hello, opscope\n[0, 1, 4, 9, 16]\n");
}

BOOST_AUTO_TEST_SUITE_END()

// =========================================================================================================
BOOST_AUTO_TEST_SUITE(assembly_round_trip)

BOOST_AUTO_TEST_CASE(disassembly_reassembles_to_the_compiled_program) {
    std::vector<std::pair<std::string, std::string>> sources;
    for (const char* name : {"fib.ops", "loop.ops", "sieve.ops", "calls.ops", "hello.ops"})
        sources.emplace_back(name, read_text_file(std::string(OPSCOPE_SOURCE_DIR) + "/examples/" + name));
    sources.emplace_back("logic", R"(
fn hit(tag, v) { print(tag); return v; }
let r = hit("a", 1) && !hit("b", 0) || hit("c", nil);
if (r) { print("yes\n\t\"quoted\""); } else if (!r) { print(-2.5e-3); } else { print(nil); }
while (false) { print("never"); }
for (;;) { break; }
return 1.0 / 3.0;
)");
    sources.emplace_back("shadowing", "let x = 1;\n{ let x = 2; { let x = 3; print(x); } }\nprint(x);\n");
    sources.emplace_back("natives", "print(sqrt(2.0) * sqrt(2.0));\nprint(clock() > 0);\n");
    for (const auto& [name, source] : sources) {
        const Program compiled = compile_source(source, name + ".ops");
        const std::string text = disassemble(compiled);
        BOOST_TEST(text.find(".line") != std::string::npos, name);
        const Program reassembled = assemble(text, "reassembled.opasm");
        BOOST_TEST((reassembled == compiled), name << ":\n" << text);
        Vm<> vm;
        BOOST_CHECK_NO_THROW(vm.load(compiled));  // and the compiled program verifies
    }
}

BOOST_AUTO_TEST_SUITE_END()
