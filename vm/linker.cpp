// The linker: a verified Program in, the LinkedProgram the interpreter runs out (see linked.hpp). Per
// function, in order: resolve operands and quicken (relative jumps, small ints as push_int, natives as
// call_native), cost each straight-line run for fuel, choose the branches whose taken count must be
// reported (jz_counted/jnz_counted), fuse sequences into superinstructions, and mark block leaders.
// Everything here reads control flow and sequences from the opcode table; nothing lists opcodes by hand.
#include <opscope/linked.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

namespace opscope {

const LinkedFunction* LinkedProgram::function_of(const Instr* pc) const {
    for (const LinkedFunction& f : functions_)
        if (!f.code.empty() && pc >= f.code.data() && pc < f.code.data() + f.code.size()) return &f;
    return nullptr;
}

namespace {

// How many jumps and branches target each instruction of a function.
std::vector<std::uint32_t> jumps_into(const Function& source) {
    std::vector<std::uint32_t> jumps_in(source.code.size(), 0);
    for (const Instruction& in : source.code)
        if (is_jump(in.op)) ++jumps_in[static_cast<std::size_t>(in.operand)];
    return jumps_in;
}

// Which sides of the branch at k only it enters: its target, when nothing else jumps there, it is not the
// function's entry and the instruction before it does not fall (or return) into it; its fall-through, when
// nothing jumps there. (Taken rules and block derivations both rest on this.)
struct PrivateSides {
    bool target, fallthrough;
};
PrivateSides private_sides(const Function& source, const std::vector<std::uint32_t>& jumps_in, std::size_t k) {
    const auto target = static_cast<std::size_t>(source.code[k].operand);
    return {target != k + 1 && target > 0 && jumps_in[target] == 1 && ends_flow(source.code[target - 1].op),
            k + 1 < source.code.size() && target != k + 1 && jumps_in[k + 1] == 0};
}

// The opcode's op field (leader marks are added later).
std::uint8_t op_field(Op op) { return static_cast<std::uint8_t>(op); }

} // namespace

class Linker {
public:
    Linker(const Program& program, const NativeIndex& native_index, LinkOptions options)
        : program_(program), native_index_(native_index), options_(options) {}

    LinkedProgram link() {
        std::size_t total = 0;
        for (const Function& f : program_.functions) total += f.code.size();
        out_.code_.assign(total, Instr{});
        out_.taken_rules_.assign(options_.mark_leaders ? total : 0, TakenRule::not_a_branch);
        out_.block_starts_.assign(options_.mark_leaders ? total : 0, BlockStart::none);
        out_.functions_.resize(program_.functions.size());
        if (options_.mark_leaders) {
            block_of_.assign(total, 0);
            ways_.assign(total, std::nullopt);
            entry_jumped_into_.assign(program_.functions.size(), false);
        }
        std::uint32_t first = 0;
        for (std::size_t f = 0; f < program_.functions.size(); ++f) {
            const Function& source = program_.functions[f];
            LinkedFunction& linked = out_.functions_[f];
            linked.source = &source;
            linked.index = static_cast<std::uint32_t>(f);
            linked.nargs = source.nargs;
            linked.nlocals = source.nlocals;
            linked.nil_locals = source.nlocals - source.nargs;  // the verifier proved nargs <= nlocals
            linked.frame_slots = source.nlocals + source.max_stack;
            linked.first_instruction = first;
            linked.code = std::span<Instr>(out_.code_).subspan(first, source.code.size());
            first += static_cast<std::uint32_t>(source.code.size());
            resolve(linked, source);
            cost_runs(linked);
            // Counted branches are rewritten before fusion, which then leaves them alone (they are not jz/jnz).
            if (options_.mark_leaders) assign_taken_rules(linked, source);
            if (options_.fuse) fuse(linked, source);
            if (options_.mark_leaders) mark_leaders(linked, source);
        }
        if (options_.mark_leaders) choose_derivations();
        return std::move(out_);
    }

private:
    void resolve(LinkedFunction& linked, const Function& source) const;
    static void cost_runs(LinkedFunction& linked);
    void assign_taken_rules(LinkedFunction& linked, const Function& source);
    static void fuse(LinkedFunction& linked, const Function& source);
    void mark_leaders(LinkedFunction& linked, const Function& source);
    void choose_derivations();
    void choose_residual();

    const Program& program_;
    const NativeIndex& native_index_;
    LinkOptions options_;
    LinkedProgram out_;
    // mark_leaders' findings, per instruction id, for choose_derivations.
    std::vector<std::uint32_t> block_of_;                 // the leader of the instruction's block
    std::vector<std::optional<BlockDerivation>> ways_;   // per leader: how its entries could be derived
    std::vector<bool> entry_jumped_into_;                 // per function: a jump targets its offset 0
    // choose_derivations' call graph, for choose_residual: per function, the functions it calls.
    std::vector<std::vector<std::uint32_t>> callees_;
};

LinkedProgram link(const Program& program, const NativeIndex& native_index, LinkOptions options) {
    return Linker(program, native_index, options).link();
}

// Operands become what the interpreter indexes directly: jumps relative to themselves, calls a function
// index (or call_native with a native index), small int literals carried inline (push_int).
void Linker::resolve(LinkedFunction& linked, const Function& source) const {
    for (std::size_t k = 0; k < source.code.size(); ++k) {
        const Instruction& in = source.code[k];
        Op op = in.op;
        std::int32_t operand = in.operand;
        if (is_jump(op)) operand = in.operand - static_cast<std::int32_t>(k);
        if (op == Op::push) {
            const Constant& c = program_.constants[static_cast<std::size_t>(operand)];
            if (const auto* i = std::get_if<std::int64_t>(&c);
                i && *i >= std::numeric_limits<std::int32_t>::min() && *i <= std::numeric_limits<std::int32_t>::max()) {
                op = Op::push_int;
                operand = static_cast<std::int32_t>(*i);
            }
        } else if (op == Op::call) {
            const std::string& name = program_.call_targets[static_cast<std::size_t>(operand)];
            if (const int index = program_.find_function(name); index >= 0) {
                operand = index;
            } else {
                op = Op::call_native;
                operand = native_index_(name).value_or(0);  // the verifier proved it exists
            }
        }
        linked.code[k].op = op_field(op);
        linked.code[k].operand = operand;
    }
}

// A run ends at each control transfer; fuel is charged per run when control lands on its start.
void Linker::cost_runs(LinkedFunction& linked) {
    std::uint32_t cost = 0;
    for (std::size_t k = linked.code.size(); k-- > 0;) {
        cost = ends_run(op_of(linked.code[k])) ? 1 : cost + 1;
        linked.code[k].run_cost = cost & 0xFFFFFFu;  // the verifier bounds function size (kMaxFunctionSize)
    }
    linked.entry_cost = linked.code.empty() ? 0 : linked.code[0].run_cost;
}

// How each branch's taken count follows from block entries (TakenRule): from a side only it enters
// (private_sides). A branch the block counts cannot give becomes jz_counted/jnz_counted: the only branches
// that report to the policy, so no other branch pays a check.
void Linker::assign_taken_rules(LinkedFunction& linked, const Function& source) {
    const std::vector<std::uint32_t> jumps_in = jumps_into(source);
    for (std::size_t k = 0; k < source.code.size(); ++k) {
        const Op op = source.code[k].op;
        if (!is_branch(op)) continue;
        const PrivateSides sides = private_sides(source, jumps_in, k);
        TakenRule& rule = out_.taken_rules_[linked.first_instruction + k];
        rule = sides.target        ? TakenRule::target_entries
               : sides.fallthrough ? TakenRule::executed_minus_fallthrough
                                   : TakenRule::counted;
        if (rule == TakenRule::counted) linked.code[k].op = op_field(op == Op::jz ? Op::jz_counted : Op::jnz_counted);
    }
}

// Rewrites the first opcode of each fused sequence (the rows of OPSCOPE_INTERNAL_OPCODES with a fused form)
// into its fused form: at each instruction the longest form that matches, then the next instruction after
// it. Only sequences that no jump enters after their first instruction qualify, so every path still
// executes whole sequences.
void Linker::fuse(LinkedFunction& linked, const Function& source) {
    const std::size_t size = linked.code.size();
    std::vector<bool> entered(size, false);
    for (const Instruction& in : source.code)
        if (is_jump(in.op)) entered[static_cast<std::size_t>(in.operand)] = true;
    const auto matches = [&](std::size_t k, const OpInfo& form) {
        const auto length = static_cast<std::size_t>(form.covers);
        if (k + length > size) return false;
        for (std::size_t j = 0; j < length; ++j) {
            if (j > 0 && entered[k + j]) return false;
            if (static_cast<Op>(linked.code[k + j].op) != form.sequence[j]) return false;
        }
        if (form.form == Form::fused_divisor) return linked.code[k].operand != 0 && linked.code[k].operand != -1;
        if (form.form == Form::fused_in_place) return linked.code[k + length - 1].operand == linked.code[k].operand;
        return true;
    };
    // The longest form at k, among the two-push pairs or the others ({the instruction's own op, 1}: none).
    const auto longest = [&](std::size_t k, bool pairs) -> std::pair<Op, std::size_t> {
        std::pair<Op, std::size_t> best{static_cast<Op>(linked.code[k].op), 1};
        for (std::size_t f = kUserOpCount; f < kOpCount; ++f) {
            const OpInfo& form = kOpTable[f];
            if (!is_fused(form.form) || (form.form == Form::fused_pair) != pairs) continue;
            if (static_cast<std::size_t>(form.covers) > best.second && matches(k, form))
                best = {static_cast<Op>(f), static_cast<std::size_t>(form.covers)};
        }
        return best;
    };
    for (std::size_t k = 0; k < size;) {
        auto chosen = longest(k, /*pairs=*/false);
        // Two pushes in a row, unless the second starts a longer form of its own.
        if (chosen.second == 1 && k + 1 < size && longest(k + 1, false).second == 1) chosen = longest(k, true);
        linked.code[k].op = op_field(chosen.first);
        k += chosen.second;
    }
}

// A block is entered only at its leader and, once entered, runs to its end unless the program stops
// inside it. Leaders: offset 0, jump targets, and whatever follows an instruction that ends a block
// (ends_block: jumps, branches, returns, halts). Calls do not end blocks (returns come back into the middle
// of one): policies reconcile the frames left live when a run stops (RunEnd, live_frames()). No fused
// sequence spans a leader (fusion needs unentered tails, and every fused branch ends its sequence). Here, per
// function: the leaders and how each block's entries could be derived; choose_derivations() then picks,
// over the whole program, which blocks are counted.
void Linker::mark_leaders(LinkedFunction& linked, const Function& source) {
    const std::size_t size = source.code.size();
    const std::uint32_t first = linked.first_instruction;
    std::vector<bool> leader(size, false);
    if (size) leader[0] = true;
    for (std::size_t k = 0; k < size; ++k) {
        const Op op = source.code[k].op;
        if (is_jump(op)) leader[static_cast<std::size_t>(source.code[k].operand)] = true;
        if (ends_block(op) && k + 1 < size) leader[k + 1] = true;
    }
    for (std::size_t k = 0; k < size; ++k) {
        if (leader[k]) out_.block_starts_[first + k] = BlockStart::counted;
        block_of_[first + k] = leader[k] ? first + static_cast<std::uint32_t>(k) : block_of_[first + k - 1];
    }

    // How each block's entries could be derived. (1) Entered only by `jmp`s and a fall-through from a plain
    // instruction (not a call: a return into the block may run out of fuel there): the sum of their
    // completions. (2) One side of a branch, each side entered by that branch alone: the branch's executions
    // less the other side's entries (both sides include entries fuel stopped on landing).
    const std::vector<std::uint32_t> jumps_in = jumps_into(source);
    entry_jumped_into_[linked.index] = size && jumps_in[0] != 0;
    std::vector<bool> only_jmps_in(size, true);
    for (const Instruction& in : source.code)
        if (is_branch(in.op)) only_jmps_in[static_cast<std::size_t>(in.operand)] = false;
    std::vector<std::optional<BlockDerivation>> way(size);
    for (std::size_t b = 1; b < size; ++b) {
        const Op before = source.code[b - 1].op;
        if (!leader[b] || !only_jmps_in[b] || is_branch(before) || info(before).flow == Flow::call) continue;
        way[b].emplace();
        if (!ends_flow(before)) way[b]->sources.push_back(first + static_cast<std::uint32_t>(b - 1));
    }
    for (std::size_t k = 0; k < size; ++k)
        if (const auto target = static_cast<std::size_t>(source.code[k].operand);
            info(source.code[k].op).flow == Flow::jump && way[target])
            way[target]->sources.push_back(first + static_cast<std::uint32_t>(k));
    for (auto& w : way)
        if (w && w->sources.empty()) w.reset();  // unreachable: leave it counted (at zero)
    for (std::size_t x = 0; x < size; ++x) {
        if (!is_branch(source.code[x].op)) continue;
        if (const PrivateSides sides = private_sides(source, jumps_in, x); sides.target && sides.fallthrough) {
            const auto target = static_cast<std::uint32_t>(source.code[x].operand);
            const auto next = static_cast<std::uint32_t>(x + 1);
            way[next] = BlockDerivation{{first + static_cast<std::uint32_t>(x)}, first + target};
            way[target] = BlockDerivation{{first + static_cast<std::uint32_t>(x)}, first + next};
        }
    }
    for (std::size_t b = 1; b < size; ++b)
        if (way[b]) ways_[first + b] = std::move(*way[b]);
}

// Which blocks are derived, over the whole program. Besides the ways mark_leaders found, (3) a function's
// entry (not main's, which the host enters, nor one a jump re-enters) is entered by the frames its call sites
// pushed: their completions, as a jump's (a call that raised pushed none). A block is derived unless a
// derived block already reads it (or it reads itself): a block with no reader cannot close a cycle, so the
// derivations form a DAG, evaluated in derivation_order_ (each after the blocks it reads). Function entries
// are considered first, callers before callees: each saves a count per call, and makes the call sites'
// blocks counted, which run no more often than the calls they make.
void Linker::choose_derivations() {
    const std::size_t functions = out_.functions_.size();
    std::vector<std::vector<std::uint32_t>> call_sites(functions);
    callees_.assign(functions, {});
    for (const LinkedFunction& f : out_.functions_) {
        for (std::size_t k = 0; k < f.source->code.size(); ++k) {
            const Instruction& in = f.source->code[k];
            if (in.op != Op::call) continue;
            const int callee = program_.find_function(program_.call_targets[static_cast<std::size_t>(in.operand)]);
            if (callee < 0) continue;  // a host function
            call_sites[static_cast<std::size_t>(callee)].push_back(f.first_instruction + static_cast<std::uint32_t>(k));
            callees_[f.index].push_back(static_cast<std::uint32_t>(callee));
        }
    }
    // Callers before callees: the reverse of a depth-first postorder from main, then from the functions main
    // never reaches (in a call graph without cycles, every caller comes before its callees).
    std::vector<std::uint32_t> postorder;
    std::vector<bool> visited(functions, false);
    std::vector<std::pair<std::uint32_t, std::size_t>> path;  // a function and its next callee to visit
    const int main = program_.find_function("main");
    std::vector<std::uint32_t> roots;
    if (main >= 0) roots.push_back(static_cast<std::uint32_t>(main));
    for (std::uint32_t f = 0; f < functions; ++f) roots.push_back(f);
    for (const std::uint32_t root : roots) {
        if (visited[root]) continue;
        visited[root] = true;
        path.emplace_back(root, 0);
        while (!path.empty()) {
            auto& [f, next] = path.back();
            if (next == callees_[f].size()) {
                postorder.push_back(f);
                path.pop_back();
            } else if (const std::uint32_t callee = callees_[f][next++]; !visited[callee]) {
                visited[callee] = true;
                path.emplace_back(callee, 0);
            }
        }
    }
    std::vector<std::uint32_t> candidates;  // leader ids, in the order they are considered
    std::vector<bool> is_candidate(ways_.size(), false);
    for (auto f = postorder.rbegin(); f != postorder.rend(); ++f) {
        const LinkedFunction& linked = out_.functions_[*f];
        if (static_cast<int>(*f) == main || linked.code.empty() || entry_jumped_into_[*f] || call_sites[*f].empty()) continue;
        ways_[linked.first_instruction] = BlockDerivation{call_sites[*f], BlockDerivation::kNone};
        candidates.push_back(linked.first_instruction);
        is_candidate[linked.first_instruction] = true;
    }
    for (std::uint32_t id = 0; id < ways_.size(); ++id)
        if (ways_[id] && !is_candidate[id]) candidates.push_back(id);

    std::vector<bool> read(ways_.size(), false);
    std::vector<std::uint32_t> level(ways_.size(), 0);  // 0: counted; else 1 + the highest level it reads
    std::vector<std::uint32_t> reads;
    for (const std::uint32_t b : candidates) {
        const BlockDerivation& way = *ways_[b];
        if (read[b]) continue;
        reads.clear();
        for (const std::uint32_t s : way.sources) reads.push_back(block_of_[s]);
        if (way.minus != BlockDerivation::kNone) reads.push_back(way.minus);
        if (std::find(reads.begin(), reads.end(), b) != reads.end()) continue;
        std::uint32_t highest = 0;
        for (const std::uint32_t r : reads) {
            read[r] = true;
            highest = std::max(highest, level[r]);
        }
        level[b] = highest + 1;
        out_.block_starts_[b] = BlockStart::derived;
        out_.derivations_[b] = way;
        out_.derivation_order_.push_back(b);
    }
    std::stable_sort(out_.derivation_order_.begin(), out_.derivation_order_.end(),
                     [&](std::uint32_t x, std::uint32_t y) { return level[x] < level[y]; });
    choose_residual();
    for (std::uint32_t id = 0; id < out_.code_.size(); ++id)
        if (out_.block_starts_[id] == BlockStart::counted) out_.code_[id].op = (out_.code_[id].op + kLeaderOpBase) & 0xFFu;
}

// The residual block (BlockStart::residual): a counted block in the most deeply nested loop (loops: the
// ranges a jump back spans), else in a function that calls itself, whose entries then follow from the
// instructions run. One more entry of it changes the derived blocks' counts too; its weight is the total
// that changes by, and must not be zero (or its count would not follow). A few candidates are tried, the
// likeliest to run most first.
void Linker::choose_residual() {
    const std::size_t size = out_.code_.size();
    std::vector<std::uint32_t> depth(size + 1, 0);  // loop depth, as differences (a prefix sum below)
    for (const LinkedFunction& f : out_.functions_)
        for (std::size_t k = 0; k < f.source->code.size(); ++k)
            if (const Instruction& in = f.source->code[k]; is_jump(in.op) && static_cast<std::size_t>(in.operand) <= k) {
                ++depth[f.first_instruction + static_cast<std::size_t>(in.operand)];
                --depth[f.first_instruction + k + 1];
            }
    for (std::size_t id = 1; id <= size; ++id) depth[id] += depth[id - 1];
    std::vector<bool> recursive(size, false);  // per instruction: its function calls itself
    for (const LinkedFunction& f : out_.functions_)
        if (std::ranges::find(callees_[f.index], f.index) != callees_[f.index].end())
            std::fill_n(recursive.begin() + f.first_instruction, f.code.size(), true);
    std::vector<std::uint32_t> candidates;
    for (std::uint32_t id = 0; id < size; ++id)
        if (out_.block_starts_[id] == BlockStart::counted && (depth[id] > 0 || recursive[id])) candidates.push_back(id);
    std::stable_sort(candidates.begin(), candidates.end(), [&](std::uint32_t x, std::uint32_t y) {
        return std::pair(depth[x], recursive[x]) > std::pair(depth[y], recursive[y]);
    });
    if (candidates.size() > 4) candidates.resize(4);
    std::vector<std::int64_t> entries(size, 0);  // per leader: entries per entry of the candidate
    for (const std::uint32_t candidate : candidates) {
        std::fill(entries.begin(), entries.end(), 0);
        entries[candidate] = 1;
        for (const std::uint32_t d : out_.derivation_order_) {
            const BlockDerivation& way = out_.derivations_.at(d);
            std::int64_t n = 0;
            for (const std::uint32_t s : way.sources) n += entries[block_of_[s]];
            entries[d] = way.minus == BlockDerivation::kNone ? n : n - entries[way.minus];
        }
        std::int64_t weight = 0;
        for (std::uint32_t id = 0; id < size; ++id) weight += entries[block_of_[id]];
        if (weight == 0) continue;
        out_.block_starts_[candidate] = BlockStart::residual;
        out_.residual_ = candidate;
        out_.residual_weight_ = weight;
        return;
    }
}

} // namespace opscope
