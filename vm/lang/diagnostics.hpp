// Collects compile errors for one source file, attaching the offending source line for the caret display.
#pragma once

#include <opscope/errors.hpp>
#include <opscope/program.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace opscope::lang {

class DiagnosticSink {
public:
    DiagnosticSink(std::string_view source, std::string file);

    void error(SourcePos pos, std::string message);
    bool has_errors() const { return !diagnostics_.empty(); }
    // Every error so far, ordered by line and column (stable for equal positions).
    std::vector<Diagnostic> take_sorted();

private:
    std::string_view line_text(std::uint32_t line) const;

    std::string_view source_;
    std::string file_;
    std::vector<std::size_t> line_starts_;  // byte offset of each line's first character
    std::vector<Diagnostic> diagnostics_;
};

} // namespace opscope::lang
