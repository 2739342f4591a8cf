// diff(): two profiles joined group by group and key by key (include/opscope/diff.hpp), the noise test of
// statistical rows, and the --fail-if rules. The writers are in report/diff_format.cpp.
#include <opscope/diff.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <tuple>

namespace opscope {

std::string_view to_string(DiffMetric metric) {
    switch (metric) {
    case DiffMetric::instructions: return "instructions";
    case DiffMetric::calls: return "calls";
    case DiffMetric::samples: return "samples";
    case DiffMetric::time: return "time";
    }
    return "?";
}

std::optional<DiffMetric> parse_diff_metric(std::string_view name) {
    for (DiffMetric m : {DiffMetric::instructions, DiffMetric::calls, DiffMetric::samples, DiffMetric::time})
        if (to_string(m) == name) return m;
    return std::nullopt;
}

double DiffRow::delta() const { return static_cast<double>(next_value()) - static_cast<double>(base_value()); }

std::optional<double> DiffRow::delta_percent() const {
    if (base_value() == 0) return std::nullopt;
    return 100.0 * delta() / static_cast<double>(base_value());
}

std::optional<double> two_proportion_z(std::uint64_t n1, std::uint64_t total1, std::uint64_t n2, std::uint64_t total2) {
    if (total1 == 0 || total2 == 0) return std::nullopt;
    const double t1 = static_cast<double>(total1), t2 = static_cast<double>(total2);
    const double p1 = static_cast<double>(n1) / t1, p2 = static_cast<double>(n2) / t2;
    const double pooled = (static_cast<double>(n1) + static_cast<double>(n2)) / (t1 + t2);
    const double variance = pooled * (1 - pooled) * (1 / t1 + 1 / t2);
    if (!(variance > 0)) return std::nullopt;
    return (p2 - p1) / std::sqrt(variance);
}

namespace {

// One side of a group for one metric: value per key, and (statistical) samples per key.
struct Side {
    std::map<std::string, std::uint64_t> values;
    std::map<std::string, std::uint64_t> samples;  // only where the group records samples per key
    std::map<std::string, std::string> details;
};

struct GroupSpec {
    std::string group;
    DiffMetric metric;
    Accuracy accuracy;
    Side base, next;
    bool per_key_samples = false;  // samples recorded per key (call stacks); else estimated from the time share
};

std::string place(const std::string& function, std::uint32_t offset) { return fmt::format("{}+{}", function, offset); }
std::string caller_name(const std::string& caller) { return caller.empty() ? std::string("(host)") : caller; }

std::string join_frames(const std::vector<std::string>& frames) {
    std::string out;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        if (i) out += ';';
        out += frames[i];
    }
    return out;
}

// Every (group, metric) a profile measured, keyed by name; `collect` is called once per profile.
using Groups = std::map<std::pair<std::string, DiffMetric>, std::pair<Accuracy, Side>>;

void put(Groups& groups, const std::string& group, DiffMetric metric, Accuracy accuracy, const std::string& key,
         std::uint64_t value, std::string detail = {}) {
    auto& [acc, side] = groups.try_emplace({group, metric}, accuracy, Side{}).first->second;
    acc = accuracy;
    side.values[key] += value;
    if (!detail.empty()) side.details[key] = std::move(detail);
}

Groups collect(const Profile& p) {
    Groups g;
    using M = DiffMetric;
    if (p.summary) put(g, "summary", M::instructions, p.summary->accuracy, "total", p.summary->total_instructions);
    if (p.opcodes) {
        for (const OpcodeStats& o : p.opcodes->entries) {
            put(g, "opcodes", M::instructions, p.opcodes->accuracy, o.name, o.count);
            if (p.opcodes->time_accuracy && o.time_ns) put(g, "opcodes", M::time, *p.opcodes->time_accuracy, o.name, *o.time_ns);
        }
    }
    if (p.instructions)
        for (const InstructionStats& i : p.instructions->entries)
            put(g, "hotspots", M::instructions, p.instructions->accuracy, place(i.function, i.offset), i.count,
                fmt::format("{} line {}", i.opcode, i.line));
    if (p.lines) {
        for (const LineStats& l : p.lines->entries) {
            const std::string key = std::to_string(l.line);
            put(g, "lines", M::instructions, p.lines->accuracy, key, l.count, l.source_text.value_or(""));
            if (p.lines->time_accuracy && l.time_ns) put(g, "lines", M::time, *p.lines->time_accuracy, key, *l.time_ns);
        }
    }
    if (p.functions) {
        std::uint64_t calls = 0;
        for (const FunctionStats& f : p.functions->entries) {
            calls += f.calls;
            put(g, "functions", M::calls, p.functions->accuracy, f.name, f.calls);
            if (f.inclusive_instructions)
                put(g, "functions", M::instructions, Accuracy::exact, f.name, *f.inclusive_instructions);
            if (p.functions->time_accuracy && f.self_time_ns)
                put(g, "functions", M::time, *p.functions->time_accuracy, f.name, *f.self_time_ns);
        }
        put(g, "summary", M::calls, p.functions->accuracy, "total", calls);
    }
    if (p.branches) {
        for (const BranchStats& b : p.branches->entries) {
            const std::string key = place(b.function, b.offset);
            put(g, "branches", M::instructions, p.branches->accuracy, key + " executed", b.executed, fmt::format("line {}", b.line));
            put(g, "branches", M::instructions, p.branches->accuracy, key + " taken", b.taken, fmt::format("line {}", b.line));
        }
    }
    if (p.loops) {
        for (const LoopStats& l : p.loops->entries) {
            const std::string key = fmt::format("{}+{}..{}", l.function, l.start_offset, l.end_offset);
            put(g, "loops", M::instructions, p.loops->accuracy, key, l.iterations, fmt::format("line {}", l.line));
            if (p.loops->time_accuracy && l.time_ns) put(g, "loops", M::time, *p.loops->time_accuracy, key, *l.time_ns);
        }
    }
    if (p.call_graph) {
        for (const CallEdge& e : p.call_graph->entries) {
            const std::string key = caller_name(e.caller) + " -> " + e.callee;
            put(g, "call_graph", M::calls, p.call_graph->accuracy, key, e.calls);
            if (e.inclusive_instructions)
                put(g, "call_graph", M::instructions, Accuracy::exact, key, *e.inclusive_instructions);
            if (p.call_graph->time_accuracy && e.time_ns)
                put(g, "call_graph", M::time, *p.call_graph->time_accuracy, key, *e.time_ns);
        }
    }
    if (p.opcode_pairs)
        for (const OpcodePair& o : p.opcode_pairs->entries)
            put(g, "opcode_pairs", M::instructions, p.opcode_pairs->accuracy, o.first + " " + o.second, o.count);
    if (p.call_stacks) {
        std::uint64_t samples = 0;
        bool timed = !p.call_stacks->entries.empty();
        for (const StackSample& s : p.call_stacks->entries) timed = timed && s.time_ns.has_value();
        for (const StackSample& s : p.call_stacks->entries) {
            const std::string key = join_frames(s.frames);
            samples += s.samples;
            put(g, "call_stacks", M::samples, p.call_stacks->accuracy, key, s.samples);
            if (timed) put(g, "call_stacks", M::time, p.call_stacks->accuracy, key, *s.time_ns);
        }
        put(g, "summary", M::samples, p.call_stacks->accuracy, "total", samples);
        if (timed) {
            std::uint64_t time = 0;
            for (const StackSample& s : p.call_stacks->entries) time += *s.time_ns;
            put(g, "summary", M::time, p.call_stacks->accuracy, "total", time);
        }
    }
    return g;
}

// The samples behind a profile's statistical rows: the call stacks' total, else the timing group's.
std::uint64_t total_samples(const Profile& p) {
    if (p.call_stacks) {
        std::uint64_t n = 0;
        for (const StackSample& s : p.call_stacks->entries) n += s.samples;
        return n;
    }
    return p.timing ? p.timing->samples : 0;
}

// N of a sampled time row: the samples behind the profile's shares, as precise as its effective sample size.
// Samples that weigh unequally (a fast start's short periods, then long ones) estimate a time share with the
// precision of fewer equal samples (Kish; TimingInfo::effective_samples), as the reports' intervals say; equal
// weights leave the samples as they are.
std::uint64_t effective_total(const Profile& p, std::uint64_t samples) {
    const auto effective = effective_samples(p);
    if (!effective || p.timing->samples == 0) return samples;
    // Clamped: a profile built by a host (not read from JSON, which checks it) may hold any double.
    const double ratio = std::min(1.0, std::max(0.0, *effective / static_cast<double>(p.timing->samples)));
    return static_cast<std::uint64_t>(std::llround(ratio * static_cast<double>(samples)));
}

std::map<std::string, std::uint64_t> stack_samples(const Profile& p) {
    std::map<std::string, std::uint64_t> out;
    if (p.call_stacks)
        for (const StackSample& s : p.call_stacks->entries) out[join_frames(s.frames)] += s.samples;
    return out;
}

// The sampled time the profile's samples add up to: the call stacks' times, else the lines' (each sample's
// time goes to one line), else the opcodes'.
std::uint64_t sampled_time(const Profile& p) {
    std::uint64_t time = 0;
    if (p.call_stacks) {
        for (const StackSample& s : p.call_stacks->entries) time += s.time_ns.value_or(0);
        if (time) return time;
    }
    if (p.lines && p.lines->time_accuracy) {
        for (const LineStats& l : p.lines->entries) time += l.time_ns.value_or(0);
        if (time) return time;
    }
    if (p.opcodes && p.opcodes->time_accuracy)
        for (const OpcodeStats& o : p.opcodes->entries) time += o.time_ns.value_or(0);
    return time;
}

// n of a sampled time row: its time over the profile's sampled time, times the profile's samples, at most
// all of them (an inclusive time may hold every sample).
std::uint64_t estimated_samples(std::uint64_t time, std::uint64_t total_time, std::uint64_t samples) {
    if (total_time == 0) return 0;
    const double n = std::round(std::min(1.0, static_cast<double>(time) / static_cast<double>(total_time)) *
                                static_cast<double>(samples));
    // A hostile profile's sums may wrap: clamp rather than convert a double past the range (undefined).
    if (!(n >= 0)) return 0;
    if (n >= 18446744073709549568.0) return std::numeric_limits<std::uint64_t>::max();
    return static_cast<std::uint64_t>(n);
}

int group_rank(const std::string& group) {
    static const std::vector<std::string> order = {"summary", "functions", "call_graph", "lines", "hotspots", "opcodes",
                                                   "loops", "branches", "opcode_pairs", "call_stacks"};
    const auto it = std::find(order.begin(), order.end(), group);
    return static_cast<int>(it - order.begin());
}

} // namespace

ProfileDiff diff(const Profile& base, const Profile& next) {
    ProfileDiff out;
    out.base_source = base.source_file;
    out.next_source = next.source_file;
    out.base_policy = base.policy;
    out.next_policy = next.policy;
    out.base_partial = base.partial;
    out.next_partial = next.partial;
    if (base.source_file != next.source_file)
        out.notes.push_back(fmt::format("different programs ('{}', '{}'): rows are matched by key (function names, "
                                        "lines, offsets) all the same",
                                        base.source_file, next.source_file));
    if (base.partial || next.partial) out.notes.push_back("a partial run is compared: its data covers what ran");

    const Groups b = collect(base), n = collect(next);
    const std::uint64_t base_samples = total_samples(base), next_samples = total_samples(next);
    const std::uint64_t base_effective = effective_total(base, base_samples), next_effective = effective_total(next, next_samples);
    const auto base_stacks = stack_samples(base), next_stacks = stack_samples(next);
    const std::uint64_t base_time = sampled_time(base), next_time = sampled_time(next);
    for (const auto& [id, entry] : b)
        if (!n.contains(id))
            out.notes.push_back(fmt::format("{} ({}): only in the base profile, not compared", id.first, to_string(id.second)));
    for (const auto& [id, entry] : n)
        if (!b.contains(id))
            out.notes.push_back(fmt::format("{} ({}): only in the new profile, not compared", id.first, to_string(id.second)));

    for (const auto& [id, base_entry] : b) {
        const auto found = n.find(id);
        if (found == n.end()) continue;
        const auto& [group, metric] = id;
        const Side& bs = base_entry.second;
        const Side& ns = found->second.second;
        const Accuracy accuracy = base_entry.first == Accuracy::statistical || found->second.first == Accuracy::statistical
                                      ? Accuracy::statistical
                                      : Accuracy::exact;
        std::map<std::string, int> keys;
        for (const auto& [key, value] : bs.values) keys[key];
        for (const auto& [key, value] : ns.values) keys[key];
        std::vector<DiffRow> rows;
        for (const auto& [key, unused] : keys) {
            DiffRow row;
            row.group = group;
            row.key = key;
            row.metric = metric;
            row.accuracy = accuracy;
            if (auto it = bs.values.find(key); it != bs.values.end()) row.base = it->second;
            if (auto it = ns.values.find(key); it != ns.values.end()) row.next = it->second;
            if (auto it = ns.details.find(key); it != ns.details.end()) row.detail = it->second;
            else if (auto jt = bs.details.find(key); jt != bs.details.end()) row.detail = jt->second;
            if (accuracy == Accuracy::exact) {
                row.changed = row.base_value() != row.next_value();
            } else {
                row.base_total_samples = base_samples;  // a sampled time's row tests at the effective size (below)
                row.next_total_samples = next_samples;
                if (group == "summary") {
                    // The totals: the sample counts themselves, Poisson: |n2 - n1| beyond 1.96 sqrt(n1 + n2).
                    row.base_samples = base_samples;
                    row.next_samples = next_samples;
                    const double spread = std::sqrt(static_cast<double>(base_samples) + static_cast<double>(next_samples));
                    if (spread > 0) row.z = (static_cast<double>(next_samples) - static_cast<double>(base_samples)) / spread;
                } else if (metric == DiffMetric::samples) {  // the call stacks' own counts
                    auto at = [&row](const std::map<std::string, std::uint64_t>& m) {
                        const auto it = m.find(row.key);
                        return it == m.end() ? std::uint64_t{0} : it->second;
                    };
                    row.base_samples = at(base_stacks);
                    row.next_samples = at(next_stacks);
                    row.z = two_proportion_z(*row.base_samples, base_samples, *row.next_samples, next_samples);
                } else {  // a sampled time: its share of the sampled time, at the effective sample size
                    row.samples_estimated = true;
                    row.base_total_samples = base_effective;
                    row.next_total_samples = next_effective;
                    row.base_samples = estimated_samples(row.base_value(), base_time, base_effective);
                    row.next_samples = estimated_samples(row.next_value(), next_time, next_effective);
                    row.z = two_proportion_z(*row.base_samples, base_effective, *row.next_samples, next_effective);
                }
                row.changed = row.z && std::abs(*row.z) > kNoiseZ;
            }
            rows.push_back(std::move(row));
        }
        std::stable_sort(rows.begin(), rows.end(), [](const DiffRow& x, const DiffRow& y) {
            return std::abs(x.delta()) > std::abs(y.delta());
        });
        out.rows.insert(out.rows.end(), rows.begin(), rows.end());
    }
    std::stable_sort(out.rows.begin(), out.rows.end(), [](const DiffRow& x, const DiffRow& y) {
        return std::tuple(group_rank(x.group), x.metric) < std::tuple(group_rank(y.group), y.metric);
    });
    return out;
}

// --- --fail-if ---

DiffRuleError::DiffRuleError(std::size_t position, const std::string& problem)
    : std::invalid_argument(position ? fmt::format("--fail-if: at column {}: {}", position, problem)
                                     : fmt::format("--fail-if: {}", problem)),
      position_(position) {}

namespace {

bool space(char c) { return c == ' ' || c == '\t'; }

DiffRule parse_rule(std::string_view expression, std::size_t begin, std::size_t end) {
    while (begin < end && space(expression[begin])) ++begin;
    while (end > begin && space(expression[end - 1])) --end;
    if (begin == end) throw DiffRuleError(begin + 1, "empty rule (expected e.g. 'instructions>+2%')");
    DiffRule rule;
    rule.text = std::string(expression.substr(begin, end - begin));
    // The condition is the last word; a scope GROUP:KEY may come before it.
    std::size_t condition = end;
    while (condition > begin && !space(expression[condition - 1])) --condition;
    if (condition > begin) {
        std::size_t scope_end = condition;
        while (scope_end > begin && space(expression[scope_end - 1])) --scope_end;
        const std::string_view scope = expression.substr(begin, scope_end - begin);
        const std::size_t colon = scope.find(':');
        if (colon == std::string_view::npos || colon == 0 || colon + 1 == scope.size())
            throw DiffRuleError(begin + 1, fmt::format("scope '{}' is not GROUP:KEY (e.g. 'functions:fib')", scope));
        rule.group = std::string(scope.substr(0, colon));
        rule.key = std::string(scope.substr(colon + 1));
        static const std::vector<std::string_view> groups = {"summary",  "functions", "call_graph", "lines",
                                                             "hotspots", "opcodes",   "loops",      "branches",
                                                             "opcode_pairs", "call_stacks"};
        if (std::find(groups.begin(), groups.end(), rule.group) == groups.end())
            throw DiffRuleError(begin + 1, fmt::format("unknown group '{}' (summary, functions, call_graph, lines, hotspots, "
                                                       "opcodes, loops, branches, opcode_pairs, call_stacks)",
                                                       rule.group));
    }
    std::size_t at = condition;
    std::size_t op = at;
    while (op < end && expression[op] != '>' && expression[op] != '<') ++op;
    const std::string_view metric = expression.substr(at, op - at);
    const std::optional<DiffMetric> parsed = parse_diff_metric(metric);
    if (!parsed)
        throw DiffRuleError(at + 1, fmt::format("unknown metric '{}' (instructions, calls, samples, time)", metric));
    rule.metric = *parsed;
    if (op == end) throw DiffRuleError(end + 1, "expected '>' or '<' after the metric");
    rule.greater = expression[op] == '>';
    at = op + 1;
    if (at == end || (expression[at] != '+' && expression[at] != '-'))
        throw DiffRuleError(at + 1, "expected a signed number: '+N' or '-N' (e.g. '>+2%', '<-5%')");
    const bool negative = expression[at] == '-';
    ++at;
    const std::size_t digits = at;
    bool dot = false;
    while (at < end && (std::isdigit(static_cast<unsigned char>(expression[at])) || (expression[at] == '.' && !dot))) {
        dot = dot || expression[at] == '.';
        ++at;
    }
    if (at == digits || (at == digits + 1 && dot)) throw DiffRuleError(digits + 1, "expected a number");
    rule.limit = std::stod(std::string(expression.substr(digits, at - digits))) * (negative ? -1 : 1);
    if (at < end && expression[at] == '%') {
        rule.percent = true;
        ++at;
    }
    if (at != end) throw DiffRuleError(at + 1, fmt::format("unexpected '{}' after the limit", expression.substr(at, end - at)));
    return rule;
}

std::string signed_count(double delta) { return delta >= 0 ? fmt::format("+{:.0f}", delta) : fmt::format("{:.0f}", delta); }

} // namespace

std::vector<DiffRule> parse_fail_if(std::string_view expression) {
    std::vector<DiffRule> rules;
    std::size_t begin = 0;
    while (true) {
        const std::size_t comma = expression.find(',', begin);
        const std::size_t end = comma == std::string_view::npos ? expression.size() : comma;
        rules.push_back(parse_rule(expression, begin, end));
        if (comma == std::string_view::npos) break;
        begin = comma + 1;
    }
    return rules;
}

std::vector<TrippedRule> evaluate_fail_if(const ProfileDiff& diff, const std::vector<DiffRule>& rules) {
    std::vector<TrippedRule> tripped;
    for (const DiffRule& rule : rules) {
        const std::string group = rule.group.empty() ? "summary" : rule.group;
        const std::string key = rule.group.empty() ? "total" : rule.key;
        const auto row = std::find_if(diff.rows.begin(), diff.rows.end(), [&](const DiffRow& r) {
            return r.group == group && r.key == key && r.metric == rule.metric;
        });
        if (row == diff.rows.end())
            throw DiffRuleError(0, fmt::format("'{}': neither profile has {} {} of {}", rule.text, to_string(rule.metric),
                                               rule.group.empty() ? std::string("in total") : "for '" + key + "'",
                                               group));
        double measure = row->delta();
        if (rule.percent) {
            const std::optional<double> percent = row->delta_percent();
            measure = percent ? *percent
                              : (measure > 0 ? std::numeric_limits<double>::infinity() : 0.0);
        }
        const bool beyond = rule.greater ? measure > rule.limit : measure < rule.limit;
        const bool real = row->accuracy == Accuracy::exact || row->changed;
        if (!beyond || !real) continue;
        const std::optional<double> percent = row->delta_percent();
        std::string message = fmt::format("{}: {} {} -> {} ({}{})", rule.text, rule.group.empty() ? "total" : group + ":" + key,
                                          row->base_value(), row->next_value(), signed_count(row->delta()),
                                          percent ? fmt::format(", {:+.2f}%", *percent) : std::string(", new"));
        if (row->accuracy == Accuracy::statistical)
            message += fmt::format(", statistical: samples {} of {} -> {} of {}, z = {:.2f}", row->base_samples.value_or(0),
                                   row->base_total_samples.value_or(0), row->next_samples.value_or(0),
                                   row->next_total_samples.value_or(0), row->z.value_or(0));
        tripped.push_back({rule, *row, message});
    }
    return tripped;
}

} // namespace opscope
