// Machine: everything about a VM that does not depend on the profiler policy — the loaded program in its
// linked (executable) form, the value stack and frames, globals, natives, limits, the heap, and the
// out-of-line slow paths the interpreter calls (type errors, string work, allocation, printing).
// `Vm<Profiler>` (vm.hpp) adds only the interpreter loop on top.
#pragma once

#include <opscope/errors.hpp>
#include <opscope/heap.hpp>
#include <opscope/opcodes.hpp>
#include <opscope/program.hpp>
#include <opscope/value.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace opscope {

class Machine;

// A host function: receives the machine (for its heap) and its arguments, returns the result.
// Throw opscope::Fault (or any std::exception) to fail the program with a message.
using NativeFunction = std::function<Value(Machine&, std::span<const Value> args)>;

struct Limits {
    std::uint64_t fuel = 0;                  // instructions one run may execute; 0 = unlimited
    std::uint32_t max_call_depth = 100000;   // frames, counting main
    std::uint32_t stack_slots = 1u << 22;    // values for all frames' locals and operands
    std::uint64_t heap_bytes = 0;            // live heap bytes after a collection; 0 = unlimited
};

// The interpreter's form of an instruction: 8 bytes, operand already resolved.
struct Instr {
    std::uint32_t op : 8;         // an Op, possibly internal; + kOpCount when it starts a basic block (see below)
    std::uint32_t run_cost : 23;  // instructions from here through the next control transfer (for fuel)
    std::int32_t operand;         // jumps: relative to this instruction; call: function or native index
};
static_assert(sizeof(Instr) == 8);

// When a policy counts basic-block entries, the linker marks each block's first instruction (a leader) by
// adding kOpCount to its op: the interpreter's leader handler counts the entry, then runs the plain body.
inline constexpr unsigned kLeaderOpBase = static_cast<unsigned>(kOpCount);
static_assert(2 * kOpCount <= 256, "leader variants must fit the 8-bit op field");
constexpr bool is_leader(const Instr& in) { return in.op >= kLeaderOpBase; }
constexpr Op op_of(const Instr& in) { return static_cast<Op>(is_leader(in) ? in.op - kLeaderOpBase : in.op); }

struct LinkedFunction {
    const Function* source;   // name, arity, debug positions
    std::uint32_t index;      // in Program::functions
    std::uint32_t nargs;
    std::uint32_t nlocals;
    std::uint32_t frame_slots;  // nlocals + max_stack: checked once per call
    std::uint32_t entry_cost;   // code[0].run_cost: a call charges it without waiting to load code[0]
    std::uint32_t first_instruction;  // program-wide id of offset 0 (ids number all functions' code in order)
    std::span<Instr> code;            // this function's part of Machine::code(): all code is one array
    std::size_t offset_of(const Instr* pc) const { return static_cast<std::size_t>(pc - code.data()); }
    std::uint32_t instruction_id(const Instr* pc) const {
        return first_instruction + static_cast<std::uint32_t>(pc - code.data());
    }
};

struct Frame {
    const LinkedFunction* function;
    const Instr* pc;  // the instruction this frame is executing (a call, while a callee runs)
    Value* base;      // local 0; the callee's result replaces its first argument here
};

// How a branch's taken count follows from block entries (Machine::taken_rule): its target's block is
// entered only by this branch jumping, or its fall-through block only by it not jumping; otherwise the
// interpreter reports it taken: the linker makes it a jz_counted/jnz_counted (hooks::counted_branch).
enum class TakenRule : std::uint8_t { not_a_branch, target_entries, executed_minus_fallthrough, counted };

// How a basic block's entry count is known (Machine::block_start), when leaders are marked: the leader
// handler counts it, or it is derived from counts taken elsewhere (Machine::derivation). Fewer counted
// blocks is less work per instruction: the commonest loop shape (condition at the bottom, entered by one
// `jmp`) counts one block per iteration, and a two-way branch whose sides are entered by it alone counts
// one side.
enum class BlockStart : std::uint8_t { none, counted, derived };
// A derived block's entries: the completions of `sources` (their executions less their faults; a `jmp` to
// the block, the plain instruction falling into it, or the branch it is a side of) less the entries of
// `minus` (the branch's other side, when there is one). Each names a program-wide instruction id in a
// counted block.
struct BlockDerivation {
    static constexpr std::uint32_t kNone = ~std::uint32_t{0};
    std::vector<std::uint32_t> sources;
    std::uint32_t minus = kNone;
};

// How the last run ended, for policies that reconcile their counts with the frames left live.
enum class RunEnd : std::uint8_t {
    running,
    returned,      // `ret` from main: no frame is live
    halted,        // `halt`: the frames left live are popped by it
    fault,         // a runtime error in the top frame's current instruction (which did start)
    out_of_fuel,   // fuel ran out on a control transfer, before the top frame's current instruction started
};

struct Native {
    std::string name;
    int arity;
    NativeFunction function;
};

class Machine {
public:
    // `fuse`: let the linker fuse common sequences into superinstructions (invisible to programs).
    // `mark_leaders`: mark basic-block leaders in the linked code (for policies counting block entries).
    explicit Machine(Limits limits = {}, bool fuse = true, bool mark_leaders = false);
    virtual ~Machine();
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    // Natives must be registered before load(). `clock` and `sqrt` are built in.
    void register_native(std::string name, int arity, NativeFunction function);
    const std::vector<Native>& natives() const { return natives_; }

    bool loaded() const { return !functions_.empty(); }
    const Program& program() const { return program_; }

    void set_limits(const Limits& limits);
    const Limits& limits() const { return limits_; }

    // Where `print` writes (default std::cout).
    void set_output(std::ostream& out) { out_ = &out; }
    std::ostream& output() { return *out_; }

    Heap& heap() { return heap_; }
    const Heap& heap() const { return heap_; }
    Value make_string(std::string_view text) { return Value::string(heap_.new_string(text)); }

    // Globals persist across runs of one loaded program; load() resets them.
    void set_global(std::string_view name, Value value);  // the name must be one the program uses
    std::optional<Value> global(std::string_view name) const;

    // Instructions executed by the last run, when a fuel limit was set (else 0).
    std::uint64_t fuel_used() const { return fuel_used_; }

    // --- for profiler policies ---
    // The linked functions (index = Program::functions index) and the program-wide instruction count.
    const std::vector<LinkedFunction>& linked_functions() const { return functions_; }
    std::uint32_t instruction_count() const { return instruction_count_; }
    // All linked code, functions in order: instruction id = pc - code().data(). Policies index per-instruction
    // tables by address difference from it.
    std::span<const Instr> code() const { return code_; }
    // Frames live now, main first: during a run (from a native, or a policy hook) and in on_run_end. After a
    // `ret` from main none is live.
    std::span<const Frame> live_frames() const;
    RunEnd run_end() const { return run_end_; }
    // For RunEnd::out_of_fuel: the instruction whose control transfer ran out (the top frame's pc is where
    // control was going).
    const Instr* transfer_source() const { return transfer_source_; }
    // The function holding a linked instruction (linear in the number of functions: not for hot paths).
    const LinkedFunction* function_of(const Instr* pc) const;
    // Per instruction id, when leaders are marked.
    TakenRule taken_rule(std::size_t id) const { return id < taken_rules_.size() ? taken_rules_[id] : TakenRule::not_a_branch; }
    BlockStart block_start(std::size_t id) const { return id < block_starts_.size() ? block_starts_[id] : BlockStart::none; }
    // For a derived block's leader (else null).
    const BlockDerivation* derivation(std::size_t id) const {
        const auto found = derivations_.find(static_cast<std::uint32_t>(id));
        return found == derivations_.end() ? nullptr : &found->second;
    }

    // Written by the interpreter only for policies that sample, readable from a signal handler on the
    // running thread: the top frame (hooks::samples_stack, at calls and returns) and the instruction about to
    // run (hooks::samples_pc, every dispatch; else it stays null).
    struct SamplePoint {
        std::atomic<const Instr*> pc{nullptr};
        std::atomic<const Frame*> frame{nullptr};
    };
    const SamplePoint& sample_point() const { return sample_point_; }
    const Frame* frame_stack() const { return frames_.get(); }  // main's frame; live_frames() are its prefix
    // The deepest call depth (frames, main = 1) reached since the last forget_depth_reached(), at no cost per
    // call: a call writes its frame slot, and forgetting nulls the dead slots above the top frame, so the
    // slots reached since are a run ending at the first null slot. O(depth) each.
    std::size_t depth_reached() const;
    void forget_depth_reached() const;  // const: the slots it clears hold nothing live

protected:
    // Verifies (throws ProgramError) and links the program; resets globals. Called by Vm<P>::load, which
    // then tells the policy (hooks::load), so no program reaches a VM without its policy knowing.
    void load(Program program);

    // --- run lifecycle (called by Vm<P>::run) ---
    void begin_run();                          // sets up main's frame; charges its first run
    [[noreturn]] void fail(const std::exception& e);  // turns a fault into a RuntimeError; resets
    void end_run();
    void note_fault() { if (run_end_ == RunEnd::running) run_end_ = RunEnd::fault; }

    // --- slow paths, out of line; each may throw Fault ---
    void arithmetic(Op op, Value& a, const Value& b);  // a = a op b (not for the int fast paths)
    void negate(Value& a);
    bool compare(Op op, const Value& a, const Value& b);  // lt le gt ge
    [[noreturn]] void undefined_global(std::int32_t index);
    Value new_array(const Value& length);
    Value array_get(const Value& array, const Value& index);
    void array_set(const Value& array, const Value& index, const Value& value);
    Value length(const Value& v);
    void print(const Value& v);
    Value call_native(std::int32_t index, Value* args);
    [[noreturn]] void call_overflow(const Frame* frame, const LinkedFunction& callee);
    [[noreturn]] void out_of_fuel(const Instr* transfer_source);

    Program program_;
    std::vector<LinkedFunction> functions_;
    std::vector<Instr> code_;
    std::vector<Value> constants_;
    std::vector<Value> globals_;
    std::vector<Native> natives_;
    std::int32_t main_index_ = -1;

    std::unique_ptr<Value[]> stack_;
    Value* stack_end_ = nullptr;
    struct FreeFrames {
        void operator()(Frame* frames) const { std::free(frames); }
    };
    std::unique_ptr<Frame[], FreeFrames> frames_;
    Frame* frames_end_ = nullptr;

    // Interpreter registers, saved before every slow path so errors and the GC see the current state.
    // sp_ and frame_ are kept apart on purpose: adjacent, GCC's SLP vectoriser pairs their stores and then
    // carries both registers in one SSE register through the whole dispatch loop.
    Value* sp_ = nullptr;
    std::int64_t fuel_ = 0;
    Frame* frame_ = nullptr;
    std::uint64_t fuel_used_ = 0;
    RunEnd run_end_ = RunEnd::returned;
    const Instr* transfer_source_ = nullptr;
    SamplePoint sample_point_;

    Limits limits_;
    std::ostream* out_;
    Heap heap_;

private:
    void link();
    void fuse(LinkedFunction& function, const Function& source) const;
    void assign_taken_rules(LinkedFunction& function, const Function& source);
    void mark_leaders(LinkedFunction& function, const Function& source);
    bool fuse_;
    bool mark_leaders_;
    std::uint32_t instruction_count_ = 0;
    std::uint64_t load_generation_ = 0;
    std::vector<TakenRule> taken_rules_;
    std::vector<BlockStart> block_starts_;
    std::unordered_map<std::uint32_t, BlockDerivation> derivations_;
    void allocate_stacks();
    std::int64_t fuel_budget() const;  // the fuel limit as a signed budget (limits above INT64_MAX clamp)
    std::uint32_t allocated_stack_slots_ = 0;
    std::uint32_t allocated_frames_ = 0;
};

} // namespace opscope
