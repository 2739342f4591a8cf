// fuzz_bytecode: the input as .opc bytes. decode_bytecode() and verify() may throw ProgramError and nothing
// else; a decoded program encodes to bytes that decode to an equal Program.
#include "fuzz_support.hpp"

using namespace opscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Program program;
    try {
        program = decode_bytecode(fuzz::as_bytes(data, size), "fuzz.opc");
    } catch (const ProgramError&) {
        return 0;
    }

    fuzz::verify_if_valid(program);

    const std::vector<std::uint8_t> encoded = encode_bytecode(program);
    Program again;
    try {
        again = decode_bytecode(encoded, "fuzz.opc");
    } catch (const ProgramError& e) {
        fuzz::finding("encoded program does not decode", e.what());
    }
    // Equal programs (NaN constants equal, see fuzz::same_program), and equal bytes: NaN payloads survive.
    if (!fuzz::same_program(again, program) || encode_bytecode(again) != encoded)
        fuzz::finding("encode -> decode changed the program", disassemble(program));
    return 0;
}
