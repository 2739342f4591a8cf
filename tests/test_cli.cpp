// The `opscope` command-line tool, run as a separate process: output of the examples, exit codes
// (0 ok, 1 runtime error, 2 usage, 3 bad program, 4 input/output), error formats, the asm -> disasm -> asm
// round trip, limits from the command line, and the embedding example.
//
// OPSCOPE_CLI, OPSCOPE_EMBED_EXAMPLE, OPSCOPE_SERVER_EXAMPLE and OPSCOPE_SOURCE_DIR are compile definitions set by tests/CMakeLists.txt.
#include <opscope/report.hpp>

#include <boost/test/unit_test.hpp>

#include "cli_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <algorithm>
#include <map>
#include <regex>
#include <tuple>
#include <utility>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace opscope::test;

namespace {

std::size_t count_lines(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) n += c == '\n';
    return n;
}

// `name` from examples/ with the operand of the line marked `@size` replaced by `size`.
fs::path resized_example(const std::string& name, long size) {
    std::istringstream in(read_file(example(name)));
    std::string text, line;
    int replaced = 0;
    while (std::getline(in, line)) {
        const std::size_t push = line.find("push ");
        if (push != std::string::npos && line.find("; @size") != std::string::npos) {
            line = line.substr(0, push) + "push " + std::to_string(size);
            ++replaced;
        }
        text += line + "\n";
    }
    BOOST_TEST_REQUIRE(replaced == 1, name << " should have one @size line");
    return write_file("small_" + name, text);
}

} // namespace

BOOST_AUTO_TEST_SUITE(run)

BOOST_AUTO_TEST_CASE(hello_example) {
    const Result r = cli("run " + quote(example("hello.opasm")));
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out == "hello, opscope\n42\n");
    BOOST_TEST(r.err == "");
}

BOOST_AUTO_TEST_CASE(fib_example_at_full_size) {
    const Result r = cli("run " + quote(example("fib.opasm")));
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out == "832040\n");
    BOOST_TEST(r.err == "");
}

BOOST_AUTO_TEST_CASE(benchmark_examples_at_small_sizes) {
    // The same programs as the benchmarks with their @size operand made small enough for a Debug build.
    const struct {
        const char* name;
        long size;
        const char* output;
    } cases[] = {
        {"fib.opasm", 20, "6765\n"},
        {"loop.opasm", 1000, "499500\n"},      // sum of 0..999, below the modulus
        {"loop.opasm", 3000, "498488\n"},      // 4498500 % 1000003
        {"sieve.opasm", 1000, "168\n"},        // primes up to 1000
        {"sieve.opasm", 100000, "9592\n"},     // primes up to 100000
        {"calls.opasm", 1000, "500500\n"},     // sum of i + 1 for i in 0..999
    };
    for (const auto& c : cases) {
        const Result r = cli("run " + quote(resized_example(c.name, c.size).string()));
        BOOST_TEST(r.exit_code == 0, c.name << " " << c.size);
        BOOST_TEST(r.out == c.output, c.name << " " << c.size);
        BOOST_TEST(r.err == "", c.name << " " << c.size);
    }
}

BOOST_AUTO_TEST_CASE(print_result_option) {
    const fs::path p = write_file("result.opasm", ".func main 0 0\n    push \"out\"\n    print\n    push 42\n    ret\n.end\n");
    Result r = cli("run --print-result " + quote(p.string()));
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out == "out\nresult: 42\n");
    r = cli("run " + quote(p.string()));
    BOOST_TEST(r.out == "out\n");
}

BOOST_AUTO_TEST_CASE(help_and_version_exit_zero) {
    Result r = cli("--help");
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out.find("run") != std::string::npos);
    r = cli("--version");
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out.starts_with("opscope "));
}

// Every command's help, and the error for a value no option takes, is text a terminal shows: --metric's
// choices used to print as raw bytes (a NUL for cpu, 0x01 for instructions) in both.
BOOST_AUTO_TEST_CASE(help_and_choice_errors_are_printable_text) {
    const auto printable = [](const std::string& text) {
        return std::ranges::all_of(text, [](char c) { return c == '\n' || (c >= 0x20 && c < 0x7f); });
    };
    for (const std::string command : {"run", "profile", "export", "merge", "diff", "asm", "disasm", "compile"}) {
        const Result r = cli(command + " --help");
        BOOST_TEST(r.exit_code == 0, command);
        BOOST_TEST(r.out.find("Usage:") != std::string::npos, command);
        BOOST_TEST(printable(r.out), command);
    }
    BOOST_TEST(cli("profile --help").out.find("--metric TEXT:{cpu,instructions}") != std::string::npos);
    const Result r = cli("profile --format pprof --metric wall -o " + quote((scratch() / "m.pb").string()) + " " +
                         quote(example("fib.opasm")));
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(printable(r.err));
    BOOST_TEST(r.err.find("--metric: wall not in {cpu,instructions}") != std::string::npos, r.err);
    BOOST_TEST(!fs::exists(scratch() / "m.pb"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(exit_codes)

// The CLI's --format choices are the library's list of formats: each writes the same document as the
// library's writer for that profile (the counts are exact, so two runs agree), and another name exits 2.
BOOST_AUTO_TEST_CASE(every_report_format_is_a_profile_format_choice) {
    BOOST_TEST(opscope::report_formats().size() >= 2u);
    // fib(22) at 10 kHz, not the example's fib(30): this runs once per format, also in the sanitizer build.
    const fs::path program = scratch() / "fib22.ops";
    std::ofstream(program) << "fn fib(n) {\n    if (n < 2) { return n; }\n    return fib(n - 1) + fib(n - 2);\n}\n"
                              "print(fib(22));\n";
    for (const opscope::ReportFormat& format : opscope::report_formats()) {
        const fs::path out = scratch() / ("report." + std::string(format.name));
        // Full records every group a format may need (folded and pprof need its sampled stacks).
        const Result r = cli("profile --policy full --sample-rate 10000 --format " + std::string(format.name) + " -o " +
                             quote(out.string()) + " " + quote(program.string()));
        BOOST_TEST(r.exit_code == 0, format.name);
        const std::string written = read_file(out);
        if (format.binary) BOOST_TEST(written.starts_with("\x1f\x8b"), format.name);  // gzip
        else BOOST_TEST(written.find("fib") != std::string::npos, format.name);
        BOOST_TEST(opscope::find_report_format(format.name) == &format);
    }
    BOOST_TEST(opscope::find_report_format("nonesuch") == nullptr);
    BOOST_TEST(cli("profile --format nonesuch " + quote(example("fib.opasm"))).exit_code == 2);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
    const std::string hello = quote(example("hello.opasm"));
    for (const std::string& arguments :
         {std::string(""), std::string("frobnicate"), std::string("run"), "run --bogus " + hello,
          "run --fuel lots " + hello, "run --max-depth 0 " + hello, "asm " + hello, std::string("disasm"),
          "run " + hello + " extra"}) {
        const Result r = cli(arguments);
        BOOST_TEST(r.exit_code == 2, "opscope " << arguments);
        BOOST_TEST(!r.err.empty(), "opscope " << arguments);
        BOOST_TEST(r.out.find("hello, opscope") == std::string::npos, "opscope " << arguments);
    }
}

// Issue 12: --max-depth and --stack-slots past their documented maxima (2^24 frames, 2^28 slots) are usage
// errors naming the option. They used to reach the VM, whose std::bad_alloc aborted the tool (exit 134).
BOOST_AUTO_TEST_CASE(stack_limits_past_their_maxima_exit_2) {
    const std::string hello = quote(example("hello.opasm"));
    for (const std::string option : {"--stack-slots", "--max-depth"})
        for (const std::string value : {"1000000000000000", "4294967295", option == "--max-depth" ? "16777217" : "268435457"})
            for (const std::string command : {"run", "profile"}) {
                const std::string arguments = command + " " + option + " " + value + " " + hello;
                const Result r = cli(arguments);
                BOOST_TEST(r.exit_code == 2, "opscope " << arguments);
                BOOST_TEST(r.err.find(option) != std::string::npos, "opscope " << arguments << ": " << r.err);
                BOOST_TEST(r.out.find("hello, opscope") == std::string::npos, "opscope " << arguments);
            }
    // The maximum itself runs (frames are allocated zeroed, so unused ones cost nothing).
    const Result r = cli("run --max-depth 16777216 " + hello);
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("hello, opscope") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(assembly_errors_exit_3_with_file_line_col) {
    const fs::path p = write_file("bad_syntax.opasm", ".func main 0 0\n    push 1\n    frobnicate\n    ret\n.end\n");
    const Result r = cli("run " + quote(p.string()));
    BOOST_TEST(r.exit_code == 3);
    BOOST_TEST(r.err.starts_with(p.string() + ":3:5: error: "), r.err);
    BOOST_TEST(r.out == "");
}

BOOST_AUTO_TEST_CASE(verification_errors_exit_3_with_file_line_col) {
    const fs::path p = write_file("underflow.opasm", ".func main 0 0\n    push 1\n    add\n    ret\n.end\n");
    const Result r = cli("run " + quote(p.string()));
    BOOST_TEST(r.exit_code == 3);
    BOOST_TEST(r.err == p.string() + ":3:5: error: function 'main' offset 1: stack underflow: 'add' pops 2 but the "
                                     "stack holds 1\n");
}

BOOST_AUTO_TEST_CASE(corrupt_bytecode_exits_3) {
    const fs::path p = write_file("garbage.opc", "this is not bytecode at all");
    const Result r = cli("run " + quote(p.string()));
    BOOST_TEST(r.exit_code == 3);
    BOOST_TEST(r.err.starts_with(p.string()), r.err);
    BOOST_TEST(count_lines(r.err) == 1u, r.err);
}

BOOST_AUTO_TEST_CASE(runtime_errors_exit_1_with_a_backtrace) {
    const fs::path p = write_file("divide.opasm", R"(.func main 0 0
    push "before"
    print
    push 1
    push 0
    div
    print
    halt
.end
)");
    const Result r = cli("run " + quote(p.string()));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.out == "before\n");
    BOOST_TEST(r.err == "error: division by zero\n  at main+4 (" + p.string() + ":6)\n");
}

BOOST_AUTO_TEST_CASE(missing_file_exits_4_with_one_line) {
    const std::string missing = (scratch() / "does_not_exist.opasm").string();
    Result r = cli("run " + quote(missing));
    BOOST_TEST(r.exit_code == 4);
    BOOST_TEST(r.err == "opscope: error: cannot open '" + missing + "': No such file or directory\n");
    BOOST_TEST(r.out == "");
    r = cli("disasm " + quote((scratch() / "missing.opc").string()));
    BOOST_TEST(r.exit_code == 4);
    BOOST_TEST(count_lines(r.err) == 1u);
}

BOOST_AUTO_TEST_CASE(unknown_file_type_exits_4) {
    const fs::path p = write_file("program.txt", ".func main 0 0\n    halt\n.end\n");
    const Result r = cli("run " + quote(p.string()));
    BOOST_TEST(r.exit_code == 4);
    BOOST_TEST(r.err.starts_with("opscope: error: "));
    BOOST_TEST(count_lines(r.err) == 1u);
}

BOOST_AUTO_TEST_CASE(unwritable_output_exits_4) {
    const Result r = cli("asm " + quote(example("hello.opasm")) + " -o " + quote((scratch() / "no/such/dir/x.opc").string()));
    BOOST_TEST(r.exit_code == 4);
    BOOST_TEST(r.err.starts_with("opscope: error: cannot write"), r.err);
}

// profile finds that it cannot write its report before running the program, not after (a run may take minutes).
BOOST_AUTO_TEST_CASE(profile_checks_its_output_before_the_run) {
    const fs::path missing = scratch() / "no/such/dir/report.txt";
    for (const std::string& output : {missing.string(), scratch().string()}) {
        const Result r = cli("profile --policy counting -o " + quote(output) + " " + quote(example("hello.opasm")));
        BOOST_TEST(r.exit_code == 4, output);
        BOOST_TEST(r.out.empty(), output);  // the program did not run
        BOOST_TEST(r.err == "opscope: error: cannot write '" + output + "': " +
                                (output == missing.string() ? "No such file or directory" : "Is a directory") + "\n",
                   r.err);
    }
    // The check leaves nothing behind: the report is the only file written.
    const fs::path dir = scratch() / "profile_checks";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const Result r = cli("profile --policy counting -o " + quote((dir / "report.txt").string()) + " " + quote(example("hello.opasm")));
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
    BOOST_TEST(read_file(dir / "report.txt").find("opscope profile") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(asm_and_disasm)

// asm -> disasm -> asm must give identical bytes, and the bytecode must run like the text.
void check_round_trip(const fs::path& source, const std::string& stem) {
    const fs::path first = scratch() / (stem + ".opc");
    const fs::path text = scratch() / (stem + "_disasm.opasm");
    const fs::path second = scratch() / (stem + "_again.opc");
    Result r = cli("asm " + quote(source.string()) + " -o " + quote(first.string()));
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    r = cli("disasm " + quote(first.string()) + " -o " + quote(text.string()));
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    const Result to_stdout = cli("disasm " + quote(first.string()));
    BOOST_TEST(to_stdout.exit_code == 0);
    BOOST_TEST(to_stdout.out == read_file(text));
    r = cli("asm " + quote(text.string()) + " -o " + quote(second.string()));
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    const std::string bytes = read_file(first);
    BOOST_TEST(bytes.size() > 8u);
    BOOST_TEST(bytes == read_file(second), source.string() << ": bytecode differs after disasm + asm");
}

BOOST_AUTO_TEST_CASE(examples_round_trip) {
    for (const char* name : {"hello", "fib", "loop", "sieve", "calls"})
        check_round_trip(example(std::string(name) + ".opasm"), name);
}

BOOST_AUTO_TEST_CASE(a_program_with_every_kind_of_constant_round_trips_and_runs) {
    const fs::path source = write_file("constants.opasm", R"(; every kind of literal, globals, labels, two functions
.func show 1 2
    load 0
    print
    push nil
    ret
.end
.func main 0 1
    push "tab\there \"quoted\" back\\slash\n"
    call show
    pop
    push -0.0
    call show
    pop
    push 0.1
    push 1e21
    add
    call show
    pop
    push 9223372036854775807
    gstore big
    gload big
    call show
    pop
    push 0x1f
    store 0
again:
    load 0
    push 1
    sub
    dup
    store 0
    jnz again
    push nil
    push true
    push false
    print
    print
    print
    load 0
    ret
.end
)");
    check_round_trip(source, "constants");
    const std::string expected = "tab\there \"quoted\" back\\slash\n\n-0.0\n1e+21\n9223372036854775807\nfalse\ntrue\nnil\n";
    const Result from_text = cli("run " + quote(source.string()));
    BOOST_TEST(from_text.exit_code == 0);
    BOOST_TEST(from_text.out == expected);
    const Result from_bytecode = cli("run " + quote((scratch() / "constants.opc").string()));
    BOOST_TEST(from_bytecode.exit_code == 0);
    BOOST_TEST(from_bytecode.out == expected);
}

BOOST_AUTO_TEST_CASE(asm_verifies_unless_told_not_to) {
    const fs::path source = write_file("native.opasm", ".func main 0 0\n    push 1\n    call host_only\n    ret\n.end\n");
    const fs::path out = scratch() / "native.opc";
    Result r = cli("asm " + quote(source.string()) + " -o " + quote(out.string()));
    BOOST_TEST(r.exit_code == 3);
    BOOST_TEST(r.err.find("call to unknown function 'host_only'") != std::string::npos, r.err);
    r = cli("asm --no-verify " + quote(source.string()) + " -o " + quote(out.string()));
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(fs::exists(out));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(printing_a_deeply_nested_array_does_not_crash) {
    // 10,000 arrays nested one in the next, printed by a process with a 256 KiB C++ stack: the output is
    // the whole nest (or, if the VM bounds nesting, a runtime error), never a crash. The collector already
    // marks nested arrays without recursion; printing must not recurse per level either.
    const fs::path p = write_file("nest.opasm", R"(.func main 0 2
    push 0
    store 1
top:
    load 1
    push 10000
    lt
    jz done
    push 1
    newarray
    dup
    push 0
    load 0
    aset
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
)");
    BOOST_TEST(cli("run " + quote(example("hello.opasm"))).exit_code == 0);  // the CLI itself fits in the stack
    const Result r = run_program("/bin/sh", "-c " + quote("ulimit -s 256 && exec " + quote(OPSCOPE_CLI) + " run " +
                                                          quote(p.string())));
    BOOST_TEST((r.exit_code == 0 || r.exit_code == 1), "exit code " << r.exit_code << " (139 = segmentation fault)");
    if (r.exit_code == 0) BOOST_TEST((r.out == std::string(10000, '[') + "nil" + std::string(10000, ']') + "\n"));
    if (r.exit_code == 1) BOOST_TEST(r.err.starts_with("error: "), r.err);
}

// Issue 12: a profile's source text and source_file come from the file its line numbers refer to, the one
// backtraces name. The CLI used to take the text from the assembly file's own lines (which `.line` numbers
// do not refer to) and name the command-line file.
BOOST_AUTO_TEST_SUITE(profile_source)

// The profile of `program` as the counting policy's JSON document, and the command's result.
std::pair<opscope::Profile, Result> profile_json(const fs::path& program) {
    const fs::path out = scratch() / "source_profile.json";
    fs::remove(out);
    const Result r = cli("profile --policy counting --format json -o " + quote(out.string()) + " " +
                         quote(program.string()));
    return {opscope::parse_json(read_file(out)), r};
}

// Line -> source text (empty for none), for every line entry.
std::map<std::uint32_t, std::string> texts(const opscope::Profile& p) {
    std::map<std::uint32_t, std::string> out;
    for (const opscope::LineStats& l : p.lines->entries) out[l.line] = l.source_text.value_or("");
    return out;
}

BOOST_AUTO_TEST_CASE(text_comes_from_the_file_line_directives_refer_to) {
    const fs::path source = write_file("lines_source.ops", "first source line\nsecond source line\nthird\r\n");
    const fs::path program = write_file("lines_program.opasm", ".source \"" + source.string() + "\"\n"
                                        ".func main 0 0\n.line 2\n  push 1\n  push 0\n.line 3\n  div\n  ret\n.end\n");
    const auto [profile, r] = profile_json(program);
    BOOST_TEST(r.exit_code == 1);  // division by zero: the backtrace names the `.source` file
    BOOST_TEST(r.err == "error: division by zero\n  at main+2 (" + source.string() + ":3)\n");
    BOOST_TEST(profile.source_file == source.string());
    BOOST_TEST((texts(profile) == std::map<std::uint32_t, std::string>{{2, "second source line"}, {3, "third"}}));

    // Without `.line`, the numbers are the assembly's own lines; a `.ops` program's are its own.
    const fs::path own = write_file("own_lines.opasm", ".func main 0 0\n  push 1\n  pop\n  halt\n.end\n");
    auto [own_profile, own_result] = profile_json(own);
    BOOST_TEST(own_profile.source_file == own.string());
    BOOST_TEST((texts(own_profile) == std::map<std::uint32_t, std::string>{{2, "  push 1"}, {3, "  pop"}, {4, "  halt"}}));
    const fs::path ops = write_file("own_lines.ops", "let x = 1;\nprint(x);\n");
    std::tie(own_profile, own_result) = profile_json(ops);
    BOOST_TEST(own_result.out == "1\n");
    BOOST_TEST(own_profile.source_file == ops.string());
    BOOST_TEST(texts(own_profile).at(2) == "print(x);");
}

BOOST_AUTO_TEST_CASE(line_directives_naming_no_file_give_no_text) {
    const fs::path program = write_file("no_source.opasm", ".func main 0 0\n.line 2\n  push 1\n  pop\n  halt\n.end\n");
    const auto [profile, r] = profile_json(program);
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(profile.source_file == "");  // as backtraces, which print "?"
    BOOST_TEST((texts(profile) == std::map<std::uint32_t, std::string>{{2, ""}}));
}

BOOST_AUTO_TEST_CASE(a_source_that_is_not_a_readable_regular_file_gives_no_text) {
    for (const std::string& named : {scratch().string(), (scratch() / "missing.ops").string()}) {
        const fs::path program = write_file("odd_source.opasm", ".source \"" + named + "\"\n"
                                            ".func main 0 0\n.line 1\n  push 1\n  pop\n  halt\n.end\n");
        const auto [profile, r] = profile_json(program);
        BOOST_TEST(r.exit_code == 0, named);
        BOOST_TEST(profile.source_file == named);
        BOOST_TEST((texts(profile) == std::map<std::uint32_t, std::string>{{1, ""}}), named);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(fuel_stops_an_infinite_loop) {
    const fs::path p = write_file("forever.opasm", ".func main 0 0\ntop:\n    jmp top\n.end\n");
    const Result r = cli("run --fuel 1000 " + quote(p.string()));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err == "error: fuel exhausted after 1000 of 1000 instructions: the next straight-line run of 1 "
                        "instruction does not fit in the 0 left\n  at main+0 (" +
                            p.string() + ":3)\n");
}

BOOST_AUTO_TEST_CASE(enough_fuel_runs_to_the_end) {
    const fs::path small = resized_example("loop.opasm", 100);
    BOOST_TEST(cli("run --fuel 100000 " + quote(small.string())).out == "4950\n");
    const Result r = cli("run --fuel 100 " + quote(small.string()));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.starts_with("error: fuel exhausted after "));
    BOOST_TEST(r.err.find(" of 100 instructions: the next straight-line run of ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(depth_stack_and_heap_limits) {
    const fs::path fib = resized_example("fib.opasm", 10);
    BOOST_TEST(cli("run --max-depth 11 " + quote(fib.string())).out == "55\n");
    Result r = cli("run --max-depth 5 " + quote(fib.string()));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.starts_with("error: call depth limit exceeded: calling 'fib' would make 6 frames (limit 5)\n"), r.err);
    r = cli("run --stack-slots 8 " + quote(fib.string()));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.starts_with("error: stack overflow: "), r.err);
    const fs::path big = write_file("big.opasm", ".func main 0 0\n    push 1000000\n    newarray\n    len\n    print\n    halt\n.end\n");
    BOOST_TEST(cli("run " + quote(big.string())).out == "1000000\n");
    r = cli("run --heap-bytes 1000000 " + quote(big.string()));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.starts_with("error: heap limit exceeded: "), r.err);
}

BOOST_AUTO_TEST_SUITE_END()

// --- bad input (issue 12's table, issue 16's rows) ------------------------------------------------------------

namespace {

// The files the README's "Bad input" table names, made in `dir`.
void make_bad_inputs(const fs::path& dir) {
    fs::create_directories(dir);
    const auto write = [&](const std::string& name, const std::string& content) {
        std::ofstream(dir / name, std::ios::binary) << content;
    };
    fs::create_directories(dir / "dir.opc");
    for (const char* name : {"empty.ops", "empty.opasm", "empty.opc"}) write(name, "");
    write("garbage.opasm", std::string("\x1b[31m\xff\xfe\n\x00\x01\x02\n", 10));
    write("hello.opasm", read_file(example("hello.opasm")));
    const Result assembled = run_program("/bin/sh", "-c " + quote("cd " + quote(dir.string()) + " && " + quote(OPSCOPE_CLI) +
                                                                  " asm hello.opasm -o hello.opc"));
    BOOST_TEST_REQUIRE(assembled.exit_code == 0, assembled.err);
    const std::string bytecode = read_file(dir / "hello.opc");
    BOOST_TEST_REQUIRE(bytecode.size() > 100u);
    write("truncated.opc", bytecode.substr(0, 100));
    std::string flipped = bytecode;
    flipped[98] = static_cast<char>(flipped[98] ^ 0x80);
    write("flipped.opc", flipped);
    write("huge_float.ops", "print(1e999);\n");
    write("huge_int.ops", "print(99999999999999999999);\n");
    std::string line = "let a = 0; ";
    for (int i = 0; i < 953250; ++i) line += "a = a + 1; ";
    write("long_line.ops", line + "print(a);\n");
    write("nested.ops", "print(" + std::string(100000, '(') + "1" + std::string(100000, ')') + ");\n");
    write("forever.opasm", ".func main 0 0\ntop:\n    jmp top\n.end\n");
    write("recursion.ops", "fn f(n) { return f(n + 1); }\nf(0);\n");
    write("bomb.ops", "let a = array(1000000);\nprint(len(a));\n");
    fs::create_directories(dir / "readonly");
    fs::permissions(dir / "readonly", fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                          fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
    std::ofstream(dir / "big.ops").close();
    fs::resize_file(dir / "big.ops", (std::uintmax_t{16} << 20) + 1);  // sparse: costs no disk
}

struct BadInputRow {
    std::string input, command, message;
    int exit_code = -1;
};

// The rows of README.md's "Bad input" table (cells in backquotes are taken without them).
std::vector<BadInputRow> bad_input_rows() {
    std::istringstream readme(read_file(std::string(OPSCOPE_SOURCE_DIR) + "/README.md"));
    std::vector<BadInputRow> rows;
    bool inside = false;
    for (std::string line; std::getline(readme, line);) {
        if (line.starts_with("<!-- bad-input table:")) inside = true;
        else if (line.starts_with("<!-- bad-input table end")) inside = false;
        if (!inside || !line.starts_with("| ") || line.starts_with("| input | command |")) continue;  // not the header
        std::vector<std::string> cells;
        for (std::size_t start = 2;;) {
            const std::size_t end = line.find(" | ", start);
            std::string cell = line.substr(start, end == std::string::npos ? line.size() - start - 2 : end - start);
            if (cell.size() >= 2 && cell.front() == '`' && cell.back() == '`') cell = cell.substr(1, cell.size() - 2);
            cells.push_back(cell);
            if (end == std::string::npos) break;
            start = end + 3;
        }
        BOOST_TEST_REQUIRE(cells.size() == 4u, line);
        rows.push_back({cells[0], cells[1], cells[3] == "(none)" ? "" : cells[3], std::stoi(cells[2])});
    }
    return rows;
}

} // namespace

// Each row of the README's table is run as written (in a folder of generated files, with 1 GB of address space:
// the 10 MB line took 1.05 GB before the lexer streamed its tokens), and must give its exit code and first line
// on stderr; a command that failed to write -o leaves neither the file nor a temporary behind.
// Each row runs with its address space capped at about 1 GB (memory bombs must fail, not swap), but for
// AddressSanitizer, which reserves terabytes of shadow address space up front and cannot start under a cap.
#if defined(__SANITIZE_ADDRESS__)
#define OPSCOPE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OPSCOPE_TEST_ASAN 1
#endif
#endif
#ifdef OPSCOPE_TEST_ASAN
constexpr const char* kMemoryCap = "";
#else
constexpr const char* kMemoryCap = "ulimit -v 1000000 && ";
#endif

BOOST_AUTO_TEST_CASE(bad_input_table_is_what_the_cli_does) {
    const fs::path dir = scratch() / "bad_input";
    make_bad_inputs(dir);
    const std::vector<BadInputRow> rows = bad_input_rows();
    BOOST_TEST(rows.size() == 18u);  // every row of the table is read
    for (const BadInputRow& row : rows) {
        BOOST_TEST_REQUIRE(row.command.starts_with("opscope "), row.command);
        std::string command = quote(OPSCOPE_CLI) + row.command.substr(7);
        // Root writes into a read-only directory: that row runs as nobody, for whom mode 555 means what it says.
        if (::geteuid() == 0 && row.command.find("readonly/") != std::string::npos)
            command = "setpriv --reuid=65534 --regid=65534 --clear-groups " + command;
        const Result r = run_program("/bin/sh", "-c " + quote("cd " + quote(dir.string()) + " && " + kMemoryCap + command));
        BOOST_TEST(r.exit_code == row.exit_code, row.input << ": " << row.command << "\n" << r.err);
        const std::string first_line = r.err.substr(0, r.err.find('\n'));
        BOOST_TEST(first_line == row.message, row.input << ": " << row.command << " printed: " << first_line);
        const std::size_t output = row.command.find(" -o ");
        if (output != std::string::npos && row.exit_code != 0) {
            const fs::path target = dir / row.command.substr(output + 4, row.command.find(' ', output + 4) - output - 4);
            if (!target.string().starts_with("/dev/")) BOOST_TEST(!fs::exists(target), target);
        }
    }
    for (const auto& entry : fs::recursive_directory_iterator(dir))
        BOOST_TEST(!entry.path().filename().string().starts_with(".opscope-"), entry.path());
}

// Issue 16, row 6: compiling `.ops` costs a bounded number of bytes of memory per byte of source. An 8 MB sum
// `0+1+1+...` (4,000,000 additions: 8,000,003 instructions, just under the function limit) compiles and runs in
// about 370 MB of address space; the syntax tree of separately allocated nodes it replaced needed over 800 MB.
// AddressSanitizer cannot start under an address-space limit (see kMemoryCap), so it skips this test.
#ifndef OPSCOPE_TEST_ASAN
BOOST_AUTO_TEST_CASE(a_dense_8_mb_source_compiles_in_600_mb) {
    const fs::path source = scratch() / "dense_sum.ops";
    {
        std::ofstream out(source, std::ios::binary);
        out << "print(0";
        for (int i = 0; i < 4000000; ++i) out << "+1";
        out << ");\n";
    }
    const Result r = run_program("/bin/sh", "-c " + quote("ulimit -v 600000 && exec " + quote(OPSCOPE_CLI) + " run " +
                                                          quote(source.string())));
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out == "4000000\n");
    // With too little memory to compile it: a clear error and exit 1, not an abort (exit 134).
    const Result starved = run_program("/bin/sh", "-c " + quote("ulimit -v 150000 && exec " + quote(OPSCOPE_CLI) +
                                                                " run " + quote(source.string())));
    BOOST_TEST(starved.exit_code == 1, starved.err);
    BOOST_TEST(starved.err.find("out of memory") != std::string::npos, starved.err);
    fs::remove(source);
}
#endif

// Issue 16, row 1: a directory named like a program, for every command that reads one. `.ops` used to run as an
// empty program (exit 0), `.opasm` said "no main" (exit 3), `.opc` aborted on an uncaught ios_failure (134).
BOOST_AUTO_TEST_CASE(a_directory_as_the_program_exits_4_for_every_command) {
    for (const std::string name : {"folder.ops", "folder.opasm", "folder.opc"}) {
        const fs::path dir = scratch() / name;
        fs::create_directories(dir);
        const std::string out = quote((scratch() / "from_folder.out").string());
        for (const std::string& command :
             {std::string("run"), std::string("profile"), std::string("disasm"), "asm -o " + out, "compile -o " + out}) {
            if (command.starts_with("compile") && !name.ends_with(".ops")) continue;
            const Result r = cli(command + " " + quote(dir.string()));
            BOOST_TEST(r.exit_code == 4, command << " " << name << ": " << r.err);
            BOOST_TEST(r.err == "opscope: error: '" + dir.string() + "': is a directory\n", command << " " << name);
            BOOST_TEST(!fs::exists(scratch() / "from_folder.out"));
        }
    }
}

// Issue 16, row 2: every command that writes -o, and every command writing to a standard output that fails,
// exits 4 naming the error. All of these used to exit 0 with nothing written.
BOOST_AUTO_TEST_CASE(write_errors_exit_4_for_every_command) {
    const std::string hello = quote(example("hello.opasm"));
    const std::string source = quote(example("hello.ops"));
    for (const std::string& arguments : {"profile " + hello + " -o /dev/full", "asm " + hello + " -o /dev/full",
                                        "disasm " + hello + " -o /dev/full", "compile " + source + " -o /dev/full",
                                        "compile -S " + source + " -o /dev/full"}) {
        const Result r = cli(arguments);
        BOOST_TEST(r.exit_code == 4, arguments);
        BOOST_TEST(r.err == "opscope: error: cannot write '/dev/full': No space left on device\n", arguments);
    }
    for (const std::string& arguments : {"disasm " + hello, "compile -S " + source, "profile " + hello, "run " + hello}) {
        const Result r = run_program("/bin/sh", "-c " + quote(quote(OPSCOPE_CLI) + " " + arguments + " >/dev/full"));
        BOOST_TEST(r.exit_code == 4, arguments);
        BOOST_TEST(r.err.starts_with("opscope: error: cannot write to standard output"), arguments << ": " << r.err);
    }
    // A device that accepts the bytes is written in place (it cannot be replaced by a rename).
    const Result r = run_program("/bin/sh", "-c " + quote(quote(OPSCOPE_CLI) + " disasm " + hello + " -o /dev/stdout"));
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out == cli("disasm " + hello).out);
}

// Issue 16, row 3: a write that fails midway (here past `ulimit -f`, one 512-byte block) leaves the target as it
// was and no temporary beside it; it used to leave a partial file (and SIGXFSZ killed the process).
BOOST_AUTO_TEST_CASE(a_failed_write_leaves_the_target_as_it_was) {
    const fs::path dir = scratch() / "atomic";
    fs::create_directories(dir);
    const fs::path existing = dir / "report.json";
    std::ofstream(existing) << "the previous report\n";
    const fs::path fresh = dir / "fresh.json";
    for (const fs::path& target : {existing, fresh}) {
        const Result r = run_program("/bin/sh", "-c " + quote("ulimit -f 1 && exec " + quote(OPSCOPE_CLI) +
                                                              " profile --format json " + quote(example("fib.opasm")) +
                                                              " -o " + quote(target.string())));
        BOOST_TEST(r.exit_code == 4, r.err);
        BOOST_TEST(r.err == "opscope: error: cannot write '" + target.string() + "': File too large\n");
    }
    BOOST_TEST(read_file(existing) == "the previous report\n");
    BOOST_TEST(!fs::exists(fresh));
    for (const auto& entry : fs::directory_iterator(dir)) BOOST_TEST(entry.path() == existing, entry.path());
    // Within the limit the write replaces the file whole.
    const Result r = cli("profile --format json " + quote(example("fib.opasm")) + " -o " + quote(existing.string()));
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(read_file(existing).starts_with("{"));
}

BOOST_AUTO_TEST_CASE(embedding_example_prints_the_result) {
    const Result r = run_program(OPSCOPE_EMBED_EXAMPLE, "");
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out == "result: 42\n");
    BOOST_TEST(r.err == "");
}

// Profiles are read back up to 64 MiB (a merge of a few Full profiles is past the 16 MiB of program files);
// a larger one is refused unread (exit 4).
BOOST_AUTO_TEST_CASE(profiles_are_read_up_to_64_mib) {
    const fs::path profile = scratch() / "padded.json";
    BOOST_TEST_REQUIRE(cli("profile --policy counting --format json -o " + quote(profile.string()) + " " +
                           quote(example("fib.opasm"))).exit_code == 0);
    std::ofstream(profile, std::ios::app) << std::string(20u << 20, ' ');  // JSON whitespace: 20 MiB more
    Result r = cli("export " + quote(profile.string()) + " --format text");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("fib") != std::string::npos);
    fs::resize_file(profile, (64u << 20) + 1);  // past the limit (the size is read, not the bytes)
    r = cli("export " + quote(profile.string()) + " --format text");
    BOOST_TEST(r.exit_code == 4);
    BOOST_TEST(r.err.find("larger than the limit of 67108864 bytes") != std::string::npos, r.err);
    fs::remove(profile);
}

// README "Embedding in a server": worker threads with a VM each, and a thread cutting their profiles into
// intervals while they run; every request's instructions are in exactly one interval.
BOOST_AUTO_TEST_CASE(server_example_accounts_for_every_instruction) {
    const Result r = run_program(OPSCOPE_SERVER_EXAMPLE, "4 100 5");
    BOOST_TEST(r.exit_code == 0, r.out << r.err);
    const std::regex summary(R"(4 workers, 400 requests, (\d+) intervals\ninstructions: (\d+) run, (\d+) in the intervals\nsamples: (\d+)\n)");
    std::smatch match;
    BOOST_TEST_REQUIRE(std::regex_match(r.out, match, summary), r.out);
    BOOST_TEST(std::stoul(match[1]) >= 2u);
    BOOST_TEST(match[2] == match[3]);
    BOOST_TEST(std::stoull(match[2]) > 400u * 10000u);
}

// `profile --every DURATION --out-dir DIR`: one profile per interval, taken while the program runs, in files
// named by sequence and start time; together they are the whole run, exactly.
BOOST_AUTO_TEST_SUITE(continuous_profiling)

// The interval files in `dir`, in name order (which is sequence order).
std::vector<fs::path> interval_files(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

BOOST_AUTO_TEST_CASE(interval_files_merge_into_the_whole_run_exactly) {
    // fib(31): ~25 ms in Release. At fib(29) (~10 ms) a CI run where a browser-driven reader test loaded
    // both cores got one interval file: the interval thread was not scheduled during the run.
    const fs::path program = resized_example("fib.opasm", 31);
    const fs::path dir = scratch() / "intervals";
    fs::remove_all(dir);
    // No --format: interval files are JSON unless asked otherwise (the text report's default does not merge).
    const Result r = cli("profile --policy counting --every 1ms --out-dir " + quote(dir.string()) + " " +
                         quote(program.string()));
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out == "1346269\n");  // the program's output only: the reports are files
    const std::vector<fs::path> files = interval_files(dir);
    BOOST_TEST_REQUIRE(files.size() >= 2u, "one file per millisecond of a run of tens of milliseconds");
    BOOST_TEST(r.err.find(std::to_string(files.size()) + " interval profiles in") != std::string::npos, r.err);
    std::vector<opscope::Profile> intervals;
    for (std::size_t i = 0; i < files.size(); ++i) {
        const std::string name = files[i].filename().string();
        const std::regex pattern(R"(opscope-(\d{6})-\d{8}T\d{6}\.\d{3}Z\.json)");
        std::smatch match;
        BOOST_TEST_REQUIRE(std::regex_match(name, match, pattern), name);
        BOOST_TEST(std::stoul(match[1]) == i + 1);
        intervals.push_back(opscope::parse_json(read_file(files[i])));
        BOOST_TEST(!intervals.back().partial);
    }
    const fs::path whole_json = scratch() / "whole.json";
    BOOST_TEST_REQUIRE(cli("profile --policy counting --format json -o " + quote(whole_json.string()) + " " +
                           quote(program.string())).exit_code == 0);
    const opscope::Profile whole = opscope::parse_json(read_file(whole_json));
    const opscope::Profile merged = opscope::merge(intervals);
    BOOST_TEST(merged.summary->total_instructions == whole.summary->total_instructions);
    BOOST_TEST((merged.instructions == whole.instructions));
    BOOST_TEST((merged.lines == whole.lines));
    BOOST_TEST((merged.functions == whole.functions));
    BOOST_TEST((merged.call_graph == whole.call_graph));
    BOOST_TEST((merged.opcode_pairs == whole.opcode_pairs));
    BOOST_TEST((merged.branches == whole.branches));
    BOOST_TEST((merged.frames == whole.frames));
    // Each interval's instructions are a part of the whole: none is empty but possibly the last.
    for (std::size_t i = 0; i + 1 < intervals.size(); ++i) BOOST_TEST(intervals[i].summary->total_instructions > 0u);
}

// pprof for continuous-profiling backends; a run that fails marks its last interval partial, with the error.
BOOST_AUTO_TEST_CASE(pprof_files_and_a_failing_run) {
    const fs::path dir = scratch() / "pprof_intervals";
    fs::remove_all(dir);
    const fs::path failing = write_file("fails.ops", "let i = 0;\nwhile (i < 200000) { i = i + 1; }\nprint(1 / 0);\n");
    Result r = cli("profile --policy full --format pprof --every 1ms --out-dir " + quote(dir.string()) + " " + quote(failing.string()));
    BOOST_TEST(r.exit_code == 1, r.err);
    std::vector<fs::path> files = interval_files(dir);
    BOOST_TEST_REQUIRE(!files.empty());
    for (const fs::path& f : files) {
        BOOST_TEST(f.filename().string().ends_with(".pb.gz"));
        const std::string bytes = read_file(f);
        BOOST_TEST_REQUIRE(bytes.size() > 2u);
        BOOST_TEST((static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b));  // gzip
    }
    fs::remove_all(dir);
    r = cli("profile --policy counting --format json --every 1s --out-dir " + quote(dir.string()) + " " + quote(failing.string()));
    BOOST_TEST(r.exit_code == 1);
    files = interval_files(dir);
    BOOST_TEST_REQUIRE(files.size() == 1u);  // the run is far shorter than a second: only the last interval
    const opscope::Profile last = opscope::parse_json(read_file(files.front()));
    BOOST_TEST(last.partial);
    BOOST_TEST(last.error.find("division by zero") != std::string::npos, last.error);
}

BOOST_AUTO_TEST_CASE(usage_errors) {
    const std::string fib = quote(example("fib.opasm"));
    const std::string dir = quote((scratch() / "unused_intervals").string());
    const std::pair<std::string, std::string> cases[] = {
        {"--every 10s " + fib, "--every needs --out-dir"},
        {"--out-dir " + dir + " " + fib, "--out-dir needs --every"},
        {"--every 10 --out-dir " + dir + " " + fib, "is not a duration"},
        {"--every 10parsecs --out-dir " + dir + " " + fib, "is not a duration"},
        {"--every 0.1ms --out-dir " + dir + " " + fib, "between 1ms"},
        {"--every 1s --out-dir " + dir + " -o x.json " + fib, "-o does not go with it"},
    };
    for (const auto& [arguments, message] : cases) {
        const Result r = cli("profile " + arguments);
        BOOST_TEST(r.exit_code == 2, arguments);
        BOOST_TEST(r.err.find(message) != std::string::npos, arguments << ": " << r.err);
    }
    const fs::path not_a_dir = write_file("not_a_dir", "");
    const Result r = cli("profile --every 1s --out-dir " + quote(not_a_dir.string()) + " " + fib);
    BOOST_TEST(r.exit_code == 4, r.err);
    BOOST_TEST(r.err.find("cannot create the directory") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()
