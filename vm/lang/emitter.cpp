// FunctionEmitter: instruction appending, label patching and the dropping of unreachable code.
#include "emitter.hpp"

#include <algorithm>

namespace opscope::lang {

void FunctionEmitter::append(Op op, std::int32_t operand, SourcePos pos) {
    // One over the limit still fits: bind() may drop that last instruction, a jmp to the next one.
    if (function_.code.size() > kMaxFunctionSize) throw FunctionTooLong{pos};
    function_.code.push_back(Instruction{op, operand});
    function_.positions.push_back(pos);
    if (ends_flow(op)) reachable_ = false;
}

void FunctionEmitter::emit(Op op, SourcePos pos, std::int32_t operand) {
    if (reachable_) append(op, operand, pos);
}

void FunctionEmitter::emit_constant(const Constant& value, SourcePos pos) {
    if (reachable_) append(Op::push, builder_.constant(value), pos);
}

void FunctionEmitter::emit_global(Op op, std::string_view name, SourcePos pos) {
    if (reachable_) append(op, builder_.global(name), pos);
}

void FunctionEmitter::emit_call(std::string_view callee, SourcePos pos) {
    if (reachable_) append(Op::call, builder_.call_target(callee), pos);
}

void FunctionEmitter::emit_jump(Op op, Label& target, SourcePos pos) {
    if (!reachable_) return;
    if (target.offset_ < 0) target.pending_.push_back(function_.code.size());
    append(op, std::max(target.offset_, 0), pos);
}

void FunctionEmitter::bind(Label& label) {
    // A jmp to the next instruction does nothing: drop it, unless a label some jump uses already points
    // past it. It was reachable, so the code here is too.
    if (!label.pending_.empty() && label.pending_.back() + 1 == function_.code.size() &&
        function_.code.back().op == Op::jmp && last_bound_ != here()) {
        label.pending_.pop_back();
        function_.code.pop_back();
        function_.positions.pop_back();
        reachable_ = true;
    }
    label.offset_ = here();
    if (label.pending_.empty()) return;  // nothing jumps here (loop starts are handled by bind_loop_start)
    for (const std::size_t jump : label.pending_) function_.code[jump].operand = label.offset_;
    label.pending_.clear();
    last_bound_ = label.offset_;
    reachable_ = true;
}

void FunctionEmitter::bind_loop_start(Label& label) {
    bind(label);
    last_bound_ = label.offset_;  // jumps back to here come later
    reachable_ = true;
}

} // namespace opscope::lang
