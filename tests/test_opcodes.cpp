// The semantics of every user opcode, as the `.opasm` contract of issue 2 states them, with their edge
// cases: integer wrap-around and division, mixed int/float arithmetic, exact int/float comparison, NaN,
// truthiness, arrays, the `print` formats, the built-in natives and host natives, and the equivalence of
// fused (superinstruction) and plain execution for every instruction shape the linker fuses.
//
// Every program runs through test::run_text/output_of (support.hpp), which records its opcodes; the last
// test checks that every user opcode of kOpTable was used by some program of this file.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace opscope;
using test::error_message_of;
using test::error_message_of_main;
using test::main_program;
using test::output_of;
using test::output_of_main;
using test::run_text;

namespace {

// `main` pushing `a` and `b`, applying `op`, printing the result.
std::string binary(std::string_view a, std::string_view op, std::string_view b) {
    return main_program("    push " + std::string(a) + "\n    push " + std::string(b) + "\n    " + std::string(op) +
                        "\n    print\n    halt");
}
std::string binary_output(std::string_view a, std::string_view op, std::string_view b) {
    return output_of(binary(a, op, b));
}
std::string binary_error(std::string_view a, std::string_view op, std::string_view b) {
    return error_message_of(binary(a, op, b));
}

// Code leaving INT64_MIN on the stack (the assembler's literal range is not what these tests are about).
constexpr std::string_view kPushInt64Min = "    push 9223372036854775807\n    push 1\n    add\n";
// Code leaving a NaN on the stack.
constexpr std::string_view kPushNan = "    push 0.0\n    push 0.0\n    div\n";

} // namespace

BOOST_AUTO_TEST_SUITE(stack)

BOOST_AUTO_TEST_CASE(push_literals_of_every_kind) {
    BOOST_TEST(output_of_main(R"(
    push 42
    print
    push -12
    print
    push 0x1f
    print
    push 1.5
    print
    push 2e3
    print
    push "a\tb"
    print
    push nil
    print
    push true
    print
    push false
    print
    halt)") == "42\n-12\n31\n1.5\n2000.0\na\tb\nnil\ntrue\nfalse\n");
}

BOOST_AUTO_TEST_CASE(push_ints_on_both_sides_of_the_int32_range) {
    // Small ints are quickened into an immediate form; the boundary must be invisible.
    BOOST_TEST(output_of_main(R"(
    push 2147483647
    print
    push 2147483648
    print
    push -2147483648
    print
    push -2147483649
    print
    push 4294967296
    print
    push 9223372036854775807
    print
    halt)") == "2147483647\n2147483648\n-2147483648\n-2147483649\n4294967296\n9223372036854775807\n");
}

BOOST_AUTO_TEST_CASE(pop_discards_the_top) {
    BOOST_TEST(output_of_main("    push 1\n    push 2\n    pop\n    print\n    halt") == "1\n");
}

BOOST_AUTO_TEST_CASE(dup_copies_the_top) {
    BOOST_TEST(output_of_main("    push 5\n    dup\n    print\n    print\n    halt") == "5\n5\n");
    BOOST_TEST(output_of_main("    push 5\n    dup\n    add\n    print\n    halt") == "10\n");
}

BOOST_AUTO_TEST_CASE(swap_exchanges_the_two_top_values) {
    BOOST_TEST(output_of_main("    push 1\n    push 2\n    swap\n    print\n    print\n    halt") == "1\n2\n");
    BOOST_TEST(output_of_main("    push 10\n    push 3\n    swap\n    sub\n    print\n    halt") == "-7\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(locals_and_globals)

BOOST_AUTO_TEST_CASE(locals_start_nil_and_keep_what_is_stored) {
    BOOST_TEST(output_of_main(R"(
    load 0
    print
    push 7
    store 0
    push "x"
    store 3
    load 0
    print
    load 3
    print
    load 1
    print
    halt)") == "nil\n7\nx\nnil\n");
}

BOOST_AUTO_TEST_CASE(store_overwrites) {
    BOOST_TEST(output_of_main("    push 1\n    store 0\n    push 2\n    store 0\n    load 0\n    print\n    halt") ==
               "2\n");
}

BOOST_AUTO_TEST_CASE(globals_are_shared_between_functions) {
    BOOST_TEST(output_of(R"(
.func set 1 1
    load 0
    gstore answer
    push nil
    ret
.end
.func main 0 0
    push 41
    call set
    pop
    gload answer
    push 1
    add
    print
    push "g"
    gstore other
    gload other
    print
    gload answer
    print
    halt
.end
)") == "42\ng\n41\n");
}

BOOST_AUTO_TEST_CASE(reading_an_undefined_global_is_an_error) {
    const RuntimeError e = test::runtime_error_of(main_program("    push 1\n    gstore x\n    gload y\n    print\n    halt"));
    BOOST_TEST(e.message() == "undefined global 'y' (read before it was stored)");
    BOOST_TEST_REQUIRE(e.backtrace().size() == 1u);
    BOOST_TEST(e.backtrace()[0].function == "main");
    BOOST_TEST(e.backtrace()[0].offset == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(integer_arithmetic)

BOOST_AUTO_TEST_CASE(basic_operations) {
    BOOST_TEST(binary_output("7", "add", "3") == "10\n");
    BOOST_TEST(binary_output("7", "sub", "3") == "4\n");
    BOOST_TEST(binary_output("3", "sub", "7") == "-4\n");
    BOOST_TEST(binary_output("7", "mul", "-3") == "-21\n");
    BOOST_TEST(binary_output("7", "div", "3") == "2\n");
    BOOST_TEST(binary_output("7", "mod", "3") == "1\n");
    BOOST_TEST(binary_output("0", "div", "5") == "0\n");
    BOOST_TEST(output_of_main("    push 7\n    neg\n    print\n    push -7\n    neg\n    print\n    halt") == "-7\n7\n");
}

BOOST_AUTO_TEST_CASE(add_sub_mul_wrap_around) {
    BOOST_TEST(binary_output("9223372036854775807", "add", "1") == "-9223372036854775808\n");
    BOOST_TEST(binary_output("9223372036854775807", "add", "9223372036854775807") == "-2\n");
    BOOST_TEST(output_of_main(std::string(kPushInt64Min) + "    push 1\n    sub\n    print\n    halt") ==
               "9223372036854775807\n");
    BOOST_TEST(binary_output("4611686018427387904", "mul", "2") == "-9223372036854775808\n");
    BOOST_TEST(binary_output("9223372036854775807", "mul", "9223372036854775807") == "1\n");
    BOOST_TEST(binary_output("4294967296", "mul", "4294967296") == "0\n");
}

BOOST_AUTO_TEST_CASE(neg_of_int64_min_wraps) {
    BOOST_TEST(output_of_main(std::string(kPushInt64Min) + "    neg\n    print\n    halt") ==
               "-9223372036854775808\n");
}

BOOST_AUTO_TEST_CASE(div_truncates_toward_zero) {
    BOOST_TEST(binary_output("7", "div", "2") == "3\n");
    BOOST_TEST(binary_output("-7", "div", "2") == "-3\n");
    BOOST_TEST(binary_output("7", "div", "-2") == "-3\n");
    BOOST_TEST(binary_output("-7", "div", "-2") == "3\n");
    BOOST_TEST(binary_output("7", "div", "-1") == "-7\n");
    BOOST_TEST(binary_output("-7", "div", "1") == "-7\n");
}

BOOST_AUTO_TEST_CASE(mod_takes_the_sign_of_the_dividend) {
    BOOST_TEST(binary_output("7", "mod", "2") == "1\n");
    BOOST_TEST(binary_output("-7", "mod", "2") == "-1\n");
    BOOST_TEST(binary_output("7", "mod", "-2") == "1\n");
    BOOST_TEST(binary_output("-7", "mod", "-2") == "-1\n");
    BOOST_TEST(binary_output("6", "mod", "-3") == "0\n");
    BOOST_TEST(binary_output("7", "mod", "-1") == "0\n");
}

BOOST_AUTO_TEST_CASE(int64_min_divided_by_minus_one) {
    BOOST_TEST(output_of_main(std::string(kPushInt64Min) + "    push -1\n    div\n    print\n    halt") ==
               "-9223372036854775808\n");
    BOOST_TEST(output_of_main(std::string(kPushInt64Min) + "    push -1\n    mod\n    print\n    halt") == "0\n");
    BOOST_TEST(output_of_main(std::string(kPushInt64Min) + "    push 2\n    div\n    print\n    halt") ==
               "-4611686018427387904\n");
}

BOOST_AUTO_TEST_CASE(integer_division_by_zero_is_an_error) {
    BOOST_TEST(binary_error("7", "div", "0") == "division by zero");
    BOOST_TEST(binary_error("7", "mod", "0") == "division by zero");
    BOOST_TEST(binary_error("0", "div", "0") == "division by zero");
    BOOST_TEST(binary_error("-9223372036854775807", "mod", "0") == "division by zero");
    const RuntimeError e = test::runtime_error_of(binary("1", "div", "0"));
    BOOST_TEST_REQUIRE(e.backtrace().size() == 1u);
    BOOST_TEST(e.backtrace()[0].offset == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(float_arithmetic)

BOOST_AUTO_TEST_CASE(mixed_int_and_float_give_float) {
    BOOST_TEST(binary_output("1", "add", "0.5") == "1.5\n");
    BOOST_TEST(binary_output("0.5", "add", "1") == "1.5\n");
    BOOST_TEST(binary_output("2", "mul", "1.5") == "3.0\n");
    BOOST_TEST(binary_output("1.5", "sub", "1") == "0.5\n");
    BOOST_TEST(binary_output("7", "div", "2.0") == "3.5\n");
    BOOST_TEST(binary_output("7.0", "div", "2") == "3.5\n");
    BOOST_TEST(binary_output("6", "div", "2.0") == "3.0\n");
    BOOST_TEST(binary_output("1.0", "add", "2.0") == "3.0\n");
    BOOST_TEST(binary_output("0.1", "add", "0.2") == "0.30000000000000004\n");
    const test::Outcome r = run_text(main_program("    push 2\n    push 1.0\n    mul\n    ret"));
    BOOST_TEST(r.result == "2.0");
    BOOST_TEST((r.result_type == Type::floating));
}

BOOST_AUTO_TEST_CASE(float_mod_is_fmod) {
    BOOST_TEST(binary_output("7.5", "mod", "2") == "1.5\n");
    BOOST_TEST(binary_output("-7.5", "mod", "2") == "-1.5\n");
    BOOST_TEST(binary_output("7.5", "mod", "-2") == "1.5\n");
    BOOST_TEST(binary_output("7", "mod", "2.5") == "2.0\n");
    BOOST_TEST(binary_output("-6", "mod", "3.0") == "-0.0\n");
}

BOOST_AUTO_TEST_CASE(float_division_by_zero_follows_ieee) {
    BOOST_TEST(binary_output("1.0", "div", "0") == "inf\n");
    BOOST_TEST(binary_output("-1", "div", "0.0") == "-inf\n");
    BOOST_TEST(binary_output("1.0", "div", "-0.0") == "-inf\n");
    BOOST_TEST(binary_output("0.0", "div", "0") == "nan\n");
    BOOST_TEST(binary_output("1", "mod", "0.0") == "nan\n");
    // inf is a real float: larger than every int.
    BOOST_TEST(output_of_main("    push 1.0\n    push 0\n    div\n    push 9223372036854775807\n    gt\n    print\n"
                              "    halt") == "true\n");
}

BOOST_AUTO_TEST_CASE(neg_of_floats) {
    BOOST_TEST(output_of_main("    push 1.5\n    neg\n    print\n    push 0.0\n    neg\n    print\n    halt") ==
               "-1.5\n-0.0\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(strings)

BOOST_AUTO_TEST_CASE(add_concatenates_two_strings) {
    BOOST_TEST(binary_output("\"foo\"", "add", "\"bar\"") == "foobar\n");
    BOOST_TEST(binary_output("\"\"", "add", "\"\"") == "\n");
    BOOST_TEST(binary_output("\"a\"", "add", "\"\"") == "a\n");
    BOOST_TEST(output_of_main(R"(
    push "ab"
    push "c"
    add
    dup
    len
    print
    push "abc"
    eq
    print
    halt)") == "3\ntrue\n");
}

BOOST_AUTO_TEST_CASE(len_of_strings_counts_bytes) {
    BOOST_TEST(output_of_main("    push \"hello\"\n    len\n    print\n    push \"\"\n    len\n    print\n"
                              "    push \"a\\n\\t\"\n    len\n    print\n    halt") == "5\n0\n3\n");
}

BOOST_AUTO_TEST_CASE(strings_may_hold_any_byte) {
    BOOST_TEST(output_of_main(R"(
    push "a\0b"
    len
    print
    push "a\0b"
    push "a\0c"
    eq
    print
    push "a\0b"
    push "a"
    gt
    print
    push "a\0"
    push "b"
    add
    print
    halt)") == std::string("3\nfalse\ntrue\na\0b\n", 17));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(type_errors)

BOOST_AUTO_TEST_CASE(arithmetic_names_operation_and_types) {
    BOOST_TEST(binary_error("1", "add", "\"a\"") == "type error: 'add' needs two numbers or two strings, got int and string");
    BOOST_TEST(binary_error("\"a\"", "add", "1.5") == "type error: 'add' needs two numbers or two strings, got string and float");
    BOOST_TEST(binary_error("nil", "add", "nil") == "type error: 'add' needs two numbers or two strings, got nil and nil");
    BOOST_TEST(binary_error("\"a\"", "sub", "\"b\"") == "type error: 'sub' needs two numbers, got string and string");
    BOOST_TEST(binary_error("nil", "mul", "1") == "type error: 'mul' needs two numbers, got nil and int");
    BOOST_TEST(binary_error("true", "div", "1") == "type error: 'div' needs two numbers, got bool and int");
    BOOST_TEST(binary_error("1.5", "mod", "false") == "type error: 'mod' needs two numbers, got float and bool");
    BOOST_TEST(binary_error("true", "div", "0") == "type error: 'div' needs two numbers, got bool and int");
    BOOST_TEST(error_message_of_main("    push 1\n    push 2\n    newarray\n    add\n    print\n    halt") ==
               "type error: 'add' needs two numbers or two strings, got int and array");
}

BOOST_AUTO_TEST_CASE(neg_names_the_type) {
    BOOST_TEST(error_message_of_main("    push \"x\"\n    neg\n    print\n    halt") ==
               "type error: 'neg' needs a number, got string");
    BOOST_TEST(error_message_of_main("    push nil\n    neg\n    print\n    halt") ==
               "type error: 'neg' needs a number, got nil");
    BOOST_TEST(error_message_of_main("    push true\n    neg\n    print\n    halt") ==
               "type error: 'neg' needs a number, got bool");
}

BOOST_AUTO_TEST_CASE(ordering_names_operation_and_types) {
    BOOST_TEST(binary_error("1", "lt", "\"a\"") == "type error: 'lt' needs two numbers or two strings, got int and string");
    BOOST_TEST(binary_error("nil", "le", "nil") == "type error: 'le' needs two numbers or two strings, got nil and nil");
    BOOST_TEST(binary_error("\"a\"", "gt", "2.5") == "type error: 'gt' needs two numbers or two strings, got string and float");
    BOOST_TEST(binary_error("true", "ge", "false") == "type error: 'ge' needs two numbers or two strings, got bool and bool");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(equality)

BOOST_AUTO_TEST_CASE(numbers_compare_numerically_across_int_and_float) {
    BOOST_TEST(binary_output("1", "eq", "1.0") == "true\n");
    BOOST_TEST(binary_output("1.0", "eq", "1") == "true\n");
    BOOST_TEST(binary_output("1", "eq", "1") == "true\n");
    BOOST_TEST(binary_output("1", "eq", "2") == "false\n");
    BOOST_TEST(binary_output("1", "eq", "1.5") == "false\n");
    BOOST_TEST(binary_output("0", "eq", "-0.0") == "true\n");
    BOOST_TEST(binary_output("0.0", "eq", "-0.0") == "true\n");
    BOOST_TEST(binary_output("1", "ne", "1.0") == "false\n");
    BOOST_TEST(binary_output("1", "ne", "2") == "true\n");
}

BOOST_AUTO_TEST_CASE(int_float_equality_is_exact_not_rounded) {
    // 2^53 + 1 is not representable as a double; converting it would round it to 2^53.
    BOOST_TEST(binary_output("9007199254740993", "eq", "9007199254740992.0") == "false\n");
    BOOST_TEST(binary_output("9007199254740992.0", "eq", "9007199254740993") == "false\n");
    BOOST_TEST(binary_output("9007199254740993", "ne", "9007199254740992.0") == "true\n");
    BOOST_TEST(binary_output("9007199254740992", "eq", "9007199254740992.0") == "true\n");
    // INT64_MAX converts to 2^63 as a double, but they are different numbers.
    BOOST_TEST(binary_output("9223372036854775807", "eq", "9223372036854775808.0") == "false\n");
}

BOOST_AUTO_TEST_CASE(other_types_compare_by_value_without_conversion) {
    BOOST_TEST(binary_output("nil", "eq", "nil") == "true\n");
    BOOST_TEST(binary_output("nil", "eq", "false") == "false\n");
    BOOST_TEST(binary_output("true", "eq", "true") == "true\n");
    BOOST_TEST(binary_output("true", "eq", "false") == "false\n");
    BOOST_TEST(binary_output("true", "eq", "1") == "false\n");
    BOOST_TEST(binary_output("0", "eq", "false") == "false\n");
    BOOST_TEST(binary_output("\"1\"", "eq", "1") == "false\n");
    BOOST_TEST(binary_output("nil", "ne", "0") == "true\n");
}

BOOST_AUTO_TEST_CASE(strings_compare_by_content) {
    BOOST_TEST(binary_output("\"abc\"", "eq", "\"abc\"") == "true\n");
    BOOST_TEST(binary_output("\"abc\"", "eq", "\"abd\"") == "false\n");
    BOOST_TEST(binary_output("\"abc\"", "eq", "\"ab\"") == "false\n");
    BOOST_TEST(binary_output("\"\"", "eq", "\"\"") == "true\n");
    BOOST_TEST(binary_output("\"abc\"", "ne", "\"abc\"") == "false\n");
    // A string built at run time equals a constant with the same bytes.
    BOOST_TEST(output_of_main("    push \"a\"\n    push \"bc\"\n    add\n    push \"abc\"\n    eq\n    print\n    halt") ==
               "true\n");
}

BOOST_AUTO_TEST_CASE(arrays_compare_by_identity) {
    BOOST_TEST(output_of_main(R"(
    push 2
    newarray
    store 0
    push 2
    newarray
    store 1
    load 0
    load 0
    eq
    print
    load 0
    load 1
    eq
    print
    load 0
    load 1
    ne
    print
    load 0
    store 2
    load 2
    load 0
    eq
    print
    halt)") == "true\nfalse\ntrue\ntrue\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ordering)

BOOST_AUTO_TEST_CASE(numbers) {
    BOOST_TEST(binary_output("1", "lt", "2") == "true\n");
    BOOST_TEST(binary_output("2", "lt", "1") == "false\n");
    BOOST_TEST(binary_output("1", "lt", "1") == "false\n");
    BOOST_TEST(binary_output("1", "le", "1") == "true\n");
    BOOST_TEST(binary_output("2", "le", "1") == "false\n");
    BOOST_TEST(binary_output("2", "gt", "1") == "true\n");
    BOOST_TEST(binary_output("1", "gt", "1") == "false\n");
    BOOST_TEST(binary_output("1", "ge", "1") == "true\n");
    BOOST_TEST(binary_output("0", "ge", "1") == "false\n");
    BOOST_TEST(binary_output("-5", "lt", "3") == "true\n");
    BOOST_TEST(binary_output("1", "lt", "1.5") == "true\n");
    BOOST_TEST(binary_output("1.5", "lt", "1") == "false\n");
    BOOST_TEST(binary_output("1.0", "le", "1") == "true\n");
    BOOST_TEST(binary_output("2.5", "gt", "2") == "true\n");
    BOOST_TEST(binary_output("2.5", "ge", "2.5") == "true\n");
    BOOST_TEST(binary_output("-0.0", "lt", "0") == "false\n");
    BOOST_TEST(binary_output("-0.0", "ge", "0.0") == "true\n");
}

BOOST_AUTO_TEST_CASE(int_float_ordering_is_exact) {
    BOOST_TEST(binary_output("9007199254740993", "gt", "9007199254740992.0") == "true\n");
    BOOST_TEST(binary_output("9007199254740992.0", "lt", "9007199254740993") == "true\n");
    BOOST_TEST(binary_output("9007199254740993", "le", "9007199254740992.0") == "false\n");
    BOOST_TEST(binary_output("9223372036854775807", "lt", "9223372036854775808.0") == "true\n");
    BOOST_TEST(binary_output("-9223372036854775807", "gt", "-9223372036854775808.0") == "true\n");
}

BOOST_AUTO_TEST_CASE(strings_in_byte_order) {
    BOOST_TEST(binary_output("\"a\"", "lt", "\"b\"") == "true\n");
    BOOST_TEST(binary_output("\"b\"", "lt", "\"a\"") == "false\n");
    BOOST_TEST(binary_output("\"Z\"", "lt", "\"a\"") == "true\n");
    BOOST_TEST(binary_output("\"a\"", "lt", "\"ab\"") == "true\n");
    BOOST_TEST(binary_output("\"\"", "lt", "\"a\"") == "true\n");
    BOOST_TEST(binary_output("\"abc\"", "le", "\"abc\"") == "true\n");
    BOOST_TEST(binary_output("\"abc\"", "ge", "\"abd\"") == "false\n");
    BOOST_TEST(binary_output("\"b\"", "gt", "\"abc\"") == "true\n");
    BOOST_TEST(binary_output("\"10\"", "lt", "\"9\"") == "true\n");
    // Bytes compare unsigned: 0xff sorts after every ASCII byte.
    BOOST_TEST(binary_output("\"\\xff\"", "gt", "\"a\"") == "true\n");
    BOOST_TEST(binary_output("\"\\x80\"", "lt", "\"\\x7f\"") == "false\n");
}

BOOST_AUTO_TEST_CASE(nan_compares_false) {
    const auto with_nan = [](std::string_view rest) {
        return output_of_main("    push 0.0\n    push 0.0\n    div\n    store 0\n" + std::string(rest) + "    halt");
    };
    // nan against itself, a float and an int, on both sides.
    std::string expected;
    std::string code;
    for (const char* op : {"eq", "lt", "le", "gt", "ge"}) {
        for (const char* other : {"load 0", "push 1.0", "push 1"}) {
            code += std::string("    load 0\n    ") + other + "\n    " + op + "\n    print\n";
            code += std::string("    ") + other + "\n    load 0\n    " + op + "\n    print\n";
            expected += "false\nfalse\n";
        }
    }
    BOOST_TEST(with_nan(code) == expected);
    BOOST_TEST(with_nan("    load 0\n    load 0\n    ne\n    print\n    load 0\n    push 1\n    ne\n    print\n") ==
               "true\ntrue\n");
    BOOST_TEST(output_of_main(std::string(kPushNan) + "    print\n    halt") == "nan\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(truthiness)

namespace {
// (code pushing a value, whether it is truthy)
struct Case {
    std::string push;
    bool truthy;
};
const std::vector<Case>& cases() {
    static const std::vector<Case> all = {
        {"push nil", false},         {"push false", false},     {"push 0", false},
        {"push 0.0", false},         {"push -0.0", false},      {"push 0.0\n    neg", false},
        {"push true", true},         {"push 1", true},          {"push -1", true},
        {"push 0.5", true},          {"push 4294967296", true}, {"push \"\"", true},
        {"push \"0\"", true},        {"push 0\n    newarray", true},
        {"push 2\n    newarray", true}, {std::string(kPushNan.substr(4)), true},
    };
    return all;
}
std::string expected_marks(bool invert) {
    std::string out;
    for (const Case& c : cases()) out += (c.truthy != invert) ? "T\n" : "F\n";
    return out;
}
} // namespace

BOOST_AUTO_TEST_CASE(not_is_true_for_exactly_the_falsy_values) {
    std::string code, expected;
    for (const Case& c : cases()) {
        code += "    " + c.push + "\n    not\n    print\n";
        expected += c.truthy ? "false\n" : "true\n";
    }
    BOOST_TEST(output_of_main(code + "    halt") == expected);
}

BOOST_AUTO_TEST_CASE(jz_jumps_on_falsy_values) {
    std::string code;
    for (std::size_t k = 0; k < cases().size(); ++k) {
        const std::string n = std::to_string(k);
        code += "    " + cases()[k].push + "\n    jz falsy" + n + "\n    push \"T\"\n    print\n    jmp next" + n +
                "\nfalsy" + n + ":\n    push \"F\"\n    print\nnext" + n + ":\n";
    }
    BOOST_TEST(output_of_main(code + "    halt") == expected_marks(false));
}

BOOST_AUTO_TEST_CASE(jnz_jumps_on_truthy_values) {
    std::string code;
    for (std::size_t k = 0; k < cases().size(); ++k) {
        const std::string n = std::to_string(k);
        code += "    " + cases()[k].push + "\n    jnz truthy" + n + "\n    push \"F\"\n    print\n    jmp next" + n +
                "\ntruthy" + n + ":\n    push \"T\"\n    print\nnext" + n + ":\n";
    }
    BOOST_TEST(output_of_main(code + "    halt") == expected_marks(false));
}

BOOST_AUTO_TEST_CASE(comparison_results_drive_branches) {
    // The common `lt` + `jz` loop shape, counting down and up.
    BOOST_TEST(output_of_main(R"(
    push 0
    store 0
top:
    load 0
    push 3
    lt
    jz done
    load 0
    print
    load 0
    push 1
    add
    store 0
    jmp top
done:
    halt)") == "0\n1\n2\n");
}

BOOST_AUTO_TEST_CASE(jmp_skips_code) {
    BOOST_TEST(output_of_main("    jmp over\n    push 1\n    print\nover:\n    push 2\n    print\n    halt") == "2\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(calls)

BOOST_AUTO_TEST_CASE(first_argument_is_deepest) {
    BOOST_TEST(output_of(R"(
.func digits 3 3
    load 0
    push 100
    mul
    load 1
    push 10
    mul
    add
    load 2
    add
    ret
.end
.func minus 2 2
    load 0
    load 1
    sub
    ret
.end
.func main 0 0
    push 1
    push 2
    push 3
    call digits
    print
    push 10
    push 3
    call minus
    print
    halt
.end
)") == "123\n7\n");
}

BOOST_AUTO_TEST_CASE(callee_locals_start_nil_and_caller_state_survives) {
    BOOST_TEST(output_of(R"(
.func f 1 3
    load 1
    print
    load 2
    print
    push 99
    store 0
    push 5
    store 1
    load 0
    load 1
    add
    ret
.end
.func main 0 1
    push 7
    store 0
    push 1000
    load 0
    call f
    add
    print
    load 0
    print
    halt
.end
)") == "nil\nnil\n1104\n7\n");
}

BOOST_AUTO_TEST_CASE(callee_locals_are_nil_even_over_stale_stack_slots) {
    // The callee's extra locals occupy slots that held the caller's popped values.
    BOOST_TEST(output_of(R"(
.func f 1 3
    load 1
    print
    load 2
    print
    load 0
    ret
.end
.func main 0 0
    push 111
    push 222
    push 333
    pop
    pop
    pop
    push 1
    call f
    print
    halt
.end
)") == "nil\nnil\n1\n");
}

BOOST_AUTO_TEST_CASE(ret_returns_the_top_whatever_lies_below) {
    BOOST_TEST(run_text(main_program("    push 1\n    push 2\n    push 3\n    ret")).result == "3");
    BOOST_TEST(output_of(".func f 0 2\n    push 5\n    push 6\n    ret\n.end\n"
                         ".func main 0 0\n    push 9\n    call f\n    add\n    print\n    halt\n.end\n") == "15\n");
}

BOOST_AUTO_TEST_CASE(nested_and_recursive_calls) {
    BOOST_TEST(output_of(R"(
.func fact 1 1
    load 0
    push 2
    lt
    jz recurse
    push 1
    ret
recurse:
    load 0
    load 0
    push 1
    sub
    call fact
    mul
    ret
.end
.func zero 0 0
    push 0
    ret
.end
.func main 0 0
    push 20
    call fact
    print
    call zero
    push 3
    call fact
    push 2
    call fact
    add
    add
    print
    halt
.end
)") == "2432902008176640000\n8\n");
}

BOOST_AUTO_TEST_CASE(ret_from_main_gives_the_result) {
    test::Outcome r = run_text(main_program("    push 40\n    push 2\n    add\n    ret"));
    BOOST_TEST(r.result == "42");
    BOOST_TEST((r.result_type == Type::integer));
    BOOST_TEST(r.output.empty());
    r = run_text(main_program("    push \"done\"\n    ret"));
    BOOST_TEST(r.result == "done");
    BOOST_TEST((r.result_type == Type::string));
    r = run_text(main_program("    push 2.5\n    ret"));
    BOOST_TEST((r.result_type == Type::floating));
    BOOST_TEST(r.result == "2.5");
}

BOOST_AUTO_TEST_CASE(halt_gives_nil_and_stops_everything) {
    test::Outcome r = run_text(main_program("    push 1\n    print\n    halt\n    push 2\n    print\n    halt"));
    BOOST_TEST(r.output == "1\n");
    BOOST_TEST((r.result_type == Type::nil));
    // halt inside a callee ends the whole program, leaving values on the stacks.
    r = run_text(R"(
.func stop 1 1
    push "in stop"
    print
    halt
.end
.func main 0 0
    push 5
    push 6
    call stop
    push "after"
    print
    ret
.end
)");
    BOOST_TEST(r.output == "in stop\n");
    BOOST_TEST((r.result_type == Type::nil));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(arrays)

BOOST_AUTO_TEST_CASE(newarray_makes_nil_elements) {
    BOOST_TEST(output_of_main("    push 3\n    newarray\n    print\n    push 0\n    newarray\n    print\n    halt") ==
               "[nil, nil, nil]\n[]\n");
}

BOOST_AUTO_TEST_CASE(aset_aget_len) {
    BOOST_TEST(output_of_main(R"(
    push 3
    newarray
    store 0
    load 0
    push 0
    push 10
    aset
    load 0
    push 2
    push "z"
    aset
    load 0
    push 1
    push 1.5
    aset
    load 0
    push 0
    aget
    print
    load 0
    push 2
    aget
    print
    load 0
    len
    print
    load 0
    print
    push 0
    newarray
    len
    print
    halt)") == "10\nz\n3\n[10, 1.5, z]\n0\n");
}

BOOST_AUTO_TEST_CASE(arrays_are_references) {
    BOOST_TEST(output_of_main(R"(
    push 1
    newarray
    dup
    store 0
    store 1
    load 1
    push 0
    push "shared"
    aset
    load 0
    push 0
    aget
    print
    halt)") == "shared\n");
}

BOOST_AUTO_TEST_CASE(out_of_range_indices_are_errors) {
    const std::string make = "    push 3\n    newarray\n    store 0\n";
    BOOST_TEST(error_message_of_main(make + "    load 0\n    push 3\n    aget\n    print\n    halt") ==
               "index 3 out of range for array of length 3");
    BOOST_TEST(error_message_of_main(make + "    load 0\n    push -1\n    aget\n    print\n    halt") ==
               "index -1 out of range for array of length 3");
    BOOST_TEST(error_message_of_main(make + "    load 0\n    push 5\n    push 1\n    aset\n    halt") ==
               "index 5 out of range for array of length 3");
    BOOST_TEST(error_message_of_main(make + "    load 0\n    push -9223372036854775807\n    push 1\n    aset\n    halt") ==
               "index -9223372036854775807 out of range for array of length 3");
    BOOST_TEST(error_message_of_main("    push 0\n    newarray\n    push 0\n    aget\n    print\n    halt") ==
               "index 0 out of range for array of length 0");
}

BOOST_AUTO_TEST_CASE(negative_and_impossible_lengths_are_errors) {
    BOOST_TEST(error_message_of_main("    push -1\n    newarray\n    print\n    halt") == "negative array length -1");
    BOOST_TEST(error_message_of_main("    push -9223372036854775807\n    newarray\n    print\n    halt") ==
               "negative array length -9223372036854775807");
    BOOST_TEST(error_message_of_main("    push 100000000000\n    newarray\n    print\n    halt") ==
               "array length 100000000000 is too large");
}

BOOST_AUTO_TEST_CASE(type_errors_name_operation_and_type) {
    BOOST_TEST(error_message_of_main("    push \"3\"\n    newarray\n    print\n    halt") ==
               "type error: 'newarray' needs an int length, got string");
    BOOST_TEST(error_message_of_main("    push 2.0\n    newarray\n    print\n    halt") ==
               "type error: 'newarray' needs an int length, got float");
    BOOST_TEST(error_message_of_main("    push 5\n    push 0\n    aget\n    print\n    halt") ==
               "type error: 'aget' needs an array, got int");
    BOOST_TEST(error_message_of_main("    push 1\n    newarray\n    push 0.0\n    aget\n    print\n    halt") ==
               "type error: 'aget' needs an int index, got float");
    BOOST_TEST(error_message_of_main("    push \"abc\"\n    push 0\n    push 1\n    aset\n    halt") ==
               "type error: 'aset' needs an array, got string");
    BOOST_TEST(error_message_of_main("    push 1\n    newarray\n    push nil\n    push 1\n    aset\n    halt") ==
               "type error: 'aset' needs an int index, got nil");
    BOOST_TEST(error_message_of_main("    push 5\n    len\n    print\n    halt") ==
               "type error: 'len' needs an array or a string, got int");
    BOOST_TEST(error_message_of_main("    push nil\n    len\n    print\n    halt") ==
               "type error: 'len' needs an array or a string, got nil");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(print)

BOOST_AUTO_TEST_CASE(ints) {
    BOOST_TEST(output_of_main("    push 0\n    print\n    push -5\n    print\n    push 1234567890123\n    print\n"
                              "    halt") == "0\n-5\n1234567890123\n");
    BOOST_TEST(output_of_main(std::string(kPushInt64Min) + "    print\n    halt") == "-9223372036854775808\n");
}

BOOST_AUTO_TEST_CASE(floats_shortest_round_trip_with_point_zero) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"3.0", "3.0"},       {"0.1", "0.1"},         {"1e21", "1e+21"},
        {"-0.0", "-0.0"},     {"1.5", "1.5"},         {"-2.25", "-2.25"},
        {"100.0", "100.0"},   {"2e3", "2000.0"},      {"1e100", "1e+100"},
        {"1e-7", "1e-07"},    {"123.456", "123.456"}, {"0.30000000000000004", "0.30000000000000004"},
        {"9007199254740993.0", "9007199254740992.0"}, {"5e-324", "5e-324"},
        {"1.7976931348623157e308", "1.7976931348623157e+308"},
    };
    for (const auto& [literal, text] : cases)
        BOOST_TEST(output_of_main("    push " + literal + "\n    print\n    halt") == text + "\n", "push " << literal);
    BOOST_TEST(output_of_main("    push 1.0\n    push 3\n    div\n    print\n    halt") == "0.3333333333333333\n");
}

BOOST_AUTO_TEST_CASE(strings_raw_and_constants) {
    BOOST_TEST(output_of_main("    push \"a\\tb\\\"c\\\\\"\n    print\n    push \"two\\nlines\"\n    print\n"
                              "    push \"\"\n    print\n    halt") == "a\tb\"c\\\ntwo\nlines\n\n");
    BOOST_TEST(output_of_main("    push nil\n    print\n    push true\n    print\n    push false\n    print\n    halt") ==
               "nil\ntrue\nfalse\n");
}

BOOST_AUTO_TEST_CASE(arrays_and_nested_arrays) {
    BOOST_TEST(output_of_main(R"(
    push 3
    newarray
    store 0
    load 0
    push 0
    push 1
    aset
    load 0
    push 1
    push 2
    aset
    load 0
    push 2
    push 3
    aset
    load 0
    print
    push 4
    newarray
    store 1
    load 1
    push 0
    load 0
    aset
    load 1
    push 1
    push 0
    newarray
    aset
    load 1
    push 2
    push "s"
    aset
    load 1
    push 3
    push 0.5
    aset
    load 1
    print
    halt)") == "[1, 2, 3]\n[[1, 2, 3], [], s, 0.5]\n");
}

BOOST_AUTO_TEST_CASE(an_array_containing_itself_prints_finitely) {
    BOOST_TEST(output_of_main("    push 2\n    newarray\n    store 0\n    load 0\n    push 0\n    load 0\n    aset\n"
                              "    load 0\n    print\n    halt") == "[[...], nil]\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(builtin_natives)

BOOST_AUTO_TEST_CASE(clock_is_a_monotonic_int) {
    const test::Outcome r = run_text(main_program(R"(
    call clock
    store 0
    call clock
    store 1
    push 0
    store 2
spin:
    load 2
    push 1000
    lt
    jz after
    load 2
    push 1
    add
    store 2
    jmp spin
after:
    call clock
    store 3
    load 1
    load 0
    ge
    print
    load 3
    load 1
    ge
    print
    load 3
    load 0
    gt
    print
    load 3
    ret)"), {}, test::Deterministic::output_only);
    BOOST_TEST(r.output == "true\ntrue\ntrue\n");
    BOOST_TEST((r.result_type == Type::integer));
    BOOST_TEST(std::stoll(r.result) > 0);
}

BOOST_AUTO_TEST_CASE(sqrt_of_ints_and_floats) {
    BOOST_TEST(output_of_main("    push 16\n    call sqrt\n    print\n    push 2.25\n    call sqrt\n    print\n"
                              "    push 2\n    call sqrt\n    print\n    push 0\n    call sqrt\n    print\n    halt") ==
               "4.0\n1.5\n1.4142135623730951\n0.0\n");
    const test::Outcome r = run_text(main_program("    push 9\n    call sqrt\n    ret"));
    BOOST_TEST((r.result_type == Type::floating));
}

BOOST_AUTO_TEST_CASE(sqrt_type_error_names_the_native) {
    const RuntimeError e = test::runtime_error_of(main_program("    push \"x\"\n    call sqrt\n    print\n    halt"));
    BOOST_TEST(e.message() == "in native 'sqrt': type error: 'sqrt' needs a number, got string");
    BOOST_TEST_REQUIRE(e.backtrace().size() == 1u);
    BOOST_TEST(e.backtrace()[0].function == "main");
    BOOST_TEST(e.backtrace()[0].offset == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_natives)

namespace {
void register_test_natives(Vm<>& vm) {
    vm.register_native("twice", 1, [](Machine&, std::span<const Value> args) {
        if (!args[0].is_int()) throw Fault("expected an int");
        return Value::integer(args[0].as.i * 2);
    });
    vm.register_native("pair", 2, [](Machine&, std::span<const Value> args) {
        return Value::integer(args[0].as.i * 10 + args[1].as.i);
    });
    vm.register_native("greeting", 0, [](Machine& m, std::span<const Value>) { return m.make_string("hi there"); });
    vm.register_native("broken", 0, [](Machine&, std::span<const Value>) -> Value {
        throw std::runtime_error("disk on fire");
    });
}
} // namespace

BOOST_AUTO_TEST_CASE(registered_natives_are_called_with_arguments_in_order) {
    Vm<> vm;
    register_test_natives(vm);
    const test::Outcome r = test::run_on(vm, main_program(R"(
    push 21
    call twice
    print
    push 1
    push 2
    call pair
    print
    call greeting
    dup
    print
    len
    ret)"));
    BOOST_TEST(r.output == "42\n12\nhi there\n");
    BOOST_TEST(r.result == "8");
}

BOOST_AUTO_TEST_CASE(reregistering_replaces_a_native) {
    Vm<> vm;
    register_test_natives(vm);
    vm.register_native("twice", 1, [](Machine&, std::span<const Value> args) { return Value::integer(args[0].as.i * 3); });
    BOOST_TEST(test::run_on(vm, main_program("    push 5\n    call twice\n    ret")).result == "15");
}

BOOST_AUTO_TEST_CASE(negative_arity_is_rejected) {
    Vm<> vm;
    BOOST_CHECK_THROW(vm.register_native("bad", -1, [](Machine&, std::span<const Value>) { return Value::nil(); }),
                      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(arity_is_checked_by_the_verifier) {
    Vm<> vm;
    register_test_natives(vm);
    const ProgramError e = test::thrown_by<ProgramError>(
        [&] { vm.load(test::assemble_recorded(main_program("    push 1\n    call pair\n    ret"))); });
    BOOST_TEST_REQUIRE(e.diagnostics().size() == 1u);
    BOOST_TEST(e.diagnostics()[0].message == "function 'main' offset 1: stack underflow: 'call' pops 2 but the stack holds 1");
}

BOOST_AUTO_TEST_CASE(unregistered_natives_are_unknown) {
    Vm<> vm;  // no test natives
    const ProgramError e = test::thrown_by<ProgramError>(
        [&] { vm.load(test::assemble_recorded(main_program("    push 1\n    call twice\n    ret"))); });
    BOOST_TEST_REQUIRE(e.diagnostics().size() == 1u);
    BOOST_TEST(e.diagnostics()[0].message == "function 'main' offset 1: call to unknown function 'twice'");
}

BOOST_AUTO_TEST_CASE(a_fault_becomes_a_runtime_error_naming_the_native) {
    Vm<> vm;
    register_test_natives(vm);
    const RuntimeError e = test::thrown_by<RuntimeError>(
        [&] { test::run_on(vm, main_program("    push 1\n    pop\n    push \"x\"\n    call twice\n    ret")); });
    BOOST_TEST(e.message() == "in native 'twice': expected an int");
    BOOST_TEST_REQUIRE(e.backtrace().size() == 1u);
    BOOST_TEST(e.backtrace()[0].function == "main");
    BOOST_TEST(e.backtrace()[0].offset == 3u);
    // Any std::exception from a native is reported the same way.
    const RuntimeError other =
        test::thrown_by<RuntimeError>([&] { test::run_on(vm, main_program("    call broken\n    ret")); });
    BOOST_TEST(other.message() == "in native 'broken': disk on fire");
    // And the VM still runs natives afterwards.
    BOOST_TEST(test::run_on(vm, main_program("    push 4\n    call twice\n    ret")).result == "8");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(instruction_shapes)

// The linker fuses common sequences (`load; load; OP`, `load; push K; OP`, `push K; OP`, `load; OP`,
// `load; load; OP; store`, `load; push K; OP; store`, `CMP; jz/jnz`,
// `load; load; CMP; jz`, `load; push K; CMP; jnz`, `load; ret`) into superinstructions with an int fast
// path. Whatever the shape, every operand pair must give what the plain instructions give, including
// wrap-around, type errors and the error's offset.
namespace {
struct Shape {
    std::string name;
    std::string code;  // after `push A; store 0; push B; store 1` (offsets 0..3)
    std::size_t op_offset;
};

std::vector<Shape> value_shapes(std::string_view b, std::string_view op) {
    const std::string o(op), k(b);
    return {
        {"plain", "    load 0\n    load 1\n    swap\n    swap\n    " + o + "\n    print\n    halt", 8},
        {"ll", "    load 0\n    load 1\n    " + o + "\n    print\n    halt", 6},
        {"lk", "    load 0\n    push " + k + "\n    " + o + "\n    print\n    halt", 6},
        {"k", "    load 0\n    load 1\n    pop\n    push " + k + "\n    " + o + "\n    print\n    halt", 8},
        {"lls", "    load 0\n    load 1\n    " + o + "\n    store 2\n    load 2\n    print\n    halt", 6},
        {"l", "    load 0\n    dup\n    pop\n    load 1\n    " + o + "\n    print\n    halt", 8},
        {"lks", "    load 0\n    push " + k + "\n    " + o + "\n    store 2\n    load 2\n    print\n    halt", 6},
        // Stored back into the local loaded first: `x = x OP y` (in place when fused).
        {"lls_x", "    load 0\n    load 1\n    " + o + "\n    store 0\n    load 0\n    print\n    halt", 6},
        {"lks_x", "    load 0\n    push " + k + "\n    " + o + "\n    store 0\n    load 0\n    print\n    halt", 6},
        // `x = y OP x`: the store names the second local, so no in-place form.
        {"lls_y", "    load 0\n    load 1\n    " + o + "\n    store 1\n    load 1\n    print\n    halt", 6},
    };
}

std::vector<Shape> branch_shapes(std::string_view b, std::string_view op) {
    const std::string o(op), k(b);
    const std::string on_zero = "\n    push \"T\"\n    print\n    halt\nF:\n    push \"F\"\n    print\n    halt";
    const std::string on_nonzero = "\n    push \"F\"\n    print\n    halt\nF:\n    push \"T\"\n    print\n    halt";
    return {
        {"plain jz", "    load 0\n    load 1\n    swap\n    swap\n    " + o + "\n    store 2\n    load 2\n    jz F" + on_zero, 8},
        {"jz", "    load 0\n    load 1\n    swap\n    swap\n    " + o + "\n    jz F" + on_zero, 8},
        {"jnz", "    load 0\n    load 1\n    swap\n    swap\n    " + o + "\n    jnz F" + on_nonzero, 8},
        {"ll jz", "    load 0\n    load 1\n    " + o + "\n    jz F" + on_zero, 6},
        {"ll jnz", "    load 0\n    load 1\n    " + o + "\n    jnz F" + on_nonzero, 6},
        {"lk jz", "    load 0\n    push " + k + "\n    " + o + "\n    jz F" + on_zero, 6},
        {"lk jnz", "    load 0\n    push " + k + "\n    " + o + "\n    jnz F" + on_nonzero, 6},
    };
}

// Output, or the error message and the error's offset relative to the operation.
std::string outcome(std::string_view a, std::string_view b, const Shape& shape) {
    const std::string text = main_program("    push " + std::string(a) + "\n    store 0\n    push " + std::string(b) +
                                          "\n    store 1\n" + shape.code);
    try {
        return run_text(text).output;
    } catch (const RuntimeError& e) {
        if (e.backtrace().empty()) return "error without backtrace: " + e.message();
        const auto relative = static_cast<long>(e.backtrace()[0].offset) - static_cast<long>(shape.op_offset);
        return "error at " + std::to_string(relative) + ": " + e.message();
    }
}

const std::vector<std::pair<std::string, std::string>>& operand_pairs() {
    static const std::vector<std::pair<std::string, std::string>> pairs = {
        {"7", "3"},          {"-7", "2"},        {"7", "-2"},         {"3", "7"},          {"5", "5"},
        {"7", "0"},          {"7", "-1"},        {"2147483647", "2147483647"}, {"-2147483648", "-1"},
        {"9223372036854775807", "1"},            {"9223372036854775807", "2"}, {"-9223372036854775807", "-2"},
        {"7.5", "2"},        {"2", "0.5"},       {"1.0", "0"},        {"nan", "1"},        {"1", "nan"},
        {"\"a\"", "\"b\""}, {"\"b\"", "\"a\""}, {"\"x\"", "1"}, {"1", "\"x\""},     {"nil", "nil"},
        {"true", "1"},       {"0", "false"},
    };
    return pairs;
}
} // namespace

BOOST_AUTO_TEST_CASE(arithmetic_agrees_across_shapes) {
    for (const char* op : {"add", "sub", "mul", "div", "mod"})
        for (const auto& [a, b] : operand_pairs()) {
            const std::vector<Shape> shapes = value_shapes(b, op);
            const std::string expected = outcome(a, b, shapes[0]);
            for (std::size_t s = 1; s < shapes.size(); ++s)
                BOOST_TEST(outcome(a, b, shapes[s]) == expected, op << " " << a << " " << b << " as " << shapes[s].name);
        }
    // Spot checks of the plain shape itself (the opcode tests above cover the rest).
    BOOST_TEST(outcome("9223372036854775807", "1", value_shapes("1", "add")[2]) == "-9223372036854775808\n");
    BOOST_TEST(outcome("-7", "2", value_shapes("2", "mod")[3]) == "-1\n");
    BOOST_TEST(outcome("\"x\"", "1", value_shapes("1", "add")[1]) ==
               "error at 0: type error: 'add' needs two numbers or two strings, got string and int");
    BOOST_TEST(outcome("7", "0", value_shapes("0", "div")[2]) == "error at 0: division by zero");
}

BOOST_AUTO_TEST_CASE(array_access_agrees_across_shapes) {
    // Local 0 holds the array (or not), local 1 the index, local 2 `true`: `load; load; aget`,
    // `load; load; push LIT; aset` and `load; load; load; aset` fused and plain (swaps keep the linker from
    // fusing), in bounds, out of bounds, with a bad index and with no array.
    const std::vector<Shape> shapes = {
        {"plain aget", "    load 0\n    load 1\n    swap\n    swap\n    aget\n    print\n    halt", 11},
        {"aget_ll", "    load 0\n    load 1\n    aget\n    print\n    halt", 9},
        {"plain aset", "    load 0\n    load 1\n    push true\n    swap\n    swap\n    aset\n    load 0\n    print\n    halt", 12},
        {"aset_llc", "    load 0\n    load 1\n    push true\n    aset\n    load 0\n    print\n    halt", 10},
        {"aset_lll", "    load 0\n    load 1\n    load 2\n    aset\n    load 0\n    print\n    halt", 10},
    };
    const auto outcome_of = [](std::string_view array, std::string_view index, const Shape& shape) {
        const std::string text = main_program("    " + std::string(array) + "\n    store 0\n    push " + std::string(index) +
                                              "\n    store 1\n    push true\n    store 2\n" + shape.code);
        try {
            return run_text(text).output;
        } catch (const RuntimeError& e) {
            const auto relative = static_cast<long>(e.backtrace().at(0).offset) - static_cast<long>(shape.op_offset);
            return "error at " + std::to_string(relative) + ": " + e.message();
        }
    };
    const std::string array3 = "push 3\n    newarray";  // each array expression is two instructions
    for (const auto& [array, index] : std::vector<std::pair<std::string, std::string>>{
             {array3, "0"}, {array3, "2"}, {array3, "3"}, {array3, "-1"}, {array3, "1.0"}, {array3, "nil"},
             {"push 5\n    neg", "0"}, {"push nil\n    not", "0"}}) {
        const std::string get = outcome_of(array, index, shapes[0]);
        BOOST_TEST(outcome_of(array, index, shapes[1]) == get, array << " [" << index << "]");
        const std::string set = outcome_of(array, index, shapes[2]);
        for (std::size_t s = 3; s < shapes.size(); ++s)
            BOOST_TEST(outcome_of(array, index, shapes[s]) == set, array << " [" << index << "] as " << shapes[s].name);
    }
    // Branching on an element: `load; load; aget; jz/jnz L` fused, against the plain sequence.
    const std::string branch_tail = "\n    push \"T\"\n    print\n    halt\nF:\n    push \"F\"\n    print\n    halt";
    const std::vector<Shape> branches = {
        {"plain jz", "    load 0\n    load 1\n    swap\n    swap\n    aget\n    jz F" + branch_tail, 11},
        {"aget_ll_jz", "    load 0\n    load 1\n    aget\n    jz F" + branch_tail, 9},
        {"plain jnz", "    load 0\n    load 1\n    swap\n    swap\n    aget\n    jnz F" + branch_tail, 11},
        {"aget_ll_jnz", "    load 0\n    load 1\n    aget\n    jnz F" + branch_tail, 9},
    };
    const std::string filled = "push 1\n    newarray";  // [nil]: element 0 is falsy
    for (const auto& [array, index] : std::vector<std::pair<std::string, std::string>>{
             {filled, "0"}, {filled, "1"}, {filled, "nil"}, {"push 5\n    neg", "0"}}) {
        BOOST_TEST(outcome_of(array, index, branches[1]) == outcome_of(array, index, branches[0]), array << " [" << index << "] jz");
        BOOST_TEST(outcome_of(array, index, branches[3]) == outcome_of(array, index, branches[2]), array << " [" << index << "] jnz");
    }
    BOOST_TEST(outcome_of(filled, "0", branches[1]) == "F\n");
    BOOST_TEST(outcome_of(filled, "0", branches[3]) == "T\n");
    BOOST_TEST(outcome_of(array3, "2", shapes[1]) == "nil\n");
    BOOST_TEST(outcome_of(array3, "2", shapes[3]) == "[nil, nil, true]\n");
    BOOST_TEST(outcome_of(array3, "3", shapes[4]) == "error at 0: index 3 out of range for array of length 3");
    BOOST_TEST(outcome_of(array3, "-1", shapes[1]) == outcome_of(array3, "-1", shapes[0]));
    BOOST_TEST(outcome_of("push 5\n    neg", "0", shapes[1]).starts_with("error at 0: "));
}

// Two pushes in a row fuse (load_ll, load_lk) only when the second does not start a longer form itself.
BOOST_AUTO_TEST_CASE(two_pushes_fuse_unless_the_second_starts_a_longer_form) {
    const auto linked_ops = [](std::string_view body) {
        Vm<> vm;
        vm.load(assemble(main_program(body), "t.opasm"));
        std::vector<std::string> ops;
        for (std::size_t k = 0; k < vm.linked().code().size();) {
            const Op op = op_of(vm.linked().code()[k]);
            ops.emplace_back(mnemonic(op));
            k += static_cast<std::size_t>(info(op).covers);
        }
        return ops;
    };
    using Ops = std::vector<std::string>;
    BOOST_TEST((linked_ops("    load 0\n    load 1\n    push 1\n    print\n    print\n    print\n    halt") ==
                Ops{"load_ll", "push_int", "print", "print", "print", "halt"}));
    BOOST_TEST((linked_ops("    load 0\n    push 7\n    print\n    print\n    halt") == Ops{"load_lk", "print", "print", "halt"}));
    // `load 1; load 2; add` is a longer form: the first load stays alone.
    BOOST_TEST((linked_ops("    load 0\n    load 1\n    load 2\n    add\n    add\n    print\n    halt") ==
                Ops{"load", "add_ll", "add", "print", "halt"}));
    BOOST_TEST((linked_ops("    load 0\n    load 1\n    load 2\n    aget\n    print\n    print\n    halt") ==
                Ops{"load", "aget_ll", "print", "print", "halt"}));
    BOOST_TEST(output_of_main("    push 5\n    store 0\n    push 6\n    store 1\n    load 0\n    load 1\n    push 7\n"
                              "    print\n    print\n    print\n    halt") == "7\n6\n5\n");
}

BOOST_AUTO_TEST_CASE(comparisons_and_branches_agree_across_shapes) {
    for (const char* op : {"lt", "le", "gt", "ge", "eq", "ne", "add", "sub"})
        for (const auto& [a, b] : operand_pairs()) {
            const std::vector<Shape> shapes = branch_shapes(b, op);
            const std::string expected = outcome(a, b, shapes[0]);
            for (std::size_t s = 1; s < shapes.size(); ++s)
                BOOST_TEST(outcome(a, b, shapes[s]) == expected, op << " " << a << " " << b << " as " << shapes[s].name);
        }
    BOOST_TEST(outcome("3", "7", branch_shapes("7", "lt")[5]) == "T\n");
    BOOST_TEST(outcome("7", "3", branch_shapes("3", "lt")[6]) == "F\n");
    BOOST_TEST(outcome("nan", "1", branch_shapes("1", "ne")[3]) == "T\n");
    BOOST_TEST(outcome("1", "\"x\"", branch_shapes("\"x\"", "le")[4]) ==
               "error at 0: type error: 'le' needs two numbers or two strings, got int and string");
}

BOOST_AUTO_TEST_CASE(a_jump_into_a_fusable_sequence_is_honoured) {
    // `load 0; load 1; add` is entered at `load 1` by the jump: both paths must add what is on the stack.
    BOOST_TEST(output_of_main(R"(
    push 1
    store 0
    push 5
    store 1
    load 0
mid:
    load 1
    add
    print
    load 2
    jnz done
    push 1
    store 2
    push 100
    jmp mid
done:
    halt)") == "6\n105\n");
    // The same with `push K; add` entered at the `add`, and `lt; jz` entered at the `jz`.
    BOOST_TEST(output_of_main(R"(
    push 10
    push 1
join:
    add
    print
    load 0
    jnz compare
    push 1
    store 0
    push 20
    push 3
    jmp join
compare:
    push 1
    push 2
    lt
branch:
    jz false_side
    push "T"
    print
    push false
    jmp branch
false_side:
    push "F"
    print
    halt)") == "11\n23\nT\nF\n");
}

// Returning an expression: `OP; ret` and `load Y; OP; ret` (fused) against the plain sequence, for every operand
// pair, from a called function and from main (whose return ends the run with the value).
BOOST_AUTO_TEST_CASE(returning_an_expression_agrees_across_shapes) {
    // f(a, b) returns a OP b; offsets in f: the OP is at `op_offset`.
    const auto shapes = [](std::string_view op) {
        const std::string o(op);
        return std::vector<Shape>{
            {"plain", "    load 0\n    load 1\n    " + o + "\n    store 2\n    load 2\n    ret", 2},
            {"ret", "    load 0\n    load 1\n    swap\n    swap\n    " + o + "\n    ret", 4},
            {"l_ret", "    load 0\n    dup\n    pop\n    load 1\n    " + o + "\n    ret", 4},
        };
    };
    const auto outcome_of = [](std::string_view a, std::string_view b, const Shape& shape, bool from_main) {
        const std::string text =
            from_main ? main_program("    push " + std::string(a) + "\n    store 0\n    push " + std::string(b) +
                                     "\n    store 1\n" + shape.code)
                      : ".func f 2 3\n" + shape.code + "\n.end\n.func main 0 0\n    push " + std::string(a) +
                            "\n    push " + std::string(b) + "\n    call f\n    print\n    push \"after\"\n    ret\n.end\n";
        const std::size_t offset = shape.op_offset + (from_main ? 4 : 0);
        try {
            const test::Outcome out = run_text(text);
            return out.output + "=> " + out.result;
        } catch (const RuntimeError& e) {
            const auto relative = static_cast<long>(e.backtrace().at(0).offset) - static_cast<long>(offset);
            return "error at " + std::to_string(relative) + " in " + e.backtrace()[0].function + ": " + e.message();
        }
    };
    for (const char* op : {"add", "sub", "mul"})
        for (const auto& [a, b] : operand_pairs())
            for (const bool from_main : {false, true}) {
                const std::vector<Shape> all = shapes(op);
                const std::string expected = outcome_of(a, b, all[0], from_main);
                for (std::size_t s = 1; s < all.size(); ++s)
                    BOOST_TEST(outcome_of(a, b, all[s], from_main) == expected,
                               op << " " << a << " " << b << " as " << all[s].name << (from_main ? " in main" : ""));
            }
    BOOST_TEST(outcome_of("9223372036854775807", "1", shapes("add")[2], false) == "-9223372036854775808\n=> after");
    BOOST_TEST(outcome_of("7", "3", shapes("sub")[1], true) == "=> 4");
    BOOST_TEST(outcome_of("\"x\"", "1", shapes("mul")[2], false) ==
               "error at 0 in f: type error: 'mul' needs two numbers, got string and int");
}

// A call whose last argument is pushed by the form itself (`push K; call F`, `load X; call F`), against the
// plain `push`/`load` then `call` (a `swap` pair between keeps them apart): results, the call depth limit
// (the push happened, the call did not), and the frames a fault deep inside shows.
BOOST_AUTO_TEST_CASE(a_call_pushing_its_last_argument_agrees_with_the_plain_call) {
    // down(n, k): n <= 0 ? k * 1000 : down(n - 1, k) + 1, its recursive call pushing the last argument (k)
    // by the shape under test; k = "x" makes the innermost activation fail.
    const auto program = [](std::string_view push_last, std::string_view k) {
        return ".func down 2 2\n    load 0\n    push 0\n    le\n    jz recurse\n    load 1\n    push 1000\n    mul\n"
               "    ret\nrecurse:\n    load 0\n    push 1\n    sub\n" + std::string(push_last) + "\n    call down\n"
               "    push 1\n    add\n    ret\n.end\n"
               ".func main 0 1\n    push " + std::string(k) + "\n    store 0\n    push 5\n    load 0\n    call down\n"
               "    print\n    push 3\n    push 7\n    call down\n    print\n    halt\n.end\n";
    };
    const std::string via_local = "    load 1", via_constant = "    push 7";
    const std::string plain_local = "    load 1\n    dup\n    swap\n    pop", plain_constant = "    push 7\n    dup\n    swap\n    pop";
    BOOST_TEST(output_of(program(via_local, "7")) == "7005\n7003\n");
    BOOST_TEST(output_of(program(via_constant, "7")) == "7005\n7003\n");
    // Messages and the functions of the backtrace (the plain variants' offsets in `down` are 3 further on).
    for (const std::string k : {"7", "\"x\"", "2.5", "nil"})
        for (const std::uint32_t depth : {100000u, 4u, 2u}) {
            const auto transcript = [&](std::string_view push_last) {
                try {
                    return run_text(program(push_last, k), Limits{.max_call_depth = depth}).output;
                } catch (const RuntimeError& e) {
                    std::string frames;
                    for (const auto& frame : e.backtrace()) frames += " " + frame.function;
                    return "error: " + e.message() + " in" + frames;
                }
            };
            BOOST_TEST(transcript(via_local) == transcript(plain_local), k << " depth " << depth);
            BOOST_TEST(transcript(via_constant) == transcript(plain_constant), k << " depth " << depth);
        }
    const RuntimeError overflow = test::runtime_error_of(program(via_local, "7"), Limits{.max_call_depth = 2});
    BOOST_TEST(overflow.message() == "call depth limit exceeded: calling 'down' would make 3 frames (limit 2)");
    BOOST_TEST_REQUIRE(overflow.backtrace().size() == 2u);
    BOOST_TEST(overflow.backtrace()[0].offset == 12u);  // the `call`, after its argument was pushed
    BOOST_TEST(overflow.backtrace()[1].offset == 4u);
}

// The new forms at a boundary: a jump into the middle of `load Y; add; ret` or `push K; call F` keeps them
// apart (both paths run what is on the stack), and fuel running out at each instruction of a program made
// of them stops both runs at the same place.
BOOST_AUTO_TEST_CASE(calls_and_returns_fused_at_a_boundary) {
    const std::string entered = R"(.func f 2 2
    load 0
    load 0
    load 1
    jz mid
    pop
    load 1
mid:
    add
    ret
.end
.func g 1 1
    load 0
    push 1
    load 0
    jz into
    pop
    push 2
into:
    call f
    ret
.end
.func main 0 0
    push 1
    push 2
    call f
    print
    push 5
    push 0
    call f
    print
    push 9
    call g
    print
    push 0
    call g
    print
    halt
.end
)";
    BOOST_TEST(output_of(entered) == "3\n10\n11\n1\n");
    test::InspectableVm vm;
    vm.load(assemble(entered, "t.opasm"));
    // `load 1; add; ret` entered at the `add` (which alone with the `ret` still fuses), `push 2; call f` at the call.
    BOOST_TEST(mnemonic(op_of(vm.linked().functions()[0].code[5])) == "load");
    BOOST_TEST(mnemonic(op_of(vm.linked().functions()[0].code[6])) == "add_ret");
    BOOST_TEST(mnemonic(op_of(vm.linked().functions()[1].code[5])) == "push_int");
    BOOST_TEST(mnemonic(op_of(vm.linked().functions()[2].code[1])) == "call_k");

    // Every new form, then the same program with each fuel limit up to what it needs.
    const std::string all(test::kFusedCallsProgram);
    vm.load(assemble(all, "t.opasm"));
    for (const Op op : {Op::add_l_ret, Op::mul_l_ret, Op::call_k, Op::call_l, Op::add_lks_x, Op::sub_lls_x, Op::sub_lks_x})
        BOOST_TEST(vm.linked_opcodes().count(op) == 1u, mnemonic(op));
    BOOST_TEST(output_of(all) == "144\n121\n81\n");
    BOOST_TEST(run_text(all).result == "3");
    Vm<test::InstructionCounter> counter;
    std::ostringstream counter_output;  // the run's prints, not the test log's
    counter.set_output(counter_output);
    counter.load(assemble(all, "t.opasm"));
    counter.run();
    BOOST_TEST(counter_output.str() == "144\n121\n81\n");
    const std::uint64_t executed = counter.profiler().executed;
    BOOST_TEST(executed > 50u);
    for (std::uint64_t fuel = 1; fuel <= executed; ++fuel) {
        std::string transcript;
        try {
            transcript = run_text(all, Limits{.fuel = fuel}).output;
        } catch (const RuntimeError& e) {
            transcript = e.message();
        }
        BOOST_TEST(transcript.starts_with(fuel == executed ? "144" : ""), fuel);
        if (fuel < executed) BOOST_TEST(transcript.find("fuel exhausted") != std::string::npos, fuel);
    }
}

BOOST_AUTO_TEST_CASE(load_ret_returns_the_local) {
    BOOST_TEST(output_of(R"(
.func id 1 2
    load 0
    ret
.end
.func other 1 2
    push "x"
    store 1
    load 1
    ret
.end
.func main 0 0
    push 4.5
    call id
    print
    push 1
    call other
    print
    push nil
    call id
    print
    halt
.end
)") == "4.5\nx\nnil\n");
}

BOOST_AUTO_TEST_SUITE_END()

// The linker's matcher follows the table: every fused form's declared sequence, alone in a function, is
// linked to that form. A new row is covered here without a new test; a sequence element this test cannot
// give an operand fails it, naming the element.
BOOST_AUTO_TEST_CASE(every_fused_form_is_linked_from_its_declared_sequence) {
    std::size_t fused_forms = 0;
    for (std::size_t f = kUserOpCount; f < kOpCount; ++f) {
        const OpInfo& form = kOpTable[f];
        if (!is_fused(form.form)) continue;
        ++fused_forms;
        std::string body;
        for (int k = 0; k < form.pops; ++k) body += "    push nil\n";  // no fused form starts with a plain push
        for (int k = 0; k < form.covers; ++k) {
            const Op step = form.sequence[static_cast<std::size_t>(k)];
            const std::string name(mnemonic(step));
            if (step == Op::push_int) body += "    push 5\n";
            else if (step == Op::push) body += "    push \"literal\"\n";
            // A `store` names the local of the first `load` for the in-place forms, another for the rest.
            else if (step == Op::store) body += form.form == Form::fused_in_place ? "    store 0\n" : "    store 3\n";
            else if (info(step).operand == OperandKind::local) body += "    " + name + " " + std::to_string(k % 3) + "\n";
            else if (info(step).operand == OperandKind::callee) body += "    call one\n";  // one argument: the push before
            else if (info(step).operand == OperandKind::label) body += "    " + name + " end\n";
            else if (info(step).operand == OperandKind::none) body += "    " + name + "\n";
            else BOOST_FAIL("no operand for '" << name << "' in the sequence of '" << form.mnemonic << "'");
        }
        if (!ends_flow(form.flow)) {
            for (int k = 0; k < form.pushes; ++k) body += "    pop\n";
            body += "end:\n    halt";
        }
        Vm<> vm;
        vm.load(assemble(main_program(body) + ".func one 1 1\n    push nil\n    ret\n.end\n", "t.opasm"));
        const auto first = static_cast<std::size_t>(std::max(form.pops, 0));
        BOOST_TEST(mnemonic(op_of(vm.linked().code()[first])) == form.mnemonic, body);
    }
    BOOST_TEST(fused_forms > 60u);
    // The forms' conditions: no div_k by 0 or -1 (division errors stay on div's path).
    for (const char* divisor : {"0", "-1"}) {
        Vm<> vm;
        vm.load(assemble(main_program(std::string("    push 7\n    push ") + divisor + "\n    div\n    print\n    halt"), "t.opasm"));
        BOOST_TEST(mnemonic(op_of(vm.linked().code()[1])) == "push_int");
    }
}

// Flow is what the linker reads for block leaders and fuel runs; the table's derived rows agree with the
// user instructions they stand for.
BOOST_AUTO_TEST_CASE(internal_forms_take_stack_effects_and_flow_from_their_sequences) {
    BOOST_TEST(info(Op::add_lls).pops == 0);
    BOOST_TEST(info(Op::add_lls).pushes == 0);
    BOOST_TEST((info(Op::lt_ll_jz).flow == Flow::branch));
    BOOST_TEST(is_branch(Op::jz_counted));
    BOOST_TEST((info(Op::ret_local).flow == Flow::return_));
    BOOST_TEST((info(Op::add_l_ret).flow == Flow::return_));
    BOOST_TEST(info(Op::add_l_ret).pops == 1);
    BOOST_TEST(info(Op::add_ret).pops == 2);
    BOOST_TEST((info(Op::call_k).flow == Flow::call));
    BOOST_TEST(info(Op::call_k).pops == kVariablePops);  // the callee's arity, less the argument it pushes
    BOOST_TEST(info(Op::call_k).pushes == 1);
    BOOST_TEST(info(Op::add_lks_x).pops == 0);
    BOOST_TEST(info(Op::add_lks_x).pushes == 0);
    BOOST_TEST(!ends_run(Op::call_native));  // a native call stays in its caller's straight line
    BOOST_TEST(ends_run(Op::call));
    BOOST_TEST(!ends_block(Op::call));  // a return lands mid-block
    for (std::size_t k = kUserOpCount; k < kOpCount; ++k)
        BOOST_TEST(mnemonic(kOpTable[k].stands_for) ==
                       mnemonic(kOpTable[k].sequence[0] == Op::push_int ? Op::push : kOpTable[k].sequence[0]),
                   kOpTable[k].mnemonic);
}

// Bytecode stores opcodes by number, so the format's version names the instruction set: any insertion,
// reordering or change of a user opcode changes the fingerprint that bytecode.cpp pins to its version (a
// compile error there until the version is bumped), and files of another version are refused.
BOOST_AUTO_TEST_CASE(the_bytecode_version_is_tied_to_the_instruction_set) {
    std::vector<OpInfo> rows(kOpTable, kOpTable + kUserOpCount);
    const std::uint32_t current = instruction_set_fingerprint(rows.data(), rows.size());
    BOOST_TEST(current == instruction_set_fingerprint());

    std::vector<OpInfo> inserted = rows;  // an integer shl after mod
    OpInfo shl = info(Op::mod);
    shl.mnemonic = "shl";
    inserted.insert(inserted.begin() + static_cast<std::ptrdiff_t>(Op::mod) + 1, shl);
    BOOST_TEST(instruction_set_fingerprint(inserted.data(), inserted.size()) != current);

    std::vector<OpInfo> swapped = rows;
    std::swap(swapped[static_cast<std::size_t>(Op::add)], swapped[static_cast<std::size_t>(Op::sub)]);
    BOOST_TEST(instruction_set_fingerprint(swapped.data(), swapped.size()) != current);

    std::vector<OpInfo> changed = rows;
    changed[static_cast<std::size_t>(Op::jmp)].flow = Flow::branch;
    BOOST_TEST(instruction_set_fingerprint(changed.data(), changed.size()) != current);

    std::vector<std::uint8_t> bytes = encode_bytecode(assemble(main_program("    halt"), "t.opasm"));
    const int later = bytes[4] + 1;
    bytes[4] = static_cast<std::uint8_t>(later);  // a later version's file: refused before any opcode is read
    BOOST_CHECK_EXCEPTION(decode_bytecode(bytes, "t.opc"), ProgramError, [&](const ProgramError& e) {
        return std::string(e.what()).find("unsupported bytecode version " + std::to_string(later)) != std::string::npos;
    });
}

// Must stay last: it checks the programs run by every test above.
BOOST_AUTO_TEST_CASE(every_user_opcode_is_exercised) {
    std::size_t user_ops = 0;
    for (std::size_t k = 0; k < kOpCount; ++k) {
        if (kOpTable[k].internal) continue;
        ++user_ops;
        BOOST_TEST(test::used_opcodes().count(static_cast<Op>(k)) == 1u,
                   "no test program uses '" << kOpTable[k].mnemonic << "' (run the whole file)");
    }
    BOOST_TEST(user_ops == kUserOpCount);
    BOOST_TEST(user_ops == 32u);
}

// Also last: the internal forms the linker produces (quickened, fused) were all run by some program, so the
// agreement checks of test::run_text (fused vs unfused) covered each of them.
BOOST_AUTO_TEST_CASE(every_internal_opcode_is_exercised) {
    for (std::size_t k = 0; k < kOpCount; ++k) {
        // The _counted branches exist only under block-counting policies: test_counting checks them.
        const auto op = static_cast<Op>(k);
        if (!kOpTable[k].internal || op == Op::jz_counted || op == Op::jnz_counted) continue;
        BOOST_TEST(test::linked_opcodes().count(static_cast<Op>(k)) == 1u,
                   "no test program was linked to '" << kOpTable[k].mnemonic << "' (run the whole file)");
    }
}
