// The writers of a ProfileDiff (include/opscope/diff.hpp): text (a table per group, 100 columns at most),
// the "opscope-profile-diff" JSON document (docs/exports.md) and differential folded stacks
// (`stack base new`, flamegraph.pl's two-column input); and what they share with the HTML page
// (diff_support.hpp: the rows shown, the differential stacks).
#include <opscope/diff.hpp>
#include <opscope/report.hpp>

#include "diff_support.hpp"
#include "export_support.hpp"
#include "json_writer.hpp"
#include "text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>

namespace opscope {

namespace diff_support {

std::vector<const DiffRow*> shown(const ProfileDiff& diff, const DiffOptions& options, const std::string& group) {
    std::uint64_t base_total = 0;
    for (const DiffRow& row : diff.rows)
        if (row.group == group && row.metric == options.metric) base_total += row.base_value();
    std::vector<const DiffRow*> out;
    for (const DiffRow& row : diff.rows) {
        if (row.group != group || row.metric != options.metric) continue;
        if (options.threshold_percent > 0 &&
            std::abs(row.delta()) < options.threshold_percent / 100.0 * static_cast<double>(base_total))
            continue;
        out.push_back(&row);
    }
    return out;
}

std::vector<std::string> groups_of(const ProfileDiff& diff, DiffMetric metric) {
    std::vector<std::string> groups;
    for (const DiffRow& row : diff.rows)
        if (row.metric == metric && (groups.empty() || groups.back() != row.group)) groups.push_back(row.group);
    return groups;
}

std::string_view meaning(const std::string& group, DiffMetric metric) {
    if (group == "functions" && metric == DiffMetric::instructions) return "inclusive instructions, ";
    if (group == "functions" && metric == DiffMetric::time) return "self time in ns, ";
    if (group == "call_graph" && metric == DiffMetric::instructions) return "inclusive instructions, ";
    if (group == "call_graph" && metric == DiffMetric::time) return "inclusive time in ns, ";
    if (group == "loops" && metric == DiffMetric::instructions) return "iterations, ";
    if (group == "branches") return "decisions, ";
    if (metric == DiffMetric::time) return "time in ns, ";
    return "";
}

} // namespace diff_support

namespace {

using diff_support::groups_of;
using diff_support::meaning;
using diff_support::shown;

std::string signed_count(double delta) { return delta == 0 ? "0" : delta > 0 ? fmt::format("+{:.0f}", delta) : fmt::format("{:.0f}", delta); }
std::string percent_text(const DiffRow& row) {
    const std::optional<double> percent = row.delta_percent();
    if (!percent) return row.next_value() ? "new" : "";
    return fmt::format("{:+.2f}%", *percent);
}
std::string value_text(const std::optional<std::uint64_t>& value) { return value ? std::to_string(*value) : "-"; }

std::string samples_text(const DiffRow& row) {
    return fmt::format("{}{}/{} -> {}{}/{}", row.samples_estimated ? "~" : "", row.base_samples.value_or(0),
                       row.base_total_samples.value_or(0), row.samples_estimated ? "~" : "", row.next_samples.value_or(0),
                       row.next_total_samples.value_or(0));
}

} // namespace

std::string format_diff_text(const ProfileDiff& diff, const DiffOptions& options) {
    using report::Align;
    std::string out;
    out += report::wrap(report::words(fmt::format("opscope diff: {} ({}) -> {} ({}), metric {}",
                                                  diff.base_source.empty() ? "?" : diff.base_source, diff.base_policy,
                                                  diff.next_source.empty() ? "?" : diff.next_source, diff.next_policy,
                                                  to_string(options.metric))));
    out += "exact rows: any nonzero delta is real\n";
    out += "statistical rows (~): changed only beyond sampling noise: a two-proportion z-test on the shares\n"
           "  of samples, |z| > 1.96 (95%); totals: Poisson. samples: row/total, base -> new (~: time shares)\n";
    for (const std::string& note : diff.notes) out += report::wrap(report::words("note: " + note));
    const std::vector<std::string> groups = groups_of(diff, options.metric);
    if (groups.empty()) {
        out += report::wrap({fmt::format("Neither profile pair measured {} in a group both have.", to_string(options.metric))});
        return out;
    }
    for (const std::string& group : groups) {
        const std::vector<const DiffRow*> rows = shown(diff, options, group);
        if (rows.empty()) continue;
        const bool statistical = rows.front()->accuracy == Accuracy::statistical;
        std::size_t changed = 0;
        for (const DiffRow* row : rows) changed += row->changed ? 1 : 0;
        out += '\n';
        out += report::fit(fmt::format("{} ({}, {}{}): {} of {} keys changed{}", group, to_string(options.metric),
                                       meaning(group, options.metric),
                                       statistical ? "statistical" : "exact", changed, rows.size(),
                                       rows.size() > options.top ? fmt::format(", top {} by |delta|", options.top) : ""));
        out += '\n';
        std::vector<report::Column> columns = {{"key", Align::left},  {"base", Align::right},   {"new", Align::right},
                                               {"delta", Align::right}, {"delta %", Align::right}};
        if (statistical) {
            columns.push_back({"samples", Align::right});
            columns.push_back({"z", Align::right});
            columns.push_back({"changed", Align::left});
        }
        columns.push_back({"", Align::left});
        report::Table table(columns);
        std::size_t n = 0;
        for (const DiffRow* row : rows) {
            if (n++ == options.top) break;
            // A long stack keeps its leaf end.
            const std::string key = row->group == "call_stacks" ? report::cut_front(row->key, 48) : row->key;
            std::vector<std::string> cells = {(statistical ? "~" : "") + key, value_text(row->base), value_text(row->next),
                                              signed_count(row->delta()), percent_text(*row)};
            if (statistical) {
                cells.push_back(samples_text(*row));
                cells.push_back(row->z ? fmt::format("{:+.2f}", *row->z) : "-");
                cells.push_back(row->changed ? "yes" : "noise");
            }
            cells.push_back(row->detail);
            table.add(std::move(cells));
        }
        // The table narrows its text columns; the figures of a statistical row may still pass the width.
        std::istringstream rendered(table.render());
        for (std::string line; std::getline(rendered, line);) out += report::fit(line) + '\n';
    }
    return out;
}

std::string format_diff_json(const ProfileDiff& diff, const DiffOptions& options) {
    const auto program = [](const std::string& source, const std::string& policy, bool partial) {
        return [&source, &policy, partial](json::Writer& to) {
            to.begin_object().field("source_file", source).field("policy", policy).field("partial", partial).end_object();
        };
    };
    // Invalid UTF-8 (a host may name functions anyhow) becomes U+FFFD rather than an exception.
    return json::collected([&](const ReportSink& sink) {
        json::ChunkedOutput out(sink);
        json::Writer w(out, json::Writer::Style::pretty);
        w.begin_object()
            .field("format", "opscope-profile-diff")
            .field("version", 1)
            .field("metric", to_string(options.metric))
            .field("noise_test", "two-proportion z-test on the share of samples, |z| > 1.96 (95%, two-sided); totals: "
                                 "Poisson, |n2 - n1| > 1.96 sqrt(n1 + n2)")
            .field("base", program(diff.base_source, diff.base_policy, diff.base_partial))
            .field("new", program(diff.next_source, diff.next_policy, diff.next_partial))
            .field("notes", diff.notes)
            .key("rows")
            .begin_array();
        for (const std::string& group : groups_of(diff, options.metric)) {
            for (const DiffRow* row : shown(diff, options, group)) {
                w.begin_object()
                    .field("group", row->group)
                    .field("key", row->key)
                    .field("detail", row->detail.empty() ? std::nullopt : std::optional(row->detail))
                    .field("accuracy", to_string(row->accuracy))
                    .field("base", row->base)
                    .field("new", row->next)
                    .field("delta", row->delta())
                    .field("delta_percent", row->delta_percent())
                    .field("changed", row->changed)
                    .key("samples");
                if (row->accuracy == Accuracy::statistical)
                    w.begin_object()
                        .field("base", row->base_samples.value_or(0))
                        .field("base_total", row->base_total_samples.value_or(0))
                        .field("new", row->next_samples.value_or(0))
                        .field("new_total", row->next_total_samples.value_or(0))
                        .field("estimated", row->samples_estimated)
                        .end_object()
                        .field("z", row->z);
                else
                    w.value(nullptr).field("z", nullptr);
                w.end_object();
            }
        }
        w.end_array().end_object().end_document();
    });
}

namespace {

// stack -> count of one profile, for the folded diff. `program_file`: the file its program's frames name (the
// new profile's, so two versions of a program saved under different names still match by function and line).
std::map<std::string, std::uint64_t> folded_counts(const Profile& profile, DiffMetric metric, std::string_view format,
                                                   const std::string& program_file) {
    std::map<std::string, std::uint64_t> out;
    if (metric == DiffMetric::instructions) {
        if (!profile.instructions)
            throw MissingGroupError(fmt::format("{} --metric instructions", format), "the hotspots (instructions)", profile.policy,
                                    exports::kHotspotsRecordedBy);
        const exports::FunctionIndex functions(profile);
        for (const InstructionStats& i : profile.instructions->entries) {
            const std::string name = exports::sanitized(i.function, ";");
            std::optional<std::string> file = functions.file(i.function);
            if (file && *file == profile.source_file && !program_file.empty()) file = program_file;
            const std::string line = i.line == 0 ? fmt::format("{} (line ?)", name)
                                     : file      ? fmt::format("{} ({}:{})", name, exports::sanitized(*file, ";"), i.line)
                                                 : fmt::format("{} (line {})", name, i.line);
            out[name + ";" + line] += i.count;
        }
        return out;
    }
    const bool by_time = metric == DiffMetric::time;
    if (!profile.call_stacks)
        throw MissingGroupError(format, "the sampled call stacks (call_stacks)", profile.policy, exports::kStacksRecordedBy);
    for (const StackSample& s : profile.call_stacks->entries) {
        if (by_time && !s.time_ns)
            throw MissingGroupError(fmt::format("{} --metric time", format), "sampled times of the call stacks", profile.policy,
                                    exports::kStacksRecordedBy);
        std::string stack;
        for (std::size_t i = 0; i < s.frames.size(); ++i) {
            if (i) stack += ';';
            stack += exports::sanitized(s.frames[i], ";");
        }
        if (!stack.empty()) out[stack] += by_time ? *s.time_ns : s.samples;
    }
    return out;
}

} // namespace

namespace diff_support {

DifferentialStacks differential_stacks(const Profile& base, const Profile& next, DiffMetric metric, std::string_view format) {
    if (metric == DiffMetric::calls)
        throw std::invalid_argument("a differential flame graph draws instructions, samples or time, not calls");
    DifferentialStacks stacks;
    // Different programs are matched by function and line, as diff() matches its rows: the base's program file
    // is named as the new one's.
    for (const auto& [stack, count] : folded_counts(base, metric, format, next.source_file)) stacks[stack].first = count;
    for (const auto& [stack, count] : folded_counts(next, metric, format, next.source_file)) stacks[stack].second = count;
    std::erase_if(stacks, [](const auto& entry) { return entry.second.first == 0 && entry.second.second == 0; });
    return stacks;
}

} // namespace diff_support

std::string format_diff_folded(const Profile& base, const Profile& next, DiffMetric metric) {
    if (metric == DiffMetric::calls)
        throw std::invalid_argument("--format folded draws instructions, samples or time, not calls");
    std::string out;
    for (const auto& [stack, counts] : diff_support::differential_stacks(base, next, metric, "folded"))
        out += fmt::format("{} {} {}\n", stack, counts.first, counts.second);
    return out;
}

} // namespace opscope
