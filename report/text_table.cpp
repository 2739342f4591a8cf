// Layout helpers of the text report: code-point widths, cutting, wrapping and aligned tables.
#include "text_table.hpp"

#include <opscope/errors.hpp>

#include <algorithm>
#include <numeric>

namespace opscope::report {
namespace {

constexpr std::size_t kIndent = kTableIndent;
constexpr std::size_t kGap = kColumnGap;
constexpr std::size_t kNarrowest = 8;  // a narrowed column keeps at least this width

bool continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string clean(std::string cell) {
    std::replace_if(cell.begin(), cell.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
    return printable_text(cell);
}

// cut() of text that is already printable_text's (a Table's cells are, from add()).
std::string cut_printable(std::string_view text, std::size_t width) {
    if (display_width(text) <= width) return std::string(text);
    const std::size_t keep = width >= 3 ? width - 3 : width;
    std::size_t end = 0;
    for (std::size_t points = 0; end < text.size(); ++end) {
        if (!continuation_byte(text[end]) && points++ == keep) break;
    }
    return std::string(text.substr(0, end)) + (width >= 3 ? "..." : "");
}

std::string pad(const std::string& cell, std::size_t width, Align align) {
    const std::string text = cut_printable(cell, width);
    const std::string spaces(width - display_width(text), ' ');
    return align == Align::left ? text + spaces : spaces + text;
}

// `cell` in lines of at most `width` columns, broken between words (a word wider than the column is cut).
std::vector<std::string> wrapped_lines(const std::string& cell, std::size_t width) {
    std::vector<std::string> lines(1);
    for (const std::string& word : words(cell)) {
        std::string& line = lines.back();
        if (line.empty()) line = word;
        else if (display_width(line) + 1 + display_width(word) <= width) line += ' ' + word;
        else lines.push_back(word);
    }
    return lines;
}

} // namespace

std::size_t display_width(std::string_view text) {
    const auto starts_a_character = [](char c) { return !continuation_byte(c); };
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), starts_a_character));
}

std::string cut(std::string_view raw, std::size_t width) { return cut_printable(printable_text(raw), width); }

std::string cut_front(std::string_view raw, std::size_t width) {
    const std::string safe = printable_text(raw);
    const std::string_view text = safe;
    const std::size_t points = display_width(text);
    if (points <= width) return std::string(text);
    const std::size_t keep = width >= 3 ? width - 3 : width;
    std::size_t start = text.size();
    for (std::size_t kept = 0; start > 0 && kept < keep;) {
        --start;
        if (!continuation_byte(text[start])) ++kept;
    }
    return (width >= 3 ? "..." : "") + std::string(text.substr(start));
}

std::string fit(std::string_view line) { return cut(line, kReportWidth); }

std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t end = std::min(text.find(' ', start), text.size());
        if (end > start) out.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string wrap(const std::vector<std::string>& pieces) {
    std::string out, line;
    for (const std::string& piece : pieces) {
        if (!line.empty() && display_width(line) + 1 + display_width(piece) > kReportWidth) {
            out += line + "\n";
            line = "  ";
        } else if (!line.empty()) {
            line += ' ';
        }
        line = fit(line + piece);
    }
    if (!line.empty()) out += line + "\n";
    return out;
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add(std::vector<std::string> cells) {
    cells.resize(columns_.size());
    for (std::string& cell : cells) cell = clean(std::move(cell));
    rows_.push_back(std::move(cells));
}

std::string Table::render() const {
    const std::size_t n = columns_.size();
    if (n == 0) return "";
    const bool has_header =
        std::any_of(columns_.begin(), columns_.end(), [](const Column& c) { return !c.header.empty(); });
    std::vector<std::size_t> widths(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        if (has_header) widths[i] = display_width(columns_[i].header);
        for (const auto& row : rows_) widths[i] = std::max(widths[i], display_width(row[i]));
    }
    const auto total = [&] {
        return kIndent + std::accumulate(widths.begin(), widths.end(), std::size_t{0}) + kGap * (n - 1);
    };
    while (total() > kReportWidth) {
        std::size_t widest = n;
        for (std::size_t i = 0; i < n; ++i)
            if (columns_[i].align == Align::left && widths[i] > kNarrowest &&
                (widest == n || widths[i] > widths[widest]))
                widest = i;
        if (widest == n) break;  // nothing left to narrow
        --widths[widest];
    }
    // A row is as many lines as its most wrapped cell; the other cells stand on its first line.
    const auto render_row = [&](const auto& cell_of) {
        std::vector<std::vector<std::string>> cells(n);
        std::size_t height = 1;
        for (std::size_t i = 0; i < n; ++i) {
            const std::string& cell = cell_of(i);
            if (columns_[i].overflow == Column::Overflow::wrap && display_width(cell) > widths[i])
                cells[i] = wrapped_lines(cell, widths[i]);
            else
                cells[i] = {cell};
            height = std::max(height, cells[i].size());
        }
        std::string out;
        for (std::size_t k = 0; k < height; ++k) {
            std::string line(kIndent, ' ');
            for (std::size_t i = 0; i < n; ++i) {
                if (i > 0) line += std::string(kGap, ' ');
                line += pad(k < cells[i].size() ? cells[i][k] : std::string(), widths[i], columns_[i].align);
            }
            line.erase(line.find_last_not_of(' ') + 1);
            out += line + "\n";
        }
        return out;
    };
    std::string out;
    if (has_header) out += render_row([&](std::size_t i) { return columns_[i].header; });
    for (const auto& row : rows_) out += render_row([&](std::size_t i) { return row[i]; });
    return out;
}

} // namespace opscope::report
