// Shared helpers for the VM test files: assemble and run a program in one call, catch the error a call
// throws, and record which opcodes the programs of a test executable used (for the coverage check in
// test_opcodes.cpp). Header-only; each test executable has its own registry.
#pragma once

#include <opscope/opscope.hpp>

#include <boost/test/unit_test.hpp>

#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace opscope {
// How Boost.Test prints these in failure messages (found by argument-dependent lookup).
inline std::ostream& boost_test_print_type(std::ostream& out, const Instruction& i) {
    return out << mnemonic(i.op) << ' ' << i.operand;
}
inline std::ostream& boost_test_print_type(std::ostream& out, const SourcePos& p) {
    return out << p.line << ':' << p.column;
}
inline std::ostream& boost_test_print_type(std::ostream& out, const Program& p) { return out << disassemble(p); }
} // namespace opscope

namespace opscope::test {

// Opcodes present in every program assembled through `assemble_recorded` in this executable.
inline std::set<Op>& used_opcodes() {
    static std::set<Op> used;
    return used;
}

inline Program assemble_recorded(std::string_view text, const std::string& file = "t.opasm") {
    Program program = assemble(text, file);
    for (const Function& f : program.functions)
        for (const Instruction& in : f.code) used_opcodes().insert(in.op);
    return program;
}

// main -> f -> g; g divides by zero at offset 2 (line 14).
inline constexpr std::string_view kThreeDeep = R"(.func main 0 0
    push 1
    call f
    ret
.end
.func f 1 1
    push 0
    call g
    ret
.end
.func g 1 1
    load 0
    push 0
    div
    ret
.end
)";

// `body` as the whole of `main` (no arguments, `nlocals` locals).
inline std::string main_program(std::string_view body, int nlocals = 4) {
    return ".func main 0 " + std::to_string(nlocals) + "\n" + std::string(body) + "\n.end\n";
}

// What a finished run left: everything printed and the result (as printed and its type). The result is
// converted at once because a Value is only valid until the heap next allocates.
struct Outcome {
    std::string output;
    std::string result;
    Type result_type = Type::undefined;
};

template <class Profiler>
Outcome run_on(Vm<Profiler>& vm, std::string_view text) {
    std::ostringstream out;
    vm.set_output(out);
    vm.load(assemble_recorded(text));
    const Value result = vm.run();
    return Outcome{out.str(), to_display(result), result.type};
}

// A policy that watches every instruction. The VM does not fuse instructions for such a policy, so a
// Vm<InstructionCounter> runs the program's own instructions one by one; it also counts them.
struct InstructionCounter {
    std::uint64_t executed = 0;
    void on_instruction(const LinkedFunction&, std::size_t, Op) { ++executed; }
};

// The default VM, able to list the interpreter's opcodes of the loaded program (quickened and fused forms).
class InspectableVm : public Vm<> {
public:
    using Vm<>::Vm;
    std::set<Op> linked_opcodes() const {
        std::set<Op> ops;
        for (const LinkedFunction& f : linked().functions())
            for (const Instr& in : f.code) ops.insert(static_cast<Op>(in.op));
        return ops;
    }
};

// Interpreter opcodes (internal ones included) of every program run through `run_text`.
inline std::set<Op>& linked_opcodes() {
    static std::set<Op> linked;
    return linked;
}

// One run: what it printed and its result, or its error; `transcript` shows all of it as text.
struct Attempt {
    Outcome outcome;
    std::optional<RuntimeError> error;
    std::string transcript;
};

template <class Profiler>
Attempt attempt(Vm<Profiler>& vm, const Program& program, const Limits& limits, bool with_result) {
    std::ostringstream out;
    vm.set_output(out);
    vm.set_limits(limits);
    vm.load(program);
    Attempt a;
    try {
        const Value result = vm.run();
        a.outcome = Outcome{out.str(), to_display(result), result.type};
        a.transcript = out.str();
        if (with_result) a.transcript += "=> " + a.outcome.result + " : " + std::string(type_name(result.type));
    } catch (const RuntimeError& e) {
        a.outcome.output = out.str();
        a.transcript = out.str() + e.format();
        a.error = e;
    }
    return a;
}

// Everything a run shows: output, then the result (with `with_result`) or the error with its backtrace.
// (Also used by the language tests.)
template <class Profiler>
std::string transcript(Vm<Profiler>& vm, const Program& program, bool with_result) {
    return attempt(vm, program, vm.limits(), with_result).transcript;
}

// More instructions than any program run through `run_text` without a fuel limit needs.
inline constexpr std::uint64_t kGuardFuel = 100'000'000;

enum class Deterministic { everything, output_only };

// Runs `text` with the default (fusing) VM and checks that an instruction-watching VM, which runs the
// instructions unfused, shows exactly the same transcript: superinstructions must be invisible. Throws the
// run's RuntimeError. Both VMs are reused from run to run (a VM must stay usable after anything), which
// also keeps Debug builds fast: a fresh VM's first run sets up its whole value stack.
inline Outcome run_text(std::string_view text, const Limits& limits = {},
                        Deterministic deterministic = Deterministic::everything) {
    static InspectableVm fused;
    static Vm<InstructionCounter> unfused;
    const Program program = assemble_recorded(text);
    // A fuel limit in any case, so a VM bug that makes a test loop forever fails the test instead.
    Limits guarded = limits;
    if (!guarded.fuel) guarded.fuel = kGuardFuel;
    const bool with_result = deterministic == Deterministic::everything;
    Attempt result = attempt(fused, program, guarded, with_result);
    const std::set<Op> ops = fused.linked_opcodes();
    linked_opcodes().insert(ops.begin(), ops.end());
    BOOST_TEST(result.transcript == attempt(unfused, program, guarded, with_result).transcript,
               "fused and unfused runs differ");
    if (!limits.fuel && result.error && result.error->message().starts_with("fuel exhausted"))
        BOOST_FAIL("the program did not end within " << kGuardFuel << " instructions");
    if (result.error) throw *result.error;
    return result.outcome;
}

// Output of a program that must finish normally.
inline std::string output_of(std::string_view text) { return run_text(text).output; }
// Output of `body` run as main.
inline std::string output_of_main(std::string_view body) { return output_of(main_program(body)); }

// Calls `f`, which must throw `E`, and returns the exception (a test failure when nothing or something
// else is thrown).
template <class E, class F>
E thrown_by(F&& f) {
    try {
        std::forward<F>(f)();
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        BOOST_FAIL("expected a different exception, got: " << e.what());
    }
    BOOST_FAIL("expected an exception, none was thrown");
    throw std::logic_error("unreachable");
}

// The runtime error a program must end with.
inline RuntimeError runtime_error_of(std::string_view text, const Limits& limits = {}) {
    return thrown_by<RuntimeError>([&] { run_text(text, limits); });
}
inline std::string error_message_of(std::string_view text, const Limits& limits = {}) {
    return runtime_error_of(text, limits).message();
}
inline std::string error_message_of_main(std::string_view body) { return error_message_of(main_program(body)); }

// The load (assembly or verification) error of a program.
inline ProgramError program_error_of(std::string_view text) {
    return thrown_by<ProgramError>([&] {
        Vm<> vm;
        vm.load(assemble_recorded(text));
    });
}

// Every fused form that ends in a call or a return, and the in-place updates, in a loop that prints: shared by
// test_opcodes (fused against unfused) and test_counting (exact counts at every fuel limit).
inline constexpr std::string_view kFusedCallsProgram = R"(.func three 3 4
    load 0
    load 1
    add
    load 2
    add
    ret
.end
.func twice 1 1
    load 0
    load 0
    add
    load 0
    sub
    load 0
    mul
    ret
.end
.func main 0 3
    push 0
    store 0
    push 10
    store 1
again:
    load 0
    load 1
    push 2
    call three
    store 2
    load 2
    call twice
    print
    load 0
    push 1
    add
    store 0
    load 1
    load 0
    sub
    store 1
    load 1
    push 1
    sub
    store 1
    load 0
    push 3
    lt
    jnz again
    load 0
    load 1
    mul
    ret
.end
)";

} // namespace opscope::test
