// Formatting of diagnostics and runtime errors.
#include <opscope/errors.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace opscope {

namespace {

// One character of text as printable_text shows it: `bytes` long in the input, shown as it is (`escaped`
// false, `columns` wide on a terminal) or as its bytes' \xNN escapes.
struct TextUnit {
    std::size_t bytes = 1;
    bool escaped = true;
    std::size_t columns = 4;
};

// Code points a terminal shows two columns wide (East Asian wide and fullwidth forms, most emoji): the caret
// under a line of them needs two spaces each.
bool wide(char32_t c) {
    return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F) || (c >= 0xAC00 && c <= 0xD7A3) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
           (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) || (c >= 0x1F900 && c <= 0x1F9FF) ||
           (c >= 0x20000 && c <= 0x3FFFD);
}

// Shown escaped although valid: C1 controls, the bidirectional controls that can make a line read otherwise
// than it runs ("Trojan Source", CVE-2021-42574), and the characters that show as nothing (zero-width ones,
// the byte order mark, the soft hyphen), which would make a message name an empty or a different name.
bool hidden(char32_t c) {
    return (c >= 0x80 && c <= 0x9F) || c == 0xAD || c == 0x061C || (c >= 0x200B && c <= 0x200F) ||
           (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF;
}

TextUnit unit_at(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    if ((lead >= 0x20 && lead < 0x7f) || lead == '\t') return {1, false, 1};
    // A well-formed UTF-8 sequence (RFC 3629: shortest form, no surrogates, at most U+10FFFF).
    std::size_t length = 0;
    char32_t c = 0, least = 0;
    if (lead >= 0xC2 && lead <= 0xDF) length = 2, c = lead & 0x1Fu, least = 0x80;
    else if (lead >= 0xE0 && lead <= 0xEF) length = 3, c = lead & 0x0Fu, least = 0x800;
    else if (lead >= 0xF0 && lead <= 0xF4) length = 4, c = lead & 0x07u, least = 0x10000;
    if (length == 0 || at + length > text.size()) return {};
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xC0) != 0x80) return {};
        c = (c << 6) | (byte(at + i) & 0x3Fu);
    }
    if (c < least || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) || hidden(c)) return {};
    return {length, false, wide(c) ? std::size_t{2} : std::size_t{1}};
}

} // namespace

std::string printable_text(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (std::size_t at = 0; at < text.size();) {
        const TextUnit unit = unit_at(text, at);
        if (unit.escaped) {
            const auto byte = static_cast<unsigned char>(text[at]);
            out += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
        } else {
            out.append(text.substr(at, unit.bytes));
        }
        at += unit.bytes;
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
            for (std::size_t k = 0; k + source_line_column < column && k < source_line.size();) {
                const TextUnit unit = unit_at(source_line, k);
                pad.append(unit.columns, source_line[k] == '\t' ? '\t' : ' ');
                k += unit.bytes;
            }
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

namespace {
bool same_place(const TraceFrame& a, const TraceFrame& b) {
    return a.function == b.function && a.offset == b.offset && a.line == b.line && a.file == b.file;
}
} // namespace

std::string RuntimeError::format() const {
    // Messages and names may come from the program (strings, function names in bytecode): escaped.
    std::string out = "error: " + printable_text(message_);
    // A deep recursion's backtrace is 100,000 frames: a run of frames at one place prints as one line and a
    // count (Python's "[Previous line repeated N more times]"), and past kMaxTraceLines runs only the
    // innermost and the outermost (main's end) are printed, with a line saying how many frames are not.
    struct Run {
        std::size_t first, count;
    };
    std::vector<Run> runs;
    for (std::size_t i = 0; i < backtrace_.size(); ++i) {
        if (!runs.empty() && same_place(backtrace_[runs.back().first], backtrace_[i])) ++runs.back().count;
        else runs.push_back({i, 1});
    }
    const auto print = [&](const Run& run) {
        const TraceFrame& frame = backtrace_[run.first];
        out += fmt::format("\n  at {}+{}", printable_text(frame.function), frame.offset);
        if (frame.line) out += fmt::format(" ({}:{})", frame.file.empty() ? "?" : printable_text(frame.file), frame.line);
        if (run.count > 1) out += fmt::format("\n  ... the same frame {} more time{}", run.count - 1, run.count == 2 ? "" : "s");
    };
    const bool elide = runs.size() > kMaxTraceLines;
    const std::size_t head = elide ? kMaxTraceLines - kTraceTailLines : runs.size();
    for (std::size_t r = 0; r < head; ++r) print(runs[r]);
    if (elide) {
        const std::size_t tail = runs.size() - kTraceTailLines;
        const std::size_t left_out = runs[tail].first - runs[head].first;
        out += fmt::format("\n  ... {} more frame{} not shown", left_out, left_out == 1 ? "" : "s");
        for (std::size_t r = tail; r < runs.size(); ++r) print(runs[r]);
    }
    return out;
}

} // namespace opscope
