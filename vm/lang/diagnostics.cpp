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
    diagnostics_.push_back(Diagnostic{file_, pos.line, pos.column, std::move(message), std::string(line_text(pos.line))});
}

std::vector<Diagnostic> DiagnosticSink::take_sorted() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    return std::move(diagnostics_);
}

std::string_view DiagnosticSink::line_text(std::uint32_t line) const {
    if (line == 0 || line > line_starts_.size()) return {};
    const std::size_t start = line_starts_[line - 1];
    std::size_t end = source_.find('\n', start);
    if (end == std::string_view::npos) end = source_.size();
    if (end > start && source_[end - 1] == '\r') --end;
    return source_.substr(start, end - start);
}

} // namespace opscope::lang
