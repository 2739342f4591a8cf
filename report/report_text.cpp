// format_text: the human-readable profile report. Each section is a ranked, aligned table built from the
// plain Profile; a group the policy did not measure gets no section, only a mention in the last line.
// Statistical figures carry a leading '~' and their section title says how they were obtained. Sampled
// times come with their share of the wall time ± its 95% interval and the samples behind them; one from too
// few samples to mean anything (SampledShare::meaningful) is shown as '-' (the legend under the summary says so).
#include <opscope/report.hpp>
#include "canonical_copy.hpp"
#include "figures.hpp"
#include "text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace opscope {
namespace {

using report::Align;
using report::Table;
using report::Column;

// --- numbers ---

using report::byte_size;
using report::digits;
using report::samples_text;
using report::duration;
using report::per_second;
using report::percent;
using report::share;
using report::significant;

// A figure, marked '~' when statistical.
std::string mark(std::optional<Accuracy> accuracy, std::string figure) {
    return accuracy == Accuracy::statistical ? "~" + figure : figure;
}

std::string line_number(std::uint32_t line) { return line == 0 ? "-" : std::to_string(line); }

// How the statistical figures of a section were obtained ("" when all are exact).
std::string statistical_note(const Profile& p, std::optional<Accuracy> counts, std::optional<Accuracy> times) {
    if (times == Accuracy::statistical && p.timing)
        return fmt::format("~ sampled, {}{}", samples_text(p.timing->samples),
                           counts == Accuracy::statistical ? "; counts estimated" : "");
    if (counts == Accuracy::statistical || times == Accuracy::statistical) return "~ statistical estimate";
    return "";
}

// The cells of a time. In a group with sample counts (`sampled`): the time, its share of the wall time ± its
// interval, and the samples behind it, with the time and share '-' when too few samples mean anything. In a
// group without (an older profile, or a policy that measures times otherwise): the time, and its share of
// `whole` as measured.
std::vector<std::string> time_cells(const Profile& p, std::optional<Accuracy> accuracy, std::optional<std::uint64_t> time_ns,
                                    std::optional<std::uint64_t> samples, std::uint64_t whole, bool sampled) {
    if (!sampled)
        return {mark(accuracy, duration(time_ns.value_or(0))), mark(accuracy, percent(share(time_ns.value_or(0), whole)))};
    const auto s = sampled_share(p, time_ns, samples);
    if (!s) return {mark(accuracy, duration(time_ns.value_or(0))), "-", "-"};
    if (!s->meaningful) return {"-", "-", digits(s->samples)};
    return {mark(accuracy, duration(*time_ns)), mark(accuracy, report::share_with_interval(*s)), digits(s->samples)};
}
// Whether any entry of `group` has the sample count `samples` gives.
template <class Group, class Samples>
bool has_samples(const std::optional<Group>& group, Samples samples) {
    return group && std::any_of(group->entries.begin(), group->entries.end(),
                                [&](const auto& e) { return samples(e).has_value(); });
}

// "Name (detail; note)", leaving out empty parts.
std::string title(std::string name, const std::string& detail, const std::string& note = "") {
    const std::string inner = detail.empty() ? note : note.empty() ? detail : detail + "; " + note;
    return inner.empty() ? name : name + " (" + inner + ")";
}

using report::ranked;

// The heading, the table, a blank line.
void section(std::string& out, const std::string& heading, const Table& table) {
    out += report::fit(heading) + "\n" + table.render() + "\n";
}

// Source text by line number, leading blanks trimmed.
std::map<std::uint32_t, std::string> source_lines(const Profile& p) {
    std::map<std::uint32_t, std::string> text;
    if (!p.lines) return text;
    for (const LineStats& e : p.lines->entries) {
        if (!e.source_text) continue;
        const std::size_t start = e.source_text->find_first_not_of(" \t");
        text[e.line] = start == std::string::npos ? "" : e.source_text->substr(start);
    }
    return text;
}

// --- sections ---

void header(std::string& out, const Profile& p) {
    const std::string file = p.source_file.empty() ? "" : " of " + p.source_file;
    out += report::wrap(report::words("opscope profile" + file + " (policy " + (p.policy.empty() ? "unnamed" : p.policy) + ")"));
    if (p.partial) {
        std::string first_line = p.error.substr(0, p.error.find('\n'));
        if (first_line.starts_with("error: ")) first_line.erase(0, 7);  // a RuntimeError's what(): said once
        out += report::wrap(report::words("PARTIAL: the run stopped with an error" + (first_line.empty() ? "" : ": " + first_line)));
    }
    out += "\n";
}

// " (x% of wall time)" when the wall time is known and not zero, else "".
std::string of_wall_time(const Profile& p, std::uint64_t ns) {
    if (!p.summary || !p.summary->wall_time_ns || *p.summary->wall_time_ns == 0) return "";
    return " (" + percent(share(ns, *p.summary->wall_time_ns)) + " of wall time)";
}

// "kept of recorded events kept (dropped dropped[; windows of W, skipped S]), from to to (span)".
// `events`: the timeline's (format_text's canonical copy leaves them out).
std::string timeline_line(const Timeline& t, const std::vector<TimelineEvent>& events) {
    std::string line = fmt::format("{} of {} events kept ({} dropped", digits(t.kept()), digits(t.recorded),
                                   digits(t.dropped));
    line += t.window ? fmt::format("; windows of {}, {} skipped)", digits(t.window), digits(t.skipped)) : ")";
    if (events.empty()) return line;
    const auto time = [&](std::uint64_t ns) { return mark(t.time_accuracy, duration(ns)); };
    const std::uint64_t first = events.front().time_ns, last = events.back().time_ns;
    return line + ", " + time(first) + " to " + time(last) + " (span " + time(last >= first ? last - first : 0) + ")";
}

// Whether any group carries sampled times with their samples (the legend explains their intervals).
bool any_sampled_shares(const Profile& p) {
    return has_samples(p.opcodes, [](const OpcodeStats& e) { return e.samples; }) ||
           has_samples(p.lines, [](const LineStats& e) { return e.samples; }) ||
           has_samples(p.functions, [](const FunctionStats& e) { return e.total_samples; }) ||
           has_samples(p.loops, [](const LoopStats& e) { return e.samples; }) ||
           has_samples(p.call_graph, [](const CallEdge& e) { return e.samples; });
}

// `timeline_events`: the timeline's events (the copy `p` has none; see canonical_copy.hpp).
void summary(std::string& out, const Profile& p, const std::vector<TimelineEvent>& timeline_events) {
    Table table({{"", Align::left}, {"", Align::left, Column::Overflow::wrap}});
    if (p.summary) {
        const Summary& s = *p.summary;
        std::string instructions = mark(s.accuracy, digits(s.total_instructions));
        if (s.unique_instructions) instructions += " (" + digits(*s.unique_instructions) + " unique)";
        table.add({"instructions", instructions});
        if (s.wall_time_ns) table.add({"wall time", duration(*s.wall_time_ns)});
        if (const auto rate = s.instructions_per_second())
            table.add({"instructions/s", mark(s.accuracy, per_second(*rate))});
        if (s.max_call_depth) table.add({"max call depth", digits(*s.max_call_depth)});
    }
    table.add({"policy", p.policy.empty() ? "unnamed" : p.policy});
    if (p.timing) {
        const TimingInfo& t = *p.timing;
        table.add({"timing", t.method + " (" + samples_text(t.samples) + ")"});
        if (t.sample_rate_hz) table.add({"sample rate", digits(*t.sample_rate_hz) + " Hz"});
        if (t.overhead_ns) table.add({"overhead", duration(*t.overhead_ns) + of_wall_time(p, *t.overhead_ns)});
        if (t.truncated_stacks > 0)
            table.add({"truncated stacks",
                       samples_text(t.truncated_stacks) +
                           " deeper than the stack walk limit"});
    }
    if (p.functions && p.functions->time_accuracy) {
        std::uint64_t in_natives = 0;
        std::optional<std::uint64_t> native_samples;
        for (const FunctionStats& e : p.functions->entries)
            if (e.native) {
                in_natives += e.total_time_ns.value_or(0);
                if (e.total_samples) native_samples = native_samples.value_or(0) + *e.total_samples;
            }
        // In a profile with sample counts, a time from too few samples is not shown (natives are apart: their
        // samples add, each sample lands in one native at most).
        const bool sampled = has_samples(p.functions, [](const FunctionStats& e) { return e.total_samples; });
        const auto estimate = sampled_share(p, in_natives, native_samples.value_or(0));
        if (sampled && estimate && !estimate->meaningful)
            table.add({"time in natives", "- (" + samples_text(estimate->samples) + ")"});
        else
            table.add({"time in natives",
                       mark(p.functions->time_accuracy, duration(in_natives)) + of_wall_time(p, in_natives)});
    }
    if (p.timeline) table.add({"timeline", timeline_line(*p.timeline, timeline_events)});
    out += report::fit("Summary") + "\n" + table.render();
    // (No legend without the timing it describes: a profile built by hand may have sample counts alone.)
    if (std::vector<std::string> words = report::words(report::sampled_legend(p)); any_sampled_shares(p) && !words.empty()) {
        words.front() = "  " + words.front();
        out += report::wrap(words);
    }
    out += "\n";
}

void opcodes(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.opcodes) return;
    const OpcodeGroup& g = *p.opcodes;
    const std::uint64_t total = total_instructions(p).value_or(0);
    const bool timed = g.time_accuracy.has_value();
    // Percentiles only from a policy that times executions one by one (the sampler does not).
    const bool distributions = timed && std::any_of(g.entries.begin(), g.entries.end(),
                                                    [](const OpcodeStats& e) { return e.time_distribution.has_value(); });
    std::vector<report::Column> columns{{"opcode", Align::left}, {"count", Align::right}, {"%", Align::right}};
    const bool sampled = timed && has_samples(p.opcodes, [](const OpcodeStats& e) { return e.samples; });
    if (sampled)
        for (const char* name : {"time", "time %", "samples", "mean"}) columns.push_back({name, Align::right});
    else if (timed)
        for (const char* name : {"time", "mean"}) columns.push_back({name, Align::right});
    if (distributions)
        for (const char* name : {"p50", "p95", "p99"}) columns.push_back({name, Align::right});
    Table table(columns);
    const std::uint64_t all_time = p.summary && p.summary->wall_time_ns ? *p.summary->wall_time_ns : 0;
    const auto order = ranked(g.entries, [](const OpcodeStats& e) { return e.count; });
    for (std::size_t i = 0; i < order.size() && i < options.top; ++i) {
        const OpcodeStats& e = *order[i];
        std::vector<std::string> row{e.name, mark(g.accuracy, digits(e.count)), percent(share(e.count, total))};
        if (timed) {
            const auto timed_figure = [&](std::optional<double> ns) {
                return ns ? mark(g.time_accuracy, duration(*ns)) : std::string("-");
            };
            const auto at = [&](double pct) -> std::optional<double> {
                if (!e.time_distribution) return std::nullopt;
                const auto value = e.time_distribution->percentile(pct);
                return value ? std::optional(static_cast<double>(*value)) : std::nullopt;
            };
            if (sampled)
                for (std::string& cell : time_cells(p, g.time_accuracy, e.time_ns, e.samples, all_time, true))
                    row.push_back(std::move(cell));
            else
                row.push_back(timed_figure(e.time_ns ? std::optional(static_cast<double>(*e.time_ns)) : std::nullopt));
            const auto estimate = sampled_share(p, e.time_ns, e.samples);
            row.push_back(estimate && !estimate->meaningful ? "-" : timed_figure(e.mean_ns()));
            if (distributions)
                for (const auto& figure : {at(50), at(95), at(99)}) row.push_back(timed_figure(figure));
        }
        table.add(std::move(row));
    }
    section(out,
            title("Top opcodes", fmt::format("{} of {}", std::min(options.top, order.size()), order.size()),
                  statistical_note(p, g.accuracy, g.time_accuracy)),
            table);
}

void hotspots(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.instructions) return;
    const InstructionGroup& g = *p.instructions;
    const std::uint64_t total = total_instructions(p).value_or(0);
    const auto text = source_lines(p);
    Table table({{"#", Align::right}, {"function", Align::left}, {"offset", Align::right}, {"line", Align::right},
                 {"opcode", Align::left}, {"count", Align::right}, {"%", Align::right}, {"source", Align::left}});
    std::size_t rank = 0;
    for (const InstructionStats* e : ranked(g.entries, [](const InstructionStats& s) { return s.count; })) {
        if (rank == options.top || share(e->count, total) < options.threshold_percent) break;
        const auto source = text.find(e->line);
        table.add({std::to_string(++rank), e->function, std::to_string(e->offset), line_number(e->line), e->opcode,
                   mark(g.accuracy, digits(e->count)), percent(share(e->count, total)),
                   source == text.end() ? "" : source->second});
    }
    const std::string heading = title("Hotspots", "instructions with >= " + percent(options.threshold_percent) +
                                                      " of all executed",
                                      statistical_note(p, g.accuracy, {}));
    if (rank == 0)
        out += report::fit(heading) + "\n  none\n\n";
    else
        section(out, heading, table);
}

void hot_lines(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.lines) return;
    const LineGroup& g = *p.lines;
    const std::uint64_t total = total_instructions(p).value_or(0);
    const bool timed = g.time_accuracy.has_value();
    const auto text = source_lines(p);
    std::uint64_t total_time = 0;
    for (const LineStats& e : g.entries) total_time += e.time_ns.value_or(0);
    std::vector<report::Column> columns{{"line", Align::right}, {"count", Align::right}, {"%", Align::right}};
    const bool sampled = timed && has_samples(p.lines, [](const LineStats& e) { return e.samples; });
    if (timed) columns.insert(columns.end(), {{"time", Align::right}, {"time %", Align::right}});
    if (sampled) columns.push_back({"samples", Align::right});
    columns.push_back({"source", Align::left});
    Table table(columns);
    std::size_t shown = 0;
    for (const LineStats* e : ranked(g.entries, [](const LineStats& s) { return s.count; })) {
        if (shown == options.top || share(e->count, total) < options.threshold_percent) break;
        ++shown;
        std::vector<std::string> row{line_number(e->line), mark(g.accuracy, digits(e->count)),
                                     percent(share(e->count, total))};
        if (timed)
            for (std::string& cell : time_cells(p, g.time_accuracy, e->time_ns, e->samples, total_time, sampled))
                row.push_back(std::move(cell));
        const auto source = text.find(e->line);
        row.push_back(source == text.end() ? "" : source->second);
        table.add(std::move(row));
    }
    if (shown > 0)
        section(out, title("Hot lines", "", statistical_note(p, g.accuracy, g.time_accuracy)), table);
}

void hot_loops(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.loops) return;
    const LoopGroup& g = *p.loops;
    const bool timed = g.time_accuracy.has_value();
    const auto text = source_lines(p);
    std::vector<report::Column> columns{{"function", Align::left}, {"offsets", Align::right}, {"line", Align::right},
                                        {"iterations", Align::right}};
    const bool sampled = timed && has_samples(p.loops, [](const LoopStats& e) { return e.samples; });
    if (sampled)
        columns.insert(columns.end(), {{"time", Align::right}, {"time %", Align::right}, {"samples", Align::right},
                                       {"per iteration", Align::right}});
    else if (timed)
        columns.insert(columns.end(), {{"time", Align::right}, {"per iteration", Align::right}});
    const std::uint64_t all_time = p.summary && p.summary->wall_time_ns ? *p.summary->wall_time_ns : 0;
    columns.push_back({"source", Align::left});
    Table table(columns);
    const auto order = ranked(g.entries, [&](const LoopStats& e) {
        return timed ? std::pair(e.time_ns.value_or(0), e.iterations) : std::pair(e.iterations, std::uint64_t{0});
    });
    std::size_t shown = 0;
    for (const LoopStats* e : order) {
        if (shown == options.top) break;
        if (e->iterations < options.hot_loop_min) continue;
        ++shown;
        std::vector<std::string> row{e->function, fmt::format("{}-{}", e->start_offset, e->end_offset),
                                     line_number(e->line), mark(g.accuracy, digits(e->iterations))};
        if (timed) {
            std::vector<std::string> cells = time_cells(p, g.time_accuracy, e->time_ns, e->samples, all_time, sampled);
            if (!sampled) cells.pop_back();  // no share column here without samples, as before them
            for (std::string& cell : cells) row.push_back(std::move(cell));
            const auto per = e->time_per_iteration_ns();
            const auto estimate = sampled_share(p, e->time_ns, e->samples);
            row.push_back(per && !(estimate && !estimate->meaningful) ? mark(g.time_accuracy, duration(*per)) : "-");
        }
        const auto source = text.find(e->line);
        row.push_back(source == text.end() ? "" : source->second);
        table.add(std::move(row));
    }
    const std::string heading = title("Hot loops", ">= " + digits(options.hot_loop_min) + " iterations",
                                      statistical_note(p, g.accuracy, g.time_accuracy));
    if (shown == 0)
        out += report::fit(heading) + "\n  none\n\n";
    else
        section(out, heading, table);
}

void branches(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.branches || p.branches->entries.empty()) return;
    const BranchGroup& g = *p.branches;
    Table table({{"function", Align::left}, {"offset", Align::right}, {"line", Align::right},
                 {"executed", Align::right}, {"taken", Align::right}, {"taken %", Align::right}});
    const auto order = ranked(g.entries, [](const BranchStats& e) { return e.executed; });
    for (std::size_t i = 0; i < order.size() && i < options.top; ++i) {
        const BranchStats& e = *order[i];
        table.add({e.function, std::to_string(e.offset), line_number(e.line), mark(g.accuracy, digits(e.executed)),
                   mark(g.accuracy, digits(e.taken)), percent(share(e.taken, e.executed))});
    }
    section(out,
            title("Branches", fmt::format("most executed {} of {}", std::min(options.top, order.size()), order.size()),
                  statistical_note(p, g.accuracy, {})),
            table);
}

void functions(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.functions || p.functions->entries.empty()) return;
    const FunctionGroup& g = *p.functions;
    const bool timed = g.time_accuracy.has_value();
    std::uint64_t all_self = 0;
    for (const FunctionStats& e : g.entries) all_self += e.self_time_ns.value_or(0);
    const bool any_native =
        std::any_of(g.entries.begin(), g.entries.end(), [](const FunctionStats& e) { return e.native; });
    std::vector<report::Column> columns{{"function", Align::left}};
    if (any_native) columns.push_back({"kind", Align::left});
    columns.push_back({"calls", Align::right});
    // Exact instructions executed by the function and its callees (an activation nested in another of the
    // same function counted once).
    const bool instructions = std::any_of(g.entries.begin(), g.entries.end(),
                                          [](const FunctionStats& e) { return e.inclusive_instructions.has_value(); });
    if (instructions) columns.push_back({"incl instr", Align::right});
    const bool sampled = timed && has_samples(p.functions, [](const FunctionStats& e) { return e.total_samples; });
    if (sampled)
        columns.insert(columns.end(), {{"self", Align::right}, {"self %", Align::right}, {"self n", Align::right},
                                       {"inclusive", Align::right}, {"incl %", Align::right}, {"incl n", Align::right}});
    else if (timed)
        columns.insert(columns.end(), {{"self", Align::right}, {"self %", Align::right}, {"inclusive", Align::right},
                                       {"incl %", Align::right}});
    Table table(columns);
    const auto order = ranked(g.entries, [&](const FunctionStats& e) {
        return timed ? std::pair(e.total_time_ns.value_or(0), e.calls) : std::pair(e.calls, std::uint64_t{0});
    });
    for (std::size_t i = 0; i < order.size() && i < options.top; ++i) {
        const FunctionStats& e = *order[i];
        std::vector<std::string> row{e.name};
        if (any_native) row.push_back(e.native ? "native" : "bytecode");
        row.push_back(mark(g.accuracy, digits(e.calls)));
        if (instructions) row.push_back(e.inclusive_instructions ? digits(*e.inclusive_instructions) : "-");
        if (timed) {
            for (std::string& cell : time_cells(p, g.time_accuracy, e.self_time_ns, e.self_samples, all_self, sampled))
                row.push_back(std::move(cell));
            for (std::string& cell : time_cells(p, g.time_accuracy, e.total_time_ns, e.total_samples, all_self, sampled))
                row.push_back(std::move(cell));
        }
        table.add(std::move(row));
    }
    section(out, title("Functions", "", statistical_note(p, g.accuracy, g.time_accuracy)), table);
}

void call_graph(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.call_graph || p.call_graph->entries.empty()) return;
    const CallGraph& g = *p.call_graph;
    const bool timed = g.time_accuracy.has_value();
    std::vector<report::Column> columns{{"caller", Align::left}, {"callee", Align::left}, {"calls", Align::right}};
    // Exact instructions the calls of the edge executed (each call its own: a recursive edge can exceed the
    // total).
    const bool instructions = std::any_of(g.entries.begin(), g.entries.end(),
                                          [](const CallEdge& e) { return e.inclusive_instructions.has_value(); });
    if (instructions) columns.push_back({"incl instr", Align::right});
    const bool sampled = timed && has_samples(p.call_graph, [](const CallEdge& e) { return e.samples; });
    if (sampled) columns.insert(columns.end(), {{"time", Align::right}, {"time %", Align::right}, {"samples", Align::right}});
    else if (timed) columns.push_back({"time", Align::right});
    Table table(columns);
    const std::uint64_t all_time = p.summary && p.summary->wall_time_ns ? *p.summary->wall_time_ns : 0;
    const auto order = ranked(g.entries, [&](const CallEdge& e) {
        return timed ? std::pair(e.time_ns.value_or(0), e.calls) : std::pair(e.calls, std::uint64_t{0});
    });
    for (std::size_t i = 0; i < order.size() && i < options.top; ++i) {
        const CallEdge& e = *order[i];
        std::vector<std::string> row{e.caller.empty() ? "(host)" : e.caller, e.callee,
                                     mark(g.accuracy, digits(e.calls))};
        if (instructions) row.push_back(e.inclusive_instructions ? digits(*e.inclusive_instructions) : "-");
        if (timed) {
            std::vector<std::string> cells = time_cells(p, g.time_accuracy, e.time_ns, e.samples, all_time, sampled);
            if (!sampled) cells.pop_back();  // no share column here without samples, as before them
            for (std::string& cell : cells) row.push_back(std::move(cell));
        }
        table.add(std::move(row));
    }
    section(out, title("Call graph", "", statistical_note(p, g.accuracy, g.time_accuracy)), table);
}

// "main;f;g", or when that is wider than `width`, as much of its leaf end as fits: "...;f;g".
std::string stack_text(const std::vector<std::string>& frames, std::size_t width) {
    if (frames.empty()) return "";
    std::string whole = frames.front();
    for (std::size_t i = 1; i < frames.size(); ++i) whole += ";" + frames[i];
    if (report::display_width(whole) <= width) return whole;
    const std::string cut_mark = "...;";
    std::string tail = frames.back();
    if (report::display_width(cut_mark + tail) > width) return report::cut_front(tail, width);
    for (std::size_t i = frames.size() - 1; i-- > 1;) {
        std::string longer = frames[i] + ";" + tail;
        if (report::display_width(cut_mark + longer) > width) break;
        tail = std::move(longer);
    }
    return cut_mark + tail;
}

void call_stacks(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.call_stacks || p.call_stacks->entries.empty()) return;
    const StackSampleGroup& g = *p.call_stacks;
    const bool timed =
        std::all_of(g.entries.begin(), g.entries.end(), [](const StackSample& e) { return e.time_ns.has_value(); });
    std::uint64_t total = 0;
    for (const StackSample& e : g.entries) total += e.samples;
    const auto order = ranked(g.entries, [](const StackSample& e) { return e.samples; });
    const std::size_t shown = std::min(options.top, order.size());
    // The figures first, so the stacks can take the rest of the line.
    std::vector<report::Column> columns{{"samples", Align::right}, {"%", Align::right}};
    // Intervals only beside the other groups' (a profile whose sampler counted the samples behind each figure).
    const bool sampled = timed && any_sampled_shares(p);
    if (timed) columns.push_back({"time", Align::right});
    if (sampled) columns.push_back({"time %", Align::right});
    std::vector<std::vector<std::string>> rows;
    std::vector<std::size_t> widths;
    for (const report::Column& column : columns) widths.push_back(report::display_width(column.header));
    for (std::size_t i = 0; i < shown; ++i) {
        const StackSample& e = *order[i];
        std::vector<std::string> row{digits(e.samples), mark(g.accuracy, percent(share(e.samples, total)))};
        if (!sampled && timed) row.push_back(mark(g.accuracy, duration(e.time_ns.value_or(0))));
        if (sampled) {
            const auto estimate = sampled_share(p, e.time_ns, e.samples);
            row.push_back(estimate && !estimate->meaningful ? "-" : mark(g.accuracy, duration(e.time_ns.value_or(0))));
            row.push_back(!estimate ? "-" : !estimate->meaningful ? "-" : mark(g.accuracy, report::share_with_interval(*estimate)));
        }
        for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], report::display_width(row[c]));
        rows.push_back(std::move(row));
    }
    std::size_t used = report::kTableIndent;
    for (std::size_t width : widths) used += width + report::kColumnGap;
    const std::size_t room = used < report::kReportWidth ? report::kReportWidth - used : 0;
    columns.push_back({"stack (root first)", Align::left});
    Table table(columns);
    for (std::size_t i = 0; i < shown; ++i) {
        rows[i].push_back(stack_text(order[i]->frames, room));
        table.add(std::move(rows[i]));
    }
    std::string note;
    if (g.accuracy == Accuracy::statistical) note = "~ sampled, " + samples_text(total);
    if (p.timing && p.timing->truncated_stacks > 0)
        note += (note.empty() ? "" : "; ") + digits(p.timing->truncated_stacks) + " truncated";
    section(out, title("Call stacks", fmt::format("top {} of {} by samples", shown, order.size()), note), table);
}

void opcode_pairs(std::string& out, const Profile& p, const ReportOptions& options) {
    if (!p.opcode_pairs || p.opcode_pairs->entries.empty()) return;
    const OpcodePairGroup& g = *p.opcode_pairs;
    std::uint64_t total = 0;
    for (const OpcodePair& e : g.entries) total += e.count;
    Table table({{"first", Align::left}, {"second", Align::left}, {"count", Align::right}, {"%", Align::right}});
    const auto order = ranked(g.entries, [](const OpcodePair& e) { return e.count; });
    for (std::size_t i = 0; i < order.size() && i < options.top; ++i)
        table.add({order[i]->first, order[i]->second, mark(g.accuracy, digits(order[i]->count)),
                   percent(share(order[i]->count, total))});
    section(out, title("Opcode pairs", "", statistical_note(p, g.accuracy, {})), table);
}

void frames_and_stack(std::string& out, const Profile& p) {
    if (!p.frames && !p.stack) return;
    Table table({{"", Align::left}, {"pushed", Align::right}, {"popped", Align::right}, {"max depth", Align::right}});
    const auto row = [&](const char* name, Accuracy accuracy, std::uint64_t pushed, std::uint64_t popped,
                         std::uint64_t max_depth) {
        table.add({name, mark(accuracy, digits(pushed)), mark(accuracy, digits(popped)),
                   mark(accuracy, digits(max_depth))});
    };
    if (p.frames) row("call frames", p.frames->accuracy, p.frames->pushed, p.frames->popped, p.frames->max_depth);
    if (p.stack) row("operand stack", p.stack->accuracy, p.stack->pushes, p.stack->pops, p.stack->max_depth);
    const bool statistical = (p.frames && p.frames->accuracy == Accuracy::statistical) ||
                             (p.stack && p.stack->accuracy == Accuracy::statistical);
    section(out, title("Frames and stack", "", statistical ? "~ statistical estimate" : ""), table);
}

void memory(std::string& out, const Profile& p) {
    if (!p.memory) return;
    const MemoryStats& m = *p.memory;
    const auto figure = [&](std::string text) { return mark(m.accuracy, std::move(text)); };
    Table table({{"", Align::left}, {"", Align::left, Column::Overflow::wrap}});
    table.add({"allocations", figure(digits(m.allocations)) + " (" + byte_size(m.allocated_bytes) + ")"});
    table.add({"frees", figure(digits(m.frees)) + " (" + byte_size(m.freed_bytes) + " reclaimed)"});
    table.add({"live at end", figure(byte_size(m.live_bytes))});
    table.add({"peak", figure(byte_size(m.peak_bytes))});
    std::string gc = digits(m.gc_cycles) + (m.gc_cycles == 1 ? " cycle" : " cycles");
    if (m.gc_time_ns) gc += ", " + duration(*m.gc_time_ns);
    table.add({"garbage collection", figure(gc)});
    for (const TypeMemory& t : m.by_type)
        table.add({"  " + t.type, figure(digits(t.allocations)) + " (" + byte_size(t.bytes) + ")"});
    section(out, title("Memory", "", statistical_note(p, m.accuracy, {})), table);
}

void not_measured(std::string& out, const Profile& p) {
    std::vector<std::string> missing;
    const auto check = [&](bool present, const char* name) {
        if (!present) missing.push_back(name);
    };
    check(p.summary.has_value(), "summary");
    check(p.timing.has_value(), "timing");
    check(p.opcodes.has_value(), "opcodes");
    check(p.opcodes && p.opcodes->time_accuracy, "opcode times");
    check(p.instructions.has_value(), "hotspots");
    check(p.lines.has_value(), "lines");
    check(p.lines && p.lines->time_accuracy, "line times");
    check(p.functions.has_value(), "functions");
    check(p.functions && p.functions->time_accuracy, "function times");
    check(p.frames.has_value(), "frames");
    check(p.stack.has_value(), "stack");
    check(p.branches.has_value(), "branches");
    check(p.loops.has_value(), "loops");
    check(p.loops && p.loops->time_accuracy, "loop times");
    check(p.call_graph.has_value(), "call graph");
    check(p.call_graph && p.call_graph->time_accuracy, "call graph times");
    check(p.opcode_pairs.has_value(), "opcode pairs");
    check(p.memory.has_value(), "memory");
    check(p.call_stacks.has_value(), "call stacks");
    check(p.timeline.has_value(), "timeline");
    if (missing.empty()) return;
    std::vector<std::string> pieces{"Not measured by this policy:"};
    for (std::size_t i = 0; i < missing.size(); ++i)
        pieces.push_back(missing[i] + (i + 1 < missing.size() ? "," : "."));
    out += report::wrap(pieces);
}

} // namespace

std::string format_text(const Profile& original, const ReportOptions& options) {
    const Profile p = report::canonical_copy_without_events(original);
    std::string out;
    header(out, p);
    static const std::vector<TimelineEvent> kNoEvents;
    summary(out, p, original.timeline ? original.timeline->events : kNoEvents);
    opcodes(out, p, options);
    hotspots(out, p, options);
    hot_lines(out, p, options);
    hot_loops(out, p, options);
    branches(out, p, options);
    functions(out, p, options);
    call_graph(out, p, options);
    call_stacks(out, p, options);
    opcode_pairs(out, p, options);
    frames_and_stack(out, p);
    memory(out, p);
    not_measured(out, p);
    return out;
}

} // namespace opscope
