// fuzz_assembler: the input as .opasm text. assemble() may throw ProgramError and nothing else; a program
// it accepts is verified (ProgramError allowed), and disassemble() then assemble() gives an equal Program
// (NaN constants equal, see fuzz::same_program).
#include "fuzz_support.hpp"

using namespace opscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Program program;
    try {
        program = assemble(fuzz::as_text(data, size), "fuzz.opasm");
    } catch (const ProgramError&) {
        return 0;
    }

    fuzz::verify_if_valid(program);

    const std::string text = disassemble(program);
    Program again;
    try {
        again = assemble(text, "fuzz.opasm");
    } catch (const ProgramError& e) {
        fuzz::finding("disassembly does not assemble", text + "\n" + e.what());
    }
    if (!fuzz::same_program(again, program)) fuzz::finding("disassemble -> assemble changed the program", text);
    return 0;
}
