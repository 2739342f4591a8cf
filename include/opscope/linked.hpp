// The linked program: the read-only form of a verified Program that the interpreter runs, built by the
// linker (vm/linker.cpp) when a program is loaded. It holds every function's code as 8-byte `Instr`s in one
// array (operands resolved, small ints quickened, natives called directly, common sequences fused, and, for
// policies that count basic-block entries, block leaders marked), and the facts about its blocks and
// branches that such policies derive their counts from. Policies read it through Machine::linked().
//
// Instruction ids number all functions' instructions in order: id = pc - code().data().
#pragma once

#include <opscope/opcodes.hpp>
#include <opscope/program.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace opscope {

// The interpreter's form of an instruction: 8 bytes, operand already resolved.
struct Instr {
    std::uint32_t op : 8;         // an Op, possibly internal; + kOpCount when it starts a basic block (see below)
    std::uint32_t run_cost : 24;  // instructions from here through the next control transfer (for fuel); the
                                  // word's top bits, so reading it is one shift (kMaxFunctionSize bounds it)
    std::int32_t operand;         // jumps: relative to this instruction; call: function or native index
};
static_assert(sizeof(Instr) == 8);

// When a policy counts basic-block entries, the linker marks each counted block's first instruction (a
// leader) by adding kOpCount to its op: the interpreter's leader handler counts the entry, then runs the
// plain body.
inline constexpr unsigned kLeaderOpBase = static_cast<unsigned>(kOpCount);
static_assert(2 * kOpCount <= 256, "leader variants must fit the 8-bit op field");
constexpr bool is_leader(const Instr& in) { return in.op >= kLeaderOpBase; }
constexpr Op op_of(const Instr& in) { return static_cast<Op>(is_leader(in) ? in.op - kLeaderOpBase : in.op); }

// A call reads its callee's row: 64 bytes (one cache line), so finding it is one shift of the index.
struct alignas(64) LinkedFunction {
    const Function* source;   // name, arity, user instructions, debug positions
    std::uint32_t index;      // in Program::functions
    std::uint32_t nargs;
    std::uint32_t nlocals;
    std::uint32_t nil_locals;   // nlocals - nargs: the locals a call sets to nil
    std::uint32_t frame_slots;  // nlocals + max_stack: checked once per call
    std::uint32_t entry_cost;   // code[0].run_cost: a call charges it without waiting to load code[0]
    std::uint32_t first_instruction;  // the id of offset 0
    std::span<Instr> code;            // this function's part of LinkedProgram::code()
    std::size_t offset_of(const Instr* pc) const { return static_cast<std::size_t>(pc - code.data()); }
    std::uint32_t instruction_id(const Instr* pc) const {
        return first_instruction + static_cast<std::uint32_t>(pc - code.data());
    }
};
static_assert(sizeof(LinkedFunction) == 64);

// How a branch's taken count follows from block entries (LinkedProgram::taken_rule): its target's block is
// entered only by this branch jumping, or its fall-through block only by it not jumping; otherwise the
// interpreter reports it taken: the linker makes it a jz_counted/jnz_counted (hooks::counted_branch).
enum class TakenRule : std::uint8_t { not_a_branch, target_entries, executed_minus_fallthrough, counted };

// How a basic block's entry count is known (LinkedProgram::block_start), when leaders are marked: the
// leader handler counts it, or it is derived from counts taken elsewhere (LinkedProgram::derivation). Fewer
// counted blocks is less work per instruction: the commonest loop shape (condition at the bottom, entered
// by one `jmp`) counts one block per iteration, a two-way branch whose sides are entered by it alone
// counts one side, and a function called from the program counts nothing at its entry. One block per
// program, the residual, is not counted either: the others' counts fix every instruction's count but its
// own, and the instructions the recording ran in all (Machine::fuel_left readings) fix that one too. The
// linker picks a block in the most deeply nested loop, so a program with one hot loop counts nothing in it.
enum class BlockStart : std::uint8_t { none, counted, derived, residual };
// A derived block's entries: the completions of `sources` (their executions less their faults; a `jmp` to
// the block, the plain instruction falling into it, the branch it is a side of, or, for a function's entry,
// the calls of it) less the entries of `minus` (the branch's other side, when there is one). Each names an
// instruction id in a counted block or in a derived one earlier in LinkedProgram::derivation_order().
struct BlockDerivation {
    static constexpr std::uint32_t kNone = ~std::uint32_t{0};
    std::vector<std::uint32_t> sources;
    std::uint32_t minus = kNone;
};

struct LinkOptions {
    bool fuse = true;           // superinstructions (off for policies that see every instruction)
    bool mark_leaders = false;  // block leaders and counted branches (for policies counting block entries)
};

class LinkedProgram {
public:
    LinkedProgram() = default;
    // Functions' code spans point into code_: moving keeps them valid, copying would not.
    LinkedProgram(LinkedProgram&&) = default;
    LinkedProgram& operator=(LinkedProgram&&) = default;
    LinkedProgram(const LinkedProgram&) = delete;
    LinkedProgram& operator=(const LinkedProgram&) = delete;

    // Index = Program::functions index.
    const std::vector<LinkedFunction>& functions() const { return functions_; }
    std::span<const Instr> code() const { return code_; }
    std::uint32_t instruction_count() const { return static_cast<std::uint32_t>(code_.size()); }
    // The function holding a linked instruction (linear in the number of functions: not for hot paths).
    const LinkedFunction* function_of(const Instr* pc) const;

    // Per instruction id, when leaders are marked (else not_a_branch, none, null).
    TakenRule taken_rule(std::size_t id) const {
        return id < taken_rules_.size() ? taken_rules_[id] : TakenRule::not_a_branch;
    }
    BlockStart block_start(std::size_t id) const {
        return id < block_starts_.size() ? block_starts_[id] : BlockStart::none;
    }
    const BlockDerivation* derivation(std::size_t id) const {
        const auto found = derivations_.find(static_cast<std::uint32_t>(id));
        return found == derivations_.end() ? nullptr : &found->second;
    }
    // The derived leaders, each after every block its derivation reads.
    const std::vector<std::uint32_t>& derivation_order() const { return derivation_order_; }
    // The residual leader (BlockStart::residual; BlockDerivation::kNone if none), and the instructions one
    // more entry of it adds to the whole count (its block's, and those of the blocks derived from it).
    std::uint32_t residual() const { return residual_; }
    std::int64_t residual_weight() const { return residual_weight_; }

private:
    friend class Linker;
    std::vector<LinkedFunction> functions_;
    std::vector<Instr> code_;
    std::vector<TakenRule> taken_rules_;
    std::vector<BlockStart> block_starts_;
    std::unordered_map<std::uint32_t, BlockDerivation> derivations_;
    std::vector<std::uint32_t> derivation_order_;
    std::uint32_t residual_ = BlockDerivation::kNone;
    std::int64_t residual_weight_ = 0;
};

// The index of the host function named `name` (call_native's operand), if there is one.
using NativeIndex = std::function<std::optional<std::int32_t>(std::string_view name)>;

// Links a verified program. The result refers to `program`'s functions: keep the Program alive and in
// place (moving the Program moves its functions' storage with it, so references stay valid).
LinkedProgram link(const Program& program, const NativeIndex& native_index, LinkOptions options);

} // namespace opscope
