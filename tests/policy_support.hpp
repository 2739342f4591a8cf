// Helpers for the profiler-policy tests: a deliberately naive reference counter, a count-only view of a
// Profile for comparing two profiles group by group, a profile's exact part (times and heap-dependent figures
// removed), and host natives that pause and resume profiling.
//
// NaiveCounter watches every instruction (so the VM runs the program's own instructions, unfused) and does
// one increment per event; every figure of the counting contract is computed by brute force from that
// stream, with no knowledge of blocks, leaders or fusion. It is the oracle the exact policies must equal.
// Naming: `count_view` turns a Profile into {group -> {key -> value}} text maps; `count_differences` lists
// what differs between two such views, one line per entry.
#pragma once

#include "support.hpp"

#include <opscope/profile.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace opscope::test {

// --- the naive reference counter -----------------------------------------------------------------------

class NaiveCounter {
public:
    static constexpr std::string_view name = "naive";

    void on_load(const Machine&) { clear(); }  // a new program starts the profile afresh
    void on_run_begin(const Machine& machine) {
        machine_ = &machine;
        in_run_ = true;
        heights_.clear();
        previous_.reset();
    }
    void on_run_end(const Machine&) {
        while (!open_.empty()) close_top();  // frames a fault or fuel left live ran up to the end
        in_run_ = false;
        previous_.reset();
    }

    // `op` may be an internal form (push_int, call_native): the user's instruction is the source's.
    void on_instruction(const LinkedFunction& f, std::size_t offset, Op) {
        const Instruction& in = f.source->code[offset];
        const int pops = pops_of(in);
        const int pushes = info(in.op).pushes;
        const int before = heights_.back();
        const int after = before - pops + pushes;
        heights_.back() = after;
        if (!recording_) {
            previous_.reset();
            return;
        }
        const Key key{f.index, static_cast<std::uint32_t>(offset)};
        ++executed_[key];
        ++recorded_total_;
        ++opcodes_[in.op];
        ++lines_[f.source->position(offset).line];
        stack_pushes_ += static_cast<std::uint64_t>(pushes);
        stack_pops_ += static_cast<std::uint64_t>(pops);
        stack_max_ = std::max<std::uint64_t>(stack_max_, static_cast<std::uint64_t>(std::max(before, after)));
        if (previous_) ++pairs_[{*previous_, in.op}];
        previous_ = in.op;
        if (in.op == Op::call) {
            const std::string& target = machine_->program().call_targets[static_cast<std::size_t>(in.operand)];
            if (machine_->program().find_function(target) < 0) {  // a native: no frame, so no on_call
                ++native_calls_[target];
                ++edges_[{f.source->name, target}];
                edge_inclusive_[{f.source->name, target}] += 0;  // it runs no instructions of the program
                ++sites_[{f.source->name, target, static_cast<std::uint32_t>(offset)}].first;
            }
        }
    }

    void on_call(const LinkedFunction* caller, std::size_t offset, const LinkedFunction& callee, std::size_t depth) {
        heights_.push_back(0);
        if (depth != heights_.size()) ++inconsistencies_;
        open_.push_back(Open{callee.index, caller ? caller->source->name : std::string(), callee.source->name,
                             static_cast<std::uint32_t>(offset), caller == nullptr, recorded_total_});
        if (!recording_) return;
        if (caller) ++sites_[{caller->source->name, callee.source->name, static_cast<std::uint32_t>(offset)}].first;
        ++function_calls_[callee.index];
        ++edges_[{caller ? caller->source->name : std::string(), callee.source->name}];
        ++frames_pushed_;
        max_call_depth_ = std::max<std::uint64_t>(max_call_depth_, heights_.size());
    }
    void on_return(const LinkedFunction&, std::size_t depth) {
        if (depth != heights_.size()) ++inconsistencies_;
        heights_.pop_back();
        close_top();
        if (recording_) ++frames_popped_;
    }
    void on_halt(std::size_t depth) {
        if (depth != heights_.size()) ++inconsistencies_;
        while (!open_.empty()) close_top();
        if (recording_) frames_popped_ += heights_.size();
        last_halt_depth_ = heights_.size();
        heights_.clear();
    }
    void on_branch(const LinkedFunction& f, const Instr* at, bool taken) {
        if (recording_ && taken) ++taken_[Key{f.index, static_cast<std::uint32_t>(f.offset_of(at))}];
    }

    void reset() { clear(); }
    void start(const Machine&) {
        if (recording_) return;
        recording_ = true;
        if (in_run_) max_call_depth_ = std::max<std::uint64_t>(max_call_depth_, heights_.size());
    }
    void stop(const Machine&) {
        recording_ = false;
        previous_.reset();
    }
    // Vm::snapshot: the live activations' instructions so far count in this interval (and the rest in later
    // ones), so that intervals add up; otherwise as stop, profile_into, reset and start.
    void split(Profile& out, const Machine& machine) {
        for (std::size_t i = 0; i < open_.size(); ++i) charge(i, recorded_total_ - open_[i].entry);
        const bool was_recording = recording_;
        stop(machine);
        profile_into(out, machine);
        reset();
        if (was_recording) start(machine);
    }

    // Hook arguments that disagreed with the frames this counter tracked itself (should stay 0).
    std::uint64_t inconsistencies() const { return inconsistencies_; }
    // Frames live at the last `halt`.
    std::size_t last_halt_depth() const { return last_halt_depth_; }

    void profile_into(Profile& out, const Machine& machine) const {
        const Program& program = machine.program();
        const auto count_at = [&](const auto& map, const Key& key) -> std::uint64_t {
            const auto it = map.find(key);
            return it == map.end() ? 0 : it->second;
        };
        std::uint64_t total = 0;
        InstructionGroup instructions;
        BranchGroup branches;
        LoopGroup loops;
        for (std::uint32_t fi = 0; fi < program.functions.size(); ++fi) {
            const Function& f = program.functions[fi];
            for (std::uint32_t k = 0; k < f.code.size(); ++k) {
                const Instruction& in = f.code[k];
                const std::uint64_t n = count_at(executed_, {fi, k});
                const std::uint64_t taken = count_at(taken_, {fi, k});
                total += n;
                if (n) instructions.entries.push_back({f.name, k, f.position(k).line, std::string(mnemonic(in.op)), n});
                if (is_branch(in.op)) branches.entries.push_back({f.name, k, f.position(k).line, n, taken});
                const auto target = static_cast<std::uint32_t>(in.operand);
                if (is_jump(in.op) && target <= k)
                    loops.entries.push_back({f.name, target, k, f.position(target).line, in.op == Op::jmp ? n : taken, {}});
            }
        }
        Summary summary;
        summary.total_instructions = total;
        summary.unique_instructions = instructions.entries.size();
        summary.max_call_depth = max_call_depth_;
        out.summary = summary;
        if (out.source_file.empty()) out.source_file = program.source_file;

        OpcodeGroup opcodes;
        LineGroup lines;
        OpcodePairGroup pairs;
        FunctionGroup functions;
        CallGraph graph;
        for (std::uint32_t fi = 0; fi < program.functions.size(); ++fi) {
            const auto it = function_calls_.find(fi);
            const auto inclusive = function_inclusive_.find(fi);
            functions.entries.push_back({program.functions[fi].name, it != function_calls_.end() ? it->second : 0, {}, {},
                                         false, {}, {}, inclusive == function_inclusive_.end() ? 0 : inclusive->second});
        }
        for (const auto& [op, n] : opcodes_) opcodes.entries.push_back({std::string(mnemonic(op)), n, {}, {}});
        for (const auto& [line, n] : lines_) lines.entries.push_back({line, n, {}, {}});
        for (const auto& [pair, n] : pairs_)
            pairs.entries.push_back({std::string(mnemonic(pair.first)), std::string(mnemonic(pair.second)), n});
        for (const auto& [native, n] : native_calls_) functions.entries.push_back({native, n, {}, {}, true, {}, {}, 0});
        // Edges called while recording, or whose calls ran instructions while recording (made while paused).
        std::map<std::pair<std::string, std::string>, CallEdge> edges;
        for (const auto& [edge, n] : edges_) edges[edge] = {edge.first, edge.second, n, {}, 0, {}};
        for (const auto& [edge, cost] : edge_inclusive_) {
            if (!cost && !edges.contains(edge)) continue;
            CallEdge& e = edges.try_emplace(edge, CallEdge{edge.first, edge.second, 0, {}, 0, {}}).first->second;
            e.inclusive_instructions = cost;
        }
        for (const auto& [site, counts] : sites_) {
            if (!counts.first && !counts.second) continue;
            const auto& [caller, callee, offset] = site;
            const auto it = edges.find({caller, callee});
            if (it == edges.end()) continue;
            const Function& f = program.functions[static_cast<std::size_t>(program.find_function(caller))];
            it->second.sites.push_back({offset, f.position(offset).line, counts.first, counts.second});
        }
        for (auto& [edge, e] : edges) graph.entries.push_back(std::move(e));
        out.opcodes = std::move(opcodes);
        out.instructions = std::move(instructions);
        out.lines = std::move(lines);
        out.functions = std::move(functions);
        out.frames = FrameStats{Accuracy::exact, frames_pushed_, frames_popped_, max_call_depth_};
        out.stack = StackStats{Accuracy::exact, stack_pushes_, stack_pops_, stack_max_};
        out.branches = std::move(branches);
        out.loops = std::move(loops);
        out.call_graph = std::move(graph);
        out.opcode_pairs = std::move(pairs);
        canonicalize(out);
    }

private:
    using Key = std::pair<std::uint32_t, std::uint32_t>;  // function index, offset

    // What `in` pops: a call pops its callee's arguments (a native's arity), found by name.
    int pops_of(const Instruction& in) const {
        if (in.op != Op::call) return info(in.op).pops;
        const Program& program = machine_->program();
        const std::string& target = program.call_targets[static_cast<std::size_t>(in.operand)];
        if (const int index = program.find_function(target); index >= 0)
            return static_cast<int>(program.functions[static_cast<std::size_t>(index)].nargs);
        for (const Native& native : machine_->natives())
            if (native.name == target) return native.arity;
        throw std::logic_error("call to an unknown function " + target);
    }

    void clear() {
        executed_.clear();
        taken_.clear();
        opcodes_.clear();
        lines_.clear();
        pairs_.clear();
        function_calls_.clear();
        native_calls_.clear();
        edges_.clear();
        frames_pushed_ = frames_popped_ = max_call_depth_ = stack_pushes_ = stack_pops_ = stack_max_ = 0;
        recorded_total_ = 0;
        function_inclusive_.clear();
        edge_inclusive_.clear();
        sites_.clear();
        // Live frames (a reset from a native) start over now.
        for (Open& o : open_) o.entry = 0;
    }

    // Inclusive instructions by brute force: every activation remembers the recorded instructions at its
    // entry; at its end (return, halt, or the run's end) its call site and edge add the difference, and its
    // function too when no other activation of it is live (the outermost: callgrind's rule).
    void close_top() {
        charge(open_.size() - 1, recorded_total_ - open_.back().entry);
        open_.pop_back();
    }
    // Adds `cost` to the activation open_[i]'s call site and edge, and to its function if it is the outermost.
    void charge(std::size_t i, std::uint64_t cost) {
        const Open& o = open_[i];
        edge_inclusive_[{o.caller, o.callee_name}] += cost;
        if (!o.host) sites_[{o.caller, o.callee_name, o.offset}].second += cost;
        if (std::none_of(open_.begin(), open_.begin() + static_cast<std::ptrdiff_t>(i), [&](const Open& other) { return other.callee == o.callee; }))
            function_inclusive_[o.callee] += cost;
    }

    const Machine* machine_ = nullptr;  // the running machine (its program and natives)
    bool recording_ = true;
    bool in_run_ = false;
    std::vector<int> heights_;  // operand-stack height of each live frame, main first
    std::optional<Op> previous_;  // the last recorded instruction of this run, for opcode pairs

    std::map<Key, std::uint64_t> executed_, taken_;
    std::map<Op, std::uint64_t> opcodes_;
    std::map<std::uint32_t, std::uint64_t> lines_;
    std::map<std::pair<Op, Op>, std::uint64_t> pairs_;
    std::map<std::uint32_t, std::uint64_t> function_calls_;
    std::map<std::string, std::uint64_t> native_calls_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> edges_;
    std::uint64_t frames_pushed_ = 0, frames_popped_ = 0, max_call_depth_ = 0;
    std::uint64_t stack_pushes_ = 0, stack_pops_ = 0, stack_max_ = 0;
    std::uint64_t inconsistencies_ = 0;
    std::size_t last_halt_depth_ = 0;
    struct Open {  // a live activation
        std::uint32_t callee;
        std::string caller, callee_name;
        std::uint32_t offset;  // of the call in the caller
        bool host;             // main's, by the host
        std::uint64_t entry;   // recorded_total_ when it began
    };
    std::vector<Open> open_;
    std::uint64_t recorded_total_ = 0;  // instructions executed while recording
    std::map<std::uint32_t, std::uint64_t> function_inclusive_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> edge_inclusive_;
    // (caller, callee, offset) -> (calls while recording, inclusive instructions)
    std::map<std::tuple<std::string, std::string, std::uint32_t>, std::pair<std::uint64_t, std::uint64_t>> sites_;
};

// The inclusive instructions of `p`: per function, and per call edge with its sites.
inline std::map<std::string, std::string> inclusive_view(const Profile& p) {
    std::map<std::string, std::string> view;
    const auto opt = [](const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "-"; };
    if (p.functions)
        for (const FunctionStats& e : p.functions->entries) view["function " + e.name] = opt(e.inclusive_instructions);
    if (p.call_graph)
        for (const CallEdge& e : p.call_graph->entries) {
            std::string text = fmt::format("calls {} incl {} sites", e.calls, opt(e.inclusive_instructions));
            for (const CallSite& s : e.sites)
                text += fmt::format(" [{} line {} calls {} incl {}]", s.offset, s.line, s.calls, opt(s.inclusive_instructions));
            view["edge " + (e.caller.empty() ? std::string("<host>") : e.caller) + " -> " + e.callee] = text;
        }
    return view;
}

// One line per key that differs.
inline std::string view_differences(const std::map<std::string, std::string>& expected,
                                    const std::map<std::string, std::string>& actual, std::size_t max_lines = 20) {
    std::set<std::string> keys;
    for (const auto& [k, v] : expected) keys.insert(k);
    for (const auto& [k, v] : actual) keys.insert(k);
    std::string out;
    std::size_t lines = 0;
    for (const std::string& k : keys) {
        const auto e = expected.find(k);
        const auto a = actual.find(k);
        const std::string want = e == expected.end() ? "<none>" : e->second, got = a == actual.end() ? "<none>" : a->second;
        if (want != got && lines++ < max_lines) out += fmt::format("  {}: expected {}, got {}\n", k, want, got);
    }
    return out;
}

// --- comparing profiles by their counts -----------------------------------------------------------------

using GroupView = std::map<std::string, std::string>;  // entry key -> its counts, as text
using CountView = std::map<std::string, GroupView>;    // group name -> entries

namespace detail {
template <class Group, class F>
void add_group(CountView& view, const char* name, const std::optional<Group>& group, bool exact_only, F&& entries) {
    if (!group) {
        view[name]["<absent>"] = "";
        return;
    }
    if (exact_only && group->accuracy != Accuracy::exact) return;
    GroupView& g = view[name];
    if (group->accuracy != Accuracy::exact) g["<accuracy>"] = "statistical";
    for (const auto& e : group->entries) {
        auto [key, value] = entries(e);
        std::string& slot = g[key];
        slot += slot.empty() ? value : " +dup " + value;  // a duplicated key shows as a difference
    }
}
} // namespace detail

// Every count of `p`, without times. `exact_only`: leave out groups measured statistically.
inline CountView count_view(const Profile& p, bool exact_only = false) {
    CountView view;
    if (p.summary) {
        if (!exact_only || p.summary->accuracy == Accuracy::exact) {
            GroupView& s = view["summary"];
            const auto opt = [](const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "-"; };
            s["total_instructions"] = std::to_string(p.summary->total_instructions);
            s["unique_instructions"] = opt(p.summary->unique_instructions);
            s["max_call_depth"] = opt(p.summary->max_call_depth);
        }
    } else {
        view["summary"]["<absent>"] = "";
    }
    using detail::add_group;
    add_group(view, "opcodes", p.opcodes, exact_only,
              [](const OpcodeStats& e) { return std::pair(e.name, std::to_string(e.count)); });
    add_group(view, "instructions", p.instructions, exact_only, [](const InstructionStats& e) {
        return std::pair(fmt::format("{}+{}", e.function, e.offset), fmt::format("{} line {} x{}", e.opcode, e.line, e.count));
    });
    add_group(view, "lines", p.lines, exact_only,
              [](const LineStats& e) { return std::pair(std::to_string(e.line), std::to_string(e.count)); });
    add_group(view, "functions", p.functions, exact_only, [](const FunctionStats& e) {
        return std::pair(e.name, fmt::format("calls {}{}", e.calls, e.native ? " native" : ""));
    });
    add_group(view, "branches", p.branches, exact_only, [](const BranchStats& e) {
        return std::pair(fmt::format("{}+{}", e.function, e.offset),
                         fmt::format("line {} executed {} taken {}", e.line, e.executed, e.taken));
    });
    add_group(view, "loops", p.loops, exact_only, [](const LoopStats& e) {
        return std::pair(fmt::format("{}+{}..{}", e.function, e.start_offset, e.end_offset),
                         fmt::format("line {} iterations {}", e.line, e.iterations));
    });
    add_group(view, "call_graph", p.call_graph, exact_only, [](const CallEdge& e) {
        return std::pair(fmt::format("{} -> {}", e.caller.empty() ? "<host>" : e.caller, e.callee), std::to_string(e.calls));
    });
    add_group(view, "opcode_pairs", p.opcode_pairs, exact_only, [](const OpcodePair& e) {
        return std::pair(fmt::format("{} {}", e.first, e.second), std::to_string(e.count));
    });
    if (p.frames) {
        if (!exact_only || p.frames->accuracy == Accuracy::exact)
            view["frames"] = {{"pushed", std::to_string(p.frames->pushed)},
                              {"popped", std::to_string(p.frames->popped)},
                              {"max_depth", std::to_string(p.frames->max_depth)}};
    } else {
        view["frames"]["<absent>"] = "";
    }
    if (p.stack) {
        if (!exact_only || p.stack->accuracy == Accuracy::exact)
            view["stack"] = {{"pushes", std::to_string(p.stack->pushes)},
                             {"pops", std::to_string(p.stack->pops)},
                             {"max_depth", std::to_string(p.stack->max_depth)}};
    } else {
        view["stack"]["<absent>"] = "";
    }
    return view;
}

// One line per entry that differs ("group key: expected X, got Y"); empty when equal. With `only_groups_of_actual`,
// groups missing from `actual` are not compared (a policy that does not measure them).
inline std::string count_differences(const CountView& expected, const CountView& actual, bool only_groups_of_actual = false,
                                     std::size_t max_lines = 40) {
    std::string out;
    std::size_t lines = 0;
    const auto note = [&](const std::string& line) {
        if (lines++ < max_lines) out += line + "\n";
    };
    std::set<std::string> groups;
    for (const auto& entry : expected) groups.insert(entry.first);
    for (const auto& entry : actual) groups.insert(entry.first);
    static const GroupView kNone;
    for (const std::string& g : groups) {
        const auto e = expected.find(g);
        const auto a = actual.find(g);
        if (only_groups_of_actual && (a == actual.end() || a->second.contains("<absent>"))) continue;
        const GroupView& eg = e == expected.end() ? kNone : e->second;
        const GroupView& ag = a == actual.end() ? kNone : a->second;
        std::set<std::string> keys;
        for (const auto& entry : eg) keys.insert(entry.first);
        for (const auto& entry : ag) keys.insert(entry.first);
        for (const std::string& k : keys) {
            const auto ev = eg.find(k);
            const auto av = ag.find(k);
            const std::string want = ev == eg.end() ? "<none>" : ev->second;
            const std::string got = av == ag.end() ? "<none>" : av->second;
            if (want != got) note(fmt::format("  {} [{}]: expected {}, got {}", g, k, want, got));
        }
    }
    if (lines > max_lines) out += fmt::format("  ... and {} more\n", lines - max_lines);
    return out;
}

// The profile with every time removed (times and the samples behind them, time accuracies, histograms, wall
// time and start, timing info, sampled stacks and the timeline), leaving what must be exact.
inline Profile strip_times(Profile p) {
    p.timing.reset();
    p.call_stacks.reset();
    p.timeline.reset();
    if (p.summary) p.summary->wall_time_ns.reset(), p.summary->start_unix_ns.reset();
    if (p.opcodes) {
        p.opcodes->time_accuracy.reset();
        for (auto& e : p.opcodes->entries) {
            e.time_ns.reset();
            e.time_distribution.reset();
            e.samples.reset();
        }
    }
    if (p.lines) {
        p.lines->time_accuracy.reset();
        for (auto& e : p.lines->entries) e.time_ns.reset(), e.samples.reset();
    }
    if (p.functions) {
        p.functions->time_accuracy.reset();
        for (auto& e : p.functions->entries) {
            e.self_time_ns.reset();
            e.total_time_ns.reset();
            e.self_samples.reset();
            e.total_samples.reset();
        }
    }
    if (p.loops) {
        p.loops->time_accuracy.reset();
        for (auto& e : p.loops->entries) e.time_ns.reset(), e.samples.reset();
    }
    if (p.call_graph) {
        p.call_graph->time_accuracy.reset();
        for (auto& e : p.call_graph->entries) e.time_ns.reset(), e.samples.reset();
    }
    if (p.memory) p.memory->gc_time_ns.reset();
    return p;
}

// What the profile says with zero-count entries left out: a policy may list, with no count, what it timed
// but did not count (a sampled native, an opcode), and that says nothing about the counts.
inline Profile without_zero_counts(Profile p) {
    const auto drop = [](auto& group, auto is_zero) {
        if (group) std::erase_if(group->entries, is_zero);
    };
    drop(p.opcodes, [](const OpcodeStats& e) { return e.count == 0; });
    drop(p.lines, [](const LineStats& e) { return e.count == 0; });
    drop(p.instructions, [](const InstructionStats& e) { return e.count == 0; });
    drop(p.call_graph, [](const CallEdge& e) { return e.calls == 0; });
    drop(p.functions, [](const FunctionStats& e) { return e.native && e.calls == 0; });
    return p;
}

// The exact part of a profile: times removed, and of the heap statistics only what each run allocates
// (what the collector frees, and so live and peak bytes, depends on the heap the runs shared).
inline Profile exact_part(const Profile& profile) {
    Profile p = test::strip_times(profile);
    if (p.memory) {
        MemoryStats m;
        m.accuracy = p.memory->accuracy;
        m.allocations = p.memory->allocations;
        m.allocated_bytes = p.memory->allocated_bytes;
        m.by_type = p.memory->by_type;
        p.memory = m;
    }
    return p;
}

// The heap statistics that each run determines (allocations and bytes, in all and by type), as one line.
inline std::string memory_text(const Profile& p) {
    if (!p.memory) return "<no memory>";
    std::string out = fmt::format("allocations {} bytes {}", p.memory->allocations, p.memory->allocated_bytes);
    for (const TypeMemory& t : p.memory->by_type) out += fmt::format(", {} {} {}", t.type, t.allocations, t.bytes);
    return out;
}

// --- hosts ----------------------------------------------------------------------------------------------

// Registers `pstop` and `pstart` (no arguments, result nil) on `vm`: they pause and resume its profiling
// from inside a run. For policies without start/stop they do nothing.
template <class Profiler>
void register_pause_natives(Vm<Profiler>& vm) {
    vm.register_native("pstop", 0, [&vm](Machine&, std::span<const Value>) {
        if constexpr (requires { vm.stop_profiling(); }) vm.stop_profiling();
        else (void)vm;  // NullProfiler has no lifecycle
        return Value::nil();
    });
    vm.register_native("pstart", 0, [&vm](Machine&, std::span<const Value>) {
        if constexpr (requires { vm.start_profiling(); }) vm.start_profiling();
        else (void)vm;
        return Value::nil();
    });
}

// The text of examples/`name`.
inline std::string example_text(const std::string& name) {
    std::ifstream in(std::string(OPSCOPE_SOURCE_DIR) + "/examples/" + name);
    BOOST_TEST_REQUIRE(static_cast<bool>(in), "cannot read examples/" << name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// `text` with its one occurrence of `from` replaced by `to` (a test failure if there is none).
inline std::string replaced(std::string text, std::string_view from, std::string_view to) {
    const std::size_t at = text.find(from);
    BOOST_TEST_REQUIRE(at != std::string::npos, "no '" << from << "' in the text");
    return text.replace(at, from.size(), to);
}

// An assembly example with the literal on its `; @size` line replaced by `size`.
inline std::string opasm_example_sized(const std::string& name, std::int64_t size) {
    std::istringstream in(example_text(name));
    std::string out, line;
    int replacements = 0;
    while (std::getline(in, line)) {
        if (const std::size_t push = line.find("push "); push != std::string::npos && line.find("; @size") != std::string::npos) {
            std::size_t end = push + 5;
            while (end < line.size() && line[end] == ' ') ++end;
            std::size_t digits = end;
            while (digits < line.size() && (std::isdigit(static_cast<unsigned char>(line[digits])) || line[digits] == '-')) ++digits;
            line = line.substr(0, end) + std::to_string(size) + line.substr(digits);
            ++replacements;
        }
        out += line + "\n";
    }
    BOOST_TEST_REQUIRE(replacements == 1, name << " should have one @size line");
    return out;
}

} // namespace opscope::test
