// DiagnosticSink: compile errors with their source line, sorted by position when handed out.
#include "diagnostics.hpp"

#include <algorithm>

namespace opscope::lang {

DiagnosticSink::DiagnosticSink(std::string_view source, std::string file) : source_(source), file_(std::move(file)) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < source_.size(); ++i)
        if (source_[i] == '\n') line_starts_.push_back(i + 1);
}

void DiagnosticSink::error(SourcePos pos, std::string message) {
    Diagnostic& d = diagnostics_.emplace_back(Diagnostic{file_, pos.line, pos.column, std::move(message), {}});
    d.set_source_line(line_text(pos.line, pos.column));
    // Errors arrive roughly but not exactly in order (the lexer's, then the parser's, then codegen's): keep the
    // first kMaxDiagnostics by position, sorting when twice that many have piled up.
    if (diagnostics_.size() >= 2 * kMaxDiagnostics) keep_first();
}

void DiagnosticSink::keep_first() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    if (diagnostics_.size() > kMaxDiagnostics) {
        left_out_ += diagnostics_.size() - kMaxDiagnostics;
        diagnostics_.resize(kMaxDiagnostics);
    }
}

std::vector<Diagnostic> DiagnosticSink::take_sorted() {
    keep_first();
    return std::move(diagnostics_);
}

// The line's end is looked for from the column, and only as far as the diagnostic's window reaches: a 10 MB
// line with an error every few bytes would otherwise make its errors cost quadratic time.
std::string_view DiagnosticSink::line_text(std::uint32_t line, std::uint32_t column) const {
    if (line == 0 || line > line_starts_.size()) return {};
    const std::size_t start = line_starts_[line - 1];
    const std::size_t from = std::min(source_.size(), start + (column ? column - 1 : 0));
    const std::size_t reach = std::min<std::size_t>(source_.size() - from, Diagnostic::kSourceWindow);
    const std::size_t newline = source_.substr(from, reach).find('\n');
    std::size_t end = newline == std::string_view::npos ? from + reach : from + newline;
    if (end > start && source_[end - 1] == '\r') --end;
    return source_.substr(start, end - start);
}

} // namespace opscope::lang
