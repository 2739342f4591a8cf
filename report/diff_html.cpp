// format_diff_html: a ProfileDiff as one self-contained HTML page (docs/exports.md, "opscope diff", HTML). Like
// the profile's report (report_html.cpp) everything is static HTML written here — the header with both
// programs, the summary, the differential flame graph as inline SVG (flamegraph_svg.cpp) and a table per group
// — so the page reads with JavaScript off; the shared inline script (html_support.cpp) only zooms the graph,
// searches and sorts. Same CSP, same escaping of every string from the profiles. The rows are the
// ProfileDiff's, chosen as the text writer chooses them (diff_support.hpp: --threshold, then --top per group);
// the graph's stacks are the differential folded stacks, so the page and `--format folded` agree.
//
// Naming: section ids are the diff's group names; each row's data- attributes carry the DiffRow (the DOM
// contract, docs/exports.md). Exact figures are plain; statistical ones carry a leading '~' and class "stat".
#include <opscope/diff.hpp>
#include <opscope/report.hpp>

#include "diff_support.hpp"
#include "figures.hpp"
#include "flamegraph_svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>

namespace opscope {

namespace {

using html::escaped;
using report::digits;
using report::signed_digits;

bool statistical(const DiffRow& row) { return row.accuracy == Accuracy::statistical; }

// --- a row ---

// The DiffRow as data- attributes: numbers as the JSON writes them (shortest round trip), absent values absent.
std::string row_attributes(const DiffRow& row) {
    std::string out = fmt::format(" data-group=\"{}\" data-key=\"{}\" data-metric=\"{}\" data-accuracy=\"{}\"",
                                  escaped(row.group), escaped(row.key), to_string(row.metric), to_string(row.accuracy));
    if (row.base) out += fmt::format(" data-base=\"{}\"", *row.base);
    if (row.next) out += fmt::format(" data-new=\"{}\"", *row.next);
    out += fmt::format(" data-delta=\"{}\"", row.delta());
    if (const auto percent = row.delta_percent()) out += fmt::format(" data-delta-percent=\"{}\"", *percent);
    out += fmt::format(" data-changed=\"{}\"", row.changed ? "true" : "false");
    if (statistical(row)) {
        out += fmt::format(" data-base-samples=\"{}\" data-base-total-samples=\"{}\" data-new-samples=\"{}\" "
                           "data-new-total-samples=\"{}\" data-samples-estimated=\"{}\"",
                           row.base_samples.value_or(0), row.base_total_samples.value_or(0), row.next_samples.value_or(0),
                           row.next_total_samples.value_or(0), row.samples_estimated ? "true" : "false");
        if (row.z) out += fmt::format(" data-z=\"{}\"", *row.z);
    }
    return out;
}

std::string value_cell(const std::optional<std::uint64_t>& value, bool stat) {
    if (!value) return "<td class=\"num none\" data-sort=\"0\">-</td>";
    return fmt::format("<td class=\"num{}\" data-sort=\"{}\">{}{}</td>", stat ? " stat" : "", *value, stat ? "~" : "",
                       digits(*value));
}

// base, new, delta, delta %, [samples, z,] changed; the samples and z cells when `sample_columns` ("-" for an
// exact row).
std::string figure_cells(const DiffRow& row, bool sample_columns) {
    const bool stat = statistical(row);
    const double delta = row.delta();
    const char* direction = delta > 0 ? " grew" : delta < 0 ? " shrank" : "";
    std::string out = value_cell(row.base, stat) + value_cell(row.next, stat);
    out += fmt::format("<td class=\"num{}{}\" data-sort=\"{}\">{}{}</td>", stat ? " stat" : "", direction, delta,
                       stat && delta != 0 ? "~" : "", signed_digits(delta));
    const std::optional<double> percent = row.delta_percent();
    out += percent ? fmt::format("<td class=\"num{}\" data-sort=\"{}\">{:+.2f}%</td>", direction, *percent, *percent)
                   : fmt::format("<td class=\"num\" data-sort=\"{}\">{}</td>", row.next_value() ? 1e300 : 0,
                                 row.next_value() ? "new" : "");
    if (sample_columns && !stat) out += "<td class=\"none\">-</td><td class=\"num none\" data-sort=\"0\">-</td>";
    if (sample_columns && stat) {
        const char* estimated = row.samples_estimated ? "~" : "";
        out += fmt::format("<td class=\"num\">{0}{1}/{2} &#8594; {0}{3}/{4}</td>", estimated, row.base_samples.value_or(0),
                           row.base_total_samples.value_or(0), row.next_samples.value_or(0), row.next_total_samples.value_or(0));
        out += row.z ? fmt::format("<td class=\"num\" data-sort=\"{}\">{:+.2f}</td>", *row.z, *row.z)
                     : std::string("<td class=\"num none\" data-sort=\"0\">-</td>");
    }
    out += fmt::format("<td class=\"changed\">{}</td>", row.changed ? "yes" : stat ? "noise" : "no");
    return out;
}

std::string figure_headings(bool stat) {
    return std::string("<th>base</th><th>new</th><th>delta</th><th>delta %</th>") +
           (stat ? "<th>samples (row/total, base &#8594; new)</th><th>z</th>" : "") + "<th>changed</th>";
}

// --- sections ---

std::string program_name(const std::string& source) { return source.empty() ? "(unknown program)" : source; }

void header(std::string& out, const ProfileDiff& diff, const DiffOptions& options) {
    out += fmt::format("<header id=\"header\" data-metric=\"{}\" data-base-policy=\"{}\" data-new-policy=\"{}\" "
                       "data-base-partial=\"{}\" data-new-partial=\"{}\">\n",
                       to_string(options.metric), escaped(diff.base_policy), escaped(diff.next_policy),
                       diff.base_partial ? "true" : "false", diff.next_partial ? "true" : "false");
    out += fmt::format("<h1>opscope diff: <span id=\"base-program\">{}</span> &#8594; <span id=\"new-program\">{}</span></h1>\n",
                       escaped(program_name(diff.base_source)), escaped(program_name(diff.next_source)));
    for (const auto& [id, which, partial] : {std::tuple("base-partial", "base", diff.base_partial),
                                             std::tuple("new-partial", "new", diff.next_partial)})
        if (partial)
            out += fmt::format("<div id=\"{}\" class=\"banner\" role=\"alert\"><strong>Partial {} profile.</strong> Its run "
                               "stopped at a runtime error; its figures cover what ran.</div>\n",
                               id, which);
    out += fmt::format("<dl id=\"programs\">\n<dt>Base</dt><dd>{} (policy {})</dd>\n<dt>New</dt><dd>{} (policy {})</dd>\n"
                       "<dt>Metric</dt><dd id=\"metric\">{}</dd>\n</dl>\n",
                       escaped(program_name(diff.base_source)), escaped(diff.base_policy.empty() ? "unnamed" : diff.base_policy),
                       escaped(program_name(diff.next_source)), escaped(diff.next_policy.empty() ? "unnamed" : diff.next_policy),
                       to_string(options.metric));
    out += "<p id=\"accuracy\" class=\"note\"><b>Exact</b> rows (plain figures) count every event: any nonzero delta is "
           "real. <b>Statistical</b> rows (<span class=\"stat\">~</span>) come from timer samples: changed only beyond "
           "sampling noise, by a two-proportion z-test on the row's share of its profile's samples, |z| &gt; 1.96 (95%); "
           "totals by the Poisson test. Their samples read row/total, base &#8594; new (~: estimated from time shares).</p>\n";
    if (!diff.notes.empty()) {
        out += "<ul id=\"notes\">\n";
        for (const std::string& note : diff.notes) out += "<li class=\"note\">" + escaped(note) + "</li>\n";
        out += "</ul>\n";
    }
    out += "<nav class=\"js-only\"><input id=\"search\" type=\"search\" placeholder=\"search functions, lines, stacks\" "
           "aria-label=\"search\"> <span id=\"search-result\"></span></nav>\n</header>\n";
}

// Every metric's total, whatever --metric is: the page's first answer.
void summary(std::string& out, const ProfileDiff& diff) {
    out += "<section id=\"summary\">\n<h2>Totals</h2>\n<table id=\"summary-table\" class=\"sortable\"><thead><tr>"
           "<th>metric</th>" + figure_headings(true) + "</tr></thead><tbody>\n";
    for (const DiffRow& row : diff.rows) {
        if (row.group != "summary") continue;
        out += fmt::format("<tr{}><td>{}{}</td>{}</tr>\n", row_attributes(row), statistical(row) ? "~" : "",
                           to_string(row.metric), figure_cells(row, true));
    }
    out += "</tbody></table>\n</section>\n";
}

std::string_view unit_of(DiffMetric metric) {
    switch (metric) {
    case DiffMetric::instructions: return "instructions";
    case DiffMetric::calls: return "calls";
    case DiffMetric::samples: return "samples";
    case DiffMetric::time: return "ns";
    }
    return "";
}

void flamegraph(std::string& out, const Profile& base, const Profile& next, DiffMetric metric) {
    constexpr std::string_view title = "Differential flame graph";
    if (metric == DiffMetric::calls) {
        out += html::omitted_section("flamegraph", title,
                "Calls are not a stack weight: no flame graph for --metric calls (the tables below compare the calls); "
                "use --metric instructions, samples or time.");
        return;
    }
    diff_support::DifferentialStacks stacks;
    try {
        stacks = diff_support::differential_stacks(base, next, metric, "html");
    } catch (const MissingGroupError& e) {  // the tables still compare every group both profiles have
        out += html::omitted_section("flamegraph", title,
                                     "No differential flame graph: " + escaped(e.what()) + ". The tables below still compare.");
        return;
    }
    const bool exact = metric == DiffMetric::instructions;
    out += fmt::format("<section id=\"flamegraph\" data-accuracy=\"{}\">\n<h2>{}</h2>\n", exact ? "exact" : "statistical", title);
    out += fmt::format("<p class=\"note\">{}; a frame's width is the new profile's {}, its colour the change from the "
                       "base: <span class=\"grew\">red grew</span>, <span class=\"shrank\">blue shrank</span>, grey "
                       "unchanged, deeper for a larger relative change. Stacks only the base has are not drawn (the "
                       "tables show them).{} <span class=\"js-only\">Click a frame to zoom, "
                       "<button id=\"flame-reset\" type=\"button\">reset zoom</button>.</span></p>\n",
                       exact ? "Exact: the hotspots as function;function (file:line), as --format folded writes them"
                             : "Sampled call stacks, root at the bottom",
                       exact ? "instructions" : metric == DiffMetric::time ? "sampled time" : "samples",
                       // A sampled colour is a difference of estimates, not a finding.
                       exact ? "" : " Colours compare the sampled figures as they are: the call stacks table's z "
                                    "says which stacks changed beyond sampling noise.");
    out += html::differential_flamegraph_svg(stacks, unit_of(metric));
    out += "</section>\n";
}

std::string_view title_of(const std::string& group) {
    if (group == "lines") return "Lines";
    if (group == "functions") return "Functions";
    if (group == "call_graph") return "Call graph";
    if (group == "hotspots") return "Hotspots";
    if (group == "opcodes") return "Opcodes";
    if (group == "loops") return "Loops";
    if (group == "branches") return "Branches";
    if (group == "opcode_pairs") return "Opcode pairs";
    if (group == "call_stacks") return "Call stacks";
    return group;
}

// A group's table: the rows after --threshold, the --top largest |delta| of them.
void group_table(std::string& out, const ProfileDiff& diff, const DiffOptions& options, const std::string& group) {
    const std::vector<const DiffRow*> rows = diff_support::shown(diff, options, group);
    const bool stat = !rows.empty() && statistical(*rows.front());
    const std::size_t count = std::min(rows.size(), options.top);
    std::size_t changed = 0;
    for (const DiffRow* row : rows) changed += row->changed ? 1 : 0;
    out += fmt::format("<section id=\"{}\" data-accuracy=\"{}\" data-rows=\"{}\" data-shown=\"{}\">\n<h2>{}</h2>\n",
                       escaped(group), stat ? "statistical" : "exact", rows.size(), count, title_of(group));
    out += fmt::format("<p class=\"note\">{} ({}, {}{}): {} of {} keys changed{}{}.</p>\n", escaped(group),
                       to_string(options.metric), diff_support::meaning(group, options.metric), stat ? "statistical" : "exact",
                       changed, rows.size(),
                       rows.size() > count ? fmt::format("; the {} largest |delta| shown (--top)", count) : std::string(),
                       options.threshold_percent > 0
                           ? fmt::format("; rows below {}% of the group's base total left out (--threshold)", options.threshold_percent)
                           : std::string());
    if (rows.empty()) {
        out += "</section>\n";
        return;
    }
    const bool lines = group == "lines";
    out += fmt::format("<table id=\"{}-table\" class=\"sortable\"><thead><tr><th>{}</th><th>{}</th>{}</tr></thead><tbody>\n",
                       escaped(group), lines ? "line" : "key", lines ? "source" : "detail", figure_headings(stat));
    for (std::size_t i = 0; i < count; ++i) {
        const DiffRow& row = *rows[i];
        // A line's key sorts by its number.
        const std::string key_cell = lines ? fmt::format("<td class=\"num\" data-sort=\"{}\">{}</td>", escaped(row.key), escaped(row.key))
                                           : "<td><code>" + escaped(row.key) + "</code></td>";
        out += fmt::format("<tr{}>{}<td><code>{}</code></td>{}</tr>\n", row_attributes(row), key_cell, escaped(row.detail),
                           figure_cells(row, stat));
    }
    out += "</tbody></table>\n</section>\n";
}

} // namespace

std::string format_diff_html(const Profile& base, const Profile& next, const DiffOptions& options) {
    const ProfileDiff diff = opscope::diff(base, next);
    std::string out;
    out.reserve(64 * 1024);
    out += html::page_start(fmt::format("opscope diff: {} -> {}", program_name(diff.base_source), program_name(diff.next_source)));
    header(out, diff, options);
    out += "<main>\n";
    summary(out, diff);
    flamegraph(out, base, next, options.metric);
    // The lines first (the per-line deltas), then every other group of the metric in the diff's order.
    std::vector<std::string> groups = diff_support::groups_of(diff, options.metric);
    std::erase(groups, "summary");
    const auto lines = std::find(groups.begin(), groups.end(), "lines");
    if (lines != groups.end()) std::rotate(groups.begin(), lines, lines + 1);
    else
        out += html::omitted_section("lines", "Lines",
                fmt::format("No per-line {}: the lines group counts instructions and sampled time, and both profiles "
                            "need it (see the notes).",
                            to_string(options.metric)));
    for (const std::string& group : groups) group_table(out, diff, options, group);
    out += "</main>\n" + html::page_end();
    return out;
}

} // namespace opscope
