// Machine: everything about a VM that does not depend on the profiler policy — the loaded program in its
// linked (executable) form, the value stack and frames, globals, natives, limits, the heap, and the
// out-of-line slow paths the interpreter calls (type errors, string work, allocation, printing).
// `Vm<Profiler>` (vm.hpp) adds only the interpreter loop on top.
#pragma once

#include "errors.hpp"
#include "heap.hpp"
#include "opcodes.hpp"
#include "program.hpp"
#include "value.hpp"

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
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
    std::uint32_t op : 8;         // an Op, possibly internal
    std::uint32_t run_cost : 24;  // instructions from here through the next control transfer (for fuel)
    std::int32_t operand;         // jumps: relative to this instruction; call: function or native index
};
static_assert(sizeof(Instr) == 8);

struct LinkedFunction {
    const Function* source;   // name, arity, debug positions
    std::uint32_t index;      // in Program::functions
    std::uint32_t nargs;
    std::uint32_t nlocals;
    std::uint32_t frame_slots;  // nlocals + max_stack: checked once per call
    std::vector<Instr> code;
    std::size_t offset_of(const Instr* pc) const { return static_cast<std::size_t>(pc - code.data()); }
};

struct Frame {
    const LinkedFunction* function;
    const Instr* pc;  // the instruction this frame is executing (a call, while a callee runs)
    Value* base;      // local 0; the callee's result replaces its first argument here
};

struct Native {
    std::string name;
    int arity;
    NativeFunction function;
};

class Machine {
public:
    // `fuse`: let the linker fuse common sequences into superinstructions (invisible to programs).
    explicit Machine(Limits limits = {}, bool fuse = true);
    virtual ~Machine();
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    // Natives must be registered before load(). `clock` and `sqrt` are built in.
    void register_native(std::string name, int arity, NativeFunction function);
    const std::vector<Native>& natives() const { return natives_; }

    // Verifies (throws ProgramError) and links the program; resets globals.
    void load(Program program);
    bool loaded() const { return !functions_.empty(); }
    const Program& program() const { return program_; }

    void set_limits(const Limits& limits);
    const Limits& limits() const { return limits_; }

    // Where `print` writes (default std::cout).
    void set_output(std::ostream& out) { out_ = &out; }
    std::ostream& output() { return *out_; }

    Heap& heap() { return heap_; }
    Value make_string(std::string_view text) { return Value::string(heap_.new_string(text)); }

    // Globals persist across runs of one loaded program; load() resets them.
    void set_global(std::string_view name, Value value);  // the name must be one the program uses
    std::optional<Value> global(std::string_view name) const;

    // Instructions executed by the last run, when a fuel limit was set (else 0).
    std::uint64_t fuel_used() const { return fuel_used_; }

protected:
    // --- run lifecycle (called by Vm<P>::run) ---
    void begin_run();                          // sets up main's frame; charges its first run
    [[noreturn]] void fail(const std::exception& e);  // turns a fault into a RuntimeError; resets
    void end_run();

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
    [[noreturn]] void out_of_fuel();

    Program program_;
    std::vector<LinkedFunction> functions_;
    std::vector<Value> constants_;
    std::vector<Value> globals_;
    std::vector<Native> natives_;
    std::int32_t main_index_ = -1;

    std::unique_ptr<Value[]> stack_;
    Value* stack_end_ = nullptr;
    std::unique_ptr<Frame[]> frames_;
    Frame* frames_end_ = nullptr;

    // Interpreter registers, saved before every slow path so errors and the GC see the current state.
    // sp_ and frame_ are kept apart on purpose: adjacent, GCC's SLP vectoriser pairs their stores and then
    // carries both registers in one SSE register through the whole dispatch loop.
    Value* sp_ = nullptr;
    std::int64_t fuel_ = 0;
    Frame* frame_ = nullptr;
    std::uint64_t fuel_used_ = 0;

    Limits limits_;
    std::ostream* out_;
    Heap heap_;

private:
    void link();
    void fuse(LinkedFunction& function, const Function& source) const;
    bool fuse_;
    void allocate_stacks();
    std::int64_t fuel_budget() const;  // the fuel limit as a signed budget (limits above INT64_MAX clamp)
    std::uint32_t allocated_stack_slots_ = 0;
    std::uint32_t allocated_frames_ = 0;
};

} // namespace opscope
