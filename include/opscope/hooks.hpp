// The interpreter's hook points. A profiler policy declares any subset of these member functions; the
// interpreter calls each one under `if constexpr`, so an undeclared hook costs nothing — NullProfiler
// declares none and the interpreter compiles to the same code as one without hooks.
//
//   on_run_begin(const Machine&)                      before main's first instruction
//   on_run_end(const Machine&)                        after the program ends (normally or by a fault)
//   on_instruction(const LinkedFunction&, std::size_t offset, Op)   every instruction (costly: prefer blocks)
//   on_call(const LinkedFunction* caller, std::size_t offset, const LinkedFunction& callee, std::size_t depth)
//                                                     a frame push (caller null for main); depth after push
//   on_return(const LinkedFunction&, std::size_t depth)  a frame pop by `ret`; depth before the pop
//   on_halt(std::size_t depth)                        `halt` with `depth` frames still live
//   on_native(const Native&)                          a host function is called
//   on_branch(const LinkedFunction&, const Instr* at, bool taken)  the `jz`/`jnz` at `at` decided
//                                                     (its offset: f.offset_of(at))
//   on_block_entry(const Instr* leader)               a basic block is entered at `leader` (in Machine::code(),
//                                                     so its id is leader - code().data()); declaring it makes
//                                                     the linker mark leaders; one call per block entered
//   on_counted_branch(const Instr* at, bool taken)    only the branches the linker made jz_counted/jnz_counted:
//                                                     those whose taken count block entries cannot give
//   static constexpr bool samples_stack = true;       the interpreter keeps Machine::sample_point().frame
//                                                     current (one store per call and return), for a sampler
//                                                     that reads the running pc from the interrupted registers
//   static constexpr bool samples_pc = true;          and .pc too (one store per instruction), for a sampler
//                                                     that cannot
//
// Hooks run on the interpreter's thread; on_run_end sees the frames left live (Machine::live_frames()).
#pragma once

#include <opscope/machine.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace opscope::hooks {

template <class P>
concept run_begin = requires(P& p, const Machine& m) { p.on_run_begin(m); };
template <class P>
concept run_end = requires(P& p, const Machine& m) { p.on_run_end(m); };
template <class P>
concept instruction = requires(P& p, const LinkedFunction& f, std::size_t offset, Op op) {
    p.on_instruction(f, offset, op);
};
template <class P>
concept call = requires(P& p, const LinkedFunction* caller, const LinkedFunction& callee, std::size_t n) {
    p.on_call(caller, n, callee, n);
};
template <class P>
concept return_ = requires(P& p, const LinkedFunction& f, std::size_t depth) { p.on_return(f, depth); };
template <class P>
concept halt = requires(P& p, std::size_t depth) { p.on_halt(depth); };
template <class P>
concept native = requires(P& p, const Native& n) { p.on_native(n); };
template <class P>
concept branch = requires(P& p, const LinkedFunction& f, const Instr* at, bool taken) {
    p.on_branch(f, at, taken);
};

template <class P>
concept block_entry = requires(P& p, const Instr* leader) { p.on_block_entry(leader); };
template <class P>
concept counted_branch = requires(P& p, const Instr* at, bool taken) { p.on_counted_branch(at, taken); };
template <class P>
concept samples_pc = requires { requires P::samples_pc; };
template <class P>
concept samples_stack = samples_pc<P> || requires { requires P::samples_stack; };

} // namespace opscope::hooks
