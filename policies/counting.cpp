// CountingProfiler's bookkeeping and derivations (see counting.hpp). Nothing here runs per instruction.
//
// How exact counts follow from block entries. Leaders (the linker's mark_leaders) start blocks; calls do not
// end them. A block's entries are counted or derived (LinkedProgram::derivation: from the completions of the
// instructions entering it, which is why faults are kept in `fault_sites_`). An instruction's count is its
// block's entry count plus `instruction_delta_`, which settles the blocks that recording entered but did not
// see finish (a fault, `halt` or stop() inside them, and callers waiting at a call site) or saw finish but
// not entered (start() inside them). Transitions to the next instruction (opcode pairs) follow from the
// counts, the branches' taken counts and the call sites, with the transitions that never happened at those
// boundaries removed through `pair_delta_`.
//
// profile_into derives the counts once (Groups), then fills the Profile one group at a time.
#include <opscope/policies/counting.hpp>

#include <algorithm>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace opscope {

namespace {

Op user_op(const LinkedFunction& f, std::size_t offset) { return f.source->code[offset].op; }
std::size_t jump_target(const LinkedFunction& f, std::size_t offset) {
    return static_cast<std::size_t>(f.source->code[offset].operand);
}
std::uint32_t line_of(const LinkedFunction& f, std::size_t offset) { return f.source->position(offset).line; }

// The ids of f's instructions from offset `first` to the end of its block (none when `first` is a leader):
// [begin, end).
struct IdRange {
    std::size_t begin, end;
};
IdRange block_rest(const Machine& machine, const LinkedFunction& f, std::size_t first) {
    std::size_t k = first;
    while (k < f.code.size() && machine.linked().block_start(f.first_instruction + k) == BlockStart::none) ++k;
    return {f.first_instruction + std::min(first, k), f.first_instruction + k};
}

// Calls fn(function, offset, id, op) for each instruction of the program in id order; `op` is the program's
// own (whatever the linker made of it).
template <class Fn>
void for_each_instruction(const Machine& m, Fn&& fn) {
    for (const LinkedFunction& f : m.linked().functions())
        for (std::size_t k = 0; k < f.code.size(); ++k) fn(f, k, f.first_instruction + k, user_op(f, k));
}

// The user function a call instruction calls, or null for a native.
const LinkedFunction* callee_of(const Machine& m, const LinkedFunction& f, std::size_t offset) {
    const Instr& in = f.code[offset];
    if (op_of(in) != Op::call) return nullptr;  // call_native (or not a call)
    return &m.linked().functions()[static_cast<std::size_t>(in.operand)];
}

// What the instruction at `offset` pops: a call, its callee's arguments (a native's arity).
int pops_of(const Machine& m, const LinkedFunction& f, std::size_t offset) {
    const Op op = user_op(f, offset);
    if (info(op).pops != kVariablePops) return info(op).pops;
    const LinkedFunction* callee = callee_of(m, f, offset);
    return callee ? static_cast<int>(callee->nargs) : m.natives()[static_cast<std::size_t>(f.code[offset].operand)].arity;
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
        const int after = height[k] - pops_of(m, f, k) + info(in.op).pushes;
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

std::optional<std::uint32_t> first_line(const LinkedFunction& f) {
    const std::uint32_t line = f.source->first_line();
    return line ? std::optional<std::uint32_t>(line) : std::nullopt;
}

std::uint64_t unix_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

} // namespace

// --- recording ------------------------------------------------------------------------------------------

void CountingProfiler::on_load(const Machine& machine) {
    const std::size_t n = machine.linked().instruction_count();
    for (auto* v : {&block_entries_, &branch_taken_, &block_base_, &taken_base_, &block_recorded_, &taken_recorded_})
        v->resize(n);
    instruction_delta_.resize(n);
    if (inclusive_) {
        const std::size_t functions = machine.linked().functions().size();
        for (CallCosts* c : {&costs_, &costs_at_stop_}) {
            c->site.resize(n);
            c->function.resize(functions);
        }
        active_.assign(functions, 0);
        find_call_cycles(machine);
    }
    reset();
    bound_code_ = machine.linked().code().data();
    const auto code = reinterpret_cast<std::uintptr_t>(bound_code_);
    block_delta_ = reinterpret_cast<std::uintptr_t>(block_entries_.data()) - code;
    taken_delta_ = reinterpret_cast<std::uintptr_t>(branch_taken_.data()) - code;
    site_cost_delta_ = reinterpret_cast<std::uintptr_t>(costs_.site.data()) - code;
}

// Functions on a cycle of two or more functions in the static call graph (Tarjan's strongly connected
// components, iteratively), and the call sites into them.
void CountingProfiler::find_call_cycles(const Machine& machine) {
    const auto& functions = machine.linked().functions();
    const std::size_t n = functions.size();
    std::vector<std::vector<std::uint32_t>> callees(n);
    for (const LinkedFunction& f : functions)
        for (std::size_t k = 0; k < f.code.size(); ++k)
            if (const LinkedFunction* callee = callee_of(machine, f, k)) callees[f.index].push_back(callee->index);
    on_cycle_.assign(n, false);
    constexpr std::uint32_t kUnvisited = UINT32_MAX;
    std::vector<std::uint32_t> order(n, kUnvisited), low(n, 0), stack;
    std::vector<bool> on_stack(n, false);
    std::uint32_t next_order = 0;
    struct Visit {
        std::uint32_t function;
        std::size_t next_callee;
    };
    for (std::uint32_t root = 0; root < n; ++root) {
        if (order[root] != kUnvisited) continue;
        std::vector<Visit> dfs{{root, 0}};
        order[root] = low[root] = next_order++;
        stack.push_back(root);
        on_stack[root] = true;
        while (!dfs.empty()) {
            Visit& v = dfs.back();
            if (v.next_callee < callees[v.function].size()) {
                const std::uint32_t w = callees[v.function][v.next_callee++];
                if (order[w] == kUnvisited) {
                    order[w] = low[w] = next_order++;
                    stack.push_back(w);
                    on_stack[w] = true;
                    dfs.push_back({w, 0});
                } else if (on_stack[w]) {
                    low[v.function] = std::min(low[v.function], order[w]);
                }
                continue;
            }
            const std::uint32_t f = v.function;
            dfs.pop_back();
            if (!dfs.empty()) low[dfs.back().function] = std::min(low[dfs.back().function], low[f]);
            if (low[f] != order[f]) continue;
            std::size_t size = 0;
            for (std::size_t k = stack.size(); k-- > 0;) {
                ++size;
                if (stack[k] == f) break;
            }
            for (std::size_t k = 0; k < size; ++k) {
                on_stack[stack.back()] = false;
                if (size > 1) on_cycle_[stack.back()] = true;
                stack.pop_back();
            }
        }
    }
    cyclic_.assign(machine.linked().instruction_count(), 0);
    cycles_ = false;
    for (const LinkedFunction& f : functions)
        for (std::size_t k = 0; k < f.code.size(); ++k)
            if (const LinkedFunction* callee = callee_of(machine, f, k); callee && on_cycle_[callee->index])
                cyclic_[f.first_instruction + k] = 1, cycles_ = true;
}

// A call into (a return from) a function on a cycle: its outermost activation adds its exit - entry fuel.
void CountingProfiler::cyclic_call(const Instr* site, std::int64_t fuel) {
    if (!cyclic_[static_cast<std::size_t>(site - bound_code_)]) return;
    const auto callee = static_cast<std::size_t>(site->operand);
    if (active_[callee]++ == 0) costs_.function[callee] += static_cast<std::uint64_t>(fuel);
}
void CountingProfiler::cyclic_return(const Instr* site, std::int64_t fuel) {
    if (!cyclic_[static_cast<std::size_t>(site - bound_code_)]) return;
    const auto callee = static_cast<std::size_t>(site->operand);
    if (--active_[callee] == 0) costs_.function[callee] -= static_cast<std::uint64_t>(fuel);
}

// Each live frame but main waits on the call in the frame below it; each function on a cycle with live
// activations has an outermost one. Leaving adds what they ran up to `fuel`; entering starts them there.
void CountingProfiler::account_live_calls(const Machine& machine, CallCosts& costs, int sign, std::int64_t fuel) const {
    if (!inclusive_) return;
    const std::span<const Frame> frames = machine.live_frames();
    const auto value = static_cast<std::uint64_t>(fuel);
    const Instr* code = machine.linked().code().data();
    for (std::size_t i = 1; i < frames.size(); ++i) {
        const auto id = static_cast<std::size_t>(frames[i - 1].pc - code);
        costs.site[id] += sign > 0 ? value : 0 - value;
    }
    const int main = machine.program().find_function("main");
    for (std::size_t f = 0; f < active_.size(); ++f)
        if (active_[f] != 0 && static_cast<int>(f) != main) costs.function[f] += sign > 0 ? value : 0 - value;
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
    resumed_landings_.clear();
    runs_ = halt_frames_popped_ = max_call_depth_ = wall_ns_ = instructions_recorded_ = 0;
    start_unix_ns_ = 0;
    for (CallCosts* c : {&costs_, &costs_at_stop_}) {
        std::fill(c->site.begin(), c->site.end(), 0);
        std::fill(c->function.begin(), c->function.end(), 0);
    }
    // Mid-run (from a native), the live calls start now, and the rest of the blocks they are in.
    if (in_run_ && machine_ && recording_) {
        account_live_calls(*machine_, costs_, +1, machine_->exact_fuel_register());
        reconcile(*machine_, +1, /*run_ended=*/false);
        fuel_left_at_start_ = machine_->fuel_left();
    }
    interval_start_ = Clock::now();
}

void CountingProfiler::on_run_begin(const Machine& machine) {
    // Counters are written at a fixed distance from the code: a policy object put in after load() (assigned
    // through vm.profiler()) has no tables for this program yet, so it gets them before anything counts.
    if (bound_code_ != machine.linked().code().data()) on_load(machine);
    in_run_ = true;
    machine_ = &machine;
    // main's activation by the host is the outermost: calls back into main are nested in it.
    if (const int main = machine.program().find_function("main"); inclusive_ && main >= 0)
        active_[static_cast<std::size_t>(main)] = 1;
    if (recording_) {
        ++runs_;
        if (start_unix_ns_ == 0) start_unix_ns_ = unix_now_ns();
        machine.forget_depth_reached();
        interval_start_ = Clock::now();
        // fuel_left() takes the top frame's instruction as run (a native's call); main's first has not.
        fuel_left_at_start_ = machine.fuel_left() + 1;
    }
}

void CountingProfiler::on_run_end(const Machine& machine) {
    if (recording_) {
        wall_ns_ += nanoseconds_since(interval_start_);
        reconcile(machine, -1, /*run_ended=*/true);
        max_call_depth_ = std::max<std::uint64_t>(max_call_depth_, machine.depth_reached());
        if (machine.run_end() == RunEnd::halted) halt_frames_popped_ += machine.live_frames().size();
        account_live_calls(machine, costs_, -1, machine.exact_fuel_register());  // they ran up to the end
        instructions_recorded_ += static_cast<std::uint64_t>(fuel_left_at_start_ - machine.fuel_left());
    }
    std::fill(active_.begin(), active_.end(), 0);
    in_run_ = false;
    machine_ = nullptr;
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
        account_live_calls(machine, costs_, -1, machine.exact_fuel_register());
        instructions_recorded_ += static_cast<std::uint64_t>(fuel_left_at_start_ - machine.fuel_left());
    }
    fold_live_into_recorded();
    costs_at_stop_ = costs_;  // what calls and returns add while paused is dropped at start()
    recording_ = false;
}

void CountingProfiler::start(const Machine& machine) {
    if (recording_) return;
    block_base_ = block_entries_;
    taken_base_ = branch_taken_;
    recording_ = true;
    // Copied element-wise: the hooks write costs_.site at a fixed distance from the code.
    std::copy(costs_at_stop_.site.begin(), costs_at_stop_.site.end(), costs_.site.begin());
    std::copy(costs_at_stop_.function.begin(), costs_at_stop_.function.end(), costs_.function.begin());
    if (in_run_) {
        account_live_calls(machine, costs_, +1, machine.exact_fuel_register());
        reconcile(machine, +1, /*run_ended=*/false);
        fuel_left_at_start_ = machine.fuel_left();
        interval_start_ = Clock::now();
        if (start_unix_ns_ == 0) start_unix_ns_ = unix_now_ns();
        machine.forget_depth_reached();
    }
}

void CountingProfiler::split(Profile& out, const Machine& machine) {
    const bool was_recording = recording_;
    splitting_ = true;
    stop(machine);
    profile_into(out, machine);
    reset();
    if (was_recording) start(machine);
    splitting_ = false;
}

// The frames live at a boundary. Callers wait at a call site: the rest of that block and the eventual
// `ret` into it happen on the other side of the boundary. The top frame is in a native (start/stop), has
// just landed on an instruction it has not started (start/stop at a safe point), is at its fault or
// `halt`, or (out of fuel) about to start an instruction it never starts.
void CountingProfiler::reconcile(const Machine& machine, int sign, bool run_ended) {
    const std::span<const Frame> frames = machine.live_frames();
    if (frames.empty()) return;
    const auto remainder = [&](const LinkedFunction& f, std::size_t first) {  // `first` .. the block's end
        for (auto [id, end] = block_rest(machine, f, first); id < end; ++id) instruction_delta_[id] += sign;
    };
    for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
        const LinkedFunction& f = *frames[i].function;
        const std::size_t site = f.offset_of(frames[i].pc);
        remainder(f, site + 1);
        adjust_pair(Op::ret, user_op(f, site + 1), sign);
    }
    const LinkedFunction& f = *frames.back().function;
    const std::size_t at = f.offset_of(frames.back().pc);
    // The transition into the instruction the top frame starts next: counted before the boundary, it happens
    // after it (a pause drops it, a split moves it).
    const auto move_pair_across = [&](Op first, Op second) {
        if (sign < 0) adjust_pair(first, second, -1);
        else if (splitting_) adjust_pair(first, second, +1);
    };
    if (!run_ended && machine.at_landing()) {  // control landed on `at`: nothing of its run started
        remainder(f, at);  // nothing when `at` is a leader: its entry is counted when it starts
        if (machine.linked().block_start(f.first_instruction + at) != BlockStart::none)
            (sign < 0 ? fuel_landings_ : resumed_landings_).push_back(f.first_instruction + static_cast<std::uint32_t>(at));
        const Instr* from = machine.transfer_source();
        if (const LinkedFunction* source = from ? machine.linked().function_of(from) : nullptr)
            move_pair_across(user_op(*source, source->offset_of(from)), user_op(f, at));
        return;
    }
    if (!run_ended) {  // stop() or start() from a native called at `at`
        remainder(f, at + 1);
        move_pair_across(Op::call, user_op(f, at + 1));
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
        } else if (info(op).flow == Flow::next || info(op).flow == Flow::call) {  // a native call: no frame
            adjust_pair(op, user_op(f, at + 1), -1);
        }
        break;
    }
    case RunEnd::out_of_fuel: {
        remainder(f, at);  // nothing when `at` is a leader: its entry was never counted
        if (machine.linked().block_start(f.first_instruction + at) != BlockStart::none)
            fuel_landings_.push_back(f.first_instruction + static_cast<std::uint32_t>(at));
        if (const Instr* from = machine.transfer_source()) {
            if (const LinkedFunction* source = machine.linked().function_of(from))
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

// Counted blocks first, then the derived ones in derivation_order (each reads blocks already known).
CountingProfiler::Counts CountingProfiler::derive_counts(const Machine& machine) const {
    const LinkedProgram& linked = machine.linked();
    const std::size_t n = block_entries_.size();
    Counts counts{std::vector<std::uint64_t>(n, 0), std::vector<std::uint64_t>(n, 0)};
    std::vector<std::uint64_t> landed(n, 0), faulted(n, 0);
    for (const std::uint32_t id : fuel_landings_) ++landed[id];
    for (const std::uint32_t id : resumed_landings_) --landed[id];  // modulo 2^64: entered + 1 in the fill
    for (const std::uint32_t id : fault_sites_) ++faulted[id];
    // Control reached the leader `id` `entered` times (fuel landings included); its block's instructions
    // run to the next leader (every function starts with one).
    const auto enter_block = [&](std::size_t id, std::uint64_t entered) {
        counts.entered[id] = entered;
        const std::uint64_t started = entered - landed[id];
        for (std::size_t k = id; k < n && (k == id || linked.block_start(k) == BlockStart::none); ++k)
            counts.executed[k] = static_cast<std::uint64_t>(static_cast<std::int64_t>(started) + instruction_delta_[k]);
    };
    for (std::size_t id = 0; id < n; ++id)
        if (linked.block_start(id) == BlockStart::counted)
            enter_block(id, landed[id] + block_recorded_[id] + (recording_ ? block_entries_[id] - block_base_[id] : 0));
    const auto derive = [&] {
        for (const std::uint32_t id : linked.derivation_order()) {
            const BlockDerivation& d = *linked.derivation(id);
            std::uint64_t entered = 0;
            for (const std::uint32_t s : d.sources) entered += counts.executed[s] - faulted[s];
            enter_block(id, d.minus == BlockDerivation::kNone ? entered : entered - counts.entered[d.minus]);
        }
    };
    const std::uint32_t residual = linked.residual();
    if (residual == BlockDerivation::kNone) {
        derive();
        return counts;
    }
    // The residual's entries: with none, the counts add up to `total`; each adds residual_weight().
    enter_block(residual, 0);
    derive();
    std::uint64_t total = 0;
    for (const std::uint64_t k : counts.executed) total += k;
    const auto missing = static_cast<std::int64_t>(instructions_run(machine) - total);
    enter_block(residual, static_cast<std::uint64_t>(missing / linked.residual_weight()));
    derive();
    return counts;
}

std::uint64_t CountingProfiler::instructions_run(const Machine& machine) const {
    if (!recording_ || !in_run_) return instructions_recorded_;
    std::uint64_t run = instructions_recorded_ + static_cast<std::uint64_t>(fuel_left_at_start_ - machine.fuel_left());
    const std::span<const Frame> frames = machine.live_frames();
    for (std::size_t i = 0; i < frames.size(); ++i) {  // callers wait at a call; the top is in a native or landed
        const LinkedFunction& f = *frames[i].function;
        const std::size_t at = f.offset_of(frames[i].pc);
        const IdRange rest = block_rest(machine, f, i + 1 == frames.size() && machine.at_landing() ? at : at + 1);
        run += rest.end - rest.begin;
    }
    return run;
}

// --- the profile: one function per group ----------------------------------------------------------------

// What the groups are read from, derived once: every instruction's count and every conditional jump's taken
// count, and from those the calls (per function, per native and per edge). The groups read only these and
// the few figures recorded directly (wall time, depth, halt's frames, the boundary's opcode pairs).
struct CountingProfiler::Groups {
    const CountingProfiler& recorded;
    const Machine& machine;
    std::vector<std::uint64_t> executed;  // per instruction id
    std::vector<std::uint64_t> taken;     // per instruction id: a conditional jump's jumps (else 0)
    std::vector<std::uint64_t> calls;     // per function: frames pushed, the host's calls of main included
    std::map<std::string, std::uint64_t> native_calls;
    struct Edge {
        std::uint64_t calls = 0;
        std::map<std::uint32_t, CallSite> sites;  // by offset
    };
    std::map<std::pair<std::string, std::string>, Edge> edges;  // caller ("" for the host), callee
    CallCosts costs;                  // closed: every call's entry - exit (live frames up to now)
    std::vector<std::uint64_t> inclusive;  // per function
    std::uint64_t total = 0;

    Groups(const CountingProfiler& profiler, const Machine& m) : recorded(profiler), machine(m) {
        Counts counts = recorded.derive_counts(machine);
        executed = std::move(counts.executed);
        taken.assign(executed.size(), 0);
        for_each_instruction(machine, [&](const LinkedFunction& f, std::size_t k, std::size_t id, Op op) {
            if (is_branch(op)) taken[id] = taken_count(f, k, counts.entered);
        });
        for (const std::uint64_t n : executed) total += n;
        costs = recorded.recording_ ? recorded.costs_ : recorded.costs_at_stop_;
        if (recorded.recording_ && recorded.in_run_)  // mid-run: the live calls up to now
            recorded.account_live_calls(machine, costs, -1, machine.exact_fuel_register());
        count_calls();
        if (with_costs()) count_inclusive();
    }

    bool with_costs() const { return recorded.inclusive_; }

    void summary(Profile& out) const {
        Summary totals;
        std::uint64_t unique = 0;
        for (const std::uint64_t n : executed) {
            totals.total_instructions += n;
            unique += n ? 1 : 0;
        }
        totals.unique_instructions = unique;
        totals.wall_time_ns = recorded.wall_ns_;
        totals.max_call_depth = recorded.max_call_depth_;
        if (recorded.start_unix_ns_) totals.start_unix_ns = recorded.start_unix_ns_;
        out.summary = totals;
        if (out.source_file.empty()) out.source_file = machine.program().source_file;
    }

    void opcodes(Profile& out) const {
        std::map<Op, std::uint64_t> by_opcode;
        for_each_instruction(machine, [&](const LinkedFunction&, std::size_t, std::size_t id, Op op) {
            if (executed[id]) by_opcode[op] += executed[id];
        });
        OpcodeGroup group;
        for (const auto& [op, n] : by_opcode) group.entries.push_back(OpcodeStats{std::string(mnemonic(op)), n, {}, {}});
        out.opcodes = std::move(group);
    }

    void instructions(Profile& out) const {
        InstructionGroup group;
        for_each_instruction(machine, [&](const LinkedFunction& f, std::size_t k, std::size_t id, Op op) {
            if (executed[id])
                group.entries.push_back(InstructionStats{f.source->name, static_cast<std::uint32_t>(k), line_of(f, k),
                                                         std::string(mnemonic(op)), executed[id]});
        });
        out.instructions = std::move(group);
    }

    void lines(Profile& out) const {
        std::map<std::uint32_t, std::uint64_t> by_line;
        for_each_instruction(machine, [&](const LinkedFunction& f, std::size_t k, std::size_t id, Op) {
            if (executed[id]) by_line[line_of(f, k)] += executed[id];
        });
        LineGroup group;
        for (const auto& [line, n] : by_line) group.entries.push_back(LineStats{line, n, {}, {}});
        out.lines = std::move(group);
    }

    void functions(Profile& out) const {
        FunctionGroup group;
        const std::string& file = machine.program().source_file;
        for (const LinkedFunction& f : machine.linked().functions()) {
            FunctionStats stats;
            stats.name = f.source->name;
            stats.calls = calls[f.index];
            if (!file.empty()) stats.file = file;
            stats.line = first_line(f);
            if (with_costs()) stats.inclusive_instructions = inclusive[f.index];
            group.entries.push_back(std::move(stats));
        }
        for (const auto& [native, n] : native_calls) {
            FunctionStats stats;
            stats.name = native;
            stats.calls = n;
            stats.native = true;
            if (with_costs()) stats.inclusive_instructions = 0;  // a host function runs no program instructions
            group.entries.push_back(std::move(stats));
        }
        out.functions = std::move(group);
    }

    // Sites by offset; an edge's inclusive instructions are its sites' (the host's call of main has no site:
    // it ran everything).
    void call_graph(Profile& out) const {
        CallGraph graph;
        for (const auto& [key, edge] : edges) {
            CallEdge e{key.first, key.second, edge.calls, {}, {}, {}};
            std::uint64_t inclusive_sum = 0;
            for (const auto& [offset, site] : edge.sites) {
                if (!site.calls && !site.inclusive_instructions.value_or(0)) continue;
                e.sites.push_back(site);
                inclusive_sum += site.inclusive_instructions.value_or(0);
            }
            if (with_costs()) e.inclusive_instructions = key.first.empty() ? total : inclusive_sum;
            if (e.calls || e.inclusive_instructions.value_or(0)) graph.entries.push_back(std::move(e));
        }
        out.call_graph = std::move(graph);
    }

    // Pushed: every call that pushed a frame. Popped: by `ret`, and by `halt` (all the frames it leaves).
    void frames(Profile& out) const {
        std::uint64_t pushed = 0, returns = 0;
        for (const std::uint64_t n : calls) pushed += n;
        for_each_instruction(machine, [&](const LinkedFunction&, std::size_t, std::size_t id, Op op) {
            if (info(op).flow == Flow::return_) returns += executed[id];
        });
        out.frames = FrameStats{Accuracy::exact, pushed, returns + recorded.halt_frames_popped_, recorded.max_call_depth_};
    }

    // The operand stack: each instruction's pops and pushes times its count; the deepest is the deepest any
    // executed instruction reaches (heights are static, proved by the verifier).
    void stack(Profile& out) const {
        std::uint64_t pushes = 0, pops = 0, deepest = 0;
        for (const LinkedFunction& f : machine.linked().functions()) {
            const std::vector<int> height = stack_heights(machine, f);
            for (std::size_t k = 0; k < f.code.size(); ++k) {
                const std::uint64_t n = executed[f.first_instruction + k];
                if (n == 0) continue;
                const int popped = pops_of(machine, f, k), pushed = info(user_op(f, k)).pushes;
                pops += n * static_cast<std::uint64_t>(popped);
                pushes += n * static_cast<std::uint64_t>(pushed);
                const int reached = std::max(height[k], height[k] - popped + pushed);
                deepest = std::max<std::uint64_t>(deepest, static_cast<std::uint64_t>(std::max(reached, 0)));
            }
        }
        out.stack = StackStats{Accuracy::exact, pushes, pops, deepest};
    }

    void branches(Profile& out) const {
        BranchGroup group;
        for_each_instruction(machine, [&](const LinkedFunction& f, std::size_t k, std::size_t id, Op op) {
            if (is_branch(op))
                group.entries.push_back(
                    BranchStats{f.source->name, static_cast<std::uint32_t>(k), line_of(f, k), executed[id], taken[id]});
        });
        out.branches = std::move(group);
    }

    // A backward jump is a loop; its iterations are the times it jumped back.
    void loops(Profile& out) const {
        LoopGroup group;
        for_each_instruction(machine, [&](const LinkedFunction& f, std::size_t k, std::size_t id, Op op) {
            const std::size_t target = jump_target(f, k);
            if (!is_jump(op) || target > k) return;
            group.entries.push_back(LoopStats{f.source->name, static_cast<std::uint32_t>(target), static_cast<std::uint32_t>(k),
                                              line_of(f, target), is_branch(op) ? taken[id] : executed[id], {}});
        });
        out.loops = std::move(group);
    }

    // Each instruction's successors: a branch's target (taken) and next instruction (not), a jump's target,
    // a call's callee entry and, after the return, the instruction after the call; the rest their next.
    // Transitions that never happened at recording boundaries are removed through pair_delta_.
    void opcode_pairs(Profile& out) const {
        std::map<std::pair<Op, Op>, std::int64_t> pairs(recorded.pair_delta_.begin(), recorded.pair_delta_.end());
        const auto add = [&](Op first, Op second, std::uint64_t n) { pairs[{first, second}] += static_cast<std::int64_t>(n); };
        for_each_instruction(machine, [&](const LinkedFunction& f, std::size_t k, std::size_t id, Op op) {
            const std::uint64_t n = executed[id];
            // Never executed: no pairs. It may be unreachable code that the verifier does not walk, such as a
            // last instruction that would fall off the end (found by fuzz_run: its k + 1 read past the code).
            if (n == 0) return;
            switch (info(op).flow) {
            case Flow::branch:
                add(op, user_op(f, jump_target(f, k)), taken[id]);
                if (k + 1 < f.code.size()) add(op, user_op(f, k + 1), n - taken[id]);
                break;
            case Flow::jump: add(op, user_op(f, jump_target(f, k)), n); break;
            case Flow::call:
                if (const LinkedFunction* callee = callee_of(machine, f, k)) {
                    add(op, user_op(*callee, 0), n);
                    add(Op::ret, user_op(f, k + 1), n);  // the callee's return lands after the call
                } else {
                    add(op, user_op(f, k + 1), n);  // a native returns at once
                }
                break;
            case Flow::next: add(op, user_op(f, k + 1), n); break;
            case Flow::return_:  // its successor is counted at the call site it returns to
            case Flow::halt:
            case Flow::native: break;  // (only linked code has native; these are user opcodes)
            }
        });
        OpcodePairGroup group;
        for (const auto& [pair, n] : pairs)
            if (n > 0)
                group.entries.push_back(
                    OpcodePair{std::string(mnemonic(pair.first)), std::string(mnemonic(pair.second)), static_cast<std::uint64_t>(n)});
        out.opcode_pairs = std::move(group);
    }

private:
    // How often the conditional jump at `k` jumped: from block entries where they give it (TakenRule), else
    // counted.
    std::uint64_t taken_count(const LinkedFunction& f, std::size_t k, const std::vector<std::uint64_t>& entered) const {
        const std::size_t id = f.first_instruction + k;
        switch (machine.linked().taken_rule(id)) {
        case TakenRule::target_entries: return entered[f.first_instruction + jump_target(f, k)];
        case TakenRule::executed_minus_fallthrough: return executed[id] - entered[id + 1];
        case TakenRule::counted:
            return recorded.taken_recorded_[id] +
                   (recorded.recording_ ? recorded.branch_taken_[id] - recorded.taken_base_[id] : 0);
        default: return 0;
        }
    }

    // Frames pushed by the host's calls of main and by the call sites that ran (less those whose call raised
    // before pushing one: counted as executed all the same); host functions and call edges likewise.
    void count_calls() {
        const auto& linked = machine.linked().functions();
        calls.assign(linked.size(), 0);
        for (const std::uint32_t site : recorded.failed_calls_) {
            for (const LinkedFunction& f : linked)
                if (site >= f.first_instruction && site < f.first_instruction + f.code.size()) {
                    const std::size_t k = site - f.first_instruction;
                    const LinkedFunction& callee = *callee_of(machine, f, k);
                    --calls[callee.index];
                    Edge& edge = edges[{f.source->name, callee.source->name}];
                    --edge.calls;
                    --edge.sites[static_cast<std::uint32_t>(k)].calls;
                }
        }
        // main's activation by the host: entered while recording, or (inclusive) running in it.
        if (const int main = machine.program().find_function("main"); main >= 0 && (recorded.runs_ || (with_costs() && total))) {
            calls[static_cast<std::size_t>(main)] += recorded.runs_;
            edges[{"", "main"}].calls += recorded.runs_;
        }
        // A call made while paused can still run instructions after recording resumes: its site then has
        // inclusive instructions and no calls.
        for_each_instruction(machine, [&](const LinkedFunction& f, std::size_t k, std::size_t id, Op op) {
            const std::uint64_t n = executed[id];
            const std::uint64_t cost = with_costs() ? costs.site[id] : 0;
            if (op != Op::call || (n == 0 && cost == 0)) return;
            const auto add_site = [&](Edge& edge, std::uint64_t site_cost) {
                edge.calls += n;
                CallSite& site = edge.sites[static_cast<std::uint32_t>(k)];
                site.offset = static_cast<std::uint32_t>(k);
                site.line = line_of(f, k);
                site.calls += n;
                if (with_costs()) site.inclusive_instructions = site_cost;
            };
            if (const LinkedFunction* callee = callee_of(machine, f, k)) {
                calls[callee->index] += n;
                add_site(edges[{f.source->name, callee->source->name}], cost);
            } else {
                const Native& native = machine.natives()[static_cast<std::size_t>(f.code[k].operand)];
                native_calls[native.name] += n;
                add_site(edges[{f.source->name, native.name}], 0);
            }
        });
    }

    // Per function, an activation inside another of the same function counted once: main's is everything
    // (the host's activation is the outermost); a function on a call cycle measured its outermost activations;
    // any other is entered outermost exactly by the calls from other functions (see counting.hpp).
    void count_inclusive() {
        const auto& functions = machine.linked().functions();
        inclusive.assign(functions.size(), 0);
        for (const LinkedFunction& f : functions) {
            for (std::size_t k = 0; k < f.code.size(); ++k) {
                const LinkedFunction* callee = callee_of(machine, f, k);
                if (callee && callee != &f && !recorded.on_cycle_[callee->index])
                    inclusive[callee->index] += costs.site[f.first_instruction + k];
            }
        }
        for (std::size_t f = 0; f < functions.size(); ++f)
            if (recorded.on_cycle_[f]) inclusive[f] = costs.function[f];
        if (const int main = machine.program().find_function("main"); main >= 0)
            inclusive[static_cast<std::size_t>(main)] = total;
    }
};

void CountingProfiler::profile_into(Profile& out, const Machine& machine) const {
    const Groups groups(*this, machine);
    groups.summary(out);
    groups.opcodes(out);
    groups.instructions(out);
    groups.lines(out);
    groups.functions(out);
    groups.call_graph(out);
    groups.frames(out);
    groups.stack(out);
    groups.branches(out);
    groups.loops(out);
    groups.opcode_pairs(out);
    canonicalize(out);
}

} // namespace opscope
