// fuzz_run: any program the input gives — .opc bytes when it starts with the bytecode magic "OPSC", else
// .opasm text — that the verifier accepts runs under tight limits in Vm<NullProfiler> (fused code) and in
// Vm<FullProfiler> (unfused, every hook). RuntimeError is fine; the two runs must agree on the result, the
// printed output and the error, or it is a finding.
#include "fuzz_support.hpp"

#include <sstream>

using namespace opscope;

namespace {

constexpr Limits kLimits{.fuel = 10000, .max_call_depth = 64, .stack_slots = 4096, .heap_bytes = 1u << 20};

std::optional<Program> program_from(const std::uint8_t* data, std::size_t size) {
    try {
        if (fuzz::as_text(data, size).starts_with("OPSC")) return decode_bytecode(fuzz::as_bytes(data, size), "fuzz.opc");
        return assemble(fuzz::as_text(data, size), "fuzz.opasm");
    } catch (const ProgramError&) {
        return std::nullopt;
    }
}

struct Outcome {
    bool loaded = false;
    std::string result;  // to_display of main's result, or the RuntimeError's format()
    std::string output;  // what `print` wrote
    bool operator==(const Outcome&) const = default;
};

template <typename Profiler>
Outcome run_in(const Program& program) {
    Outcome outcome;
    Vm<Profiler> vm(kLimits);
    // `clock` reads the real clock, so the two runs would print different values: both VMs get a fixed one.
    vm.register_native("clock", 0, [](Machine&, std::span<const Value>) { return Value::integer(0); });
    std::ostringstream out;
    vm.set_output(out);
    try {
        vm.load(program);
    } catch (const ProgramError&) {
        return outcome;
    }
    outcome.loaded = true;
    try {
        outcome.result = "result: " + to_display(vm.run());
    } catch (const RuntimeError& e) {
        outcome.result = e.format();
    }
    outcome.output = out.str();
    return outcome;
}

std::string describe(const char* name, const Outcome& o) {
    return std::string(name) + (o.loaded ? " loaded\n" : " refused\n") + o.result + "\n--- output:\n" + o.output;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::optional<Program> program = program_from(data, size);
    if (!program) return 0;
    const Outcome bare = run_in<NullProfiler>(*program);
    const Outcome full = run_in<FullProfiler>(*program);
    if (!(bare == full))
        fuzz::finding("Vm<NullProfiler> and Vm<FullProfiler> disagree",
                      describe("null", bare) + "\n" + describe("full", full) + "\n--- program:\n" + disassemble(*program));
    return 0;
}
