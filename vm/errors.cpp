// Formatting of diagnostics and runtime errors.
#include <opscope/errors.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace opscope {

namespace {
bool printable(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte >= 0x20 && byte < 0x7f) || c == '\t';
}
} // namespace

std::string printable_text(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (printable(c)) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
        }
    }
    return out;
}

void Diagnostic::set_source_line(std::string_view line_text) {
    source_line_column = 1;
    if (line_text.size() > kSourceWindow) {
        // The window starts up to half of it before the column, and is cut at the end of the line.
        const std::size_t at = column ? column - 1 : 0;
        const std::size_t start = std::min(at > kSourceWindow / 2 ? at - kSourceWindow / 2 : 0,
                                           line_text.size() - kSourceWindow);
        line_text = line_text.substr(start, kSourceWindow);
        source_line_column = static_cast<std::uint32_t>(start + 1);
    }
    source_line = std::string(line_text);
}

std::string Diagnostic::format() const {
    std::string out = file.empty() ? "<input>" : printable_text(file);  // a bytecode file names any bytes
    if (line) out += fmt::format(":{}", line);
    if (line && column) out += fmt::format(":{}", column);
    out += ": error: " + printable_text(message);
    if (!source_line.empty()) {
        out += "\n    " + printable_text(source_line);
        if (column >= source_line_column) {
            // Keep tabs so the caret lines up under the same characters; an escaped byte is as wide as its \xNN.
            std::string pad;
            for (std::size_t k = 0; k + source_line_column < column && k < source_line.size(); ++k)
                pad.append(printable(source_line[k]) ? 1 : 4, source_line[k] == '\t' ? '\t' : ' ');
            out += "\n    " + pad + "^";
        }
    }
    return out;
}

namespace {
// The first kMaxDiagnostics, then one line counting the rest: an input with millions of errors (binary
// garbage) gives a message and an error list of bounded size.
std::vector<Diagnostic> bounded(std::vector<Diagnostic> diagnostics, std::size_t left_out) {
    if (diagnostics.size() > kMaxDiagnostics) {
        left_out += diagnostics.size() - kMaxDiagnostics;
        diagnostics.resize(kMaxDiagnostics);
    }
    if (left_out) {
        diagnostics.push_back(Diagnostic{diagnostics.empty() ? std::string() : diagnostics.front().file, 0, 0,
                                         fmt::format("{} more error{} not shown", left_out, left_out == 1 ? "" : "s"),
                                         {}});
    }
    return diagnostics;
}

std::string join(const std::vector<Diagnostic>& diagnostics) {
    std::string out;
    for (const auto& d : diagnostics) {
        if (!out.empty()) out += '\n';
        out += d.format();
    }
    return out;
}
} // namespace

// The base is initialised first: it bounds the parameter, which the member then takes.
ProgramError::ProgramError(std::vector<Diagnostic> diagnostics, std::size_t left_out)
    : std::runtime_error(join(diagnostics = bounded(std::move(diagnostics), left_out))),
      diagnostics_(std::move(diagnostics)) {}

RuntimeError::RuntimeError(std::string message, std::vector<TraceFrame> backtrace)
    : std::runtime_error("error: " + message), message_(std::move(message)), backtrace_(std::move(backtrace)) {}

std::string RuntimeError::format() const {
    // Messages and names may come from the program (strings, function names in bytecode): escaped.
    std::string out = "error: " + printable_text(message_);
    for (const auto& frame : backtrace_) {
        out += fmt::format("\n  at {}+{}", printable_text(frame.function), frame.offset);
        if (frame.line) out += fmt::format(" ({}:{})", frame.file.empty() ? "?" : printable_text(frame.file), frame.line);
    }
    return out;
}

} // namespace opscope
