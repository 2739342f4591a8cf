// Formatting of diagnostics and runtime errors.
#include <opscope/errors.hpp>

#include <fmt/format.h>

namespace opscope {

std::string Diagnostic::format() const {
    std::string out = file.empty() ? "<input>" : file;
    if (line) out += fmt::format(":{}", line);
    if (line && column) out += fmt::format(":{}", column);
    out += ": error: " + message;
    if (!source_line.empty()) {
        out += "\n    " + source_line;
        if (column) {
            // Keep tabs so the caret lines up under the same characters.
            std::string pad;
            for (std::size_t k = 0; k + 1 < column && k < source_line.size(); ++k)
                pad += source_line[k] == '\t' ? '\t' : ' ';
            out += "\n    " + pad + "^";
        }
    }
    return out;
}

namespace {
std::string join(const std::vector<Diagnostic>& diagnostics) {
    std::string out;
    for (const auto& d : diagnostics) {
        if (!out.empty()) out += '\n';
        out += d.format();
    }
    return out;
}
} // namespace

ProgramError::ProgramError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join(diagnostics)), diagnostics_(std::move(diagnostics)) {}

RuntimeError::RuntimeError(std::string message, std::vector<TraceFrame> backtrace)
    : std::runtime_error("error: " + message), message_(std::move(message)), backtrace_(std::move(backtrace)) {}

std::string RuntimeError::format() const {
    std::string out = "error: " + message_;
    for (const auto& frame : backtrace_) {
        out += fmt::format("\n  at {}+{}", frame.function, frame.offset);
        if (frame.line) out += fmt::format(" ({}:{})", frame.file.empty() ? "?" : frame.file, frame.line);
    }
    return out;
}

} // namespace opscope
