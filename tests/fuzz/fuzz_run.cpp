// fuzz_run: any program the input gives — .opc bytes when it starts with the bytecode magic "OPSC", else
// .opasm text — that the verifier accepts runs under tight limits in Vm<NullProfiler> (fused code) and in
// Vm<FullProfiler> (unfused, every hook). RuntimeError is fine; the two runs must agree on the result, the
// printed output and the error, or it is a finding.
#include "fuzz_support.hpp"

using namespace opscope;

namespace {

constexpr Limits kLimits{
    .fuel = 10000, .max_call_depth = 64, .stack_slots = 4096, .heap_bytes = 1u << 20, .output_bytes = 1u << 16};

std::optional<Program> program_from(const std::uint8_t* data, std::size_t size) {
    try {
        if (fuzz::as_text(data, size).starts_with("OPSC")) return decode_bytecode(fuzz::as_bytes(data, size), "fuzz.opc");
        return assemble(fuzz::as_text(data, size), "fuzz.opasm");
    } catch (const ProgramError&) {
        return std::nullopt;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::optional<Program> program = program_from(data, size);
    if (!program) return 0;
    const fuzz::Outcome bare = fuzz::run_in<NullProfiler>(*program, kLimits);
    const fuzz::Outcome full = fuzz::run_in<FullProfiler>(*program, kLimits);
    if (!bare.same_behaviour(full))
        fuzz::finding("Vm<NullProfiler> and Vm<FullProfiler> disagree",
                      bare.describe("null") + "\n" + full.describe("full") + "\n--- program:\n" + disassemble(*program));
    return 0;
}
