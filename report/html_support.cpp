// What the HTML pages share (html_support.hpp): escaping, the head with the CSP, and the inline style sheet and
// script.
// The page is complete without the script: it only zooms the flame graph (click a frame; "reset zoom"),
// searches (highlights frames and table rows whose text contains the query) and sorts tables (click a column
// heading). Elements of class js-only are hidden until the script runs. Neither may contain a URL: the page's CSP allows no fetch at all.
#include "html_support.hpp"

#include <opscope/errors.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace opscope::html {

std::string escaped(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    // Line by line through printable_text (controls, malformed UTF-8, bidirectional and invisible characters
    // as \xNN, as the text report shows them), then the characters HTML gives a meaning.
    for (std::size_t start = 0; start <= text.size();) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        for (const char c : printable_text(text.substr(start, end - start))) {
            switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            case ':': out += "&#58;"; break;
            default: out += c;
            }
        }
        if (end < text.size()) out += '\n';
        start = end + 1;
    }
    return out;
}

std::string_view report_style() {
    return R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 0 16px 40px; color: #222; }
h1 { font-size: 20px; margin: 16px 0 8px; } h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; }
dl#summary, dl#programs, section dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 8px 0; }
dt { color: #555; } dd { margin: 0; }
.note { color: #555; font-size: 13px; margin: 4px 0; }
.banner { background: #fde2e1; border: 1px solid #d33; padding: 8px 12px; margin: 8px 0; }
.banner pre { white-space: pre-wrap; margin: 4px 0 0; }
.stat { color: #7a4b00; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { padding: 2px 8px; text-align: left; vertical-align: top; } th { background: #f2f2f2; }
tbody tr:nth-child(even) { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; } td.none { color: #aaa; } td.few, td.few .interval { color: #aaa; }
.interval { display: block; font-size: 0.8em; color: #666; }
table.sortable th { cursor: pointer; }
table.source td { padding: 0 6px; } table.source code { white-space: pre; }
tr.gap td { color: #aaa; text-align: center; }
td.heat { position: relative; width: 90px; min-width: 90px; }
td.heat .bar { position: absolute; left: 0; top: 2px; bottom: 2px; background: #f08040; opacity: 0.6; }
td.heat .share { position: relative; font-size: 11px; }
.branch { color: #2a5fa8; white-space: nowrap; } .loop { color: #6a3fa0; white-space: nowrap; }
#flamegraph-svg { font: 12px monospace; background: #fbfbf6; border: 1px solid #eee; }
#flamegraph-svg g.frame { cursor: pointer; } #flamegraph-svg text { pointer-events: none; fill: #000; }
#flamegraph-svg g.frame:hover rect { stroke: #000; stroke-width: 0.5; }
#flamegraph-svg g.ancestor rect { opacity: 0.5; }
#flamegraph-svg g.match rect { fill: rgb(230,0,230); }
tr.match { outline: 2px solid rgb(230,0,230); }
.js-only { display: none; } body.js .js-only { display: initial; }
nav.js-only input { width: 320px; margin: 6px 0; }
section.omitted h2 { color: #888; }
td.grew, span.grew { color: #b00000; } td.shrank, span.shrank { color: #1f4fd0; }
)css";
}

std::string_view report_script() {
    return R"js(
'use strict';
document.body.classList.add('js');
(function () {
  const svg = document.getElementById('flamegraph-svg');
  if (!svg) return;
  const view = +svg.dataset.viewWidth, pad = +svg.dataset.pad, frames = [...svg.querySelectorAll('g.frame')];
  const place = (g, x, w) => {
    const rect = g.querySelector('rect'), text = g.querySelector('text'), name = g.dataset.name;
    rect.setAttribute('x', x.toFixed(3)); rect.setAttribute('width', Math.max(0, w).toFixed(3));
    text.setAttribute('x', (x + 3).toFixed(3));
    const fits = Math.floor((w - 6) / 7);
    text.textContent = fits < 3 ? '' : name.length <= fits ? name : name.slice(0, fits - 2) + '..';
  };
  const zoom = (target) => {
    const x0 = +target.dataset.x, w0 = +target.dataset.width, d0 = +target.dataset.depth, eps = 1e-6;
    if (!(w0 > 0)) return;
    const scale = (view - 2 * pad) / w0;
    for (const g of frames) {
      const x = +g.dataset.x, w = +g.dataset.width, d = +g.dataset.depth;
      g.classList.remove('ancestor');
      if (d >= d0 && x >= x0 - eps && x + w <= x0 + w0 + eps) { g.style.display = ''; place(g, pad + (x - x0) * scale, w * scale); }
      else if (d < d0 && x <= x0 + eps && x + w >= x0 + w0 - eps) { g.style.display = ''; g.classList.add('ancestor'); place(g, pad, view - 2 * pad); }
      else g.style.display = 'none';
    }
  };
  svg.addEventListener('click', (event) => { const g = event.target.closest('g.frame'); if (g) zoom(g); });
  const reset = document.getElementById('flame-reset');
  if (reset) reset.addEventListener('click', () => zoom(frames[0]));
})();
(function () {
  const input = document.getElementById('search'), result = document.getElementById('search-result');
  if (!input) return;
  input.addEventListener('input', () => {
    const query = input.value.trim().toLowerCase();
    let frames = 0, rows = 0;
    for (const g of document.querySelectorAll('#flamegraph-svg g.frame')) {
      const hit = query !== '' && g.dataset.name.toLowerCase().includes(query);
      g.classList.toggle('match', hit); frames += hit;
    }
    for (const tr of document.querySelectorAll('main tbody tr')) {
      const hit = query !== '' && tr.textContent.toLowerCase().includes(query);
      tr.classList.toggle('match', hit); rows += hit;
    }
    result.textContent = query === '' ? '' : `${frames} frames, ${rows} rows match`;
  });
})();
(function () {
  for (const table of document.querySelectorAll('table.sortable')) {
    const body = table.tBodies[0];
    table.querySelectorAll('th').forEach((th, column) => {
      let descending = false;
      th.addEventListener('click', () => {
        descending = !descending;
        const key = (tr) => { const td = tr.cells[column]; return td.dataset.sort !== undefined ? +td.dataset.sort : td.textContent; };
        const rows = [...body.rows].sort((a, b) => {
          const x = key(a), y = key(b), order = x < y ? -1 : x > y ? 1 : 0;
          return descending ? -order : order;
        });
        body.append(...rows);
      });
    });
  }
})();
)js";
}

std::string omitted_section(std::string_view id, std::string_view title, std::string_view why) {
    return fmt::format("<section id=\"{}\" class=\"omitted\" data-omitted=\"true\">\n<h2>{}</h2>\n"
                       "<p class=\"note\">{}</p>\n</section>\n",
                       id, title, why);
}

std::string page_start(std::string_view title) {
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
                      "script-src 'unsafe-inline'; img-src data:\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<meta name=\"generator\" content=\"opscope\">\n";
    out += "<title>" + escaped(title) + "</title>\n<style>\n";
    out += report_style();
    out += "</style>\n</head>\n<body>\n";
    return out;
}

std::string page_end() {
    std::string out = "<script>\n";
    out += report_script();
    out += "</script>\n</body>\n</html>\n";
    return out;
}

} // namespace opscope::html
