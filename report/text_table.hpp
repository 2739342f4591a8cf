// The text report's layout helpers: aligned tables and lines cut or wrapped to the report width. Widths
// count UTF-8 code points, so source text with non-ASCII characters still lines up. Every cell and line goes
// out through printable_text: a program's names and source lines (a profile's, which may come from any
// bytecode or JSON) cannot send escape sequences to the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace opscope::report {

inline constexpr std::size_t kReportWidth = 100;  // no line of a text report is wider
inline constexpr std::size_t kTableIndent = 2;    // a Table's rows start this far in
inline constexpr std::size_t kColumnGap = 2;      // and its columns are this far apart

enum class Align { left, right };

struct Column {
    std::string header;  // all headers empty: no header line
    Align align = Align::left;
    // What a cell wider than its narrowed column does: cut (ranked rows: one line each) or wrap between words
    // onto more lines (a key's value, whose end may say what matters: the summary's sample count).
    enum class Overflow { cut, wrap } overflow = Overflow::cut;
};

std::size_t display_width(std::string_view text);
// `text` in at most `width` columns, ending in "..." when cut.
std::string cut(std::string_view text, std::size_t width);
// `text` in at most `width` columns, starting with "..." when its beginning is cut.
std::string cut_front(std::string_view text, std::size_t width);
std::string fit(std::string_view line);  // cut to kReportWidth
// `pieces` joined by spaces and wrapped to kReportWidth between pieces, never inside one; continuation
// lines are indented by two; every line ends in '\n'.
std::string wrap(const std::vector<std::string>& pieces);
// `text` split at its spaces (runs of spaces count as one), for wrap().
std::vector<std::string> words(std::string_view text);

// Rows indented by kTableIndent, columns kColumnGap apart. When a row would exceed kReportWidth, the widest
// left-aligned columns are narrowed and their cells cut or wrapped (Column::overflow). Tabs and line breaks
// in cells become spaces.
class Table {
public:
    explicit Table(std::vector<Column> columns);
    void add(std::vector<std::string> cells);  // one cell per column
    std::string render() const;

private:
    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

} // namespace opscope::report
