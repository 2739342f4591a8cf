// Vm<Profiler>: the interpreter loop. This is the hot path and it lives here alone; everything slow is a
// call into Machine (machine.cpp). Instruction bodies are written once; OPSCOPE_CASE/OPSCOPE_NEXT choose
// computed-goto dispatch (GCC, Clang) or a portable switch (define OPSCOPE_SWITCH_DISPATCH to force it).
//
// Verified code runs without per-instruction checks: the verifier proved operand ranges, jump targets and
// stack heights, and each call checks its frame's whole stack need (LinkedFunction::frame_slots) at once.
// Registers (pc, sp, locals, frame, fuel) are locals; SAVE() writes them back before a slow path so that
// errors get a backtrace and the collector sees every live value.
#pragma once

#include <opscope/hooks.hpp>
#include <opscope/machine.hpp>
#include <opscope/policies/null.hpp>
#include <opscope/policy.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <utility>

#if !defined(OPSCOPE_SWITCH_DISPATCH) && (defined(__GNUC__) || defined(__clang__))
#define OPSCOPE_COMPUTED_GOTO 1
#else
#define OPSCOPE_COMPUTED_GOTO 0
#endif
// Returns land on handlers that take the returned value from a register (landing_table, in interpret()).
// Not under clang: keeping the value live across its loop slowed Null's own loop by 2-38% (fib, loop, sieve;
// BENCHMARKS.md section 9), where g++'s was unchanged or faster.
#if OPSCOPE_COMPUTED_GOTO && !defined(__clang__)
#define OPSCOPE_RETURN_LANDING 1
#else
#define OPSCOPE_RETURN_LANDING 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define OPSCOPE_LIKELY(x) __builtin_expect(!!(x), 1)
#define OPSCOPE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define OPSCOPE_NOINLINE __attribute__((noinline, cold))
#else
#define OPSCOPE_LIKELY(x) (x)
#define OPSCOPE_UNLIKELY(x) (x)
#define OPSCOPE_NOINLINE
#endif

// The interpreter's speed depends on where its handlers fall relative to cache lines, the uop cache's windows
// and the branch predictors' indexing, all of which follow the low bits of their addresses. Starting every
// instantiation on a page makes those bits the same in every build and every host that links it, wherever the
// linker puts the function (benchmarks/layouts.sh measures it; BENCHMARKS.md section 9).
#ifndef OPSCOPE_HOT_LOOP_ALIGNMENT
#define OPSCOPE_HOT_LOOP_ALIGNMENT 4096
#endif
#if defined(__GNUC__) || defined(__clang__)
#define OPSCOPE_HOT_LOOP_ALIGNED __attribute__((aligned(OPSCOPE_HOT_LOOP_ALIGNMENT)))
#else
#define OPSCOPE_HOT_LOOP_ALIGNED
#endif

// OPSCOPE_HOOKS_REMOVED deletes every hook call at the source level. It exists only for the zero-cost
// check, which compares Vm<NullProfiler> against a build with this defined.
#if defined(OPSCOPE_HOOKS_REMOVED)
#define OPSCOPE_HOOK(hook, ...) ((void)0)
#else
#define OPSCOPE_HOOK(hook, ...)                                  \
    do {                                                         \
        if constexpr (::opscope::hooks::hook<Profiler>) {        \
            profiler_.__VA_ARGS__;                               \
        }                                                        \
    } while (0)
#endif

// Computed goto is a GNU extension used on purpose; keep hosts' -Wpedantic builds quiet about it.
#if OPSCOPE_COMPUTED_GOTO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wgnu-label-as-value"
#endif
#endif

namespace opscope {

// One thread at a time, as Machine says: many Vm<P> may run at once, each on its own thread.
template <ProfilerPolicy Profiler = NullProfiler>
class Vm : public Machine {
public:
    // A policy that watches every instruction sees the program's own instructions: no fusion.
    explicit Vm(Limits limits = {}, Profiler profiler = {})
        : Machine(limits, LinkOptions{.fuse = !hooks::instruction<Profiler>, .mark_leaders = hooks::block_entry<Profiler>}),
          profiler_(std::move(profiler)) {}

    // Verifies (throws ProgramError) and links the program, and resets globals; then the policy sizes its
    // tables for it (on_load), starting its profile afresh. Natives must be registered before. A program whose
    // constants cannot be created (heap limit, out of memory) throws RuntimeError. After either error the
    // previously loaded program (if any) stays loaded, unchanged, and on_load is not called.
    void load(Program program) {
        const Entry entry(*this);  // one thread at a time (Machine): std::logic_error
        Machine::load(std::move(program));
        OPSCOPE_HOOK(load, on_load(*this));
    }

    // Runs `main` of the loaded program; returns its result (valid until the heap next allocates).
    // Throws RuntimeError with a backtrace; the VM stays usable afterwards, and the profiler keeps what the
    // run recorded up to the fault. A native's exception that is not a std::exception goes through as it is,
    // after the run is ended the same way. std::logic_error: another thread is in this VM (see Machine).
    Value run() {
        const Entry entry(*this);  // one thread at a time (Machine): std::logic_error
        begin_run();
        if constexpr (hooks::samples_stack<Profiler>) sample_point_.frame.store(frame_, std::memory_order_relaxed);
        if constexpr (hooks::samples_pc<Profiler>) sample_point_.pc.store(frame_->pc, std::memory_order_relaxed);
        OPSCOPE_HOOK(run_begin, on_run_begin(*this));
        OPSCOPE_HOOK(call, on_call(nullptr, 0, *frame_->function, 1));
        if constexpr (hooks::trapped_call<Profiler>)
            if (calls_trapped()) OPSCOPE_HOOK(trapped_call, on_trapped_call(nullptr, 0, *frame_->function, 1));
        Value result;
        OPSCOPE_HOOK(loop_enter, on_loop_enter());
        try {
            result = interpret();
        } catch (const std::exception& e) {
            OPSCOPE_HOOK(loop_exit, on_loop_exit());
            end_faulted_run();
            fail(e);
        } catch (...) {  // not a std::exception (a native's own type), or the thread ending (pthread_exit unwinds)
            OPSCOPE_HOOK(loop_exit, on_loop_exit());
            end_faulted_run();
            end_run();
            throw;
        }
        OPSCOPE_HOOK(loop_exit, on_loop_exit());
        stop_sampling();
        OPSCOPE_HOOK(run_end, on_run_end(*this));
        end_run();
        return result;
    }

    Profiler& profiler() { return profiler_; }
    const Profiler& profiler() const { return profiler_; }

    // The profile lifecycle, for policies that have one (see policy.hpp). Call these from the VM's
    // thread: between runs, or during a run from a native function.
    void reset_profile() requires requires(Profiler& p) { p.reset(); } { profiler_.reset(); }
    void start_profiling() requires policy_detail::startable<Profiler> { profiler_.start(*this); }
    void stop_profiling() requires policy_detail::stoppable<Profiler> { profiler_.stop(*this); }
    // What the policy recorded, as a plain Profile (the report layer's only input). Valid while this VM holds
    // the program the profile is of.
    Profile profile() const {
        Profile out;
        out.policy = std::string(policy_name<Profiler>());
        if constexpr (policy_detail::profiles<Profiler>) profiler_.profile_into(out, *this);
        return out;
    }

    // The profile of the interval since the last snapshot (or since the profile began: load, reset_profile),
    // and the next interval begins: the intervals' profiles add up to the whole run's, exact counts exactly
    // (policy_detail::split). Callable from any thread, also while the VM runs on another: the running thread
    // takes it at its next safe point (Machine::run_at_safe_point) while the caller waits.
    Profile snapshot() {
        Profile out;
        out.policy = std::string(policy_name<Profiler>());
        run_at_safe_point([&] { policy_detail::split(profiler_, out, *this); });
        return out;
    }

private:
    OPSCOPE_HOT_LOOP_ALIGNED Value interpret();
    // A run that an exception ends: the policy is told (a sampler's timer stops) before the exception goes on.
    void end_faulted_run() {
        note_fault();
        stop_sampling();
        OPSCOPE_HOOK(run_end, on_run_end(*this));
    }
    // Refills the fuel register (or stops the program out of fuel), tells the policy, runs a task another
    // thread posted; returns the register. Out of line: it runs once per safe-point interval.
    OPSCOPE_NOINLINE std::int64_t safe_point(const Instr* from, std::uint32_t cost) {
        [[maybe_unused]] const std::int64_t added = refuel(from, cost);
        OPSCOPE_HOOK(fuel_refill, on_fuel_refill(*this, added));
        serve_safe_point();
        return fuel_;
    }
    void stop_sampling() {
        if constexpr (hooks::samples_stack<Profiler>) {
            sample_point_.frame.store(nullptr, std::memory_order_relaxed);
            sample_point_.pc.store(nullptr, std::memory_order_relaxed);
        }
    }
    Profiler profiler_;
};

template <ProfilerPolicy Profiler>
Value Vm<Profiler>::interpret() {
#if defined(OPSCOPE_LAYOUT_PAD)  // benchmarks/layouts.sh only: moves the whole loop this many bytes into its page
#define OPSCOPE_STRINGIFY_VALUE(x) #x
#define OPSCOPE_STRINGIFY(x) OPSCOPE_STRINGIFY_VALUE(x)
    asm volatile(".skip " OPSCOPE_STRINGIFY(OPSCOPE_LAYOUT_PAD) ", 0x90");
#undef OPSCOPE_STRINGIFY
#undef OPSCOPE_STRINGIFY_VALUE
#endif
    Frame* frame = frame_;
    Frame* const frames_base = frames_base_;
    const Instr* pc = frame->pc;
    Value* sp = sp_;
    Value* locals = frame->base;
    std::int64_t fuel = fuel_;
    const Value* const constants = constants_.data();
    Value* const globals = globals_.data();
    const LinkedFunction* const functions = linked_.functions().data();
    Value result = Value::nil();
    [[maybe_unused]] Value returned = Value::nil();  // the value the last return left on top (OPSCOPE_RETURN)
    constexpr bool kJump_z = false, kJump_nz = true;  // for the fused branch forms
    constexpr bool kTrapsCalls = hooks::trapped_call<Profiler> || hooks::trapped_return<Profiler>;
    const Instr* landing_source = nullptr;             // CHARGE's, for fuel_short

#define SAVE() (frame->pc = pc, sp_ = sp, frame_ = frame, fuel_ = fuel)
// Charges the run control just landed on, `cost` instructions; `from` is the instruction that transferred
// control. CHARGE reads the cost off the landing instruction; a call has it at hand (entry_cost). The
// register holds at most a safe-point interval of fuel: running below zero is a safe point (or the end).
// One shared cold block (fuel_short, below) handles it, so the handlers' code is what it would be with no
// slow path to return from: only `from` is kept for it.
#define CHARGE_COST(cost, from)                                                 \
    do {                                                                        \
        if (OPSCOPE_UNLIKELY((fuel -= (cost)) < 0)) {                           \
            landing_source = (from);                                            \
            goto fuel_short;                                                    \
        }                                                                       \
    } while (0)
#define CHARGE(from) CHARGE_COST(pc->run_cost, from)
// Sampling policies read the top frame from a signal handler: publish it whenever it changes.
#define PUBLISH_FRAME()                                                         \
    do {                                                                        \
        if constexpr (hooks::samples_stack<Profiler>) sample_point_.frame.store(frame, std::memory_order_relaxed); \
    } while (0)
#define OFFSET() frame->function->offset_of(pc)

#if OPSCOPE_COMPUTED_GOTO
#define OPSCOPE_EACH_OPCODE(X) OPSCOPE_OPCODES(X) OPSCOPE_INTERNAL_OPCODES(X)
#define OPSCOPE_HANDLER_LABEL(name, ...) &&op_##name,
#define OPSCOPE_LEADER_LABEL(name, ...) &&leader_##name,
#define OPSCOPE_LANDING_LABEL(name, ...) &&landing_##name,
    alignas(64) static const void* const dispatch_table[] = {  // its own cache lines, wherever it lands
        OPSCOPE_EACH_OPCODE(OPSCOPE_HANDLER_LABEL) OPSCOPE_EACH_OPCODE(OPSCOPE_LEADER_LABEL)
    };
    static_assert(std::size(dispatch_table) == 2 * kOpCount);
#if OPSCOPE_RETURN_LANDING
    // Where a return goes on: the landing form of the instruction it lands on (OPSCOPE_RETURN). Most
    // handlers are their own landing form (OPSCOPE_CASE gives them both labels); the ones that take the top of
    // the stack, where the returned value just went, have one that takes it from `returned` instead: reading
    // it back from the stack waits on the store, as long as the core's store-to-load prediction takes, and
    // that depends on the handlers' addresses (BENCHMARKS.md section 9). A leader keeps its leader entry.
    alignas(64) static const void* const landing_table[] = {
        OPSCOPE_EACH_OPCODE(OPSCOPE_LANDING_LABEL) OPSCOPE_EACH_OPCODE(OPSCOPE_LEADER_LABEL)
    };
    static_assert(std::size(landing_table) == 2 * kOpCount);
#endif
#undef OPSCOPE_HANDLER_LABEL
#undef OPSCOPE_LEADER_LABEL
#undef OPSCOPE_LANDING_LABEL
#undef OPSCOPE_EACH_OPCODE
#if OPSCOPE_RETURN_LANDING
#define OPSCOPE_CASE(name) landing_##name: op_##name:
#define OPSCOPE_CASE_LANDED(name) op_##name:  // its landing form is elsewhere (the landing forms, below)
#else
#define OPSCOPE_CASE(name) op_##name:
#define OPSCOPE_CASE_LANDED(name) op_##name:
#endif
#define OPSCOPE_LEADER_CASE(name) leader_##name:
#define OPSCOPE_DISPATCH() goto* dispatch_table[pc->op]
#define OPSCOPE_FALLBACK(plain) goto op_##plain
#else
    unsigned current_op;
#define OPSCOPE_CASE(name) case static_cast<unsigned>(Op::name):
#define OPSCOPE_CASE_LANDED(name) OPSCOPE_CASE(name)
#define OPSCOPE_LEADER_CASE(name) case kLeaderOpBase + static_cast<unsigned>(Op::name):
#define OPSCOPE_DISPATCH() \
    do {                   \
        current_op = pc->op; \
        goto dispatch;     \
    } while (0)
#define OPSCOPE_FALLBACK(plain)   \
    do {                          \
        current_op = static_cast<unsigned>(Op::plain); \
        goto dispatch;            \
    } while (0)
#endif

// What every dispatch does first: the per-instruction hook, and pc published where the sampler needs it.
#define OPSCOPE_BEFORE_DISPATCH()                                                             \
    do {                                                                                      \
        OPSCOPE_HOOK(instruction, on_instruction(*frame->function, OFFSET(), op_of(*pc)));     \
        if constexpr (hooks::samples_pc<Profiler>) sample_point_.pc.store(pc, std::memory_order_relaxed); \
    } while (0)
#define OPSCOPE_NEXT()                                                                        \
    do {                                                                                      \
        OPSCOPE_BEFORE_DISPATCH();                                                            \
        OPSCOPE_DISPATCH();                                                                   \
    } while (0)

#if OPSCOPE_RETURN_LANDING
#define OPSCOPE_NEXT_LANDED()                                                                 \
    do {                                                                                      \
        OPSCOPE_BEFORE_DISPATCH();                                                            \
        goto* landing_table[pc->op];                                                          \
    } while (0)
#else
#define OPSCOPE_NEXT_LANDED() OPSCOPE_NEXT()
#endif

    OPSCOPE_NEXT();

#if !OPSCOPE_COMPUTED_GOTO
dispatch:
    switch (current_op) {
#endif

    // --- block leaders (marked only for policies with on_block_entry): count the entry, run the body ------
#if OPSCOPE_COMPUTED_GOTO && defined(__clang__)
    // clang aligns only the blocks nothing falls into (-align-all-nofallthru-blocks, CMakeLists.txt) and puts a
    // leader's block right before its handler: a direct jump there falls through, and a counting policy's
    // handlers were unaligned where Null's were not (78 of 224 dispatch targets on 32 bytes against 180).
    // Through an address clang cannot see, the jump stays a jump, to one target, so it is predicted. (A policy
    // without leaders keeps the plain jump, which clang folds away: its leader labels are its handlers.)
#define OPSCOPE_LEADER_TO(name)                              \
    do {                                                     \
        if constexpr (hooks::block_entry<Profiler>) {        \
            void* handler = &&op_##name;                     \
            asm("" : "+r"(handler));                         \
            goto* handler;                                   \
        } else {                                             \
            OPSCOPE_FALLBACK(name);                          \
        }                                                    \
    } while (0)
#else
#define OPSCOPE_LEADER_TO(name) OPSCOPE_FALLBACK(name)
#endif
#define OPSCOPE_LEADER(name, ...)                                                              \
    OPSCOPE_LEADER_CASE(name) {                                                                \
        OPSCOPE_HOOK(block_entry, on_block_entry(pc));                                             \
        OPSCOPE_LEADER_TO(name);                                                               \
    }
    OPSCOPE_OPCODES(OPSCOPE_LEADER) OPSCOPE_INTERNAL_OPCODES(OPSCOPE_LEADER)
#undef OPSCOPE_LEADER
#undef OPSCOPE_LEADER_TO

    // --- stack -------------------------------------------------------------------------------------
    OPSCOPE_CASE(push) {
        *sp++ = constants[pc->operand];
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(push_int) {
        *sp++ = Value::integer(pc->operand);
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(pop) {
        --sp;
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(dup) {
        *sp = sp[-1];
        ++sp;
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(swap) {
        std::swap(sp[-1], sp[-2]);
        ++pc;
        OPSCOPE_NEXT();
    }

    // --- locals and globals ----------------------------------------------------------------------------
    OPSCOPE_CASE(load) {
        *sp++ = locals[pc->operand];
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE_LANDED(store) {
        locals[pc->operand] = *--sp;
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(gload) {
        const Value& v = globals[pc->operand];
        if (OPSCOPE_UNLIKELY(v.type == Type::undefined)) {
            SAVE();
            undefined_global(pc->operand);
        }
        *sp++ = v;
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(gstore) {
        globals[pc->operand] = *--sp;
        ++pc;
        OPSCOPE_NEXT();
    }

    // --- arithmetic: int fast paths inline, everything else in Machine -----------------------------------
#define OPSCOPE_INT_BINARY(name, expr)                                                       \
    OPSCOPE_CASE_LANDED(name) {                                                              \
        Value& a = sp[-2];                                                                   \
        const Value& b = sp[-1];                                                             \
        if (OPSCOPE_LIKELY(a.type == Type::integer && b.type == Type::integer)) {            \
            const auto x = static_cast<std::uint64_t>(a.as.i), y = static_cast<std::uint64_t>(b.as.i); \
            a.as.i = static_cast<std::int64_t>(expr);                                        \
        } else {                                                                             \
            SAVE();                                                                          \
            arithmetic(Op::name, a, b);                                                      \
        }                                                                                    \
        --sp;                                                                                \
        ++pc;                                                                                \
        OPSCOPE_NEXT();                                                                      \
    }
    OPSCOPE_INT_BINARY(add, x + y)
    OPSCOPE_INT_BINARY(sub, x - y)
    OPSCOPE_INT_BINARY(mul, x * y)
#undef OPSCOPE_INT_BINARY

    // div/mod: zero and -1 divisors (division by zero, INT64_MIN / -1) take the slow path.
#define OPSCOPE_INT_DIVISION(name, op)                                                       \
    OPSCOPE_CASE(name) {                                                                     \
        Value& a = sp[-2];                                                                   \
        const Value& b = sp[-1];                                                             \
        if (OPSCOPE_LIKELY(a.type == Type::integer && b.type == Type::integer &&             \
                           static_cast<std::uint64_t>(b.as.i) + 1 > 1)) {                    \
            a.as.i = a.as.i op b.as.i;                                                       \
        } else {                                                                             \
            SAVE();                                                                          \
            arithmetic(Op::name, a, b);                                                      \
        }                                                                                    \
        --sp;                                                                                \
        ++pc;                                                                                \
        OPSCOPE_NEXT();                                                                      \
    }
    OPSCOPE_INT_DIVISION(div, /)
    OPSCOPE_INT_DIVISION(mod, %)
#undef OPSCOPE_INT_DIVISION

    OPSCOPE_CASE(neg) {
        Value& a = sp[-1];
        if (OPSCOPE_LIKELY(a.type == Type::integer)) {
            a.as.i = static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(a.as.i));
        } else {
            SAVE();
            negate(a);
        }
        ++pc;
        OPSCOPE_NEXT();
    }

    // --- comparisons ---------------------------------------------------------------------------------------
    OPSCOPE_CASE(eq) {
        sp[-2] = Value::boolean(values_equal(sp[-2], sp[-1]));
        --sp;
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(ne) {
        sp[-2] = Value::boolean(!values_equal(sp[-2], sp[-1]));
        --sp;
        ++pc;
        OPSCOPE_NEXT();
    }
#define OPSCOPE_ORDER(name, op)                                                               \
    OPSCOPE_CASE(name) {                                                                      \
        Value& a = sp[-2];                                                                    \
        const Value& b = sp[-1];                                                              \
        bool r;                                                                               \
        if (OPSCOPE_LIKELY(a.type == Type::integer && b.type == Type::integer)) {             \
            r = a.as.i op b.as.i;                                                             \
        } else {                                                                              \
            SAVE();                                                                           \
            r = compare(Op::name, a, b);                                                      \
        }                                                                                     \
        a = Value::boolean(r);                                                                \
        --sp;                                                                                 \
        ++pc;                                                                                 \
        OPSCOPE_NEXT();                                                                       \
    }
    OPSCOPE_ORDER(lt, <)
    OPSCOPE_ORDER(le, <=)
    OPSCOPE_ORDER(gt, >)
    OPSCOPE_ORDER(ge, >=)
#undef OPSCOPE_ORDER
    OPSCOPE_CASE(not_) {
        sp[-1] = Value::boolean(!truthy(sp[-1]));
        ++pc;
        OPSCOPE_NEXT();
    }

    // --- control ----------------------------------------------------------------------------------------
    OPSCOPE_CASE(jmp) {
        const Instr* const from = pc;
        pc += pc->operand;
        CHARGE(from);
        OPSCOPE_NEXT();
    }
    // `counted`: the linker rewrote the branch to its _counted form because block entries cannot give its
    // taken count (LinkedProgram::taken_rule), so only those branches pay for on_counted_branch.
#define OPSCOPE_BRANCH(name, jump_if, counted)                                                \
    OPSCOPE_CASE(name) {                                                                      \
        --sp;                                                                                 \
        const bool value = OPSCOPE_LIKELY(sp->type == Type::boolean) ? sp->as_bool() : truthy(*sp); \
        OPSCOPE_HOOK(branch, on_branch(*frame->function, pc, value == jump_if));              \
        if constexpr (counted && hooks::counted_branch<Profiler>)                              \
            profiler_.on_counted_branch(pc, value == jump_if);                                \
        const Instr* const from = pc;                                                         \
        pc += value == jump_if ? pc->operand : 1;                                             \
        CHARGE(from);                                                                         \
        OPSCOPE_NEXT();                                                                       \
    }
    OPSCOPE_BRANCH(jz, false, false)
    OPSCOPE_BRANCH(jnz, true, false)
    OPSCOPE_BRANCH(jz_counted, false, true)
    OPSCOPE_BRANCH(jnz_counted, true, true)
#undef OPSCOPE_BRANCH

    // --- calls -------------------------------------------------------------------------------------------
    // The call at pc: a `call`, or the last instruction of a fused form that pushed its last argument.
// A policy with trapped hooks has its calls compare with call_limit_ (the trap moves it below every frame)
// where others compare with frames_end_, and its returns with return_floor_ (moved above every frame) where
// others look for main's frame: the checks a call and a return make anyway (Machine::trap_calls).
#define OPSCOPE_CALL()                                                                            \
    do {                                                                                          \
        const LinkedFunction& callee = functions[pc->operand];                                    \
        Value* const base = sp - callee.nargs;                                                    \
        if (OPSCOPE_UNLIKELY(frame + 1 >= (kTrapsCalls ? call_limit_.load(std::memory_order_relaxed) : frames_end_) || \
                             base + callee.frame_slots > stack_end_)) {                           \
            if (!kTrapsCalls || frame + 1 == frames_end_ || base + callee.frame_slots > stack_end_) { \
                SAVE();                                                                           \
                call_overflow(frame, callee);                                                     \
            }                                                                                     \
            if constexpr (kTrapsCalls)                                                            \
                if (calls_trapped())                                                              \
                    OPSCOPE_HOOK(trapped_call, on_trapped_call(frame->function, OFFSET(), callee, \
                                                               static_cast<std::size_t>(frame - frames_base) + 2)); \
        }                                                                                         \
        OPSCOPE_HOOK(call, on_call(frame->function, OFFSET(), callee,                             \
                                   static_cast<std::size_t>(frame - frames_base) + 2));           \
        frame->pc = pc;                                                                           \
        ++frame;                                                                                  \
        frame->function = &callee;                                                                \
        frame->base = base;                                                                       \
        PUBLISH_FRAME();                                                                          \
        locals = base;                                                                            \
        if (const std::uint32_t n = callee.nil_locals; OPSCOPE_UNLIKELY(n != 0)) /* sp past the locals */ \
            for (Value* const end = sp + n; sp != end; ++sp) *sp = Value::nil();                 \
        OPSCOPE_HOOK(call_fuel, on_call_fuel(pc, fuel));                                          \
        pc = callee.code.data();                                                                  \
        CHARGE_COST(callee.entry_cost, frame[-1].pc); /* not waiting on the load of code[0] */    \
        OPSCOPE_NEXT();                                                                           \
    } while (0)
    OPSCOPE_CASE(call) { OPSCOPE_CALL(); }
    // Returns `value_expr` from the top frame; `ret_at` is the `ret` itself (the last instruction of a fused
    // form that ends with one: ret_local, add_ret, ...).
#define OPSCOPE_RETURN(value_expr, ret_at)                                                        \
    do {                                                                                          \
        OPSCOPE_HOOK(return_, on_return(*frame->function, static_cast<std::size_t>(frame - frames_base) + 1)); \
        if (OPSCOPE_UNLIKELY(kTrapsCalls ? frame <= return_floor_.load(std::memory_order_relaxed)            \
                                         : frame == frames_base)) {                               \
            if constexpr (kTrapsCalls)                                                            \
                if (calls_trapped())                                                              \
                    OPSCOPE_HOOK(trapped_return, on_trapped_return(*frame->function,              \
                                                                   static_cast<std::size_t>(frame - frames_base) + 1)); \
            if (!kTrapsCalls || frame == frames_base) {                                           \
                result = (value_expr);                                                            \
                pc = (ret_at);                                                                    \
                run_end_ = RunEnd::returned;                                                      \
                goto finish;                                                                      \
            }                                                                                     \
        }                                                                                         \
        Value* const base = frame->base;                                                          \
        returned = (value_expr);                                                                  \
        *base = returned;                                                                         \
        sp = base + 1;                                                                            \
        const Instr* const from = (ret_at);                                                       \
        --frame;                                                                                  \
        OPSCOPE_HOOK(return_fuel, on_return_fuel(frame->pc, fuel));                               \
        PUBLISH_FRAME();                                                                          \
        locals = frame->base;                                                                     \
        pc = frame->pc + 1;                                                                       \
        CHARGE(from);                                                                             \
        OPSCOPE_NEXT_LANDED();                                                                    \
    } while (0)
    OPSCOPE_CASE_LANDED(ret) { OPSCOPE_RETURN(sp[-1], pc); }
    OPSCOPE_CASE(ret_local) { OPSCOPE_RETURN(locals[pc->operand], pc + 1); }
    OPSCOPE_CASE(halt) {
        OPSCOPE_HOOK(halt, on_halt(static_cast<std::size_t>(frame - frames_base) + 1));
        result = Value::nil();
        run_end_ = RunEnd::halted;
        goto finish;
    }
    OPSCOPE_CASE(call_native) {
        SAVE();
        const Native& native = natives_[static_cast<std::size_t>(pc->operand)];
        OPSCOPE_HOOK(native, on_native(native));
        Value* const args = sp - native.arity;
        *args = call_native(pc->operand, args);
        sp = args + 1;
        ++pc;
        OPSCOPE_NEXT();
    }

    // --- memory and io -------------------------------------------------------------------------------------
    OPSCOPE_CASE(newarray) {
        SAVE();
        sp[-1] = new_array(sp[-1]);
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(aget) {
        Value& a = sp[-2];
        const Value& i = sp[-1];
        if (OPSCOPE_LIKELY(a.type == Type::array && i.type == Type::integer &&
                           static_cast<std::uint64_t>(i.as.i) < a.as_array()->length)) {
            a = a.as_array()->get(static_cast<std::size_t>(i.as.i));
        } else {
            SAVE();
            a = array_get(a, i);
        }
        --sp;
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(aset) {
        const Value& a = sp[-3];
        const Value& i = sp[-2];
        if (OPSCOPE_LIKELY(a.type == Type::array && i.type == Type::integer &&
                           static_cast<std::uint64_t>(i.as.i) < a.as_array()->length)) {
            a.as_array()->set(static_cast<std::size_t>(i.as.i), sp[-1]);
        } else {
            SAVE();
            array_set(a, i, sp[-1]);
        }
        sp -= 3;
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(len) {
        SAVE();
        sp[-1] = length(sp[-1]);
        ++pc;
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(print) {
        SAVE();
        print(sp[-1]);
        --sp;
        ++pc;
        OPSCOPE_NEXT();
    }

    // --- fused forms (opcodes.hpp declares each with its sequence): int fast path, else the plain first
    // instruction. Each advances pc past its whole sequence (COVERS); a branch is the sequence's last.
#define OPSCOPE_IS_INT2(a, b) OPSCOPE_LIKELY((a).type == Type::integer && (b).type == Type::integer)
#define OPSCOPE_WRAP(x, op, y) \
    static_cast<std::int64_t>(static_cast<std::uint64_t>(x) op static_cast<std::uint64_t>(y))
#define COVERS(form) std::integral_constant<int, info(Op::form).covers>::value
// `load X; load Y; OP` and `load X; push K; OP`, the result pushed or (`...; store Z`) stored in a local.
#define OPSCOPE_FUSED_LL(form, op, result)                                                     \
    OPSCOPE_CASE(form) {                                                                       \
        const Value& a = locals[pc[0].operand];                                                \
        const Value& b = locals[pc[1].operand];                                                \
        if (!OPSCOPE_IS_INT2(a, b)) OPSCOPE_FALLBACK(load);                                    \
        result = Value::integer(OPSCOPE_WRAP(a.as.i, op, b.as.i));                             \
        pc += COVERS(form);                                                                    \
        OPSCOPE_NEXT();                                                                        \
    }
#define OPSCOPE_FUSED_LK(form, op, result)                                                     \
    OPSCOPE_CASE(form) {                                                                       \
        const Value& a = locals[pc[0].operand];                                                \
        if (OPSCOPE_UNLIKELY(a.type != Type::integer)) OPSCOPE_FALLBACK(load);                 \
        result = Value::integer(OPSCOPE_WRAP(a.as.i, op, pc[1].operand));                      \
        pc += COVERS(form);                                                                    \
        OPSCOPE_NEXT();                                                                        \
    }
// `push K; OP` (the top of the stack OP K) and `load Y; OP` (the top of the stack OP a local).
#define OPSCOPE_FUSED_K(form, op)                                                              \
    OPSCOPE_CASE(form) {                                                                       \
        Value& a = sp[-1];                                                                     \
        if (OPSCOPE_UNLIKELY(a.type != Type::integer)) OPSCOPE_FALLBACK(push_int);             \
        a.as.i = OPSCOPE_WRAP(a.as.i, op, pc[0].operand);                                      \
        pc += COVERS(form);                                                                    \
        OPSCOPE_NEXT();                                                                        \
    }
#define OPSCOPE_FUSED_L(form, op)                                                              \
    OPSCOPE_CASE(form) {                                                                       \
        Value& a = sp[-1];                                                                     \
        const Value& b = locals[pc[0].operand];                                                \
        if (!OPSCOPE_IS_INT2(a, b)) OPSCOPE_FALLBACK(load);                                    \
        a.as.i = OPSCOPE_WRAP(a.as.i, op, b.as.i);                                             \
        pc += COVERS(form);                                                                    \
        OPSCOPE_NEXT();                                                                        \
    }
    OPSCOPE_FUSED_LL(add_ll, +, *sp++)
    OPSCOPE_FUSED_LK(add_lk, +, *sp++)
    OPSCOPE_FUSED_LL(add_lls, +, locals[pc[3].operand])
    OPSCOPE_FUSED_LK(add_lks, +, locals[pc[3].operand])
    OPSCOPE_FUSED_K(add_k, +)
    OPSCOPE_FUSED_L(add_l, +)
    OPSCOPE_FUSED_LL(sub_ll, -, *sp++)
    OPSCOPE_FUSED_LK(sub_lk, -, *sp++)
    OPSCOPE_FUSED_LL(sub_lls, -, locals[pc[3].operand])
    OPSCOPE_FUSED_LK(sub_lks, -, locals[pc[3].operand])
    OPSCOPE_FUSED_K(sub_k, -)
    OPSCOPE_FUSED_L(sub_l, -)
    OPSCOPE_FUSED_LL(mul_ll, *, *sp++)
    OPSCOPE_FUSED_LK(mul_lk, *, *sp++)
    OPSCOPE_FUSED_LL(mul_lls, *, locals[pc[3].operand])
    OPSCOPE_FUSED_LK(mul_lks, *, locals[pc[3].operand])
    OPSCOPE_FUSED_K(mul_k, *)
    OPSCOPE_FUSED_L(mul_l, *)
// `x = x OP y` and `x = x OP K`: the local updated in place (the linker checked the store names X).
#define OPSCOPE_FUSED_LL_X(form, op)                                                           \
    OPSCOPE_CASE(form) {                                                                       \
        Value& a = locals[pc[0].operand];                                                      \
        const Value& b = locals[pc[1].operand];                                                \
        if (!OPSCOPE_IS_INT2(a, b)) OPSCOPE_FALLBACK(load);                                    \
        a.as.i = OPSCOPE_WRAP(a.as.i, op, b.as.i);                                             \
        pc += COVERS(form);                                                                    \
        OPSCOPE_NEXT();                                                                        \
    }
#define OPSCOPE_FUSED_LK_X(form, op)                                                           \
    OPSCOPE_CASE(form) {                                                                       \
        Value& a = locals[pc[0].operand];                                                      \
        if (OPSCOPE_UNLIKELY(a.type != Type::integer)) OPSCOPE_FALLBACK(load);                 \
        a.as.i = OPSCOPE_WRAP(a.as.i, op, pc[1].operand);                                      \
        pc += COVERS(form);                                                                    \
        OPSCOPE_NEXT();                                                                        \
    }
    OPSCOPE_FUSED_LL_X(add_lls_x, +)
    OPSCOPE_FUSED_LK_X(add_lks_x, +)
    OPSCOPE_FUSED_LL_X(sub_lls_x, -)
    OPSCOPE_FUSED_LK_X(sub_lks_x, -)
#undef OPSCOPE_FUSED_LL_X
#undef OPSCOPE_FUSED_LK_X
#undef OPSCOPE_FUSED_LL
#undef OPSCOPE_FUSED_LK
#undef OPSCOPE_FUSED_K
#undef OPSCOPE_FUSED_L
#define OPSCOPE_FUSED_DIVISION(form, op)                                                       \
    OPSCOPE_CASE(form) {                                                                       \
        Value& a = sp[-1];                                                                     \
        if (OPSCOPE_UNLIKELY(a.type != Type::integer)) OPSCOPE_FALLBACK(push_int);             \
        a.as.i = a.as.i op pc[0].operand; /* the linker excluded K = 0 and K = -1 */           \
        pc += COVERS(form);                                                                    \
        OPSCOPE_NEXT();                                                                        \
    }
    // Array access with local array and index: the in-bounds int fast path, else the plain `load`.
#define OPSCOPE_ARRAY_IN_BOUNDS(a, i) \
    OPSCOPE_LIKELY((a).type == Type::array && (i).type == Type::integer && static_cast<std::uint64_t>((i).as.i) < (a).as_array()->length)
    OPSCOPE_CASE(aget_ll) {
        const Value& a = locals[pc[0].operand];
        const Value& i = locals[pc[1].operand];
        if (!OPSCOPE_ARRAY_IN_BOUNDS(a, i)) OPSCOPE_FALLBACK(load);
        *sp++ = a.as_array()->get(static_cast<std::size_t>(i.as.i));
        pc += COVERS(aget_ll);
        OPSCOPE_NEXT();
    }
#define OPSCOPE_FUSED_ASET(form, store)                                                        \
    OPSCOPE_CASE(form) {                                                                       \
        const Value& a = locals[pc[0].operand];                                                \
        const Value& i = locals[pc[1].operand];                                                \
        if (!OPSCOPE_ARRAY_IN_BOUNDS(a, i)) OPSCOPE_FALLBACK(load);                            \
        Array& array = *a.as_array();                                                          \
        const auto k = static_cast<std::size_t>(i.as.i);                                       \
        store;                                                                                 \
        pc += COVERS(form);                                                                    \
        OPSCOPE_NEXT();                                                                        \
    }
    // Into an unpacked array, a constant, written long before, is copied whole: one 16-byte store, one
    // store-buffer entry while the element's line is fetched (strided stores miss the cache).
    OPSCOPE_FUSED_ASET(aset_llc, if (const Value& c = constants[pc[2].operand]; array.packed()) array.set(k, c);
                                 else std::memcpy(static_cast<void*>(&array.values()[k]), &c, sizeof(Value)))
    OPSCOPE_FUSED_ASET(aset_lll, array.set(k, locals[pc[2].operand]))
#undef OPSCOPE_FUSED_ASET
    // Two pushes: no fast path to leave, so no fallback.
    OPSCOPE_CASE(load_ll) {
        sp[0] = locals[pc[0].operand];
        sp[1] = locals[pc[1].operand];
        sp += 2;
        pc += COVERS(load_ll);
        OPSCOPE_NEXT();
    }
    OPSCOPE_CASE(load_lk) {
        sp[0] = locals[pc[0].operand];
        sp[1] = Value::integer(pc[1].operand);
        sp += 2;
        pc += COVERS(load_lk);
        OPSCOPE_NEXT();
    }
    // A call's last argument pushed by the form itself, then the call (pc moves to the `call`).
    OPSCOPE_CASE(call_k) {
        *sp++ = Value::integer(pc->operand);
        ++pc;
        OPSCOPE_CALL();
    }
    OPSCOPE_CASE(call_l) {
        *sp++ = locals[pc->operand];
        ++pc;
        OPSCOPE_CALL();
    }
    // Returning an expression: `OP; ret` (the two top values) and `load Y; OP; ret` (the top OP a local).
#define OPSCOPE_FUSED_RET(form, plain, op)                                                     \
    OPSCOPE_CASE_LANDED(form) {                                                                \
        const Value& a = sp[-2];                                                               \
        const Value& b = sp[-1];                                                               \
        if (!OPSCOPE_IS_INT2(a, b)) OPSCOPE_FALLBACK(plain);                                   \
        const std::int64_t value = OPSCOPE_WRAP(a.as.i, op, b.as.i);                           \
        OPSCOPE_RETURN(Value::integer(value), pc + (COVERS(form) - 1));                        \
    }
#define OPSCOPE_FUSED_L_RET(form, op)                                                          \
    OPSCOPE_CASE(form) {                                                                       \
        const Value& a = sp[-1];                                                               \
        const Value& b = locals[pc[0].operand];                                                \
        if (!OPSCOPE_IS_INT2(a, b)) OPSCOPE_FALLBACK(load);                                    \
        const std::int64_t value = OPSCOPE_WRAP(a.as.i, op, b.as.i);                           \
        OPSCOPE_RETURN(Value::integer(value), pc + (COVERS(form) - 1));                        \
    }
    OPSCOPE_FUSED_RET(add_ret, add, +)
    OPSCOPE_FUSED_RET(sub_ret, sub, -)
    OPSCOPE_FUSED_RET(mul_ret, mul, *)
    OPSCOPE_FUSED_L_RET(add_l_ret, +)
    OPSCOPE_FUSED_L_RET(sub_l_ret, -)
    OPSCOPE_FUSED_L_RET(mul_l_ret, *)

#if OPSCOPE_RETURN_LANDING
    // --- landing forms: a return landed here, and the top of the stack is `returned` (see landing_table) ---
    landing_ret: { OPSCOPE_RETURN(returned, pc); }
    landing_store: {
        locals[pc->operand] = returned;
        --sp;
        ++pc;
        OPSCOPE_NEXT();
    }
#define OPSCOPE_LANDED_BINARY(name, expr)                                                      \
    landing_##name: {                                                                          \
        Value& a = sp[-2];                                                                     \
        if (!OPSCOPE_IS_INT2(a, returned)) goto op_##name;                                     \
        const auto x = static_cast<std::uint64_t>(a.as.i), y = static_cast<std::uint64_t>(returned.as.i); \
        a.as.i = static_cast<std::int64_t>(expr);                                              \
        --sp;                                                                                  \
        ++pc;                                                                                  \
        OPSCOPE_NEXT();                                                                        \
    }
    OPSCOPE_LANDED_BINARY(add, x + y)
    OPSCOPE_LANDED_BINARY(sub, x - y)
    OPSCOPE_LANDED_BINARY(mul, x * y)
#undef OPSCOPE_LANDED_BINARY
#define OPSCOPE_LANDED_RET(form, plain, op)                                                    \
    landing_##form: {                                                                          \
        const Value& a = sp[-2];                                                               \
        if (!OPSCOPE_IS_INT2(a, returned)) OPSCOPE_FALLBACK(plain);                            \
        const std::int64_t value = OPSCOPE_WRAP(a.as.i, op, returned.as.i);                    \
        OPSCOPE_RETURN(Value::integer(value), pc + (COVERS(form) - 1));                        \
    }
    OPSCOPE_LANDED_RET(add_ret, add, +)
    OPSCOPE_LANDED_RET(sub_ret, sub, -)
    OPSCOPE_LANDED_RET(mul_ret, mul, *)
#undef OPSCOPE_LANDED_RET
#endif
#undef OPSCOPE_FUSED_RET
#undef OPSCOPE_FUSED_L_RET
    OPSCOPE_FUSED_DIVISION(div_k, /)
    OPSCOPE_FUSED_DIVISION(mod_k, %)
#undef OPSCOPE_FUSED_DIVISION

    // The branch ending a fused form (its last instruction; its operand is relative to itself).
#define OPSCOPE_FUSED_BRANCH(form, condition, jump_if)                                         \
    do {                                                                                       \
        const bool taken = OPSCOPE_LIKELY(condition) == (jump_if); /* a loop's `jnz` back, an `if`'s `jz` past */ \
        OPSCOPE_HOOK(branch, on_branch(*frame->function, pc + (COVERS(form) - 1), taken));     \
        pc += COVERS(form) - 1;                                                                \
        const Instr* const from = pc;                                                          \
        pc += taken ? pc->operand : 1;                                                         \
        CHARGE(from);                                                                          \
        OPSCOPE_NEXT();                                                                        \
    } while (0)
// `CMP; jz/jnz L` (the two top values), `load X; load Y; CMP; jz/jnz L`, `load X; push K; CMP; jz/jnz L`.
#define OPSCOPE_FUSED_COMPARE(form, plain, op, jump_if)                                        \
    OPSCOPE_CASE(form) {                                                                       \
        if (!OPSCOPE_IS_INT2(sp[-2], sp[-1])) OPSCOPE_FALLBACK(plain);                         \
        sp -= 2;                                                                               \
        OPSCOPE_FUSED_BRANCH(form, sp[0].as.i op sp[1].as.i, jump_if);                         \
    }
#define OPSCOPE_FUSED_COMPARE_LL(form, op, jump_if)                                            \
    OPSCOPE_CASE(form) {                                                                       \
        const Value& a = locals[pc[0].operand];                                                \
        const Value& b = locals[pc[1].operand];                                                \
        if (!OPSCOPE_IS_INT2(a, b)) OPSCOPE_FALLBACK(load);                                    \
        OPSCOPE_FUSED_BRANCH(form, a.as.i op b.as.i, jump_if);                                 \
    }
#define OPSCOPE_FUSED_COMPARE_LK(form, op, jump_if)                                            \
    OPSCOPE_CASE(form) {                                                                       \
        const Value& a = locals[pc[0].operand];                                                \
        if (OPSCOPE_UNLIKELY(a.type != Type::integer)) OPSCOPE_FALLBACK(load);                 \
        OPSCOPE_FUSED_BRANCH(form, a.as.i op pc[1].operand, jump_if);                          \
    }
    OPSCOPE_FUSED_COMPARE(lt_jz, lt, <, kJump_z)
    OPSCOPE_FUSED_COMPARE_LL(lt_ll_jz, <, kJump_z)
    OPSCOPE_FUSED_COMPARE_LK(lt_lk_jz, <, kJump_z)
    OPSCOPE_FUSED_COMPARE(lt_jnz, lt, <, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LL(lt_ll_jnz, <, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LK(lt_lk_jnz, <, kJump_nz)
    OPSCOPE_FUSED_COMPARE(le_jz, le, <=, kJump_z)
    OPSCOPE_FUSED_COMPARE_LL(le_ll_jz, <=, kJump_z)
    OPSCOPE_FUSED_COMPARE_LK(le_lk_jz, <=, kJump_z)
    OPSCOPE_FUSED_COMPARE(le_jnz, le, <=, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LL(le_ll_jnz, <=, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LK(le_lk_jnz, <=, kJump_nz)
    OPSCOPE_FUSED_COMPARE(gt_jz, gt, >, kJump_z)
    OPSCOPE_FUSED_COMPARE_LL(gt_ll_jz, >, kJump_z)
    OPSCOPE_FUSED_COMPARE_LK(gt_lk_jz, >, kJump_z)
    OPSCOPE_FUSED_COMPARE(gt_jnz, gt, >, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LL(gt_ll_jnz, >, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LK(gt_lk_jnz, >, kJump_nz)
    OPSCOPE_FUSED_COMPARE(ge_jz, ge, >=, kJump_z)
    OPSCOPE_FUSED_COMPARE_LL(ge_ll_jz, >=, kJump_z)
    OPSCOPE_FUSED_COMPARE_LK(ge_lk_jz, >=, kJump_z)
    OPSCOPE_FUSED_COMPARE(ge_jnz, ge, >=, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LL(ge_ll_jnz, >=, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LK(ge_lk_jnz, >=, kJump_nz)
    OPSCOPE_FUSED_COMPARE(eq_jz, eq, ==, kJump_z)
    OPSCOPE_FUSED_COMPARE_LL(eq_ll_jz, ==, kJump_z)
    OPSCOPE_FUSED_COMPARE_LK(eq_lk_jz, ==, kJump_z)
    OPSCOPE_FUSED_COMPARE(eq_jnz, eq, ==, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LL(eq_ll_jnz, ==, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LK(eq_lk_jnz, ==, kJump_nz)
    OPSCOPE_FUSED_COMPARE(ne_jz, ne, !=, kJump_z)
    OPSCOPE_FUSED_COMPARE_LL(ne_ll_jz, !=, kJump_z)
    OPSCOPE_FUSED_COMPARE_LK(ne_lk_jz, !=, kJump_z)
    OPSCOPE_FUSED_COMPARE(ne_jnz, ne, !=, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LL(ne_ll_jnz, !=, kJump_nz)
    OPSCOPE_FUSED_COMPARE_LK(ne_lk_jnz, !=, kJump_nz)
#undef OPSCOPE_FUSED_COMPARE
#undef OPSCOPE_FUSED_COMPARE_LL
#undef OPSCOPE_FUSED_COMPARE_LK
    // `load A; load I; aget; jz/jnz L`: branch on an element's truth (the in-bounds fast path, else `load`).
#define OPSCOPE_FUSED_AGET_BRANCH(form, jump_if)                                               \
    OPSCOPE_CASE(form) {                                                                       \
        const Value& a = locals[pc[0].operand];                                                \
        const Value& i = locals[pc[1].operand];                                                \
        if (!OPSCOPE_ARRAY_IN_BOUNDS(a, i)) OPSCOPE_FALLBACK(load);                            \
        const Array& array = *a.as_array();                                                    \
        const auto k = static_cast<std::size_t>(i.as.i);                                       \
        bool truth;                                                                            \
        if (array.packed()) {                                                                  \
            truth = Array::packed_truth(array.bytes()[k]);                                     \
        } else {                                                                               \
            const Value& element = array.values()[k];                                          \
            truth = OPSCOPE_LIKELY(element.type == Type::boolean) ? element.as_bool() : truthy(element); \
        }                                                                                      \
        OPSCOPE_FUSED_BRANCH(form, truth, jump_if);                                            \
    }
    OPSCOPE_FUSED_AGET_BRANCH(aget_ll_jz, kJump_z)
    OPSCOPE_FUSED_AGET_BRANCH(aget_ll_jnz, kJump_nz)
#undef OPSCOPE_FUSED_AGET_BRANCH
#undef OPSCOPE_ARRAY_IN_BOUNDS
#undef OPSCOPE_FUSED_BRANCH
#undef OPSCOPE_IS_INT2
#undef OPSCOPE_WRAP
#undef COVERS
#undef OPSCOPE_CALL
#undef OPSCOPE_RETURN

#if !OPSCOPE_COMPUTED_GOTO
    }
#endif

fuel_short:  // control landed on pc and its run's charge took the register below zero (CHARGE_COST)
    SAVE();
    fuel = safe_point(landing_source, pc->run_cost);
    OPSCOPE_NEXT();

finish:
    SAVE();
    fuel_ = fuel;
    return result;

#undef SAVE
#undef CHARGE
#undef CHARGE_COST
#undef PUBLISH_FRAME
#undef OPSCOPE_LEADER_CASE
#undef OFFSET
#undef OPSCOPE_CASE
#undef OPSCOPE_CASE_LANDED
#undef OPSCOPE_DISPATCH
#undef OPSCOPE_NEXT
#undef OPSCOPE_BEFORE_DISPATCH
#undef OPSCOPE_NEXT_LANDED
#undef OPSCOPE_FALLBACK
}

} // namespace opscope

#if OPSCOPE_COMPUTED_GOTO
#pragma GCC diagnostic pop
#endif
