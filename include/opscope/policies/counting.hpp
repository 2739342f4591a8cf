// CountingProfiler: exact counts for almost nothing, by counting basic-block entries (Ball & Larus).
//
// While running it does two things only: one counter increment per counted block entered (on_block_entry;
// blocks whose entries follow from other counts are derived instead, see BlockStart), and one add per
// conditional jump whose taken count the block counts cannot give (on_counted_branch; most branches need
// none). The maximum call depth is read off the frame stack when recording ends
// (Machine::depth_reached()). Everything
// else — per instruction, opcode, line, function, call edge, opcode pair, stack effects, loops — is derived
// in profile_into() from those counters and the opcode table, and reconciled with the frames left live
// where recording stopped (a fault, `halt`, or stop()), so every figure is exact and in terms of the
// program's own instructions, whatever the interpreter fused.
//
// InclusiveCountingProfiler (below) adds exact inclusive instructions per call site (and so per call edge and
// function). They cost every call and return (about 10 machine instructions the pair: +9% on fib), more
// than Counting's budget on call-heavy code, so they are a policy of their own that a user asks for
// (`--inclusive`, and callgrind's export, whose calls= lines need them). At each call and return it
// adds the fuel register to, and subtracts it from, the call site's counter (on_call_fuel, on_return_fuel:
// one add each, no stack of its own; the sum of (entry - exit) over a site's calls is what they executed).
// Per function, an activation inside another of the same function counts once (as callgrind does): a
// function no other function calls back (no cycle through two or more functions in the program's static call
// graph) is entered outermost exactly by the calls from other functions, so its inclusive is theirs, summed
// in profile_into; only in a program with such a cycle (mutual recursion) does every call and return take an
// out-of-line path, which for the calls into a function on the cycle counts its live activations and adds the
// fuel at the outermost entry and exit.
//
// Recording can pause: stop() and start() move counters between "live" (always incremented) and
// "recorded" (closed intervals), so pausing costs nothing per instruction. A new program (on_load) starts
// the profile afresh.
#pragma once

#include <opscope/policy.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace opscope {

class CountingProfiler {
public:
    static constexpr std::string_view name = "counting";
    CountingProfiler() = default;

    // --- hooks (hot: inline and minimal) ---
    // Under clang a leader finds its counter through this thread's running_block_delta_, not through the
    // policy: with the policy's member, clang kept `this` in a register for the leaders and the fuel counter
    // on the stack, a load and a store at every jump, call and return of every policy's loop (BENCHMARKS.md
    // section 9). g++ keeps fuel in a register either way, and the member is one load where the thread-local
    // is two in position-independent code.
    void on_block_entry(const Instr* leader) {
#if defined(__clang__)
        ++*counter(leader, running_block_delta_);
#else
        ++*counter(leader, block_delta_);
#endif
    }
    void on_counted_branch(const Instr* at, bool taken) { *counter(at, taken_delta_) += taken ? 1u : 0u; }
    void on_load(const Machine& machine);  // sizes the counters for the new program (and zeroes them)
    void on_run_begin(const Machine& machine);
    void on_run_end(const Machine& machine);
    // While this VM's loop runs on the thread, the thread's running_block_delta_ is its block_delta_; a native
    // may run another VM's loop inside it, which puts this one's back when it stops.
    void on_loop_enter() {
        outer_block_delta_ = running_block_delta_;
        running_block_delta_ = block_delta_;
    }
    void on_loop_exit() { running_block_delta_ = outer_block_delta_; }

    // --- lifecycle ---
    void reset();
    void start(const Machine& machine);
    void stop(const Machine& machine);
    bool recording() const { return recording_; }
    void profile_into(Profile& out, const Machine& machine) const;
    // Vm::snapshot: stop, profile_into, reset and start, except that a transition from one instruction to the
    // next across the boundary (an opcode pair) counts in the later interval rather than in neither.
    void split(Profile& out, const Machine& machine);

    // Per program-wide instruction id: how often it executed while recording (exact). For other policies
    // that build on the counts (timing means, tests).
    std::vector<std::uint64_t> instruction_counts(const Machine& machine) const;

protected:
    struct with_inclusive_instructions {};
    explicit CountingProfiler(with_inclusive_instructions) : inclusive_(true) {}

    // A counter table is indexed like LinkedProgram::code(), and counters are as wide as instructions, so an
    // instruction's counter sits at a fixed byte distance from the instruction: one add, no index arithmetic.
    static_assert(sizeof(Instr) == sizeof(std::uint64_t));
    static std::uint64_t* counter(const Instr* at, std::uintptr_t delta) {
        return reinterpret_cast<std::uint64_t*>(reinterpret_cast<std::uintptr_t>(at) + delta);
    }

private:
    using Clock = std::chrono::steady_clock;
    // Accounts for the frames live at a recording boundary: `sign` -1 when recording ends there, +1 when
    // it begins (see counting.cpp).
    void reconcile(const Machine& machine, int sign, bool run_ended);
    void fold_live_into_recorded();
    struct Counts {
        std::vector<std::uint64_t> executed;  // per instruction id, while recording
        std::vector<std::uint64_t> entered;   // per leader id: control reached it (fuel landings included)
    };
    Counts derive_counts(const Machine& machine) const;
    // The instructions the recording ran (LinkedProgram::residual's entries follow from them), in the terms
    // of the counts: mid-run, the blocks the live frames are in count as run to their ends.
    std::uint64_t instructions_run(const Machine& machine) const;
    struct Groups;  // profile_into: what it reads, derived once, and one function per Profile group

protected:
    // Inclusive instructions, as sums of fuel readings (wrapping: only their differences mean anything).
    struct CallCosts {
        std::vector<std::uint64_t> site;      // per instruction id (a call): sum of entry - exit fuel
        std::vector<std::uint64_t> function;  // per function on a call cycle: outermost entry - exit
    };

private:
    // The frames live now (`machine`'s) enter (`sign` +1: recording begins) or leave (-1) `costs` at `fuel`.
    void account_live_calls(const Machine& machine, CallCosts& costs, int sign, std::int64_t fuel) const;
    void find_call_cycles(const Machine& machine);
    void adjust_pair(Op first, Op second, std::int64_t delta) { pair_delta_[{first, second}] += delta; }

    // Live counters, incremented whether or not recording; indexed by program-wide instruction id.
    std::vector<std::uint64_t> block_entries_, branch_taken_;
    // Their values at the last start(), and the sums of the closed recording intervals.
    std::vector<std::uint64_t> block_base_, taken_base_, block_recorded_, taken_recorded_;
    // Exact corrections for blocks entered but not finished (or finished but not entered) while recording.
    std::vector<std::int64_t> instruction_delta_;
    std::map<std::pair<Op, Op>, std::int64_t> pair_delta_;
    std::vector<std::uint32_t> failed_calls_;   // call sites whose call raised before pushing a frame
    std::vector<std::uint32_t> fuel_landings_;  // leaders control reached when fuel ran out or recording stopped (not run)
    // Leaders a safe point's boundary fell on, landed before it and entered after: their entry belongs to
    // the interval that closed (fuel_landings_ there), their instructions to this one.
    std::vector<std::uint32_t> resumed_landings_;
    bool splitting_ = false;  // in split(): boundary pairs move to the next interval
    std::vector<std::uint32_t> fault_sites_;    // instructions that raised (they never reach the next one)

    // Live call costs (always written; sized only with inclusive_) and, while paused, their values when
    // recording stopped.
    CallCosts costs_at_stop_;
    std::vector<std::uint8_t> cyclic_;    // per instruction id: 1 for a call into a function on a cycle
    std::vector<bool> on_cycle_;          // per function
    std::uint64_t start_unix_ns_ = 0;     // CLOCK_REALTIME when the first recorded run began (0: none yet)
    const Machine* machine_ = nullptr;    // during a run

    std::uintptr_t block_delta_ = 0, taken_delta_ = 0;  // counter tables' distance from LinkedProgram::code()
    std::uintptr_t outer_block_delta_ = 0;              // the thread's running_block_delta_ when this loop began
    // block_delta_ of the VM whose loop runs on this thread (on_loop_enter). Initial-exec: the leaders read it
    // straight off the thread pointer, even from the C API's shared library.
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((tls_model("initial-exec")))
#endif
    static inline thread_local std::uintptr_t running_block_delta_ = 0;
    bool recording_ = true;
    bool in_run_ = false;
    std::uint64_t runs_ = 0;               // main entries while recording
    std::uint64_t halt_frames_popped_ = 0;
    std::uint64_t max_call_depth_ = 0;
    std::uint64_t wall_ns_ = 0;
    Clock::time_point interval_start_{};
    std::uint64_t instructions_recorded_ = 0;  // by the closed recording intervals
    std::int64_t fuel_left_at_start_ = 0;      // Machine::fuel_left() when the open one began

protected:  // what InclusiveCountingProfiler's hooks write
    // The fuel register jumped up by `added`: the live calls' entry readings move with it.
    void fuel_refilled(const Machine& machine, std::int64_t added) { account_live_calls(machine, costs_, +1, added); }
    bool inclusive_ = false;  // set only by InclusiveCountingProfiler
    CallCosts costs_;
    bool cycles_ = false;                // the program has calls into a function on a cycle (slow path)
    std::uintptr_t site_cost_delta_ = 0;  // costs_.site's distance from LinkedProgram::code()
    const Instr* bound_code_ = nullptr;   // the code the counter tables were sized for (on_load)
    std::vector<std::uint32_t> active_;  // per function on a cycle: its live activations
    void cyclic_call(const Instr* site, std::int64_t fuel);
    void cyclic_return(const Instr* site, std::int64_t fuel);
};

// CountingProfiler plus exact inclusive instructions per call site, call edge and function (see above): the
// same profile with `inclusive_instructions` filled, for the price of two hooks per call.
class InclusiveCountingProfiler : public CountingProfiler {
public:
    InclusiveCountingProfiler() : CountingProfiler(with_inclusive_instructions{}) {}

    void on_call_fuel(const Instr* site, std::int64_t fuel) {
        *counter(site, site_cost_delta_) += static_cast<std::uint64_t>(fuel);
        if (cycles_) [[unlikely]] cyclic_call(site, fuel);
    }
    void on_return_fuel(const Instr* site, std::int64_t fuel) {
        *counter(site, site_cost_delta_) -= static_cast<std::uint64_t>(fuel);
        if (cycles_) [[unlikely]] cyclic_return(site, fuel);
    }
    void on_fuel_refill(const Machine& machine, std::int64_t added) { fuel_refilled(machine, added); }
};

} // namespace opscope
