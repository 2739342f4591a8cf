// The opcode table: the single source of truth for the instruction set.
//
// Every row gives mnemonic, operand kind, pops, pushes, category, control flow and a one-line meaning. The
// enum `Op`, the mnemonic lookup, the assembler, disassembler, verifier, linker (block leaders, fuel runs,
// fusion), the interpreter's dispatch table, the bytecode format's instruction-set fingerprint and the
// reports all derive from these lists; nothing else enumerates opcodes by hand.
//
// OPSCOPE_OPCODES are the user-visible instructions (the `.opasm` contract). OPSCOPE_INTERNAL_OPCODES are
// forms the linker rewrites user instructions into; they never appear in a Program, in disassembly or in a
// profile. Each declares the user sequence it stands for: a quickened form replaces one instruction, a
// fused form (superinstruction) a run of them, and the linker's matcher reads these sequences, so a new
// fused form is one row here plus its handler in interpreter.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace opscope {

// What the instruction's single operand means.
enum class OperandKind : std::uint8_t {
    none,      // no operand
    constant,  // index into Program::constants (assembly: a literal)
    local,     // local slot number
    global,    // index into Program::globals (assembly: a name)
    label,     // instruction offset within the function (assembly: a label)
    callee,    // index into Program::call_targets (assembly: a function name)
    immediate, // internal: a literal int32 carried in the operand
};

enum class Category : std::uint8_t { stack, local, global, arithmetic, compare, control, call, memory, io, internal };

// Where control goes after the instruction: everything that asks "does this end a block, a fuel run, a
// path" reads this column (see the predicates below).
enum class Flow : std::uint8_t {
    next,     // falls through to the next instruction
    jump,     // continues at its label
    branch,   // continues at its label or at the next instruction
    call,     // runs a function, then the next instruction (a return lands mid-block)
    return_,  // leaves the function (from main: ends the run)
    halt,     // ends the run
    native,   // linked only (call_native): runs a host function and goes on, within the same straight line
};

// pops == kVariablePops: the instruction pops the callee's arity (only `call`).
inline constexpr int kVariablePops = -1;

// X(name, operand kind, pops, pushes, category, flow, meaning). A trailing '_' in a name (`not_`) only avoids
// a C++ keyword; the mnemonic drops it.
#define OPSCOPE_OPCODES(X)                                                                                          \
    X(push,     constant, 0, 1, stack,      next,    "push LIT: push a literal int, float, string, nil, true or false") \
    X(pop,      none,     1, 0, stack,      next,    "discard the top value")                                          \
    X(dup,      none,     1, 2, stack,      next,    "duplicate the top value")                                        \
    X(swap,     none,     2, 2, stack,      next,    "exchange the two top values")                                    \
    X(load,     local,    0, 1, local,      next,    "load N: push local slot N")                                      \
    X(store,    local,    1, 0, local,      next,    "store N: pop into local slot N")                                 \
    X(gload,    global,   0, 1, global,     next,    "gload NAME: push global NAME (error if never stored)")           \
    X(gstore,   global,   1, 0, global,     next,    "gstore NAME: pop into global NAME")                              \
    X(add,      none,     2, 1, arithmetic, next,    "a + b (ints wrap; a float makes a float; two strings concatenate)") \
    X(sub,      none,     2, 1, arithmetic, next,    "a - b (ints wrap)")                                              \
    X(mul,      none,     2, 1, arithmetic, next,    "a * b (ints wrap)")                                              \
    X(div,      none,     2, 1, arithmetic, next,    "a / b (ints truncate toward zero; int division by zero is an error)") \
    X(mod,      none,     2, 1, arithmetic, next,    "a % b (sign of the dividend as in C; float: fmod)")              \
    X(neg,      none,     1, 1, arithmetic, next,    "-a")                                                             \
    X(eq,       none,     2, 1, compare,    next,    "a == b (numbers numerically, strings by content, arrays by identity)") \
    X(ne,       none,     2, 1, compare,    next,    "a != b")                                                         \
    X(lt,       none,     2, 1, compare,    next,    "a < b (two numbers or two strings)")                             \
    X(le,       none,     2, 1, compare,    next,    "a <= b")                                                         \
    X(gt,       none,     2, 1, compare,    next,    "a > b")                                                          \
    X(ge,       none,     2, 1, compare,    next,    "a >= b")                                                         \
    X(not_,     none,     1, 1, compare,    next,    "true if a is falsy (nil, false, 0, 0.0), else false")            \
    X(jmp,      label,    0, 0, control,    jump,    "jmp L: continue at L")                                           \
    X(jz,       label,    1, 0, control,    branch,  "jz L: pop; continue at L if the value is falsy")                 \
    X(jnz,      label,    1, 0, control,    branch,  "jnz L: pop; continue at L if the value is truthy")               \
    X(call,     callee,   kVariablePops, 1, call, call, "call F: pop F's arguments (first is deepest), push its result") \
    X(ret,      none,     1, 0, call,       return_, "return the popped value (from main: end the program with it)")   \
    X(halt,     none,     0, 0, control,    halt,    "end the program (result nil)")                                   \
    X(newarray, none,     1, 1, memory,     next,    "pop n, push a new array of n nils (n < 0 is an error)")          \
    X(aget,     none,     2, 1, memory,     next,    "pop array, index; push array[index]")                            \
    X(aset,     none,     3, 0, memory,     next,    "pop array, index, value; array[index] = value")                  \
    X(len,      none,     1, 1, memory,     next,    "length of an array or string")                                   \
    X(print,    none,     1, 0, io,         next,    "write the value and a newline")

// X(name, form, (sequence), operand kind, meaning). `sequence`: the linked instructions the form stands for,
// in order (user opcodes, or `push_int` for a small int literal); pops, pushes, flow and the number of user
// instructions one dispatch executes (`covers`) follow from it. `form`:
//   quickened   replaces one instruction (the linker picks it from the operand or the branch's taken rule);
//   native      a `call` whose target is a host function: no frame, no transfer (Flow::native);
//   fused       replaces a sequence that no jump enters after its first instruction;
//   fused_divisor  the same, and only when the pushed constant is neither 0 nor -1 (their errors and
//               INT64_MIN / -1 stay on div's slow path);
//   fused_in_place  the same, and only when its `store` names the local its first `load` read (`x = x OP y`):
//               the handler updates the local in place; listed before the general form, which it beats;
//   fused_pair  the same, and only when no other fused form starts at its first or second instruction
//               (two pushes in a row, e.g. call arguments, are the fallback).
//
// A fused form replaces only the opcode of the sequence's first instruction; the others stay in place and
// supply their operands (pc[1].operand, ...), so offsets, jump targets and debug positions are unchanged. It
// has only a fast path (int operands, in-bounds index); otherwise it runs the plain handler of its first
// instruction and the sequence runs unfused, so errors and their offsets are those of the original code.
// A `call` or `ret` may only end a sequence (a return lands after the whole form): the form runs its first
// instructions, then the call or return itself at its own offset, which is what frames, backtraces and the
// call hooks see. Code that looks for call sites in linked code must read the program's own instruction
// (call_k's flow is its call's, but the call is one instruction on).
#define OPSCOPE_INTERNAL_OPCODES(X)                                                                          \
    X(push_int,     quickened,     (push),                 immediate, "push a small int carried in the operand")  \
    X(call_native,  native,        (call),                 callee,    "call a host function (operand: native index)") \
    X(ret_local,    fused,         (load, ret),            local,     "load X; ret")                          \
    X(jz_counted,   quickened,     (jz),                   label,     "jz L, reporting whether it jumped (Counting: see TakenRule)") \
    X(jnz_counted,  quickened,     (jnz),                  label,     "jnz L, reporting whether it jumped (Counting: see TakenRule)") \
    /* add/sub/mul: `x OP y` of two locals or a local and a constant, pushed or stored (`z = x OP y`, and */ \
    /* `x = x + y` in place); `push K; OP`; and `load Y; OP` (the top of the stack OP a local: `a + b + c`) */ \
    X(add_lls_x,    fused_in_place, (load, load, add, store),     local,     "load X; load Y; add; store X")  \
    X(add_lks_x,    fused_in_place, (load, push_int, add, store), local,     "load X; push K; add; store X")  \
    X(sub_lls_x,    fused_in_place, (load, load, sub, store),     local,     "load X; load Y; sub; store X")  \
    X(sub_lks_x,    fused_in_place, (load, push_int, sub, store), local,     "load X; push K; sub; store X")  \
    X(add_ll,       fused,         (load, load, add),             local,     "load X; load Y; add")           \
    X(add_lk,       fused,         (load, push_int, add),         local,     "load X; push K; add")           \
    X(add_k,        fused,         (push_int, add),               immediate, "push K; add")                   \
    X(add_l,        fused,         (load, add),                   local,     "load Y; add")                   \
    X(add_lls,      fused,         (load, load, add, store),      local,     "load X; load Y; add; store Z")  \
    X(add_lks,      fused,         (load, push_int, add, store),  local,     "load X; push K; add; store Z")  \
    X(sub_ll,       fused,         (load, load, sub),             local,     "load X; load Y; sub")           \
    X(sub_lk,       fused,         (load, push_int, sub),         local,     "load X; push K; sub")           \
    X(sub_k,        fused,         (push_int, sub),               immediate, "push K; sub")                   \
    X(sub_l,        fused,         (load, sub),                   local,     "load Y; sub")                   \
    X(sub_lls,      fused,         (load, load, sub, store),      local,     "load X; load Y; sub; store Z")  \
    X(sub_lks,      fused,         (load, push_int, sub, store),  local,     "load X; push K; sub; store Z")  \
    X(mul_ll,       fused,         (load, load, mul),             local,     "load X; load Y; mul")           \
    X(mul_lk,       fused,         (load, push_int, mul),         local,     "load X; push K; mul")           \
    X(mul_k,        fused,         (push_int, mul),               immediate, "push K; mul")                   \
    X(mul_l,        fused,         (load, mul),                   local,     "load Y; mul")                   \
    X(mul_lls,      fused,         (load, load, mul, store),      local,     "load X; load Y; mul; store Z")  \
    X(mul_lks,      fused,         (load, push_int, mul, store),  local,     "load X; push K; mul; store Z")  \
    X(div_k,        fused_divisor, (push_int, div),               immediate, "push K; div (K not 0 or -1)")   \
    X(mod_k,        fused_divisor, (push_int, mod),               immediate, "push K; mod (K not 0 or -1)")   \
    /* comparison then branch: `CMP; jz/jnz L`, and with two locals or a local and a constant */            \
    X(lt_jz,        fused,         (lt, jz),                      none,      "lt; jz L")                      \
    X(lt_jnz,       fused,         (lt, jnz),                     none,      "lt; jnz L")                     \
    X(lt_ll_jz,     fused,         (load, load, lt, jz),          local,     "load X; load Y; lt; jz L")      \
    X(lt_ll_jnz,    fused,         (load, load, lt, jnz),         local,     "load X; load Y; lt; jnz L")     \
    X(lt_lk_jz,     fused,         (load, push_int, lt, jz),      local,     "load X; push K; lt; jz L")      \
    X(lt_lk_jnz,    fused,         (load, push_int, lt, jnz),     local,     "load X; push K; lt; jnz L")     \
    X(le_jz,        fused,         (le, jz),                      none,      "le; jz L")                      \
    X(le_jnz,       fused,         (le, jnz),                     none,      "le; jnz L")                     \
    X(le_ll_jz,     fused,         (load, load, le, jz),          local,     "load X; load Y; le; jz L")      \
    X(le_ll_jnz,    fused,         (load, load, le, jnz),         local,     "load X; load Y; le; jnz L")     \
    X(le_lk_jz,     fused,         (load, push_int, le, jz),      local,     "load X; push K; le; jz L")      \
    X(le_lk_jnz,    fused,         (load, push_int, le, jnz),     local,     "load X; push K; le; jnz L")     \
    X(gt_jz,        fused,         (gt, jz),                      none,      "gt; jz L")                      \
    X(gt_jnz,       fused,         (gt, jnz),                     none,      "gt; jnz L")                     \
    X(gt_ll_jz,     fused,         (load, load, gt, jz),          local,     "load X; load Y; gt; jz L")      \
    X(gt_ll_jnz,    fused,         (load, load, gt, jnz),         local,     "load X; load Y; gt; jnz L")     \
    X(gt_lk_jz,     fused,         (load, push_int, gt, jz),      local,     "load X; push K; gt; jz L")      \
    X(gt_lk_jnz,    fused,         (load, push_int, gt, jnz),     local,     "load X; push K; gt; jnz L")     \
    X(ge_jz,        fused,         (ge, jz),                      none,      "ge; jz L")                      \
    X(ge_jnz,       fused,         (ge, jnz),                     none,      "ge; jnz L")                     \
    X(ge_ll_jz,     fused,         (load, load, ge, jz),          local,     "load X; load Y; ge; jz L")      \
    X(ge_ll_jnz,    fused,         (load, load, ge, jnz),         local,     "load X; load Y; ge; jnz L")     \
    X(ge_lk_jz,     fused,         (load, push_int, ge, jz),      local,     "load X; push K; ge; jz L")      \
    X(ge_lk_jnz,    fused,         (load, push_int, ge, jnz),     local,     "load X; push K; ge; jnz L")     \
    X(eq_jz,        fused,         (eq, jz),                      none,      "eq; jz L")                      \
    X(eq_jnz,       fused,         (eq, jnz),                     none,      "eq; jnz L")                     \
    X(eq_ll_jz,     fused,         (load, load, eq, jz),          local,     "load X; load Y; eq; jz L")      \
    X(eq_ll_jnz,    fused,         (load, load, eq, jnz),         local,     "load X; load Y; eq; jnz L")     \
    X(eq_lk_jz,     fused,         (load, push_int, eq, jz),      local,     "load X; push K; eq; jz L")      \
    X(eq_lk_jnz,    fused,         (load, push_int, eq, jnz),     local,     "load X; push K; eq; jnz L")     \
    X(ne_jz,        fused,         (ne, jz),                      none,      "ne; jz L")                      \
    X(ne_jnz,       fused,         (ne, jnz),                     none,      "ne; jnz L")                     \
    X(ne_ll_jz,     fused,         (load, load, ne, jz),          local,     "load X; load Y; ne; jz L")      \
    X(ne_ll_jnz,    fused,         (load, load, ne, jnz),         local,     "load X; load Y; ne; jnz L")     \
    X(ne_lk_jz,     fused,         (load, push_int, ne, jz),      local,     "load X; push K; ne; jz L")      \
    X(ne_lk_jnz,    fused,         (load, push_int, ne, jnz),     local,     "load X; push K; ne; jnz L")     \
    /* array access with a local array and index */                                                         \
    X(aget_ll,      fused,         (load, load, aget),            local,     "load A; load I; aget")          \
    X(aget_ll_jz,   fused,         (load, load, aget, jz),        local,     "load A; load I; aget; jz L")    \
    X(aget_ll_jnz,  fused,         (load, load, aget, jnz),       local,     "load A; load I; aget; jnz L")   \
    X(aset_llc,     fused,         (load, load, push, aset),      local,     "load A; load I; push LIT; aset") \
    X(aset_lll,     fused,         (load, load, load, aset),      local,     "load A; load I; load V; aset")  \
    X(load_ll,      fused_pair,    (load, load),                  local,     "load X; load Y")                \
    X(load_lk,      fused_pair,    (load, push_int),              local,     "load X; push K")                \
    /* a call whose last argument is a constant or a local (the return lands after the form) */             \
    X(call_k,       fused,         (push_int, call),              immediate, "push K; call F")                \
    X(call_l,       fused,         (load, call),                  local,     "load X; call F")                \
    /* returning an expression: the two top values, or the top and a local (`return a + b + c`) */          \
    X(add_ret,      fused,         (add, ret),                    none,      "add; ret")                      \
    X(add_l_ret,    fused,         (load, add, ret),              local,     "load Y; add; ret")              \
    X(sub_ret,      fused,         (sub, ret),                    none,      "sub; ret")                      \
    X(sub_l_ret,    fused,         (load, sub, ret),              local,     "load Y; sub; ret")              \
    X(mul_ret,      fused,         (mul, ret),                    none,      "mul; ret")                      \
    X(mul_l_ret,    fused,         (load, mul, ret),              local,     "load Y; mul; ret")

enum class Op : std::uint8_t {
#define OPSCOPE_ENUM_USER(name, ...) name,
#define OPSCOPE_ENUM_INTERNAL(name, ...) name,
    OPSCOPE_OPCODES(OPSCOPE_ENUM_USER) OPSCOPE_INTERNAL_OPCODES(OPSCOPE_ENUM_INTERNAL)
#undef OPSCOPE_ENUM_USER
#undef OPSCOPE_ENUM_INTERNAL
};

// How the linker produces an internal form (see OPSCOPE_INTERNAL_OPCODES); `user` for user opcodes.
enum class Form : std::uint8_t { user, quickened, native, fused, fused_divisor, fused_in_place, fused_pair };
constexpr bool is_fused(Form form) {
    switch (form) {
    case Form::user:
    case Form::quickened:
    case Form::native: return false;
    case Form::fused:
    case Form::fused_divisor:
    case Form::fused_in_place:
    case Form::fused_pair: return true;
    }
    return false;
}

inline constexpr std::size_t kMaxSequence = 4;

struct OpInfo {
    std::string_view mnemonic;
    OperandKind operand;
    int pops;  // kVariablePops for `call`
    int pushes;
    Category category;
    Flow flow;
    std::string_view meaning;
    Form form;
    std::array<Op, kMaxSequence> sequence;  // what it stands for (a user opcode: itself)
    int covers;       // the sequence's length: user instructions executed by one dispatch
    Op stands_for;    // the user opcode it starts as: its plain fallback, and what profiles count it as
    bool internal;    // form != Form::user
};

constexpr std::string_view mnemonic_from_identifier(std::string_view identifier) {
    return identifier.ends_with('_') ? identifier.substr(0, identifier.size() - 1) : identifier;
}

namespace opcode_table_detail {

struct UserRow {
    OperandKind operand;
    int pops, pushes;
    Flow flow;
};
inline constexpr UserRow kUserRows[] = {
#define OPSCOPE_USER_ROW(name, operand, pops, pushes, category, flow, meaning) \
    {OperandKind::operand, pops, pushes, Flow::flow},
    OPSCOPE_OPCODES(OPSCOPE_USER_ROW)
#undef OPSCOPE_USER_ROW
};

// An internal form's row from its sequence: the net stack effect, the flow of its last instruction (the
// one that decides where control goes), and the user opcode each element stands for.
template <std::size_t N>
constexpr OpInfo internal_row(std::string_view name, OperandKind operand, Form form, std::array<Op, N> sequence,
                              std::string_view meaning) {
    static_assert(N >= 1 && N <= kMaxSequence);
    OpInfo row{name, operand, 0, 0, Category::internal, Flow::next, meaning, form, {}, static_cast<int>(N), Op::push, true};
    int height = 0, lowest = 0;
    for (std::size_t k = 0; k < N; ++k) {
        // push_int is the only internal opcode a sequence may name (it is quickened before fusion).
        const Op user = static_cast<std::size_t>(sequence[k]) < std::size(kUserRows) ? sequence[k] : Op::push;
        const UserRow& step = kUserRows[static_cast<std::size_t>(user)];
        if (step.pops == kVariablePops) {
            row.pops = kVariablePops;  // a call: its arity is the callee's, and what the form pushed before it
            height = lowest = 0;       // are some of its arguments
        } else {
            height -= step.pops;
            lowest = height < lowest ? height : lowest;
        }
        height += step.pushes;
        row.flow = step.flow;
        row.sequence[k] = sequence[k];
    }
    if (row.pops != kVariablePops) row.pops = -lowest;
    row.pushes = height - lowest;
    if (form == Form::native) row.flow = Flow::native;
    row.stands_for = sequence[0] == Op::push_int ? Op::push : sequence[0];
    return row;
}

} // namespace opcode_table_detail

#define OPSCOPE_UNPARENTHESIZE(...) __VA_ARGS__
inline constexpr OpInfo kOpTable[] = {
#define OPSCOPE_INFO_USER(name, operand, pops, pushes, category, flow, meaning)                              \
    {mnemonic_from_identifier(#name), OperandKind::operand, pops, pushes, Category::category, Flow::flow,      \
     meaning, Form::user, {Op::name}, 1, Op::name, false},
#define OPSCOPE_INFO_INTERNAL(name, form, sequence, operand, meaning)                                        \
    opcode_table_detail::internal_row(#name, OperandKind::operand, Form::form,                               \
                                      [] { using enum Op; return std::array{OPSCOPE_UNPARENTHESIZE sequence}; }(), \
                                      meaning),
    OPSCOPE_OPCODES(OPSCOPE_INFO_USER) OPSCOPE_INTERNAL_OPCODES(OPSCOPE_INFO_INTERNAL)
#undef OPSCOPE_INFO_USER
#undef OPSCOPE_INFO_INTERNAL
};
#undef OPSCOPE_UNPARENTHESIZE

inline constexpr std::size_t kOpCount = std::size(kOpTable);
inline constexpr std::size_t kUserOpCount = std::size(opcode_table_detail::kUserRows);

constexpr const OpInfo& info(Op op) { return kOpTable[static_cast<std::size_t>(op)]; }
constexpr std::string_view mnemonic(Op op) { return info(op).mnemonic; }

// The user-visible opcode named `text`, if any (internal opcodes are not looked up).
constexpr std::optional<Op> op_from_mnemonic(std::string_view text) {
    for (std::size_t i = 0; i < kUserOpCount; ++i)
        if (kOpTable[i].mnemonic == text) return static_cast<Op>(i);
    return std::nullopt;
}

constexpr std::string_view category_name(Category c) {
    constexpr std::string_view names[] = {"stack", "local",   "global", "arithmetic", "compare",
                                          "control", "call", "memory", "io",         "internal"};
    return names[static_cast<std::size_t>(c)];
}

// --- control flow, from the table's flow column -------------------------------------------------------
// Control does not fall through to the next instruction.
constexpr bool ends_flow(Flow flow) {
    switch (flow) {
    case Flow::next:
    case Flow::branch:
    case Flow::call:
    case Flow::native: return false;
    case Flow::jump:
    case Flow::return_:
    case Flow::halt: return true;
    }
    return true;
}
// The instruction's operand is a label it may continue at.
constexpr bool has_target(Flow flow) {
    switch (flow) {
    case Flow::jump:
    case Flow::branch: return true;
    case Flow::next:
    case Flow::call:
    case Flow::return_:
    case Flow::halt:
    case Flow::native: return false;
    }
    return false;
}
// The next instruction starts a basic block (calls do not end blocks: the return lands mid-block).
constexpr bool ends_block(Flow flow) { return has_target(flow) || ends_flow(flow); }
// Control may leave the straight line here: fuel is charged per straight-line run, so a run ends here.
constexpr bool ends_run(Flow flow) {
    switch (flow) {
    case Flow::next:
    case Flow::native: return false;
    case Flow::jump:
    case Flow::branch:
    case Flow::call:
    case Flow::return_:
    case Flow::halt: return true;
    }
    return true;
}

constexpr bool ends_flow(Op op) { return ends_flow(info(op).flow); }
constexpr bool is_branch(Op op) { return info(op).flow == Flow::branch; }
constexpr bool is_jump(Op op) { return has_target(info(op).flow); }
constexpr bool ends_block(Op op) { return ends_block(info(op).flow); }
constexpr bool ends_run(Op op) { return ends_run(info(op).flow); }

// Calls `visit.template operator()<Op::X>()` for the runtime opcode X: a switch generated from the table, so
// code that treats opcodes one by one (the slow paths) sees every opcode at compile time and can reject an
// unhandled one with a static_assert instead of a `default:` that quietly does something.
template <class Visitor>
constexpr decltype(auto) visit_op(Op op, Visitor&& visit) {
    switch (op) {
#define OPSCOPE_VISIT_CASE(name, ...) \
    case Op::name: return visit.template operator()<Op::name>();
        OPSCOPE_OPCODES(OPSCOPE_VISIT_CASE) OPSCOPE_INTERNAL_OPCODES(OPSCOPE_VISIT_CASE)
#undef OPSCOPE_VISIT_CASE
    }
    return visit.template operator()<Op::halt>();  // not reached: every enumerator has its case
}

// A fingerprint of an instruction set: the rows' mnemonics in opcode order, operand kinds, stack effects and
// flow. The bytecode format's version is tied to the fingerprint of the user opcodes (bytecode.cpp), so a
// renumbering cannot load old files as wrong instructions.
constexpr std::uint32_t instruction_set_fingerprint(const OpInfo* rows, std::size_t count) {
    std::uint32_t hash = 2166136261u;  // FNV-1a
    const auto mix = [&](std::uint32_t byte) { hash = (hash ^ (byte & 0xFFu)) * 16777619u; };
    for (std::size_t i = 0; i < count; ++i) {
        const OpInfo& row = rows[i];
        for (const char c : row.mnemonic) mix(static_cast<unsigned char>(c));
        mix(0);
        mix(static_cast<std::uint32_t>(row.operand));
        mix(static_cast<std::uint32_t>(row.pops));
        mix(static_cast<std::uint32_t>(row.pushes));
        mix(static_cast<std::uint32_t>(row.flow));
    }
    return hash;
}
constexpr std::uint32_t instruction_set_fingerprint() { return instruction_set_fingerprint(kOpTable, kUserOpCount); }

static_assert(kOpCount <= 128, "opcodes must fit 7 bits: the interpreter's 8-bit op field keeps one bit spare");
static_assert(kUserOpCount == static_cast<std::size_t>(Op::print) + 1, "user opcodes come first");
static_assert(op_from_mnemonic("aset") == Op::aset && op_from_mnemonic("not") == Op::not_ &&
              !op_from_mnemonic("push_int"));
// Every internal form is linked from user instructions (and push_int): its sequence names no other.
static_assert([] {
    for (const OpInfo& row : kOpTable)
        for (int k = 0; k < row.covers; ++k)
            if (const Op step = row.sequence[static_cast<std::size_t>(k)];
                info(step).internal && step != Op::push_int)
                return false;
    return true;
}());
static_assert(info(Op::add_lls).pops == 0 && info(Op::add_lls).pushes == 0 && info(Op::add_k).pops == 1 &&
              info(Op::add_k).pushes == 1 && info(Op::lt_jz).pops == 2 && info(Op::lt_jz).flow == Flow::branch &&
              info(Op::ret_local).flow == Flow::return_ && info(Op::call_native).pops == kVariablePops &&
              info(Op::call_native).flow == Flow::native &&
              info(Op::aset_lll).covers == 4 && info(Op::push_int).stands_for == Op::push &&
              info(Op::add_k).stands_for == Op::push);

} // namespace opscope
