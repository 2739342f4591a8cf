// The opcode table: the single source of truth for the instruction set.
//
// Every row gives mnemonic, operand kind, pops, pushes, category and a one-line meaning. The enum `Op`,
// the mnemonic lookup, the assembler, disassembler, verifier, the interpreter's dispatch table and the
// reports all derive from these two lists; nothing else enumerates opcodes by hand.
//
// OPSCOPE_OPCODES are the user-visible instructions (the `.opasm` contract). OPSCOPE_INTERNAL_OPCODES are
// forms the linker rewrites user instructions into (quickening, fusion); they never appear in a Program,
// in disassembly or in a profile. Their `pops`/`pushes` columns are those of the user instruction(s) they
// replace and `stands_for` names the first of those.
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

// pops == kVariablePops: the instruction pops the callee's arity (only `call`).
inline constexpr int kVariablePops = -1;

// X(name, operand kind, pops, pushes, category, meaning). A trailing '_' in a name (`not_`) only avoids a
// C++ keyword; the mnemonic drops it.
#define OPSCOPE_OPCODES(X)                                                                                     \
    X(push,     constant, 0, 1, stack,      "push LIT: push a literal int, float, string, nil, true or false")    \
    X(pop,      none,     1, 0, stack,      "discard the top value")                                             \
    X(dup,      none,     1, 2, stack,      "duplicate the top value")                                           \
    X(swap,     none,     2, 2, stack,      "exchange the two top values")                                       \
    X(load,     local,    0, 1, local,      "load N: push local slot N")                                         \
    X(store,    local,    1, 0, local,      "store N: pop into local slot N")                                    \
    X(gload,    global,   0, 1, global,     "gload NAME: push global NAME (error if never stored)")              \
    X(gstore,   global,   1, 0, global,     "gstore NAME: pop into global NAME")                                 \
    X(add,      none,     2, 1, arithmetic, "a + b (ints wrap; a float makes a float; two strings concatenate)") \
    X(sub,      none,     2, 1, arithmetic, "a - b (ints wrap)")                                                 \
    X(mul,      none,     2, 1, arithmetic, "a * b (ints wrap)")                                                 \
    X(div,      none,     2, 1, arithmetic, "a / b (ints truncate toward zero; int division by zero is an error)") \
    X(mod,      none,     2, 1, arithmetic, "a % b (sign of the dividend as in C; float: fmod)")                 \
    X(neg,      none,     1, 1, arithmetic, "-a")                                                                \
    X(eq,       none,     2, 1, compare,    "a == b (numbers numerically, strings by content, arrays by identity)") \
    X(ne,       none,     2, 1, compare,    "a != b")                                                            \
    X(lt,       none,     2, 1, compare,    "a < b (two numbers or two strings)")                                \
    X(le,       none,     2, 1, compare,    "a <= b")                                                            \
    X(gt,       none,     2, 1, compare,    "a > b")                                                             \
    X(ge,       none,     2, 1, compare,    "a >= b")                                                            \
    X(not_,     none,     1, 1, compare,    "true if a is falsy (nil, false, 0, 0.0), else false")               \
    X(jmp,      label,    0, 0, control,    "jmp L: continue at L")                                              \
    X(jz,       label,    1, 0, control,    "jz L: pop; continue at L if the value is falsy")                    \
    X(jnz,      label,    1, 0, control,    "jnz L: pop; continue at L if the value is truthy")                  \
    X(call,     callee,   kVariablePops, 1, call, "call F: pop F's arguments (first is deepest), push its result") \
    X(ret,      none,     1, 0, call,       "return the popped value (from main: end the program with it)")      \
    X(halt,     none,     0, 0, control,    "end the program (result nil)")                                      \
    X(newarray, none,     1, 1, memory,     "pop n, push a new array of n nils (n < 0 is an error)")             \
    X(aget,     none,     2, 1, memory,     "pop array, index; push array[index]")                               \
    X(aset,     none,     3, 0, memory,     "pop array, index, value; array[index] = value")                     \
    X(len,      none,     1, 1, memory,     "length of an array or string")                                      \
    X(print,    none,     1, 0, io,         "write the value and a newline")

// X(name, stands_for, operand kind, pops, pushes, covers, meaning); `covers`: how many user instructions
// the form executes (1 for a quickened form).
//
// Fused forms (superinstructions) replace only the opcode of the first instruction of a sequence; the
// sequence's other instructions stay in place and supply the remaining operands (pc[1].operand, ...), so
// offsets, jump targets and debug positions are unchanged. A fused form only has a fast path (int
// operands); otherwise it falls back to the plain handler of its first instruction and the sequence runs
// unfused, so errors and their offsets are exactly those of the original code. The linker fuses only
// sequences that no jump enters after their first instruction.
#define OPSCOPE_INTERNAL_OPCODES(X)                                                                            \
    X(push_int,    push, immediate, 0, 1, 1, "push a small int carried in the operand")                          \
    X(call_native, call, callee,    kVariablePops, 1, 1, "call a host function (operand: native index)")         \
    X(ret_local,   load, local,     0, 0, 2, "load X; ret")                                                      \
    X(jz_counted,  jz,   label,     1, 0, 1, "jz L, reporting whether it jumped (Counting: see TakenRule)")      \
    X(jnz_counted, jnz,  label,     1, 0, 1, "jnz L, reporting whether it jumped (Counting: see TakenRule)")     \
    OPSCOPE_FUSED_ARITHMETIC(X, add) OPSCOPE_FUSED_ARITHMETIC(X, sub) OPSCOPE_FUSED_ARITHMETIC(X, mul)        \
    X(div_k,       push,     immediate, 1, 1, 2, "push K; div (K not 0 or -1)")                                 \
    X(mod_k,       push,     immediate, 1, 1, 2, "push K; mod (K not 0 or -1)")                                  \
    OPSCOPE_FUSED_COMPARE(X, lt) OPSCOPE_FUSED_COMPARE(X, le) OPSCOPE_FUSED_COMPARE(X, gt)                    \
    OPSCOPE_FUSED_COMPARE(X, ge) OPSCOPE_FUSED_COMPARE(X, eq) OPSCOPE_FUSED_COMPARE(X, ne)                    \
    X(aget_ll,     load, local,     0, 1, 3, "load A; load I; aget")                                             \
    X(aget_ll_jz,  load, local,     0, 0, 4, "load A; load I; aget; jz L")                                       \
    X(aget_ll_jnz, load, local,     0, 0, 4, "load A; load I; aget; jnz L")                                      \
    X(aset_llc,    load, local,     0, 0, 4, "load A; load I; push LIT; aset")                                   \
    X(aset_lll,    load, local,     0, 0, 4, "load A; load I; load V; aset")                                     \
    X(load_ll,     load, local,     0, 2, 2, "load X; load Y (two pushes in a row, e.g. call arguments)")        \
    X(load_lk,     load, local,     0, 2, 2, "load X; push K")

// add/sub/mul: `load X; load Y; OP`, `load X; push K; OP`, `push K; OP`, `load Y; OP` (the top of the stack
// OP a local: `a + b + c`), and the first two followed by `store Z` (the statement `z = x OP y`).
#define OPSCOPE_FUSED_ARITHMETIC(X, op)                                        \
    X(op##_ll, load, local, 0, 1, 3, "load X; load Y; " #op)                      \
    X(op##_lk, load, local, 0, 1, 3, "load X; push K; " #op)                      \
    X(op##_k, push, immediate, 1, 1, 2, "push K; " #op)                           \
    X(op##_l, load, local, 1, 1, 2, "load Y; " #op)                               \
    X(op##_lls, load, local, 0, 0, 4, "load X; load Y; " #op "; store Z")         \
    X(op##_lks, load, local, 0, 0, 4, "load X; push K; " #op "; store Z")

// Comparison then branch: `CMP; jz/jnz L`, `load X; load Y; CMP; jz/jnz L`, `load X; push K; CMP; jz/jnz L`.
#define OPSCOPE_FUSED_COMPARE(X, cmp)                                          \
    X(cmp##_jz, cmp, none, 2, 0, 2, #cmp "; jz L")                                \
    X(cmp##_jnz, cmp, none, 2, 0, 2, #cmp "; jnz L")                              \
    X(cmp##_ll_jz, load, local, 0, 0, 4, "load X; load Y; " #cmp "; jz L")        \
    X(cmp##_ll_jnz, load, local, 0, 0, 4, "load X; load Y; " #cmp "; jnz L")      \
    X(cmp##_lk_jz, load, local, 0, 0, 4, "load X; push K; " #cmp "; jz L")        \
    X(cmp##_lk_jnz, load, local, 0, 0, 4, "load X; push K; " #cmp "; jnz L")

enum class Op : std::uint8_t {
#define OPSCOPE_ENUM_USER(name, operand, pops, pushes, category, meaning) name,
#define OPSCOPE_ENUM_INTERNAL(name, stands_for, operand, pops, pushes, covers, meaning) name,
    OPSCOPE_OPCODES(OPSCOPE_ENUM_USER) OPSCOPE_INTERNAL_OPCODES(OPSCOPE_ENUM_INTERNAL)
#undef OPSCOPE_ENUM_USER
#undef OPSCOPE_ENUM_INTERNAL
};

constexpr std::string_view mnemonic_from_identifier(std::string_view identifier) {
    return identifier.ends_with('_') ? identifier.substr(0, identifier.size() - 1) : identifier;
}

struct OpInfo {
    std::string_view mnemonic;
    OperandKind operand;
    int pops;  // kVariablePops for `call`
    int pushes;
    Category category;
    std::string_view meaning;
    Op stands_for;  // the user opcode it counts as (itself for user opcodes)
    bool internal;
    int covers;     // user instructions executed by one dispatch of it (fused forms: the sequence length)
};

inline constexpr OpInfo kOpTable[] = {
#define OPSCOPE_INFO_USER(name, operand, pops, pushes, category, meaning) \
    {mnemonic_from_identifier(#name), OperandKind::operand, pops, pushes, Category::category, meaning, Op::name, false, 1},
#define OPSCOPE_INFO_INTERNAL(name, stands_for, operand, pops, pushes, covers, meaning) \
    {#name, OperandKind::operand, pops, pushes, Category::internal, meaning, Op::stands_for, true, covers},
    OPSCOPE_OPCODES(OPSCOPE_INFO_USER) OPSCOPE_INTERNAL_OPCODES(OPSCOPE_INFO_INTERNAL)
#undef OPSCOPE_INFO_USER
#undef OPSCOPE_INFO_INTERNAL
};

inline constexpr std::size_t kOpCount = std::size(kOpTable);
inline constexpr std::size_t kUserOpCount = [] {
    std::size_t n = 0;
    for (const auto& info : kOpTable) n += info.internal ? 0 : 1;
    return n;
}();

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

// Instructions after which control does not fall through to the next instruction.
constexpr bool ends_flow(Op op) { return op == Op::jmp || op == Op::ret || op == Op::halt; }
constexpr bool is_branch(Op op) { return op == Op::jz || op == Op::jnz; }
constexpr bool is_jump(Op op) { return op == Op::jmp || is_branch(op); }

static_assert(kOpCount <= 128, "opcodes must fit 7 bits: the interpreter's 8-bit op field keeps one bit spare");
static_assert(kUserOpCount == static_cast<std::size_t>(Op::print) + 1, "user opcodes come first");
static_assert(op_from_mnemonic("aset") == Op::aset && op_from_mnemonic("not") == Op::not_ &&
              !op_from_mnemonic("push_int"));

} // namespace opscope
