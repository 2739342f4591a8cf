// The interpreter's hook points: one list, OPSCOPE_HOOKS, from which the hook concepts (here), the
// ProfilerPolicy signature checks and Compose's forwarding members (policy.hpp) are all derived.
//
// A profiler policy declares any subset of these member functions; Vm<P> calls each one under
// `if constexpr` (OPSCOPE_HOOK in interpreter.hpp), so an undeclared hook costs nothing — NullProfiler
// declares none and the interpreter compiles to the same code as one without hooks. Hooks run on the
// interpreter's thread.
//
// Adding a hook: a row here, its call site in Vm<P> (interpreter.hpp), and its name in README's "Writing a
// policy". Naming: `hooks::X` is the concept for member `on_X` (a trailing '_', as in `return_`, only
// avoids a C++ keyword).
#pragma once

#include <opscope/machine.hpp>

#include <cstddef>
#include <cstdint>

// X(hook, member, (parameters), (arguments), meaning): `hooks::hook` is the concept for the member function
// `member`; the arguments are the parameters' names, in order.
#define OPSCOPE_HOOKS(X)                                                                                           \
    X(load, on_load, (const Machine& machine), (machine),                                                          \
      "Vm::load linked a new program: size the tables for it; a new program starts the profile afresh")            \
    X(run_begin, on_run_begin, (const Machine& machine), (machine),                                                \
      "before main's first instruction")                                                                           \
    X(run_end, on_run_end, (const Machine& machine), (machine),                                                    \
      "after the program ends, normally or by a fault; Machine::live_frames() are the frames left live")           \
    X(loop_enter, on_loop_enter, (), (),                                                                           \
      "after on_run_begin, the loop is about to run on this thread: set what the hot hooks read without the "     \
      "policy (thread-local state); must not throw. A native may run another VM's loop on the same thread "       \
      "inside this one: keep what was there, for on_loop_exit")                                                    \
    X(loop_exit, on_loop_exit, (), (),                                                                             \
      "the loop stopped, by returning or by an exception, before on_run_end: put back what on_loop_enter found")  \
    X(instruction, on_instruction, (const LinkedFunction& function, std::size_t offset, Op op),                    \
      (function, offset, op),                                                                                      \
      "every instruction; costly (prefer blocks), and the linker then fuses nothing")                              \
    X(call, on_call,                                                                                               \
      (const LinkedFunction* caller, std::size_t offset, const LinkedFunction& callee, std::size_t depth),         \
      (caller, offset, callee, depth),                                                                             \
      "a frame push (caller null for main, else the call is at `offset` in it); depth after the push")             \
    X(return_, on_return, (const LinkedFunction& function, std::size_t depth), (function, depth),                  \
      "a frame pop by `ret`; depth before the pop")                                                                \
    X(trapped_call, on_trapped_call,                                                                               \
      (const LinkedFunction* caller, std::size_t offset, const LinkedFunction& callee, std::size_t depth),         \
      (caller, offset, callee, depth),                                                                             \
      "as on_call, but only while Machine::calls_trapped(): costs a call nothing while the trap is clear")         \
    X(trapped_return, on_trapped_return, (const LinkedFunction& function, std::size_t depth), (function, depth),  \
      "as on_return, but only while Machine::calls_trapped(): costs a return nothing while the trap is clear")     \
    X(call_fuel, on_call_fuel, (const Instr* site, std::int64_t fuel), (site, fuel),                               \
      "after on_call: the call at `site` (an instruction of Machine::linked().code()) pushed its frame; `fuel` is "  \
      "the fuel register, which counts down every instruction run so far (this call included, none of the callee)") \
    X(return_fuel, on_return_fuel, (const Instr* site, std::int64_t fuel), (site, fuel),                           \
      "a `ret` other than main's returned to the call at `site`; `fuel` as for call_fuel (the `ret` included, "     \
      "nothing after it): the difference of the two is what the call executed, exactly")                           \
    X(fuel_refill, on_fuel_refill, (const Machine& machine, std::int64_t added), (machine, added),                 \
      "at a safe point the fuel register was refilled: it jumped up by `added` (readings of call_fuel and "          \
      "return_fuel taken before and after differ by that much more than what ran)")                                 \
    X(halt, on_halt, (std::size_t depth), (depth),                                                                 \
      "`halt` with `depth` frames still live")                                                                     \
    X(native, on_native, (const Native& host), (host),                                                             \
      "a host function is called")                                                                                 \
    X(branch, on_branch, (const LinkedFunction& function, const Instr* at, bool taken), (function, at, taken),     \
      "the jz/jnz at `at` decided (its offset: function.offset_of(at))")                                           \
    X(block_entry, on_block_entry, (const Instr* leader), (leader),                                                \
      "a basic block is entered at `leader`, an instruction of Machine::linked().code() (its id: leader - code().data()); " \
      "declaring the hook makes the linker mark leaders")                                                          \
    X(counted_branch, on_counted_branch, (const Instr* at, bool taken), (at, taken),                               \
      "only the branches the linker made jz_counted/jnz_counted: those whose taken count block entries cannot give")

// `P& policy, PARAMETERS` for a requires-expression (a hook without parameters gives `P& policy`).
#define OPSCOPE_HOOK_POLICY_AND(...) P& policy __VA_OPT__(, ) __VA_ARGS__

namespace opscope::hooks {

// hooks::X<P>: P has the hook `on_X` callable with these parameters.
#define OPSCOPE_HOOK_CONCEPT(hook, member, parameters, arguments, meaning) \
    template <class P>                                                     \
    concept hook = requires(OPSCOPE_HOOK_POLICY_AND parameters) { policy.member arguments; };
OPSCOPE_HOOKS(OPSCOPE_HOOK_CONCEPT)
#undef OPSCOPE_HOOK_CONCEPT
#undef OPSCOPE_HOOK_POLICY_AND

// Properties, for a sampler that reads the running VM from a signal handler:
//   static constexpr bool samples_stack = true;  the interpreter keeps Machine::sample_point().frame current
//                                                (one store per call and return), for a sampler that reads
//                                                the running pc from the interrupted registers
//   static constexpr bool samples_pc = true;     and .pc too (one store per instruction), for one that cannot
template <class P>
concept samples_pc = requires { requires P::samples_pc; };
template <class P>
concept samples_stack = samples_pc<P> || requires { requires P::samples_stack; };

} // namespace opscope::hooks
