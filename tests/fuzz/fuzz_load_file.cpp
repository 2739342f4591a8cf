// fuzz_load_file: the input as the contents of a program file, loaded as .ops, .opasm and .opc in turn through
// load_program(), the function the CLI's read_program() calls once the file is read (so this is the CLI's
// file-reading path after the read), then verified against the natives the CLI declares. Properties:
// ProgramError is the only error a known extension may give; its message is at most kMaxDiagnostics + 1
// diagnostics and prints no raw control or non-ASCII byte (issue 16: binary garbage echoed to the terminal).
#include "fuzz_support.hpp"

using namespace opscope;

namespace {

// The natives the CLI declares to every program (tools/cli/main.cpp, kCliNatives), besides the built-ins.
const std::vector<NativeDeclaration> kCliNatives = {{"profile_start", 0}, {"profile_stop", 0}};

std::optional<int> cli_native_arity(std::string_view name) {
    for (const NativeDeclaration& native : kCliNatives)
        if (native.name == name) return native.arity;
    return fuzz::builtin_native_arity(name);
}

void check_message(const ProgramError& e) {
    if (e.diagnostics().size() > kMaxDiagnostics + 1) fuzz::finding("more diagnostics than kMaxDiagnostics + 1");
    for (const char c : std::string_view(e.what())) {
        const auto byte = static_cast<unsigned char>(c);
        if (!(byte >= 0x20 && byte < 0x7f) && c != '\n' && c != '\t')
            fuzz::finding("a non-printable byte in an error message", e.what());
    }
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
