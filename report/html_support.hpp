// What the HTML pages' files share (report_html.cpp, diff_html.cpp, flamegraph_svg.cpp; defined in
// html_support.cpp): escaping, the page's head with its Content-Security-Policy, and the inline style sheet and
// script. Private to report/.
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

// The section standing for what a page cannot show (a group a profile lacks): `<section id=ID class="omitted"
// data-omitted="true">`, its heading and why. `why` is HTML: escape what comes from a profile.
std::string omitted_section(std::string_view id, std::string_view title, std::string_view why);

// The page up to and including <body>: doctype, the CSP that allows no fetch at all (docs/exports.md, "html"),
// the title (escaped here) and the style sheet. page_end() closes it after the script.
std::string page_start(std::string_view title);
std::string page_end();

} // namespace opscope::html
