// Shared by the libFuzzer targets in this directory: the input as text or bytes, the natives every target
// declares, and `finding()`, which reports a broken property and aborts so libFuzzer saves the input.
// Each target is one file with LLVMFuzzerTestOneInput and uses the public API only.
#pragma once

#include <opscope/opscope.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opscope::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

inline std::vector<std::uint8_t> as_bytes(const std::uint8_t* data, std::size_t size) {
    return {data, data + size};
}

// The arities of the natives a fresh Machine has (clock and sqrt), for verify() outside a VM.
inline std::optional<int> builtin_native_arity(std::string_view name) {
    if (name == "clock") return 0;
    if (name == "sqrt") return 1;
    return std::nullopt;
}

// Verifies a copy of `program` (verify() sets max_stack): rejecting it is fine, anything else is a finding.
inline void verify_if_valid(const Program& program) {
    Program verified = program;
    try {
        verify(verified, builtin_native_arity);
    } catch (const ProgramError&) {
    }
}

// Program equality where a NaN constant equals any NaN: Program's == follows double's (NaN != NaN, so a program
// with a NaN constant is not even equal to itself), and the disassembler writes every NaN as `nan`.
inline bool same_program(const Program& a, const Program& b) {
    if (a.constants.size() != b.constants.size()) return false;
    for (std::size_t i = 0; i < a.constants.size(); ++i) {
        const double* x = std::get_if<double>(&a.constants[i]);
        const double* y = std::get_if<double>(&b.constants[i]);
        const bool both_nan = x && y && std::isnan(*x) && std::isnan(*y);
        if (!both_nan && !(a.constants[i] == b.constants[i])) return false;
    }
    Program a_rest = a;
    Program b_rest = b;
    a_rest.constants.clear();
    b_rest.constants.clear();
    return a_rest == b_rest;
}


// A property the target checks does not hold: print what and why, then abort (libFuzzer saves the input).
[[noreturn]] inline void finding(const char* property, const std::string& detail = {}) {
    std::fprintf(stderr, "\n==opscope fuzz finding: %s\n%s\n", property, detail.c_str());
    std::fflush(stderr);
    std::abort();
}

} // namespace opscope::fuzz
