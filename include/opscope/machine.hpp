// Machine: everything about a VM that does not depend on the profiler policy — the loaded program and its
// linked form (built by the linker, linked.hpp), the value stack and frames, globals, natives, limits, the
// heap, and the out-of-line slow paths the interpreter calls (type errors, string work, allocation,
// printing). `Vm<Profiler>` (interpreter.hpp) adds only the interpreter loop on top.
//
// Threads: a VM is used by one thread at a time (see Machine); many VMs run at once, each on its own thread.
#pragma once

#include <opscope/errors.hpp>
#include <opscope/heap.hpp>
#include <opscope/linked.hpp>
#include <opscope/opcodes.hpp>
#include <opscope/program.hpp>
#include <opscope/value.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace opscope {

class Machine;

// A host function: receives the machine (for its heap) and its arguments, returns the result.
// Throw opscope::Fault (or any std::exception) to fail the program with a message.
using NativeFunction = std::function<Value(Machine&, std::span<const Value> args)>;

struct Limits {
    // Instructions one run may execute; 0 = unlimited. Charged a straight-line run at a time (the
    // instructions from where control lands through the next jump, branch, call, return or halt), when
    // control lands on it and before its first instruction starts: a run that does not fit the fuel left
    // stops the program there, so a run ends with at most `fuel` instructions executed, possibly fewer
    // (up to one run's length short). Exact at the threshold: a program that executes N instructions in
    // all runs with fuel N and fails with N - 1. fuel_used() says how many ran.
    std::uint64_t fuel = 0;
    std::uint32_t max_call_depth = 100000;   // frames, counting main
    std::uint32_t stack_slots = 1u << 22;    // values for all frames' locals and operands
    std::uint64_t heap_bytes = 0;            // live heap bytes after a collection; 0 = unlimited
    std::uint64_t output_bytes = 0;          // bytes `print` may write in one run; 0 = unlimited
};

struct Frame {
    const LinkedFunction* function;
    const Instr* pc;  // the instruction this frame is executing (a call, while a callee runs)
    Value* base;      // local 0; the callee's result replaces its first argument here
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

// One thread at a time: a VM (its run(), load() and every other member, its policy and its profile) is used
// by one thread at a time, except run_at_safe_point() (and Vm::snapshot() on it), which any thread may call
// while the VM runs. It may move between threads between runs, with the host's own synchronization (joining a
// thread, a mutex, a queue) ordering the two threads' uses. Many VMs may run at once, each on its own thread,
// and each sampling with its own timer. run() and load() enforce the rule: they throw
// std::logic_error, and leave the VM untouched, when the VM is already inside run() or load() on another
// thread, or on this one (a native that runs or loads the VM that is calling it).
class Machine {
public:
    // `link_options`: how the linker prepares loaded programs (Vm<P> derives them from P's hooks).
    explicit Machine(Limits limits = {}, LinkOptions link_options = {});
    virtual ~Machine();
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    // Natives must be registered before load(). `clock` and `sqrt` are built in.
    void register_native(std::string name, int arity, NativeFunction function);
    const std::vector<Native>& natives() const { return natives_; }

    bool loaded() const { return !linked_.functions().empty(); }
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

    // Instructions executed by the last run, however it ended (a faulting instruction counts, a run out of
    // fuel never started is not), when a fuel limit was set (else 0).
    std::uint64_t fuel_used() const { return fuel_used_; }

    // --- safe points: how another thread reaches a running VM (Vm::snapshot is built on them) ---
    // Runs `task` where this VM's state is consistent, from any thread, and returns once it ran: at once when
    // called from the VM's own thread (between runs, or from a native during a run) or when no run is in
    // progress (none starts until it returns); otherwise the running thread runs it at its next safe point
    // (see set_safe_point_interval), or when the run ends, while the calling thread waits. Tasks from several
    // threads run one at a time. During a run the task sees the frames live (live_frames()), and either a
    // native's call in progress or, at a safe point, control just landed on the top frame's pc (at_landing()).
    // The VM must outlive the call; a task must not run or load this VM.
    void run_at_safe_point(const std::function<void()>& task);
    // A run reaches a safe point at the first control transfer (jump, branch taken, call or return) after every
    // `instructions` instructions (default kDefaultSafePointInterval, about a millisecond): how long a task
    // from another thread may wait, besides a native that blocks. A safe point costs one out-of-line call,
    // whether or not a task waits; from the next run on.
    static constexpr std::uint32_t kDefaultSafePointInterval = 1u << 20;
    void set_safe_point_interval(std::uint32_t instructions);
    std::uint32_t safe_point_interval() const { return safe_point_interval_; }
    // At a safe point (a posted task, the fuel_refill hook): control landed on the top frame's pc, whose
    // straight-line run was charged and has not started.
    bool at_landing() const { return landing_cost_ != 0; }

    // --- for profiler policies ---
    // The loaded program's linked form: code, functions, block leaders and branch rules.
    const LinkedProgram& linked() const { return linked_; }
    // Frames live now, main first: during a run (from a native, or a policy hook) and in on_run_end. After a
    // `ret` from main none is live.
    std::span<const Frame> live_frames() const;
    RunEnd run_end() const { return run_end_; }
    // The fuel register as last saved (from a native, in on_run_end; hooks::call_fuel and return_fuel get it
    // live): it counts down a straight-line run at a time, when control lands on it, so it can be ahead of
    // what ran by the rest of the top frame's run: exact_fuel_register() corrects for that. It holds at most
    // the safe-point interval of the fuel left (the rest waits in a reserve), and each safe point refills it
    // (hooks::fuel_refill says by how much), so differences of two readings are instructions run only when no
    // refill came between: policies that keep readings across calls add each refill to them.
    std::int64_t fuel_register() const { return fuel_; }
    // The fuel register as if charged an instruction at a time: what the instructions run so far would leave
    // (the top frame's current instruction included: a native's call, a faulting instruction, a `halt`; when
    // out of fuel or at a landing, nothing of the run not started). Differences of two readings in one run
    // with no refill between are instructions run.
    std::int64_t exact_fuel_register() const;
    // The fuel left, as exact_fuel_register() counts it, reserve included: no refill changes it, so within a
    // run the difference of two readings is the instructions run between them.
    std::int64_t fuel_left() const { return exact_fuel_register() + fuel_reserve_; }
    // For RunEnd::out_of_fuel: the instruction whose control transfer ran out (the top frame's pc is where
    // control was going).
    const Instr* transfer_source() const { return transfer_source_; }
    // Written by the interpreter only for policies that sample, readable from a signal handler on the
    // running thread: the top frame (hooks::samples_stack, at calls and returns) and the instruction about to
    // run (hooks::samples_pc, every dispatch; else it stays null).
    struct SamplePoint {
        std::atomic<const Instr*> pc{nullptr};
        std::atomic<const Frame*> frame{nullptr};
    };
    const SamplePoint& sample_point() const { return sample_point_; }
    // The call trap: while it is set, every call and return runs the policy's on_trapped_call and
    // on_trapped_return (hooks.hpp); while it is clear they cost nothing, because a call then compares with a
    // limit it checks anyway (the call depth's) and a return with one it checks anyway (main's frame), moved
    // so that the check fails. Async-signal-safe, so a timer's handler may set it (a sampler's tick opening a
    // timeline window). const: it changes which hooks run, nothing of the program's run.
    void trap_calls(bool on) const noexcept;
    bool calls_trapped() const noexcept { return calls_trapped_.load(std::memory_order_relaxed); }
    const Frame* frame_stack() const { return frames_base_; }  // main's frame; live_frames() are its prefix
    // The deepest call depth (frames, main = 1) reached since the last forget_depth_reached(), at no cost per
    // call: a call writes its frame slot, and forgetting nulls the dead slots above the top frame, so the
    // slots reached since are a run ending at the first null slot. O(depth) each.
    std::size_t depth_reached() const;
    void forget_depth_reached() const;  // const: the slots it clears hold nothing live

protected:
    // Verifies (throws ProgramError) and links the program, creates its constants on the heap, and resets
    // globals. Creating the constants can fail (the heap limit, out of memory): that throws RuntimeError (empty
    // backtrace). Either way a load that throws leaves the loaded program, if any, loaded and unchanged; the
    // new program's constants are created while the old program's heap data is still live, so both count
    // against the heap limit then. Called by Vm<P>::load, which then tells the policy (hooks::load), so no
    // program reaches a VM without its policy knowing.
    void load(Program program);

    // Holds the VM for one run() or load() on this thread (see the class comment), until it goes out of
    // scope, also by an exception. Checked in every build, not only debug ones: it costs one compare-exchange
    // and one store per run() or load() (nanoseconds, uncontended), nothing per instruction.
    class Entry {
    public:
        explicit Entry(Machine& machine) : owner_(machine.owner_) {
            std::thread::id free{};
            if (!owner_.compare_exchange_strong(free, std::this_thread::get_id(), std::memory_order_acquire))
                entered_twice(free);
        }
        ~Entry() { owner_.store(std::thread::id{}, std::memory_order_release); }
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;

    private:
        std::atomic<std::thread::id>& owner_;
    };

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
    // Control landed on a straight-line run of `run_cost` instructions, from `transfer_source`, and the fuel
    // register, charged for it, went below zero: refills the register from the reserve and returns the amount
    // added, or (the budget is spent) stops the program out of fuel.
    std::int64_t refuel(const Instr* transfer_source, std::uint32_t run_cost);
    // After a refill: runs the task another thread posted, if any (the landing's run is not started).
    void serve_safe_point() {
        if (safe_point_posted_.load(std::memory_order_relaxed)) [[unlikely]] serve_posted_task();
        landing_cost_ = 0;
    }

    Program program_;
    LinkedProgram linked_;  // refers to program_'s functions
    std::vector<Value> constants_;
    std::vector<Value> loading_constants_;  // a program's constants while load() creates them (a heap root)
    std::vector<Value> globals_;
    std::vector<Native> natives_;
    std::int32_t main_index_ = -1;

    // The stacks start at page offsets chosen from this object's address (allocate_stacks): stack_ and
    // frames_ own the allocations, stack_base_ and frames_base_ are where the stacks begin in them.
    std::unique_ptr<Value[]> stack_;
    Value* stack_base_ = nullptr;
    Value* stack_end_ = nullptr;  // stack_base_ + stack_slots; the allocation has a frame's worth of slack past it
    struct FreeFrames {
        void operator()(Frame* frames) const { std::free(frames); }
    };
    std::unique_ptr<Frame[], FreeFrames> frames_;
    Frame* frames_base_ = nullptr;
    Frame* frames_end_ = nullptr;
    // What a trapping policy's calls and returns compare with (trap_calls): frames_end_ and frames_base_
    // while the trap is clear, frames_base_ and frames_end_ (every call and return fails its check) while set.
    mutable std::atomic<Frame*> call_limit_{nullptr};
    mutable std::atomic<Frame*> return_floor_{nullptr};
    mutable std::atomic<bool> calls_trapped_{false};

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
    std::uint64_t output_written_ = 0;  // by `print`, this run: output_bytes bounds it
    Heap heap_;

private:
    [[noreturn]] static void entered_twice(std::thread::id holder);  // the std::logic_error of Entry
    std::atomic<std::thread::id> owner_{};  // the thread inside run() or load(); std::thread::id{}: none
    static_assert(std::atomic<std::thread::id>::is_always_lock_free, "Entry must cost one atomic instruction");
    // `run_cost`: the run control landed on, charged and found not to fit (it is given back).
    [[noreturn]] void out_of_fuel(const Instr* transfer_source, std::uint32_t run_cost);
    void serve_posted_task();
    void run_posted_task();
    void set_up_run();  // begin_run's work, under the run lock
    void enter_run();  // the run lock: tasks from other threads now wait for a safe point
    void leave_run();  // runs a task still waiting, then lets tasks run on their own threads again
    std::optional<std::int32_t> native_index(std::string_view name) const;  // in natives_, by name
    LinkOptions link_options_;
    void allocate_stacks();
    std::pair<std::size_t, std::size_t> stack_page_offsets() const;  // of the value and frame stacks' starts
    std::int64_t fuel_budget() const;  // the fuel limit as a signed budget (limits above INT64_MAX clamp)
    std::string out_of_fuel_message(std::uint32_t run_cost) const;
    std::uint32_t allocated_stack_slots_ = 0;
    std::uint32_t allocated_frames_ = 0;

    // The fuel left is fuel_ + fuel_reserve_: the register holds at most the safe-point interval of it.
    std::int64_t fuel_reserve_ = 0;
    std::uint32_t safe_point_interval_ = kDefaultSafePointInterval;
    std::uint32_t landing_cost_ = 0;  // nonzero at a safe point: the landed run's cost
    // Tasks posted by other threads. `run_lock_` guards the rest; safe_point_posted_ is its lock-free hint.
    std::mutex run_lock_;
    std::condition_variable task_done_;
    bool running_ = false;
    struct PostedTask {
        const std::function<void()>* task;
        std::exception_ptr error{};
        bool done = false;
    };
    PostedTask* posted_ = nullptr;  // the one task waiting for a safe point
    std::atomic<bool> safe_point_posted_{false};
};

} // namespace opscope
