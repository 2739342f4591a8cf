// The `opscope` command-line tool: run, asm, disasm, compile.
//
// Exit codes (also in README): 0 success, 1 runtime error in the program, 2 usage error,
// 3 bad program (assembly, compile, bytecode or verification errors), 4 input/output error.
#include <opscope/opscope.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iostream>

namespace {

enum ExitCode : int { ok = 0, runtime_error = 1, usage_error = 2, bad_program = 3, io_error = 4 };

struct LimitOptions {
    std::uint64_t fuel = 0;
    std::uint32_t max_call_depth = opscope::Limits{}.max_call_depth;
    std::uint32_t stack_slots = opscope::Limits{}.stack_slots;
    std::uint64_t heap_bytes = 0;

    void add_to(CLI::App& command) {
        command.add_option("--fuel", fuel, "Stop with an error after this many instructions (0 = unlimited)");
        command.add_option("--max-depth", max_call_depth, "Maximum call depth, counting main")
            ->check(CLI::PositiveNumber);
        command.add_option("--stack-slots", stack_slots, "Value-stack size in slots")->check(CLI::PositiveNumber);
        command.add_option("--heap-bytes", heap_bytes, "Maximum live heap bytes (0 = unlimited)");
    }
    opscope::Limits limits() const { return {fuel, max_call_depth, stack_slots, heap_bytes}; }
};

void write_file(const std::string& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary);
    if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw opscope::InputError(fmt::format("cannot write '{}'", path));
}

// Verifies against the built-in natives, as `run` would.
opscope::Program verified(opscope::Program program) {
    opscope::Vm<> vm;
    vm.load(program);
    return vm.program();
}

int run(const std::string& file, const LimitOptions& limits, bool print_result) {
    opscope::Vm<> vm(limits.limits());
    vm.load(opscope::read_program(file));
    try {
        const opscope::Value result = vm.run();
        if (print_result) std::cout << "result: " << opscope::to_display(result) << '\n';
    } catch (const opscope::RuntimeError& e) {
        std::cout.flush();
        std::cerr << e.format() << '\n';
        return runtime_error;
    }
    return ok;
}

} // namespace

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    CLI::App app{"opscope: a stack-based bytecode VM with zero-cost profiling policies"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "opscope 0.1.0");

    std::string file, output;
    LimitOptions limits;
    bool print_result = false, assembly = false, no_verify = false;

    CLI::App* run_cmd = app.add_subcommand("run", "Run a program (.ops, .opasm or .opc)");
    run_cmd->add_option("FILE", file, "Program file")->required();
    run_cmd->add_flag("--print-result", print_result, "Print main's result value after the program's output");
    limits.add_to(*run_cmd);

    CLI::App* asm_cmd = app.add_subcommand("asm", "Assemble .opasm into bytecode (.opc)");
    asm_cmd->add_option("FILE", file, "Assembly file")->required();
    asm_cmd->add_option("-o,--output", output, "Output bytecode file")->required();
    asm_cmd->add_flag("--no-verify", no_verify, "Skip verification (for programs calling host natives)");

    CLI::App* disasm_cmd = app.add_subcommand("disasm", "Print the assembly of a program (.opc, .opasm or .ops)");
    disasm_cmd->add_option("FILE", file, "Program file")->required();
    disasm_cmd->add_option("-o,--output", output, "Write the assembly here instead of standard output");

    CLI::App* compile_cmd = app.add_subcommand("compile", "Compile .ops source to bytecode or assembly");
    compile_cmd->add_option("FILE", file, "Source file")->required();
    compile_cmd->add_option("-o,--output", output, "Output file (bytecode, or assembly with -S)");
    compile_cmd->add_flag("-S", assembly, "Emit assembly (with .line debug info) instead of bytecode");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? ok : usage_error;
    }

    try {
        if (*run_cmd) return run(file, limits, print_result);
        if (*asm_cmd) {
            opscope::Program program = opscope::assemble(opscope::read_text_file(file), file);
            if (!no_verify) program = verified(std::move(program));
            const auto bytes = opscope::encode_bytecode(program);
            write_file(output, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
        } else if (*disasm_cmd) {
            const std::string text = opscope::disassemble(opscope::read_program(file));
            if (output.empty()) std::cout << text;
            else write_file(output, text);
        } else if (*compile_cmd) {
            if (!file.ends_with(".ops")) throw opscope::InputError(fmt::format("'{}' is not a .ops source file", file));
            const opscope::Program program = verified(opscope::read_program(file));
            if (assembly) {
                const std::string text = opscope::disassemble(program);
                if (output.empty()) std::cout << text;
                else write_file(output, text);
            } else {
                if (output.empty()) throw CLI::RequiredError("-o (or -S)");
                const auto bytes = opscope::encode_bytecode(program);
                write_file(output, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
            }
        }
    } catch (const opscope::ProgramError& e) {
        std::cout.flush();
        std::cerr << e.what() << '\n';
        return bad_program;
    } catch (const opscope::InputError& e) {
        std::cerr << "opscope: error: " << e.what() << '\n';
        return io_error;
    } catch (const CLI::Error& e) {
        std::cerr << "opscope: error: " << e.what() << '\n';
        return usage_error;
    }
    return ok;
}
