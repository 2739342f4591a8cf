// Error types a host sees. Every error names its place: file:line:col for text input, function + offset
// (+ source line) for bytecode and runtime faults.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace opscope {

// One problem in a program's text or bytecode.
struct Diagnostic {
    std::string file;
    std::uint32_t line = 0;    // 1-based; 0 when not applicable
    std::uint32_t column = 0;  // 1-based; 0 when not applicable
    std::string message;
    std::string source_line;   // the offending line of text, for a caret display; may be empty

    std::string format() const;  // "file:line:col: error: message" (+ source line and caret)
};

// A program that cannot be loaded: assembly, compile, bytecode-format or verification errors.
class ProgramError : public std::runtime_error {
public:
    explicit ProgramError(std::vector<Diagnostic> diagnostics);
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
    std::string format() const;  // "error: message" then one "  at function+offset (file:line)" per frame

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
