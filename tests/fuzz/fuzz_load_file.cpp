// fuzz_load_file: the input as the contents of a program file, loaded as .ops, .opasm and .opc in turn through
// load_program(), the function the CLI's read_program() calls once the file is read (so this is the CLI's
// file-reading path after the read), then verified against the natives the CLI declares. Properties:
// ProgramError is the only error a known extension may give; its message is at most kMaxDiagnostics + 1
// diagnostics and is text a terminal shows as it is (issue 16: binary garbage echoed to the terminal): well-formed
// UTF-8 with no control character but line breaks and tabs, and none of the characters that reorder a line or
// show as nothing.
#include "fuzz_support.hpp"

#include <algorithm>
#include <optional>
#include <vector>

using namespace opscope;

namespace {

// The natives the CLI declares to every program (tools/cli/main.cpp, kCliNatives), besides the built-ins.
const std::vector<NativeDeclaration> kCliNatives = {{"profile_start", 0}, {"profile_stop", 0}};

std::optional<int> cli_native_arity(std::string_view name) {
    for (const NativeDeclaration& native : kCliNatives)
        if (native.name == name) return native.arity;
    return fuzz::builtin_native_arity(name);
}

// The code points of `text`, or nothing where it is not well-formed UTF-8 (RFC 3629). Written here apart from
// printable_text, whose result it checks.
std::optional<std::vector<char32_t>> code_points(std::string_view text) {
    std::vector<char32_t> out;
    for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<unsigned char>(text[i]);
        const std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
        if (length == 0 || i + length > text.size()) return std::nullopt;
        char32_t c = length == 1 ? lead : lead & (0x7F >> length);
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return std::nullopt;
            c = (c << 6) | (next & 0x3F);
        }
        static constexpr char32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
        if (c < kLeast[length] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
        out.push_back(c);
        i += length;
    }
    return out;
}

bool shows_as_it_is(char32_t c) {
    if (c == '\n' || c == '\t') return true;
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return false;                        // C0, DEL, C1 controls
    if (c == 0x061C || (c >= 0x200E && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069))
        return false;                                                                // bidirectional controls
    return !(c == 0xAD || (c >= 0x200B && c <= 0x200D) || (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF);  // invisible
}

void check_message(const ProgramError& e) {
    if (e.diagnostics().size() > kMaxDiagnostics + 1) fuzz::finding("more diagnostics than kMaxDiagnostics + 1");
    const auto points = code_points(e.what());
    if (!points) fuzz::finding("an error message that is not well-formed UTF-8", e.what());
    if (!std::ranges::all_of(*points, shows_as_it_is))
        fuzz::finding("a control, bidirectional or invisible character in an error message", e.what());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    for (const char* file : {"fuzz.ops", "fuzz.opasm", "fuzz.opc"}) {
        try {
            Program program = load_program(fuzz::as_text(data, size), file, kCliNatives);
            verify(program, cli_native_arity);
        } catch (const ProgramError& e) {
            check_message(e);
        }
    }
    return 0;
}
