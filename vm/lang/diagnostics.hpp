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
    // The first kMaxDiagnostics errors by line and column (stable for equal positions), and how many more
    // there were: only those are kept, so binary garbage with an error per byte costs bounded memory.
    std::vector<Diagnostic> take_sorted();
    std::size_t left_out() const { return left_out_; }

private:
    std::string_view line_text(std::uint32_t line, std::uint32_t column) const;
    void keep_first();

    std::string_view source_;
    std::string file_;
    std::vector<std::size_t> line_starts_;  // byte offset of each line's first character
    std::vector<Diagnostic> diagnostics_;
    std::size_t left_out_ = 0;
};

} // namespace opscope::lang
