// Shared by the libFuzzer targets in this directory: the input as text or bytes, the natives every target
// declares, and `finding()`, which reports a broken property and aborts so libFuzzer saves the input.
// Each target is one file with LLVMFuzzerTestOneInput and uses the public API only.
#pragma once

#include <opscope/opscope.hpp>

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

// A property the target checks does not hold: print what and why, then abort (libFuzzer saves the input).
[[noreturn]] inline void finding(const char* property, const std::string& detail = {}) {
    std::fprintf(stderr, "\n==opscope fuzz finding: %s\n%s\n", property, detail.c_str());
    std::fflush(stderr);
    std::abort();
}

} // namespace opscope::fuzz
