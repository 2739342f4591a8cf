// FunctionEmitter: appends one function's instructions with their source positions, interning operands
// through the ProgramBuilder, with forward-patched labels.
//
// Unreachable code is dropped as it is emitted (after a jmp/ret/halt until a label that is jumped to is
// bound), and so are its constants: every table entry of the Program is used by some instruction, which
// keeps the bytecode equal to what its disassembly reassembles to. A `jmp` to the very next instruction is
// removed when its label is bound.
#pragma once

#include <opscope/program.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

namespace opscope::lang {

// Thrown by an emit that would make the function longer than kMaxFunctionSize allows (program.hpp), at the
// position of the instruction that does not fit: compiling stops there, before the code grows any further.
struct FunctionTooLong {
    SourcePos pos;
};

// A jump target inside one function.
class Label {
public:
    Label() = default;
    Label(const Label&) = delete;
    Label& operator=(const Label&) = delete;

private:
    friend class FunctionEmitter;
    std::int32_t offset_ = -1;           // once bound
    std::vector<std::size_t> pending_;   // jumps emitted before bind(), patched then
};

class FunctionEmitter {
public:
    FunctionEmitter(ProgramBuilder& builder, Function& function) : builder_(builder), function_(function) {}

    void emit(Op op, SourcePos pos, std::int32_t operand = 0);     // operand kinds none and local
    void emit_constant(const Constant& value, SourcePos pos);      // push
    void emit_global(Op op, std::string_view name, SourcePos pos); // gload, gstore
    void emit_call(std::string_view callee, SourcePos pos);
    void emit_jump(Op op, Label& target, SourcePos pos);           // jmp, jz, jnz

    // Binds `label` to the next instruction. bind_loop_start() is for a label that later code jumps back
    // to, which makes the code after it reachable.
    void bind(Label& label);
    void bind_loop_start(Label& label);

    // Whether control can reach the next instruction emitted.
    bool reachable() const { return reachable_; }

private:
    void append(Op op, std::int32_t operand, SourcePos pos);
    std::int32_t here() const { return static_cast<std::int32_t>(function_.code.size()); }

    ProgramBuilder& builder_;
    Function& function_;
    bool reachable_ = true;
    std::int32_t last_bound_ = -1;  // offset of the last label bound that some jump targets
};

} // namespace opscope::lang
