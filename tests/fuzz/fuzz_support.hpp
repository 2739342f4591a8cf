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
#include <sstream>
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

// What one run of a program did: the targets that run programs compare these between policies.
struct Outcome {
    bool loaded = false;
    std::string result;  // to_display of main's result, or the RuntimeError's format()
    std::string output;  // what `print` wrote
    Profile profile;     // what the policy recorded (nothing for NullProfiler)

    bool same_behaviour(const Outcome& other) const {
        return loaded == other.loaded && result == other.result && output == other.output;
    }
    std::string describe(const char* name) const {
        return std::string(name) + (loaded ? " loaded\n" : " refused\n") + result + "\n--- output:\n" + output;
    }
};

// Loads and runs `program` in a fresh Vm<Profiler> with `limits`. `clock` reads the real clock, so runs
// under two policies would print different values: every VM gets a fixed one.
template <typename Profiler>
Outcome run_in(const Program& program, const Limits& limits) {
    Outcome outcome;
    Vm<Profiler> vm(limits);
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
    outcome.profile = vm.profile();
    return outcome;
}

} // namespace opscope::fuzz
