// CountingProfiler's bookkeeping and derivations (see counting.hpp). Nothing here runs per instruction.
//
// How exact counts follow from block entries. Leaders (Machine::mark_leaders) start blocks; calls do not
// end them. A block's entries are counted or derived (Machine::derivation: from the completions of the
// instructions entering it, which is why faults are kept in `fault_sites_`). An instruction's count is its
// block's entry count plus `instruction_delta_`, which settles the
// blocks that recording entered but did not see finish (a fault, `halt` or stop() inside them, and callers
// waiting at a call site) or saw finish but not entered (start() inside them). Transitions to the next
// instruction (opcode pairs) follow from the counts, the branches' taken counts and the call sites, with the
// transitions that never happened at those boundaries removed through `pair_delta_`.
#include <opscope/policies/counting.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <tuple>

namespace opscope {

namespace {

Op user_op(const LinkedFunction& f, std::size_t offset) { return f.source->code[offset].op; }

// The user function a call instruction calls, or null for a native.
const LinkedFunction* callee_of(const Machine& m, const LinkedFunction& f, std::size_t offset) {
    const Instr& in = f.code[offset];
    if (op_of(in) != Op::call) return nullptr;  // call_native (or not a call)
    return &m.linked_functions()[static_cast<std::size_t>(in.operand)];
}

// Operand-stack height before each instruction of a verified function (the verifier proved heights agree
// wherever paths meet, so one forward pass in offset order with a worklist suffices).
std::vector<int> stack_heights(const Machine& m, const LinkedFunction& f) {
    const auto& code = f.source->code;
    std::vector<int> height(code.size(), -1);
    std::vector<std::size_t> work;
    if (!code.empty()) {
        height[0] = 0;
        work.push_back(0);
    }
    while (!work.empty()) {
        const std::size_t k = work.back();
        work.pop_back();
        const Instruction& in = code[k];
        int pops = info(in.op).pops;
        if (in.op == Op::call) {
            const LinkedFunction* callee = callee_of(m, f, k);
            pops = callee ? static_cast<int>(callee->nargs)
                          : m.natives()[static_cast<std::size_t>(f.code[k].operand)].arity;
        }
        const int after = height[k] - pops + info(in.op).pushes;
        const auto reach = [&](std::size_t target) {
            if (target < code.size() && height[target] < 0) {
                height[target] = after;
                work.push_back(target);
            }
        };
        if (is_jump(in.op)) reach(static_cast<std::size_t>(in.operand));
        if (!ends_flow(in.op)) reach(k + 1);
    }
    return height;
}

std::uint32_t line_of(const LinkedFunction& f, std::size_t offset) { return f.source->position(offset).line; }

} // namespace

// --- recording ------------------------------------------------------------------------------------------

void CountingProfiler::on_load(const Machine& machine) {
    const std::size_t n = machine.instruction_count();
    for (auto* v : {&block_entries_, &branch_taken_, &block_base_, &taken_base_, &block_recorded_, &taken_recorded_})
        v->resize(n);
    instruction_delta_.resize(n);
    reset();
    const auto code = reinterpret_cast<std::uintptr_t>(machine.code().data());
    block_delta_ = reinterpret_cast<std::uintptr_t>(block_entries_.data()) - code;
    taken_delta_ = reinterpret_cast<std::uintptr_t>(branch_taken_.data()) - code;
}

// Zeroes everything recorded, keeping the tables' sizes (and so the counters' addresses).
void CountingProfiler::reset() {
    for (auto* v : {&block_entries_, &branch_taken_, &block_base_, &taken_base_, &block_recorded_, &taken_recorded_})
        std::fill(v->begin(), v->end(), 0);
    std::fill(instruction_delta_.begin(), instruction_delta_.end(), 0);
    pair_delta_.clear();
    failed_calls_.clear();
    fault_sites_.clear();
    fuel_landings_.clear();
    runs_ = halt_frames_popped_ = max_call_depth_ = wall_ns_ = 0;
    interval_start_ = Clock::now();
}

void CountingProfiler::on_run_begin(const Machine& machine) {
    in_run_ = true;
    if (recording_) {
        ++runs_;
        machine.forget_depth_reached();
        interval_start_ = Clock::now();
    }
}

void CountingProfiler::on_run_end(const Machine& machine) {
    if (recording_) {
        wall_ns_ += nanoseconds_since(interval_start_);
        reconcile(machine, -1, /*run_ended=*/true);
        max_call_depth_ = std::max<std::uint64_t>(max_call_depth_, machine.depth_reached());
        if (machine.run_end() == RunEnd::halted) halt_frames_popped_ += machine.live_frames().size();
    }
    in_run_ = false;
}

void CountingProfiler::fold_live_into_recorded() {
    for (std::size_t i = 0; i < block_entries_.size(); ++i) {
        block_recorded_[i] += block_entries_[i] - block_base_[i];
        taken_recorded_[i] += branch_taken_[i] - taken_base_[i];
    }
}

void CountingProfiler::stop(const Machine& machine) {
    if (!recording_) return;
    if (in_run_) {
        wall_ns_ += nanoseconds_since(interval_start_);
        reconcile(machine, -1, /*run_ended=*/false);
        max_call_depth_ = std::max<std::uint64_t>(max_call_depth_, machine.depth_reached());
    }
    fold_live_into_recorded();
    recording_ = false;
}

void CountingProfiler::start(const Machine& machine) {
    if (recording_) return;
    block_base_ = block_entries_;
    taken_base_ = branch_taken_;
    recording_ = true;
    if (in_run_) {
        reconcile(machine, +1, /*run_ended=*/false);
        interval_start_ = Clock::now();
        machine.forget_depth_reached();
    }
}

// The frames live at a boundary. Callers wait at a call site: the rest of that block and the eventual
// `ret` into it happen on the other side of the boundary. The top frame is in a native (start/stop), at
// its fault or `halt`, or (out of fuel) about to start an instruction it never starts.
void CountingProfiler::reconcile(const Machine& machine, int sign, bool run_ended) {
    const std::span<const Frame> frames = machine.live_frames();
    if (frames.empty()) return;
    const auto remainder = [&](const LinkedFunction& f, std::size_t first) {  // `first` .. the block's end
        for (std::size_t k = first; k < f.code.size() && machine.block_start(f.first_instruction + k) == BlockStart::none; ++k)
            instruction_delta_[f.first_instruction + k] += sign;
    };
    for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
        const LinkedFunction& f = *frames[i].function;
        const std::size_t site = f.offset_of(frames[i].pc);
        remainder(f, site + 1);
        adjust_pair(Op::ret, user_op(f, site + 1), sign);
    }
    const LinkedFunction& f = *frames.back().function;
    const std::size_t at = f.offset_of(frames.back().pc);
    if (!run_ended) {  // stop() or start() from a native called at `at`
        remainder(f, at + 1);
        if (sign < 0) adjust_pair(Op::call, user_op(f, at + 1), -1);
        return;
    }
    switch (machine.run_end()) {
    case RunEnd::fault: {
        remainder(f, at + 1);
        fault_sites_.push_back(f.first_instruction + static_cast<std::uint32_t>(at));
        const Op op = user_op(f, at);
        if (const LinkedFunction* callee = callee_of(machine, f, at)) {  // the call could not push a frame
            adjust_pair(Op::call, user_op(*callee, 0), -1);
            adjust_pair(Op::ret, user_op(f, at + 1), -1);
            failed_calls_.push_back(f.first_instruction + static_cast<std::uint32_t>(at));
        } else if (!ends_flow(op) && !is_jump(op)) {
            adjust_pair(op, user_op(f, at + 1), -1);
        }
        break;
    }
    case RunEnd::out_of_fuel: {
        remainder(f, at);  // nothing when `at` is a leader: its entry was never counted
        if (machine.block_start(f.first_instruction + at) != BlockStart::none)
            fuel_landings_.push_back(f.first_instruction + static_cast<std::uint32_t>(at));
        if (const Instr* from = machine.transfer_source()) {
            if (const LinkedFunction* source = machine.function_of(from))
                adjust_pair(user_op(*source, source->offset_of(from)), user_op(f, at), -1);
        }
        break;
    }
    default: break;  // halted: `halt` ends its block and has no successor
    }
}

// --- derivations ----------------------------------------------------------------------------------------

std::vector<std::uint64_t> CountingProfiler::instruction_counts(const Machine& machine) const {
    return derive_counts(machine).executed;
}

// Counted blocks first: a derived block's entries follow from counts in counted blocks (BlockDerivation).
CountingProfiler::Counts CountingProfiler::derive_counts(const Machine& machine) const {
    const std::size_t n = block_entries_.size();
    Counts counts{std::vector<std::uint64_t>(n, 0), std::vector<std::uint64_t>(n, 0)};
    std::vector<std::uint64_t> landed(n, 0), faulted(n, 0);
    for (const std::uint32_t id : fuel_landings_) ++landed[id];
    for (const std::uint32_t id : fault_sites_) ++faulted[id];
    const auto fill_block = [&](const LinkedFunction& f, std::size_t leader, std::uint64_t started) {
        for (std::size_t k = leader; k < f.code.size(); ++k) {
            const std::size_t id = f.first_instruction + k;
            if (k > leader && machine.block_start(id) != BlockStart::none) break;
            counts.executed[id] = static_cast<std::uint64_t>(static_cast<std::int64_t>(started) + instruction_delta_[id]);
        }
    };
    const auto counted_entries = [&](std::size_t id) {
        return block_recorded_[id] + (recording_ ? block_entries_[id] - block_base_[id] : 0);
    };
    const auto derived_entries = [&](const BlockDerivation& d) {
        std::uint64_t entered = 0;
        for (const std::uint32_t s : d.sources) entered += counts.executed[s] - faulted[s];
        return d.minus == BlockDerivation::kNone ? entered : entered - counts.entered[d.minus];
    };
    for (const BlockStart kind : {BlockStart::counted, BlockStart::derived}) {
        for (const LinkedFunction& f : machine.linked_functions()) {
            for (std::size_t k = 0; k < f.code.size(); ++k) {
                const std::size_t id = f.first_instruction + k;
                if (machine.block_start(id) != kind) continue;
                // Control reached the leader (a counted entry, or a fuel landing that stopped it there).
                const std::uint64_t entered = kind == BlockStart::counted ? landed[id] + counted_entries(id)
                                                                          : derived_entries(*machine.derivation(id));
                counts.entered[id] = entered;
                fill_block(f, k, entered - landed[id]);
            }
        }
    }
    return counts;
}

void CountingProfiler::profile_into(Profile& out, const Machine& machine) const {
    const Counts derived = derive_counts(machine);
    const std::vector<std::uint64_t>& count = derived.executed;
    const auto entries = [&](std::size_t id) { return derived.entered[id]; };
    const auto taken = [&](const LinkedFunction& f, std::size_t k) -> std::uint64_t {
        const std::size_t id = f.first_instruction + k;
        switch (machine.taken_rule(id)) {
        case TakenRule::target_entries:
            return entries(f.first_instruction + static_cast<std::size_t>(f.source->code[k].operand));
        case TakenRule::executed_minus_fallthrough: return count[id] - entries(id + 1);
        case TakenRule::counted: return taken_recorded_[id] + (recording_ ? branch_taken_[id] - taken_base_[id] : 0);
        default: return 0;
        }
    };
    const auto& functions = machine.linked_functions();

    std::map<Op, std::uint64_t> by_opcode;
    std::map<std::uint32_t, std::uint64_t> by_line;
    std::map<std::pair<Op, Op>, std::int64_t> pairs(pair_delta_.begin(), pair_delta_.end());
    std::map<std::pair<std::string, std::string>, std::uint64_t> edges;
    std::vector<std::uint64_t> calls(functions.size(), 0);
    std::map<std::string, std::uint64_t> native_calls;
    InstructionGroup instructions;
    BranchGroup branches;
    LoopGroup loops;
    std::uint64_t total = 0, unique = 0, pushes = 0, pops = 0, rets = 0, stack_max = 0;

    for (const std::uint32_t site : failed_calls_) {  // counted as executed, but no frame was pushed
        for (const LinkedFunction& f : functions)
            if (site >= f.first_instruction && site < f.first_instruction + f.code.size()) {
                const LinkedFunction& callee = *callee_of(machine, f, site - f.first_instruction);
                --calls[callee.index];
                --edges[{f.source->name, callee.source->name}];
            }
    }
    if (const int main = machine.program().find_function("main"); main >= 0 && runs_) {
        calls[static_cast<std::size_t>(main)] += runs_;
        edges[{"", "main"}] += runs_;
    }
    for (const LinkedFunction& f : functions) {
        const std::vector<int> height = stack_heights(machine, f);
        for (std::size_t k = 0; k < f.code.size(); ++k) {
            const std::size_t id = f.first_instruction + k;
            const Op op = user_op(f, k);
            const std::uint64_t n = count[id];
            if (is_branch(op)) {
                const std::uint64_t t = taken(f, k);
                branches.entries.push_back(BranchStats{f.source->name, static_cast<std::uint32_t>(k), line_of(f, k), n, t});
                const std::size_t target = static_cast<std::size_t>(f.source->code[k].operand);
                pairs[{op, user_op(f, target)}] += static_cast<std::int64_t>(t);
                if (k + 1 < f.code.size()) pairs[{op, user_op(f, k + 1)}] += static_cast<std::int64_t>(n - t);
                if (target <= k)
                    loops.entries.push_back(LoopStats{f.source->name, static_cast<std::uint32_t>(target),
                                                      static_cast<std::uint32_t>(k), line_of(f, target), t, {}});
            }
            if (op == Op::jmp && static_cast<std::size_t>(f.source->code[k].operand) <= k) {
                const std::size_t target = static_cast<std::size_t>(f.source->code[k].operand);
                loops.entries.push_back(LoopStats{f.source->name, static_cast<std::uint32_t>(target),
                                                  static_cast<std::uint32_t>(k), line_of(f, target), n, {}});
            }
            if (n == 0) continue;
            total += n;
            ++unique;
            by_opcode[op] += n;
            by_line[line_of(f, k)] += n;
            instructions.entries.push_back(
                InstructionStats{f.source->name, static_cast<std::uint32_t>(k), line_of(f, k), std::string(mnemonic(op)), n});
            int op_pops = info(op).pops;
            if (op == Op::jmp) {
                const std::size_t target = static_cast<std::size_t>(f.source->code[k].operand);
                pairs[{op, user_op(f, target)}] += static_cast<std::int64_t>(n);
            } else if (op == Op::call) {
                if (const LinkedFunction* callee = callee_of(machine, f, k)) {
                    op_pops = static_cast<int>(callee->nargs);
                    calls[callee->index] += n;
                    edges[{f.source->name, callee->source->name}] += n;
                    pairs[{Op::call, user_op(*callee, 0)}] += static_cast<std::int64_t>(n);
                    pairs[{Op::ret, user_op(f, k + 1)}] += static_cast<std::int64_t>(n);
                } else {
                    const Native& native = machine.natives()[static_cast<std::size_t>(f.code[k].operand)];
                    op_pops = native.arity;
                    native_calls[native.name] += n;
                    edges[{f.source->name, native.name}] += n;
                    pairs[{Op::call, user_op(f, k + 1)}] += static_cast<std::int64_t>(n);
                }
            } else if (op == Op::ret) {
                rets += n;
            } else if (!is_branch(op) && !ends_flow(op)) {
                pairs[{op, user_op(f, k + 1)}] += static_cast<std::int64_t>(n);
            }
            pops += n * static_cast<std::uint64_t>(op_pops);
            pushes += n * static_cast<std::uint64_t>(info(op).pushes);
            const int deepest = std::max(height[k], height[k] - op_pops + info(op).pushes);
            stack_max = std::max<std::uint64_t>(stack_max, static_cast<std::uint64_t>(std::max(deepest, 0)));
        }
    }

    Summary summary;
    summary.total_instructions = total;
    summary.unique_instructions = unique;
    summary.wall_time_ns = wall_ns_;
    summary.max_call_depth = max_call_depth_;
    out.summary = summary;
    if (out.source_file.empty()) out.source_file = machine.program().source_file;

    OpcodeGroup opcodes;
    for (const auto& [op, n] : by_opcode) opcodes.entries.push_back(OpcodeStats{std::string(mnemonic(op)), n, {}, {}});
    out.opcodes = std::move(opcodes);
    out.instructions = std::move(instructions);
    LineGroup lines;
    for (const auto& [line, n] : by_line) lines.entries.push_back(LineStats{line, n, {}, {}});
    out.lines = std::move(lines);

    FunctionGroup function_group;
    const auto add_function = [&](const std::string& function, std::uint64_t n, bool native) {
        FunctionStats stats;
        stats.name = function;
        stats.calls = n;
        stats.native = native;
        function_group.entries.push_back(std::move(stats));
    };
    for (const LinkedFunction& f : functions) add_function(f.source->name, calls[f.index], false);
    for (const auto& [native, n] : native_calls) add_function(native, n, true);
    out.functions = std::move(function_group);

    std::uint64_t pushed = 0;
    for (const std::uint64_t c : calls) pushed += c;
    out.frames = FrameStats{Accuracy::exact, pushed, rets + halt_frames_popped_, max_call_depth_};
    out.stack = StackStats{Accuracy::exact, pushes, pops, stack_max};
    out.branches = std::move(branches);
    out.loops = std::move(loops);

    CallGraph graph;
    for (const auto& [edge, n] : edges)
        if (n) graph.entries.push_back(CallEdge{edge.first, edge.second, n, {}});
    out.call_graph = std::move(graph);
    OpcodePairGroup pair_group;
    for (const auto& [pair, n] : pairs)
        if (n > 0)
            pair_group.entries.push_back(
                OpcodePair{std::string(mnemonic(pair.first)), std::string(mnemonic(pair.second)), static_cast<std::uint64_t>(n)});
    out.opcode_pairs = std::move(pair_group);
    canonicalize(out);
}

} // namespace opscope
