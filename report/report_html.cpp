// format_html: the profile as one self-contained HTML page (docs/exports.md, "html"). Everything is static
// HTML written here — the header, the flame graph as inline SVG (flamegraph_svg.cpp), the annotated source
// and the tables — so the page reads with JavaScript off; the inline script (html_support.cpp) only zooms
// the flame graph, searches and sorts. No URL anywhere: a strict Content-Security-Policy forbids every
// fetch. Every string from the profile is escaped (html::escaped): function names, source text and error
// messages are hostile input. Exact figures are plain; statistical ones carry a leading '~' and class "stat".
//
// Naming: section ids and data- attributes are the DOM contract documented in docs/exports.md; each
// section writer is named after its id.
#include "export_support.hpp"
#include "figures.hpp"
#include "flamegraph_svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace opscope {

namespace {

using html::escaped;

// --- numbers ---

using report::byte_size;
using report::digits;
using report::duration;
using report::percent;
using report::per_second;
using report::share;
using report::significant;

bool statistical(std::optional<Accuracy> accuracy) { return accuracy == Accuracy::statistical; }

// --- cells and attributes ---

std::string attr(std::string_view name, std::string_view value) {
    return fmt::format(" {}=\"{}\"", name, escaped(value));
}
std::string attr(std::string_view name, std::uint64_t value) { return fmt::format(" {}=\"{}\"", name, value); }

std::string text_cell(std::string_view text) { return "<td>" + escaped(text) + "</td>"; }
std::string code_cell(std::string_view text) { return "<td><code>" + escaped(text) + "</code></td>"; }

// A number sorted by its value, shown with digit groups, '~' when statistical.
std::string count_cell(std::uint64_t n, std::optional<Accuracy> accuracy) {
    return fmt::format("<td class=\"num{}\" data-sort=\"{}\">{}{}</td>", statistical(accuracy) ? " stat" : "", n,
                       statistical(accuracy) ? "~" : "", digits(n));
}
std::string time_cell(std::optional<double> ns, std::optional<Accuracy> accuracy) {
    if (!ns) return "<td class=\"num none\" data-sort=\"-1\">-</td>";
    return fmt::format("<td class=\"num{}\" data-sort=\"{}\">{}{}</td>", statistical(accuracy) ? " stat" : "", *ns,
                       statistical(accuracy) ? "~" : "", duration(*ns));
}
std::string time_cell(std::optional<std::uint64_t> ns, std::optional<Accuracy> accuracy) {
    return time_cell(ns ? std::optional(static_cast<double>(*ns)) : std::nullopt, accuracy);
}
// A sampled time with its share of the wall time ± its 95% interval and the samples behind it (data-samples,
// data-share-low, data-share-high); greyed (class "few") when too few samples mean anything. Without samples:
// time_cell.
std::string sampled_time_cell(const Profile& p, std::optional<std::uint64_t> ns, std::optional<std::uint64_t> samples,
                              std::optional<Accuracy> accuracy) {
    const auto s = sampled_share(p, ns, samples);
    if (!s) return time_cell(ns, accuracy);
    return fmt::format("<td class=\"num stat{}\" data-sort=\"{}\" data-samples=\"{}\" data-share-low=\"{:.6f}\" "
                       "data-share-high=\"{:.6f}\"{}>~{}<span class=\"interval\">{} &#183; {}</span></td>",
                       s->meaningful ? "" : " few", *ns, s->samples, s->low, s->high,
                       s->meaningful ? "" : " title=\"too few samples to mean anything\"", duration(*ns),
                       escaped(report::share_with_interval(*s)), report::samples_text(s->samples));
}
std::string percent_cell(double value) {
    return fmt::format("<td class=\"num\" data-sort=\"{:.6f}\">{}</td>", value, percent(value));
}
std::string line_cell(std::uint32_t line) {
    return fmt::format("<td class=\"num\" data-sort=\"{}\">{}</td>", line, line == 0 ? "-" : std::to_string(line));
}

std::string head(std::initializer_list<std::string_view> columns) {
    std::string out = "<thead><tr>";
    for (const std::string_view c : columns) out += "<th>" + std::string(c) + "</th>";
    return out + "</tr></thead>";
}

// --- sections ---

std::string accuracy_attr(std::optional<Accuracy> counts, std::optional<Accuracy> times) {
    std::string out;
    if (counts) out += attr("data-accuracy", to_string(*counts));
    if (times) out += attr("data-time-accuracy", to_string(*times));
    return out;
}

// What the ~ figures of a section are: "~ sampled: N timer samples (METHOD)".
std::string sampled_note(const Profile& p) {
    if (!p.timing) return "~ statistical estimate";
    return fmt::format("~ sampled: estimated from {} timer samples ({})", digits(p.timing->samples),
                       escaped(p.timing->method));
}

std::string note(const Profile& p, std::optional<Accuracy> counts, std::optional<Accuracy> times,
                 std::string_view exact_what) {
    std::string text;
    if (counts == Accuracy::exact) text = fmt::format("Exact: {} counted, every event.", exact_what);
    if (statistical(counts) || statistical(times)) text += (text.empty() ? "" : " ") + sampled_note(p) + ".";
    return "<p class=\"note\">" + text + "</p>\n";
}

void open_section(std::string& out, std::string_view id, std::string_view title, std::string accuracy = "") {
    out += fmt::format("<section id=\"{}\"{}>\n<h2>{}</h2>\n", id, accuracy, title);
}
void close_section(std::string& out) { out += "</section>\n"; }

std::string not_recorded(const Profile& p, std::string_view what, std::string_view recorded_by) {
    return fmt::format("Not recorded: {} {} no {}; profile with --policy {}.",
                       p.policy.empty() ? std::string("this profile") : "policy '" + escaped(p.policy) + "'",
                       p.policy.empty() ? "has" : "records", what, recorded_by);
}

using report::ranked;

void header(std::string& out, const Profile& p) {
    const std::string program = p.source_file.empty() ? std::string("(unknown program)") : p.source_file;
    out += fmt::format("<header id=\"header\"{}{}{}>\n<h1>opscope profile: <span id=\"program\">{}</span></h1>\n",
                       attr("data-policy", p.policy), attr("data-partial", p.partial ? "true" : "false"),
                       p.call_stacks ? attr("data-samples", [&] {
                           std::uint64_t n = 0;
                           for (const StackSample& s : p.call_stacks->entries) n += s.samples;
                           return n;
                       }()) : std::string(),
                       escaped(program));
    if (p.partial)
        out += fmt::format("<div id=\"partial\" class=\"banner\" role=\"alert\"><strong>Partial profile.</strong> "
                           "The run stopped at a runtime error; the data covers what ran.{}</div>\n",
                           p.error.empty() ? std::string()
                                           : "<pre id=\"error\">" + escaped(p.error) + "</pre>");
    out += "<dl id=\"summary\">\n";
    const auto row = [&](std::string_view key, std::string_view id, const std::string& value) {
        out += fmt::format("<dt>{}</dt><dd id=\"{}\">{}</dd>\n", key, id, value);
    };
    row("Policy", "summary-policy", p.policy.empty() ? "unnamed" : escaped(p.policy));
    if (p.summary) {
        const Summary& s = *p.summary;
        std::string instructions = fmt::format("<span{}>{}{}</span> ({})", attr("data-count", s.total_instructions),
                                               statistical(s.accuracy) ? "~" : "", digits(s.total_instructions),
                                               to_string(s.accuracy));
        if (s.unique_instructions) instructions += fmt::format(", {} distinct", digits(*s.unique_instructions));
        row("Instructions", "summary-instructions", instructions);
        if (s.wall_time_ns) row("Wall time", "summary-wall-time", duration(*s.wall_time_ns) + " (measured)");
        if (const auto rate = s.instructions_per_second())
            row("Instructions/s", "summary-rate", fmt::format("<span data-rate=\"{:.0f}\">{}{}</span>", *rate,
                                                              statistical(s.accuracy) ? "~" : "", per_second(*rate)));
        if (s.max_call_depth) row("Max call depth", "summary-depth", digits(*s.max_call_depth) + " (exact)");
    }
    if (p.timing) {
        const TimingInfo& t = *p.timing;
        std::string samples = fmt::format("<span data-count=\"{}\">{}</span> sample{}", t.samples, digits(t.samples), t.samples == 1 ? "" : "s");
        if (t.sample_rate_hz) samples += fmt::format(" at {} Hz", digits(*t.sample_rate_hz));
        row("Samples", "summary-samples", samples + " (" + escaped(t.method) + ")");
        if (t.overhead_ns) {
            std::string overhead = duration(*t.overhead_ns) + " (measured)";
            if (p.summary && p.summary->wall_time_ns && *p.summary->wall_time_ns)
                overhead += ", " + percent(share(*t.overhead_ns, *p.summary->wall_time_ns)) + " of wall time";
            row("Profiler overhead", "summary-overhead", overhead);
        }
        if (t.truncated_stacks)
            row("Truncated stacks", "summary-truncated", report::samples_text(t.truncated_stacks) + " deeper than the walk limit");
    }
    out += "</dl>\n<p id=\"accuracy\" class=\"note\">Plain figures are <b>exact</b>: counted, every event. Figures "
           "marked <span class=\"stat\">~</span> are <b>statistical</b>: estimated from timer samples";
    if (p.timing) out += fmt::format(" ({} samples)", digits(p.timing->samples));
    out += ".</p>\n";
    if (const std::string legend = report::sampled_legend(p); !legend.empty())
        out += "<p id=\"intervals\" class=\"note\">" + escaped(legend) + "</p>\n";
    out += "<nav class=\"js-only\"><input id=\"search\" type=\"search\" placeholder=\"search functions, lines, "
           "opcodes\" aria-label=\"search\"> <span id=\"search-result\"></span></nav>\n</header>\n";
}

void flamegraph(std::string& out, const Profile& p) {
    if (!p.call_stacks) {
        out += html::omitted_section("flamegraph", "Flame graph",
                "No sampled stacks: profile with --policy timing or full" +
                    (p.policy.empty() ? std::string() : " (this profile's policy is '" + escaped(p.policy) + "')") + ".");
        return;
    }
    open_section(out, "flamegraph", "Flame graph", accuracy_attr(p.call_stacks->accuracy, std::nullopt));
    out += "<p class=\"note\">Sampled call stacks, root at the bottom; a frame's width is its share of the "
           "samples. " + sampled_note(p) + ". <span class=\"js-only\">Click a frame to zoom, "
           "<button id=\"flame-reset\" type=\"button\">reset zoom</button>.</span></p>\n";
    std::uint64_t samples = 0;
    for (const StackSample& s : p.call_stacks->entries) samples += s.samples;
    if (samples == 0) out += "<p class=\"note\" id=\"no-samples\">No sample landed: the run was shorter than the sampling "
                             "period (raise --sample-rate or run longer).</p>\n";
    // Counts are not times where the samples weigh unequally: a fast start samples a run's first 50 ms ten
    // times as often, and a merge pools runs sampled at different rates. Jitter alone keeps the effective
    // size above 97% of the samples; below 90% the widths can mislead.
    if (const auto n = effective_samples(p); n && p.timing->samples > 0 && *n < 0.9 * static_cast<double>(p.timing->samples))
        out += fmt::format("<p class=\"note\" id=\"unequal-weights\">The samples weigh unequally (the precision of {:.0f} "
                           "equal samples from {}: a faster rate at the start of a run, or runs merged at different "
                           "rates), so a width is the frame's share of the samples, not of the time; each frame's "
                           "tooltip gives its sampled time.</p>\n",
                           *n, p.timing->samples);
    out += html::flamegraph_svg(p);
    close_section(out);
}

// Branch and loop figures by line, for the annotated source.
struct LineExtras {
    std::uint64_t branch_executed = 0, branch_taken = 0, loop_iterations = 0;
    bool branch = false, loop = false;
};

void source(std::string& out, const Profile& p) {
    if (!p.lines) {
        out += html::omitted_section("source", "Annotated source", not_recorded(p, "line counts", "counting, timing or full"));
        return;
    }
    const LineGroup& g = *p.lines;
    std::map<std::uint32_t, LineExtras> extras;
    if (p.branches)
        for (const BranchStats& b : p.branches->entries) {
            LineExtras& e = extras[b.line];
            e.branch = true;
            e.branch_executed += b.executed;
            e.branch_taken += b.taken;
        }
    if (p.loops)
        for (const LoopStats& l : p.loops->entries) {
            LineExtras& e = extras[l.line];
            e.loop = true;
            e.loop_iterations += l.iterations;
        }
    std::uint64_t most = 0, total = 0;
    for (const LineStats& l : g.entries) {
        most = std::max(most, l.count);
        total += l.count;
    }
    open_section(out, "source", "Annotated source", accuracy_attr(g.accuracy, g.time_accuracy));
    out += note(p, g.accuracy, g.time_accuracy, "instructions executed on each line");
    out += "<table id=\"source-table\" class=\"source\">" +
           head({"line", "instructions", "heat", "time", "branches, loops", "source"}) + "<tbody>\n";
    std::uint32_t previous = 0;
    for (const LineStats& l : g.entries) {
        if (previous != 0 && l.line > previous + 1) out += "<tr class=\"gap\"><td colspan=\"6\">&#8942;</td></tr>\n";
        previous = l.line;
        const LineExtras extra = extras.count(l.line) ? extras[l.line] : LineExtras{};
        std::string attrs = attr("data-line", l.line) + attr("data-count", l.count);
        if (l.time_ns) attrs += attr("data-time-ns", *l.time_ns);
        std::string annotations;
        if (extra.branch) {
            attrs += attr("data-branch-executed", extra.branch_executed) + attr("data-branch-taken", extra.branch_taken);
            annotations += fmt::format("<span class=\"branch\">branch taken {} of {}", digits(extra.branch_taken),
                                       digits(extra.branch_executed));
            if (extra.branch_executed) annotations += " (" + percent(share(extra.branch_taken, extra.branch_executed)) + ")";
            annotations += "</span> ";
        }
        if (extra.loop) {
            attrs += attr("data-loop-iterations", extra.loop_iterations);
            annotations += fmt::format("<span class=\"loop\">loop &#215;{}</span>", digits(extra.loop_iterations));
        }
        const double heat = share(l.count, most);
        out += fmt::format("<tr{}>{}{}<td class=\"heat\" data-sort=\"{}\"><span class=\"bar\" style=\"width:{:.1f}%\">"
                           "</span><span class=\"share\">{}</span></td>{}<td>{}</td><td class=\"code\"><code>{}</code></td></tr>\n",
                           attrs, line_cell(l.line), count_cell(l.count, g.accuracy), l.count, heat,
                           percent(share(l.count, total)), sampled_time_cell(p, l.time_ns, l.samples, g.time_accuracy), annotations,
                           escaped(l.source_text.value_or("")));
    }
    out += "</tbody></table>\n";
    close_section(out);
}

void functions(std::string& out, const Profile& p) {
    if (!p.functions) {
        out += html::omitted_section("functions", "Functions", not_recorded(p, "functions", "counting, timing or full"));
        return;
    }
    const FunctionGroup& g = *p.functions;
    std::map<std::string, std::uint64_t, std::less<>> self_instructions;
    if (p.instructions)
        for (const InstructionStats& i : p.instructions->entries) self_instructions[i.function] += i.count;
    open_section(out, "functions", "Functions", accuracy_attr(g.accuracy, g.time_accuracy));
    out += note(p, g.accuracy, g.time_accuracy, "calls and instructions");
    out += "<table id=\"functions-table\" class=\"sortable\">" +
           head({"function", "calls", "self instructions", "inclusive instructions", "self time", "total time",
                 "kind", "defined at"}) +
           "<tbody>\n";
    const auto order = ranked(g.entries, [](const FunctionStats& f) {
        return std::pair(f.inclusive_instructions.value_or(0), f.total_time_ns.value_or(0));
    });
    for (const FunctionStats* f : order) {
        const auto self = self_instructions.find(f->name);
        std::string attrs = attr("data-function", f->name) + attr("data-calls", f->calls);
        if (f->inclusive_instructions) attrs += attr("data-inclusive-instructions", *f->inclusive_instructions);
        if (f->self_time_ns) attrs += attr("data-self-time-ns", *f->self_time_ns);
        if (f->total_time_ns) attrs += attr("data-total-time-ns", *f->total_time_ns);
        std::string where = f->file.value_or(f->native ? "" : p.source_file);
        if (f->line) where += fmt::format("{}{}", where.empty() ? "line " : ":", *f->line);
        out += fmt::format("<tr{}>{}{}{}{}{}{}{}{}</tr>\n", attrs, code_cell(f->name), count_cell(f->calls, g.accuracy),
                           self == self_instructions.end() ? std::string("<td class=\"num none\" data-sort=\"-1\">-</td>")
                                                           : count_cell(self->second, p.instructions->accuracy),
                           f->inclusive_instructions ? count_cell(*f->inclusive_instructions, Accuracy::exact)
                                                     : std::string("<td class=\"num none\" data-sort=\"-1\">-</td>"),
                           sampled_time_cell(p, f->self_time_ns, f->self_samples, g.time_accuracy),
                           sampled_time_cell(p, f->total_time_ns, f->total_samples, g.time_accuracy),
                           text_cell(f->native ? "native" : "bytecode"), text_cell(where));
    }
    out += "</tbody></table>\n";
    close_section(out);
}

void opcodes(std::string& out, const Profile& p) {
    if (!p.opcodes) {
        out += html::omitted_section("opcodes", "Opcodes", not_recorded(p, "opcode counts", "counting, timing or full"));
        return;
    }
    const OpcodeGroup& g = *p.opcodes;
    const std::uint64_t total = total_instructions(p).value_or(0);
    open_section(out, "opcodes", "Opcodes", accuracy_attr(g.accuracy, g.time_accuracy));
    out += note(p, g.accuracy, g.time_accuracy, "executions of each opcode");
    // Percentiles only from a policy that times executions one by one (the sampler does not).
    const bool distributions = std::any_of(g.entries.begin(), g.entries.end(),
                                           [](const OpcodeStats& e) { return e.time_distribution.has_value(); });
    out += "<table id=\"opcodes-table\" class=\"sortable\">" +
           (distributions ? head({"opcode", "count", "% of instructions", "time", "mean", "p50", "p95", "p99"})
                          : head({"opcode", "count", "% of instructions", "time", "mean"})) +
           "<tbody>\n";
    for (const OpcodeStats* e : ranked(g.entries, [](const OpcodeStats& o) { return o.count; })) {
        const auto at = [&](double pct) -> std::optional<std::uint64_t> {
            return e->time_distribution ? e->time_distribution->percentile(pct) : std::nullopt;
        };
        const auto mean = e->mean_ns();
        const auto estimate = sampled_share(p, e->time_ns, e->samples);
        std::string mean_cell =
            time_cell(g.time_accuracy ? mean : std::nullopt, g.time_accuracy);  // a fraction of a ns, as in text
        if (estimate && !estimate->meaningful) mean_cell.replace(0, std::string_view("<td class=\"num").size(), "<td class=\"num few");
        std::string percentiles;
        if (distributions)
            for (const double pct : {50.0, 95.0, 99.0}) percentiles += time_cell(g.time_accuracy ? at(pct) : std::nullopt, g.time_accuracy);
        out += fmt::format("<tr{}>{}{}{}{}{}{}</tr>\n", attr("data-opcode", e->name) + attr("data-count", e->count),
                           code_cell(e->name), count_cell(e->count, g.accuracy), percent_cell(share(e->count, total)),
                           sampled_time_cell(p, e->time_ns, e->samples, g.time_accuracy), mean_cell, percentiles);
    }
    out += "</tbody></table>\n";
    close_section(out);
}

void hotspots(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.instructions) {
        out += html::omitted_section("hotspots", "Hotspots", not_recorded(p, "instruction counts", "counting, timing or full"));
        return;
    }
    const InstructionGroup& g = *p.instructions;
    const std::uint64_t total = total_instructions(p).value_or(0);
    const auto order = ranked(g.entries, [](const InstructionStats& i) { return i.count; });
    const std::size_t shown = std::min(order.size(), std::max<std::size_t>(options.top, 1));
    open_section(out, "hotspots", "Hotspots", accuracy_attr(g.accuracy, std::nullopt));
    out += note(p, g.accuracy, std::nullopt, "executions of each instruction");
    out += fmt::format("<p class=\"note\">The {} most executed of {} instructions.</p>\n", shown, order.size());
    out += "<table id=\"hotspots-table\" class=\"sortable\">" +
           head({"function", "offset", "line", "opcode", "count", "% of instructions"}) + "<tbody>\n";
    for (std::size_t i = 0; i < shown; ++i) {
        const InstructionStats& e = *order[i];
        out += fmt::format("<tr{}>{}{}{}{}{}{}</tr>\n",
                           attr("data-function", e.function) + attr("data-offset", e.offset) + attr("data-line", e.line) +
                               attr("data-count", e.count),
                           code_cell(e.function), line_cell(e.offset), line_cell(e.line), code_cell(e.opcode),
                           count_cell(e.count, g.accuracy), percent_cell(share(e.count, total)));
    }
    out += "</tbody></table>\n";
    close_section(out);
}

void branches(std::string& out, const Profile& p) {
    if (!p.branches) {
        out += html::omitted_section("branches", "Branches", not_recorded(p, "branch counts", "counting, timing or full"));
        return;
    }
    const BranchGroup& g = *p.branches;
    open_section(out, "branches", "Branches", accuracy_attr(g.accuracy, std::nullopt));
    out += note(p, g.accuracy, std::nullopt, "executions and taken jumps");
    out += "<table id=\"branches-table\" class=\"sortable\">" +
           head({"function", "offset", "line", "executed", "taken", "taken rate"}) + "<tbody>\n";
    for (const BranchStats* b : ranked(g.entries, [](const BranchStats& e) { return e.executed; })) {
        out += fmt::format("<tr{}>{}{}{}{}{}{}</tr>\n",
                           attr("data-function", b->function) + attr("data-offset", b->offset) +
                               attr("data-line", b->line) + attr("data-executed", b->executed) +
                               attr("data-taken", b->taken),
                           code_cell(b->function), line_cell(b->offset), line_cell(b->line),
                           count_cell(b->executed, g.accuracy), count_cell(b->taken, g.accuracy),
                           percent_cell(100.0 * b->taken_rate().value_or(0)));
    }
    out += "</tbody></table>\n";
    close_section(out);
}

void loops(std::string& out, const Profile& p) {
    if (!p.loops) {
        out += html::omitted_section("loops", "Loops", not_recorded(p, "loop counts", "counting, timing or full"));
        return;
    }
    const LoopGroup& g = *p.loops;
    open_section(out, "loops", "Loops", accuracy_attr(g.accuracy, g.time_accuracy));
    out += note(p, g.accuracy, g.time_accuracy, "iterations (back edges taken)");
    out += "<table id=\"loops-table\" class=\"sortable\">" +
           head({"function", "line", "offsets", "iterations", "time", "per iteration"}) + "<tbody>\n";
    for (const LoopStats* l : ranked(g.entries, [](const LoopStats& e) { return e.iterations; })) {
        const auto per = l->time_per_iteration_ns();
        out += fmt::format("<tr{}>{}{}{}{}{}{}</tr>\n",
                           attr("data-function", l->function) + attr("data-line", l->line) +
                               attr("data-iterations", l->iterations),
                           code_cell(l->function), line_cell(l->line),
                           text_cell(fmt::format("{}-{}", l->start_offset, l->end_offset)),
                           count_cell(l->iterations, g.accuracy), sampled_time_cell(p, l->time_ns, l->samples, g.time_accuracy),
                           time_cell(per ? std::optional(static_cast<std::uint64_t>(*per)) : std::nullopt, g.time_accuracy));
    }
    out += "</tbody></table>\n";
    close_section(out);
}

void call_graph(std::string& out, const Profile& p) {
    if (!p.call_graph) {
        out += html::omitted_section("callgraph", "Call graph", not_recorded(p, "call graph", "counting, timing or full"));
        return;
    }
    const CallGraph& g = *p.call_graph;
    open_section(out, "callgraph", "Call graph", accuracy_attr(g.accuracy, g.time_accuracy));
    out += note(p, g.accuracy, g.time_accuracy, "calls and inclusive instructions per edge");
    out += "<table id=\"callgraph-table\" class=\"sortable\">" +
           head({"caller", "callee", "calls", "inclusive instructions", "inclusive time", "call sites (line: calls)"}) +
           "<tbody>\n";
    for (const CallEdge* e : ranked(g.entries, [](const CallEdge& c) { return c.calls; })) {
        std::string sites;
        for (const CallSite& s : e->sites)
            sites += fmt::format("{}{}: {}", sites.empty() ? "" : ", ", s.line == 0 ? "-" : std::to_string(s.line),
                                 digits(s.calls));
        out += fmt::format("<tr{}>{}{}{}{}{}{}</tr>\n",
                           attr("data-caller", e->caller) + attr("data-callee", e->callee) + attr("data-calls", e->calls),
                           code_cell(e->caller.empty() ? "(host)" : e->caller), code_cell(e->callee),
                           count_cell(e->calls, g.accuracy),
                           e->inclusive_instructions ? count_cell(*e->inclusive_instructions, Accuracy::exact)
                                                     : std::string("<td class=\"num none\" data-sort=\"-1\">-</td>"),
                           sampled_time_cell(p, e->time_ns, e->samples, g.time_accuracy), text_cell(sites));
    }
    out += "</tbody></table>\n";
    close_section(out);
}

void frames_and_stack(std::string& out, const Profile& p) {
    if (!p.frames && !p.stack) {
        out += html::omitted_section("frames", "Frames and operand stack", not_recorded(p, "frame or stack counts", "counting, timing or full"));
        return;
    }
    open_section(out, "frames", "Frames and operand stack");
    out += "<dl>\n";
    const auto mark = [](Accuracy a) { return a == Accuracy::statistical ? "~" : ""; };
    if (p.frames)
        out += fmt::format("<dt>Frames</dt><dd>{0}{1} pushed, {0}{2} popped, max depth {0}{3}</dd>\n", mark(p.frames->accuracy),
                           digits(p.frames->pushed), digits(p.frames->popped), digits(p.frames->max_depth));
    if (p.stack)
        out += fmt::format("<dt>Operand stack</dt><dd>{0}{1} pushes, {0}{2} pops, max depth {0}{3}</dd>\n",
                           mark(p.stack->accuracy), digits(p.stack->pushes), digits(p.stack->pops),
                           digits(p.stack->max_depth));
    out += "</dl>\n";
    close_section(out);
}

void memory(std::string& out, const Profile& p) {
    if (!p.memory) {
        out += html::omitted_section("memory", "Memory", not_recorded(p, "memory figures", "full"));
        return;
    }
    const MemoryStats& m = *p.memory;
    open_section(out, "memory", "Memory", accuracy_attr(m.accuracy, std::nullopt));
    out += note(p, m.accuracy, std::nullopt, "allocations and bytes");
    out += fmt::format("<dl>\n<dt>Allocated</dt><dd{}>{} allocations, {}</dd>\n<dt>Freed by the GC</dt><dd>{} "
                       "frees, {} in {} cycles{}</dd>\n<dt>Peak</dt><dd>{}</dd>\n<dt>Live at the end</dt><dd>{}</dd>\n</dl>\n",
                       attr("data-bytes", m.allocated_bytes), digits(m.allocations), byte_size(m.allocated_bytes),
                       digits(m.frees), byte_size(m.freed_bytes), digits(m.gc_cycles),
                       m.gc_time_ns ? ", GC time " + duration(*m.gc_time_ns) : std::string(), byte_size(m.peak_bytes),
                       byte_size(m.live_bytes));
    out += "<table id=\"memory-table\" class=\"sortable\">" + head({"type", "allocations", "bytes", "% of bytes"}) +
           "<tbody>\n";
    for (const TypeMemory* t : ranked(m.by_type, [](const TypeMemory& e) { return e.bytes; }))
        out += fmt::format("<tr{}>{}{}{}{}</tr>\n",
                           attr("data-type", t->type) + attr("data-allocations", t->allocations) + attr("data-bytes", t->bytes),
                           code_cell(t->type), count_cell(t->allocations, m.accuracy), count_cell(t->bytes, m.accuracy),
                           percent_cell(share(t->bytes, m.allocated_bytes)));
    out += "</tbody></table>\n";
    close_section(out);
}

void opcode_pairs(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.opcode_pairs) {
        out += html::omitted_section("pairs", "Opcode pairs", not_recorded(p, "opcode pairs", "counting, timing or full"));
        return;
    }
    const OpcodePairGroup& g = *p.opcode_pairs;
    const auto order = ranked(g.entries, [](const OpcodePair& e) { return e.count; });
    const std::size_t shown = std::min(order.size(), std::max<std::size_t>(options.top, 1));
    open_section(out, "pairs", "Opcode pairs", accuracy_attr(g.accuracy, std::nullopt));
    out += note(p, g.accuracy, std::nullopt, "instruction pairs executed one after the other");
    out += "<table id=\"pairs-table\" class=\"sortable\">" + head({"first", "second", "count"}) + "<tbody>\n";
    for (std::size_t i = 0; i < shown; ++i)
        out += fmt::format("<tr{}>{}{}{}</tr>\n", attr("data-count", order[i]->count), code_cell(order[i]->first),
                           code_cell(order[i]->second), count_cell(order[i]->count, g.accuracy));
    out += "</tbody></table>\n";
    close_section(out);
}

void timeline(std::string& out, const Profile& p) {
    if (!p.timeline) {
        out += html::omitted_section("timeline", "Timeline", not_recorded(p, "timeline", "full"));
        return;
    }
    const Timeline& t = *p.timeline;
    open_section(out, "timeline", "Timeline", accuracy_attr(std::nullopt, t.time_accuracy));
    out += fmt::format("<p{}>{} of {} call enters and exits kept (ring of {}; {} dropped{})", attr("data-kept", t.kept()),
                       digits(t.kept()), digits(t.recorded), digits(t.capacity), digits(t.dropped),
                       t.window ? fmt::format("; windows of {}, {} skipped", digits(t.window), digits(t.skipped))
                                : std::string());
    if (!t.events.empty()) {
        const std::uint64_t first = t.events.front().time_ns, last = t.events.back().time_ns;
        const char* m = statistical(t.time_accuracy) ? "~" : "";
        out += fmt::format(", from {}{} to {}{}", m, duration(first), m, duration(last));
    }
    out += ".</p>\n<p class=\"note\">The events themselves are in the JSON profile and the Chrome trace export.</p>\n";
    close_section(out);
}

} // namespace

std::string format_html(const Profile& profile, const ReportOptions& options) {
    std::string out;
    out.reserve(64 * 1024);
    const std::string title = "opscope profile" + (profile.source_file.empty() ? std::string() : ": " + profile.source_file);
    out += html::page_start(title);
    header(out, profile);
    out += "<main>\n";
    flamegraph(out, profile);
    source(out, profile);
    functions(out, profile);
    opcodes(out, profile);
    hotspots(out, profile, options);
    branches(out, profile);
    loops(out, profile);
    call_graph(out, profile);
    memory(out, profile);
    frames_and_stack(out, profile);
    opcode_pairs(out, profile, options);
    timeline(out, profile);
    out += "</main>\n" + html::page_end();
    return out;
}

} // namespace opscope
