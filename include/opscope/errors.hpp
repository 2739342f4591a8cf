// Error types a host sees. Every error names its place: file:line:col for text input, function + offset
// (+ source line) for bytecode and runtime faults.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace opscope {

// One problem in a program's text or bytecode.
struct Diagnostic {
    std::string file;
    std::uint32_t line = 0;    // 1-based; 0 when not applicable
    std::uint32_t column = 0;  // 1-based; 0 when not applicable
    std::string message;
    std::string source_line;   // the offending line of text, for a caret display; may be empty
    std::uint32_t source_line_column = 1;  // the column of source_line's first byte (see set_source_line)

    // Keeps `line_text` as source_line, or only a window of it around `column` when it is longer than
    // kSourceWindow bytes: a diagnostic's size does not grow with its line (a 10 MB line with many errors).
    void set_source_line(std::string_view line_text);
    static constexpr std::uint32_t kSourceWindow = 160;

    // "file:line:col: error: message" (+ source line and caret), with non-printable bytes of the message and
    // the source line escaped (printable_text).
    std::string format() const;
};

// `text` safe to print to a terminal: printable ASCII, tabs and well-formed UTF-8 as they are, every other
// byte as \xNN (control characters, escape sequences, bytes of binary garbage, malformed UTF-8, and the C1 and
// bidirectional controls, whose bytes are valid but would hide or reorder what a line shows). Every message that
// echoes input text is formatted through this.
std::string printable_text(std::string_view text);

// How many diagnostics a ProgramError keeps (the first given); the rest are counted in one last line.
inline constexpr std::size_t kMaxDiagnostics = 100;

// A program that cannot be loaded: assembly, compile, bytecode-format or verification errors.
class ProgramError : public std::runtime_error {
public:
    // Keeps the first kMaxDiagnostics and adds one last "N more errors not shown" when there were more, or when
    // `left_out` (errors the caller already dropped) is not 0.
    explicit ProgramError(std::vector<Diagnostic> diagnostics, std::size_t left_out = 0);
    const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

private:
    std::vector<Diagnostic> diagnostics_;
};

// One frame of a runtime backtrace, innermost first.
struct TraceFrame {
    std::string function;
    std::uint32_t offset = 0;  // instruction offset within the function
    std::uint32_t line = 0;    // source line, 0 when unknown
    std::string file;          // source file, empty when unknown
};

// A fault while running: type errors, division by zero, limits, errors raised by natives.
class RuntimeError : public std::runtime_error {
public:
    RuntimeError(std::string message, std::vector<TraceFrame> backtrace);
    const std::string& message() const { return message_; }
    const std::vector<TraceFrame>& backtrace() const { return backtrace_; }
    // "error: message" then "  at function+offset (file:line)" per frame, innermost first; consecutive frames
    // at one place print once with a count, and of more than kMaxTraceLines such lines only the first and the
    // last kTraceTailLines are printed (backtrace() keeps every frame).
    std::string format() const;
    static constexpr std::size_t kMaxTraceLines = 40, kTraceTailLines = 10;

private:
    std::string message_;
    std::vector<TraceFrame> backtrace_;
};

// Thrown by natives and the VM's slow paths to fail the running program with a message; the VM turns it
// (and any other std::exception from a native) into a RuntimeError with a backtrace.
class Fault : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace opscope
