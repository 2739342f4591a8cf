// What the HTML report's files share (report_html.cpp, flamegraph_svg.cpp; defined in html_support.cpp): escaping
// and the inline style sheet and script. Private to report/.
#pragma once

#include <string>
#include <string_view>

namespace opscope::html {

// `text` safe in HTML text and in quoted attribute values: & < > " ' escaped, and ':' too, so no string from
// the profile can spell a URL scheme ("javascript:", "https://") in the page; NUL becomes U+FFFD. Every
// string from the profile (names, source text, messages) goes through it: it is hostile input.
std::string escaped(std::string_view text);

std::string_view report_style();   // the <style> sheet
std::string_view report_script();  // the <script>: zoom, search, sort; the page is complete without it

} // namespace opscope::html
