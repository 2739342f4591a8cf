// format_callgrind: the profile in callgrind's format (valgrind docs "Callgrind Format Specification"), for
// callgrind_annotate and KCachegrind. Positions are source lines; event Ir is the exact count of
// instructions executed per (function, line), from the hotspots; event Time, when the profile has sampled
// times, is statistical nanoseconds. `calls=` lines carry exact call counts and exact inclusive
// instructions per call site, and only when the profile has them: callgrind's inclusive costs are never
// estimated (a proportional split is wrong for recursion). File and function names are compressed, `(id)
// name` at first use.
#include "export_support.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace opscope {

namespace {

struct LineCost {
    std::uint64_t instructions = 0;
    std::uint64_t time_ns = 0;
};

// Compressed names: "(id) name" the first time, "(id)" after.
class Names {
public:
    std::string operator()(const std::string& name) {
        const auto [it, added] = ids_.emplace(name, ids_.size() + 1);
        return added ? fmt::format("({}) {}", it->second, name) : fmt::format("({})", it->second);
    }

private:
    std::map<std::string, std::size_t> ids_;
};

// Sampled time per (function, line): from the call stacks' leaves when every stack has its lines and time
// (each sample's own line); else from the lines group, for lines on which one function alone executed.
// Returns the time left out (lines shared by several functions), for the comment saying so.
std::uint64_t sampled_times(const Profile& profile, std::map<std::string, std::map<std::uint32_t, LineCost>>& costs,
                            std::string& source) {
    const auto& stacks = profile.call_stacks;
    const bool leaves = stacks && !stacks->entries.empty() &&
                        std::all_of(stacks->entries.begin(), stacks->entries.end(), [](const StackSample& s) {
                            return s.time_ns && !s.frames.empty() && s.lines.size() == s.frames.size();
                        });
    if (leaves) {
        source = "the leaf frame and line of each sampled call stack";
        for (const StackSample& s : stacks->entries) costs[s.frames.back()][s.lines.back()].time_ns += *s.time_ns;
        return 0;
    }
    if (!profile.lines) return 0;  // no times to give: source stays empty
    source = "the sampled time of each line, given to the one function executing on it";
    std::map<std::uint32_t, std::set<std::string>> functions_of_line;
    for (const InstructionStats& i : profile.instructions->entries) functions_of_line[i.line].insert(i.function);
    std::uint64_t left_out = 0;
    for (const LineStats& l : profile.lines->entries) {
        if (!l.time_ns || *l.time_ns == 0) continue;
        const auto it = functions_of_line.find(l.line);
        if (it == functions_of_line.end() || it->second.size() != 1) {
            left_out += *l.time_ns;
            continue;
        }
        costs[*it->second.begin()][l.line].time_ns += *l.time_ns;
    }
    return left_out;
}

} // namespace

std::string format_callgrind(const Profile& profile) {
    if (!profile.instructions)
        throw MissingGroupError("callgrind", "the executed instructions (hotspots)", profile.policy,
                                exports::kHotspotsRecordedBy);
    const exports::FunctionIndex functions(profile);

    // Self costs per function and line.
    std::map<std::string, std::map<std::uint32_t, LineCost>> costs;
    for (const InstructionStats& i : profile.instructions->entries) costs[i.function][i.line].instructions += i.count;
    const bool timed = (profile.lines && profile.lines->time_accuracy) ||
                       (profile.call_stacks && !profile.call_stacks->entries.empty() &&
                        profile.call_stacks->entries.front().time_ns);
    std::string time_source;
    std::uint64_t time_left_out = 0;
    if (timed) time_left_out = sampled_times(profile, costs, time_source);
    const bool with_time = timed && !time_source.empty();

    // Calls per caller, and the callees every call edge names (they get a record of their own).
    std::map<std::string, std::vector<const CallEdge*>> calls_of;
    std::vector<std::string> edges_without_sites;
    if (profile.call_graph)
        for (const CallEdge& e : profile.call_graph->entries) {
            if (e.caller.empty()) continue;  // the host's call of main
            const bool exact = !e.sites.empty() && std::all_of(e.sites.begin(), e.sites.end(), [](const CallSite& s) {
                return s.inclusive_instructions.has_value();
            });
            if (exact) calls_of[e.caller].push_back(&e);
            else edges_without_sites.push_back(e.caller + " -> " + e.callee);
            costs[e.caller];
        }

    std::string out = "# callgrind format\nversion: 1\ncreator: opscope\n";
    out += fmt::format("cmd: {}\n", profile.source_file.empty() ? "(unknown program)" : exports::sanitized(profile.source_file));
    if (!profile.policy.empty()) out += fmt::format("desc: Policy: {}\n", exports::sanitized(profile.policy));
    out += fmt::format("desc: Ir: instructions executed per function and line, {} (every instruction counted)\n",
                       to_string(profile.instructions->accuracy));
    if (with_time)
        out += fmt::format("desc: Time: nanoseconds, statistical (sampled{}), from {}\n",
                           profile.timing ? ": " + exports::sanitized(profile.timing->method) : std::string(), time_source);
    if (profile.partial) out += fmt::format("desc: {}\n", exports::partial_note(profile));
    out += with_time ? "positions: line\nevents: Ir Time\n" : "positions: line\nevents: Ir\n";
    if (!profile.call_graph) out += "# calls= lines left out: the profile has no call graph\n";
    for (const std::string& edge : edges_without_sites)
        out += fmt::format("# calls= lines left out for {}: no exact inclusive instructions per call site recorded "
                           "(never estimated; record them with `opscope profile --inclusive`)\n", exports::sanitized(edge));
    if (with_time) {
        out += "# Time on calls= lines: the call edge's sampled inclusive time when the edge has one call site, "
               "else none\n";
        if (time_left_out)
            out += fmt::format("# Time left out: {} ns sampled on lines that several functions share\n", time_left_out);
    }

    Names files, names;
    std::string current_file;
    LineCost total;
    for (const auto& [function, lines] : costs) {
        const std::optional<std::string> file = functions.file(function);
        const std::string file_name = exports::sanitized(file ? *file : functions.native(function) ? "<native>" : "???");
        out += fmt::format("\nfl={}\nfn={}\n", files(file_name), names(exports::sanitized(function)));
        current_file = file_name;
        for (const auto& [line, cost] : lines) {
            if (cost.instructions == 0 && cost.time_ns == 0) continue;
            out += with_time ? fmt::format("{} {} {}\n", line, cost.instructions, cost.time_ns)
                             : fmt::format("{} {}\n", line, cost.instructions);
            total.instructions += cost.instructions;
            total.time_ns += cost.time_ns;
        }
        const auto calls = calls_of.find(function);
        if (calls == calls_of.end()) continue;
        for (const CallEdge* edge : calls->second) {
            const std::optional<std::string> callee_file = functions.file(edge->callee);
            const std::string callee_file_name =
                exports::sanitized(callee_file ? *callee_file : functions.native(edge->callee) ? "<native>" : "???");
            for (const CallSite& site : edge->sites) {
                if (callee_file_name != current_file) out += fmt::format("cfl={}\n", files(callee_file_name));
                out += fmt::format("cfn={}\ncalls={} {}\n", names(exports::sanitized(edge->callee)), site.calls,
                                   functions.first_line(edge->callee));
                if (with_time && edge->sites.size() == 1 && edge->time_ns)
                    out += fmt::format("{} {} {}\n", site.line, *site.inclusive_instructions, *edge->time_ns);
                else
                    out += fmt::format("{} {}\n", site.line, *site.inclusive_instructions);
            }
        }
    }
    out += with_time ? fmt::format("\ntotals: {} {}\n", total.instructions, total.time_ns)
                     : fmt::format("\ntotals: {}\n", total.instructions);
    return out;
}

} // namespace opscope
