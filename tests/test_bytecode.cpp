// The binary format and the disassembler: exact round trips, the byte layout, and hostile input.
#include "support.hpp"
#include <opscope/errors.hpp>
#include <opscope/program.hpp>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <sstream>

using namespace opscope;


namespace {

const std::string kFile = "test.opc";

// Programs equal including float bit patterns (operator== says NaN != NaN and -0.0 == 0.0). The binary
// form holds everything but max_stack, which must be 0 before verification.
void check_identical(const Program& a, const Program& b) {
    BOOST_TEST(encode_bytecode(a) == encode_bytecode(b));
    BOOST_TEST(a.functions.size() == b.functions.size());
    for (std::size_t i = 0; i < std::min(a.functions.size(), b.functions.size()); ++i)
        BOOST_TEST(a.functions[i].max_stack == b.functions[i].max_stack);
}

// Message of the single diagnostic decoding `bytes` throws.
std::string decode_error(const std::vector<std::uint8_t>& bytes) {
    try {
        decode_bytecode(bytes, kFile);
    } catch (const ProgramError& e) {
        BOOST_TEST_REQUIRE(e.diagnostics().size() == 1u);
        const Diagnostic& d = e.diagnostics()[0];
        BOOST_TEST(d.file == kFile);
        BOOST_TEST(d.line == 0u);
        BOOST_TEST(d.column == 0u);
        return d.message;
    }
    BOOST_FAIL("expected a ProgramError");
    return {};
}

// Disassembles, reassembles, and checks the result is identical; returns the text for inspection.
std::string check_disassembly_round_trip(const Program& program) {
    const std::string text = disassemble(program);
    BOOST_TEST_INFO("disassembly:\n" << text);
    try {
        check_identical(assemble(text, "other.opasm"), program);
    } catch (const ProgramError& e) {
        BOOST_FAIL("reassembly failed: " << e.what() << "\n" << text);
    }
    return text;
}

const char* const kProgram = R"(; a program touching every operand kind
.func add3 3 4
    load 0
    load 1
    add
    load 2
    add
    store 3
    load 3
    ret
.end

.func main 0 2
    push 0
    store 0
    push "loop \"count\"\n\t\\ \x01\x7f\xff"
    gstore message
loop:
    load 0
    push 10
    lt
    jz done
    load 0
    push 1.5
    push -1
    call add3
    pop
    load 0
    push 1
    add
    store 0
    jmp loop
done:
    gload message
    print
    push nil
    push true
    push false
    eq
    not
    print
    halt
.end
)";

void put_u32(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// The smallest useful file: one function `main` with `push 7; ret` and positions.
Program small_program() {
    Program p;
    p.source_file = "s";
    p.constants = {std::int64_t{7}};
    p.functions.push_back(Function{"main", 0, 0, {{Op::push, 0}, {Op::ret, 0}}, {{1, 2}, {3, 4}}, 0});
    return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(bytecode)

BOOST_AUTO_TEST_CASE(exact_layout) {
    Program p = small_program();
    p.constants.push_back(Nil{});
    p.constants.push_back(false);
    p.constants.push_back(true);
    p.constants.push_back(1.0);
    p.constants.push_back(std::string("ab"));
    p.globals = {"g"};
    p.call_targets = {"f"};
    p.functions[0].max_stack = 5;  // not stored
    const std::vector<std::uint8_t> expected = {
        'O', 'P', 'S', 'C', 1, 0, 0, 0,                                // magic, version 1, flags 0
        1, 0, 0, 0, 's',                                               // source file
        6, 0, 0, 0,                                                    // 6 constants
        3, 7, 0, 0, 0, 0, 0, 0, 0,                                     // int 7
        0, 1, 2,                                                       // nil, false, true
        4, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,                               // float 1.0
        5, 2, 0, 0, 0, 'a', 'b',                                       // string "ab"
        1, 0, 0, 0, 1, 0, 0, 0, 'g',                                   // globals
        1, 0, 0, 0, 1, 0, 0, 0, 'f',                                   // call targets
        1, 0, 0, 0,                                                    // 1 function
        4, 0, 0, 0, 'm', 'a', 'i', 'n', 0, 0, 0, 0, 0, 0, 0, 0,        // name, nargs, nlocals
        2, 0, 0, 0, static_cast<std::uint8_t>(Op::push), 0, 0, 0, 0,   // 2 instructions
        static_cast<std::uint8_t>(Op::ret), 0, 0, 0, 0,                //
        2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0,    // positions
    };
    BOOST_TEST(encode_bytecode(p) == expected, boost::test_tools::per_element());
    p.functions[0].max_stack = 0;
    BOOST_TEST(decode_bytecode(expected, kFile) == p);
}

BOOST_AUTO_TEST_CASE(negative_operands_and_ints_are_twos_complement) {
    Program p;
    p.constants = {std::numeric_limits<std::int64_t>::min(), std::int64_t{-1}};
    p.functions.push_back(Function{"f", 0, 0, {{Op::jmp, -2}}, {}, 0});
    const auto bytes = encode_bytecode(p);
    BOOST_TEST(decode_bytecode(bytes, kFile) == p);
}

BOOST_AUTO_TEST_CASE(assembly_to_bytecode_round_trip) {
    const Program p = assemble(kProgram, "every.opasm");
    const Program decoded = decode_bytecode(encode_bytecode(p), kFile);
    BOOST_TEST(decoded == p);
    check_identical(decoded, p);
}

BOOST_AUTO_TEST_CASE(examples_round_trip) {
    const std::filesystem::path dir = std::filesystem::path(OPSCOPE_SOURCE_DIR) / "examples";
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".opasm") continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        BOOST_TEST_CONTEXT(entry.path()) {
            const Program p = assemble(text.str(), entry.path().string());
            BOOST_TEST(decode_bytecode(encode_bytecode(p), kFile) == p);
            check_disassembly_round_trip(p);
            ++count;
        }
    }
    BOOST_TEST(count >= 1);
}

BOOST_AUTO_TEST_CASE(disassembly_round_trips) {
    check_disassembly_round_trip(assemble(kProgram, "every.opasm"));
    // Explicit positions and a source file with characters that need escapes.
    check_disassembly_round_trip(assemble(".source \"dir/a \\\"b\\\".ops\"\n.func main 0 0\n.line 3 1\n push 1\n"
                                          " push 2\n.line 4\n add\n.line 3 9\n print\n.line 0 0\n halt\n.end\n",
                                          "x.opasm"));
    // Positions without .line, no .source: source_file comes from the assembled file name.
    check_disassembly_round_trip(assemble(".func main 0 0\n  halt\n.end\n.func empty 2 5\n.end\n", "x.opasm"));
    // No functions at all, with and without a source file.
    check_disassembly_round_trip(Program{});
    Program no_functions;
    no_functions.source_file = "only.ops";
    no_functions.constants = {std::int64_t{1}};
    no_functions.globals = {"g"};
    no_functions.call_targets = {"t"};
    check_disassembly_round_trip(no_functions);
}

BOOST_AUTO_TEST_CASE(disassembly_of_tricky_constants) {
    const std::vector<Constant> constants = {
        0.1, 1e300, -0.0, 0.0, std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::quiet_NaN(), 5e-324, 1.0, std::int64_t{1}, -1.5e-3, 123456789.0, 1e22,
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
        std::string("\n\t\r\"\\", 5), std::string("\0\x01\x1f\x7f\x80\xff ~;:", 10), std::string(), Nil{}, true, false,
    };
    Program p;
    p.constants = constants;
    Function main{"main", 0, 0, {}, {}, 0};
    for (std::size_t i = 0; i < constants.size(); ++i) {
        main.code.push_back({Op::push, static_cast<std::int32_t>(i)});
        main.code.push_back({Op::pop, 0});
        main.positions.push_back({static_cast<std::uint32_t>(i + 1), 0});
        main.positions.push_back({static_cast<std::uint32_t>(i + 1), 0});
    }
    main.code.push_back({Op::halt, 0});
    main.positions.push_back({0, 0});
    p.functions.push_back(main);
    const std::string text = check_disassembly_round_trip(p);
    for (const std::string_view literal : {"push 0.1 ", "push 1e+300 ", "push -0.0 ", "push 0.0 ", "push inf ",
                                           "push -inf ", "push nan ", "push 5e-324 ", "push 1.0 ", "push 1 ",
                                           "push 123456789.0 ", "push -9223372036854775808 ",
                                           R"(push "\n\t\r\"\\" )", R"(push "\0\x01\x1f\x7f\x80\xff ~;:" )",
                                           R"(push "" )", "push nil ", "push true "})
        BOOST_TEST(text.find(literal) != std::string::npos, "missing '" << literal << "' in\n" << text);
}

BOOST_AUTO_TEST_CASE(constant_literal_forms) {
    BOOST_TEST(constant_literal(Nil{}) == "nil");
    BOOST_TEST(constant_literal(true) == "true");
    BOOST_TEST(constant_literal(std::int64_t{-42}) == "-42");
    BOOST_TEST(constant_literal(2.0) == "2.0");
    BOOST_TEST(constant_literal(-0.0) == "-0.0");
    BOOST_TEST(constant_literal(1e300) == "1e+300");
    BOOST_TEST(constant_literal(0.1) == "0.1");
    BOOST_TEST(constant_literal(-std::numeric_limits<double>::quiet_NaN()) == "nan");
    BOOST_TEST(constant_literal(std::string("a\x1b" "b\xc3\xa9")) == R"("a\x1bb\xc3\xa9")");
}

BOOST_AUTO_TEST_CASE(tables_out_of_first_use_order_or_unused) {
    Program p;
    p.constants = {std::string("unused"), std::int64_t{2}, std::int64_t{1}};
    p.globals = {"b", "a", "spare"};
    p.call_targets = {"native.print", "main"};
    p.functions.push_back(Function{"main", 0, 1,
                                   {{Op::push, 2}, {Op::push, 1}, {Op::gstore, 1}, {Op::gstore, 0}, {Op::call, 1},
                                    {Op::call, 0}, {Op::halt, 0}},
                                   std::vector<SourcePos>(7), 0});
    const std::string text = check_disassembly_round_trip(p);
    BOOST_TEST(text.find(".const \"unused\"\n.const 2\n.const 1\n") != std::string::npos, text);
    BOOST_TEST(text.find(".global b\n.global a\n.global spare\n") != std::string::npos, text);
    BOOST_TEST(text.find(".target native.print\n.target main\n") != std::string::npos, text);

    // Tables already in first-use order need no pre-declarations.
    const std::string plain = disassemble(assemble(kProgram, "every.opasm"));
    BOOST_TEST(plain.find(".const") == std::string::npos);
    BOOST_TEST(plain.find(".global") == std::string::npos);
    BOOST_TEST(plain.find(".target") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(disassembly_text) {
    const Program p = assemble(".func main 0 1\nloop: load 0\n  jz end\n  jmp loop\nend:\n.end\n", "t.opasm");
    const std::string expected = "; opscope assembly: functions 1, constants 0, globals 0, call targets 0\n"
                                 ".source \"t.opasm\"\n"
                                 "\n"
                                 ".func main 0 1\n"
                                 "L0:\n"
                                 "    .line 2 7\n"
                                 "    load 0                       ; 0\n"
                                 "    .line 3 3\n"
                                 "    jz L3                        ; 1\n"
                                 "    .line 4 3\n"
                                 "    jmp L0                       ; 2\n"
                                 "L3:\n"
                                 ".end\n";
    BOOST_TEST(disassemble(p) == expected);
}

BOOST_AUTO_TEST_CASE(unexpressible_operands_do_not_reassemble) {
    Program p;
    p.functions.push_back(Function{"main", 0, 0,
                                   {{Op::push, 3}, {Op::load, -1}, {Op::jmp, 9}, {Op::pop, 4}, {Op::call, 0}},
                                   {}, 0});
    const std::string text = disassemble(p);
    for (const std::string_view s : {"push ?3 ", "load ?-1 ", "jmp ?9 ", "pop ?4 ", "call ?0 "})
        BOOST_TEST(text.find(s) != std::string::npos, "missing '" << s << "' in\n" << text);
    BOOST_CHECK_THROW(assemble(text, "x.opasm"), ProgramError);
}

BOOST_AUTO_TEST_CASE(wrong_magic_and_version) {
    auto bytes = encode_bytecode(small_program());
    auto bad = bytes;
    bad[0] = 'X';
    BOOST_TEST(decode_error(bad) == "byte offset 0: not an opscope bytecode file");
    BOOST_TEST(decode_error({}) == "byte offset 0: not an opscope bytecode file");
    BOOST_TEST(decode_error({'{', '}'}) == "byte offset 0: not an opscope bytecode file");
    bad = bytes;
    bad[4] = 2;
    BOOST_TEST(decode_error(bad) == "byte offset 4: unsupported bytecode version 2 (this build reads version 1)");
    bad = bytes;
    bad[5] = 1;
    BOOST_TEST(decode_error(bad) == "byte offset 4: unsupported bytecode version 257 (this build reads version 1)");
    bad = bytes;
    bad[6] = 3;
    BOOST_TEST(decode_error(bad) == "byte offset 6: unsupported flags 0x0003 (expected 0)");
}

BOOST_AUTO_TEST_CASE(structural_errors) {
    const auto bytes = encode_bytecode(small_program());
    // Offsets in the small program: source file at 8, constant count at 13, tag at 17, globals at 26,
    // call targets at 30, function count at 34, name at 38, instruction count at 54, first op at 58,
    // position count at 68.
    auto bad = bytes;
    bad[17] = 6;
    BOOST_TEST(decode_error(bad) == "byte offset 17: bad constant tag 6");
    bad = bytes;
    bad[58] = static_cast<std::uint8_t>(kUserOpCount);
    BOOST_TEST(decode_error(bad) == fmt::format("byte offset 58: bad opcode {} in function 'main'", kUserOpCount));
    bad = bytes;
    bad[58] = 255;
    BOOST_TEST(decode_error(bad) == "byte offset 58: bad opcode 255 in function 'main'");
    bad = bytes;
    put_u32(bad, 13, 0xffffffff);
    BOOST_TEST(decode_error(bad) == "byte offset 13: constant count 4294967295 is too large");
    bad = bytes;
    put_u32(bad, 13, 0x7fffffff);
    BOOST_TEST(decode_error(bad) == "byte offset 13: constant count 2147483647 exceeds the 71 bytes left");
    bad = bytes;
    put_u32(bad, 8, 1000);
    BOOST_TEST(decode_error(bad) == "byte offset 8: source file name length 1000 exceeds the 76 bytes left");
    bad = bytes;
    put_u32(bad, 54, 100);
    BOOST_TEST(decode_error(bad) == "byte offset 54: instruction count 100 exceeds the 30 bytes left");
    bad = bytes;
    put_u32(bad, 68, 1);
    BOOST_TEST(decode_error(bad) ==
               "byte offset 68: position count 1 in function 'main' is neither 0 nor its instruction count 2");
    bad = bytes;
    bad.push_back(0);
    bad.push_back(0);
    BOOST_TEST(decode_error(bad) == "byte offset 88: 2 trailing bytes after the last function");
    BOOST_TEST(decode_error({'O', 'P', 'S', 'C'}) ==
               "byte offset 4: unexpected end of file reading version (2 bytes needed, 0 left)");
}

// Issue 12: a function's counts past the program model's limits are refused at their byte offset, before
// the verifier or a run could trust them (nargs at 46, nlocals at 50 in the small program).
BOOST_AUTO_TEST_CASE(function_counts_past_the_limits_are_refused_where_read) {
    const auto bytes = encode_bytecode(small_program());
    auto bad = bytes;
    put_u32(bad, 46, 0xffffffff);
    put_u32(bad, 50, 0xffffffff);
    BOOST_TEST(decode_error(bad) == "byte offset 46: argument count 4294967295 of function 'main' is too large (at most 65535)");
    bad = bytes;
    put_u32(bad, 50, 0xffffffff);
    BOOST_TEST(decode_error(bad) == "byte offset 50: local count 4294967295 of function 'main' is too large (at most 65535)");
    bad = bytes;
    put_u32(bad, 46, 0x80000000);
    put_u32(bad, 50, 0x80000000);
    BOOST_TEST(decode_error(bad) == "byte offset 46: argument count 2147483648 of function 'main' is too large (at most 65535)");
    bad = bytes;
    put_u32(bad, 50, 65536);
    BOOST_TEST(decode_error(bad) == "byte offset 50: local count 65536 of function 'main' is too large (at most 65535)");
    bad = bytes;
    put_u32(bad, 46, 2);
    put_u32(bad, 50, 1);
    BOOST_TEST(decode_error(bad) == "byte offset 50: local count 1 of function 'main' is less than its argument count 2");
    bad = bytes;
    put_u32(bad, 50, 65535);
    BOOST_TEST(decode_bytecode(bad, kFile).functions[0].nlocals == kMaxLocals);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_rejected) {
    Program p = assemble(kProgram, "every.opasm");
    p.globals.push_back("unused");
    const auto bytes = encode_bytecode(p);
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        const std::vector<std::uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
        BOOST_TEST_CONTEXT("prefix length " << length) {
            const std::string message = decode_error(prefix);
            BOOST_TEST(message.starts_with("byte offset "));
            const bool expected = message.find("unexpected end of file") != std::string::npos ||
                                  message.find("bytes left") != std::string::npos ||
                                  message.find("not an opscope bytecode file") != std::string::npos;
            BOOST_TEST(expected, message);
        }
    }
}

BOOST_AUTO_TEST_CASE(corrupted_bytes_never_crash) {
    Program p = assemble(".func f 1 1\n load 0\n ret\n.end\n.func main 0 0\n push \"hi\"\n push 2.5\n call f\n"
                         " gstore g\n jmp end\nend: halt\n.end\n",
                         "small.opasm");
    const auto bytes = encode_bytecode(p);
    int rejected = 0, accepted = 0;
    for (std::size_t at = 0; at < bytes.size(); ++at) {
        for (const std::uint8_t value : {std::uint8_t{0}, std::uint8_t{1}, std::uint8_t{0x7f}, std::uint8_t{0x80},
                                         std::uint8_t{0xff}, static_cast<std::uint8_t>(bytes[at] ^ 0xff)}) {
            auto corrupted = bytes;
            corrupted[at] = value;
            try {
                const Program decoded = decode_bytecode(corrupted, kFile);
                ++accepted;
                // Whatever decodes must also disassemble, and that text either reassembles or is rejected.
                const std::string text = disassemble(decoded);
                try {
                    assemble(text, "x.opasm");
                } catch (const ProgramError&) {
                }
            } catch (const ProgramError& e) {
                ++rejected;
                BOOST_TEST(std::string(e.diagnostics().at(0).message).starts_with("byte offset "));
            }
        }
    }
    BOOST_TEST(rejected > 0);
    BOOST_TEST(accepted > 0);
}

BOOST_AUTO_TEST_SUITE_END()
