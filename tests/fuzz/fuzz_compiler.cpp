// fuzz_compiler: the input as .ops source. compile_source() may throw ProgramError and nothing else.
#include "fuzz_support.hpp"

using namespace opscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        compile_source(fuzz::as_text(data, size), "fuzz.ops");
    } catch (const ProgramError&) {
    }
    return 0;
}
