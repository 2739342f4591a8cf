// The code generator. Shapes of the generated code:
//   while (c) B          jmp COND; BODY: B; COND: <c jumps to BODY if true>; EXIT:
//   for (I; c; S) B      I; jmp COND; BODY: B; STEP: S; COND: <c jumps to BODY if true>; EXIT:
//   if (c) A else B      <c jumps to ELSE if false>; A; jmp END; ELSE: B; END:  (an `else if` chain: one END)
// Conditions compile straight to jumps (`&&`, `||` and `!` become jump chains, constant conditions become
// a jmp or nothing); in value context `&&` and `||` produce true or false.
#include "codegen.hpp"
#include "emitter.hpp"
#include "scopes.hpp"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string_view>

namespace opscope::lang {
namespace {

enum class CalleeKind : std::uint8_t { function, print, array, len, native };

struct Callee {
    CalleeKind kind;
    int arity;              // -1: unknown (a function whose parameter list did not parse)
    SourcePos defined_at;   // user functions
};

// Truthiness of a literal, as the VM's jz/jnz test it.
bool truthy_constant(const Constant& value) {
    if (std::holds_alternative<Nil>(value)) return false;
    if (const auto* b = std::get_if<bool>(&value)) return *b;
    if (const auto* i = std::get_if<std::int64_t>(&value)) return *i != 0;
    if (const auto* f = std::get_if<double>(&value)) return *f != 0.0;
    return true;  // strings
}

Op binary_opcode(BinaryOp op) {
    switch (op) {
    case BinaryOp::add: return Op::add;
    case BinaryOp::sub: return Op::sub;
    case BinaryOp::mul: return Op::mul;
    case BinaryOp::div: return Op::div;
    case BinaryOp::mod: return Op::mod;
    case BinaryOp::eq: return Op::eq;
    case BinaryOp::ne: return Op::ne;
    case BinaryOp::lt: return Op::lt;
    case BinaryOp::le: return Op::le;
    case BinaryOp::gt: return Op::gt;
    case BinaryOp::ge: return Op::ge;
    case BinaryOp::and_:
    case BinaryOp::or_: break;
    }
    return Op::halt;  // not reached: && and || are compiled as jumps
}

class CodeGenerator {
public:
    CodeGenerator(const std::string& file, const std::vector<NativeDeclaration>& natives, DiagnosticSink& sink)
        : builder_(file), sink_(sink) {
        callees_.emplace("print", Callee{CalleeKind::print, 1, {}});
        callees_.emplace("array", Callee{CalleeKind::array, 1, {}});
        callees_.emplace("len", Callee{CalleeKind::len, 1, {}});
        callees_.emplace("clock", Callee{CalleeKind::native, 0, {}});
        callees_.emplace("sqrt", Callee{CalleeKind::native, 1, {}});
        for (const auto& native : natives) callees_.emplace(native.name, Callee{CalleeKind::native, native.arity, {}});
    }

    Program run(const Module& module) {
        module_ = &module;
        const std::vector<const FunctionDecl*> functions = declare_functions();
        for (const StmtId id : statements(module.statements))
            if (const Stmt& statement = stmt(id); statement.kind == StmtKind::let)
                all_globals_.insert(name(statement.node.let.name));

        generate_main();
        for (const FunctionDecl* function : functions) generate_function(*function);
        return builder_.take();
    }

private:
    // --- declarations --------------------------------------------------------------------------------------
    std::vector<const FunctionDecl*> declare_functions() {
        std::vector<const FunctionDecl*> accepted;
        for (const auto& function : module_->functions) {
            const std::string_view function_name = name(function.name);
            if (function_name == "main") {
                sink_.error(function.pos, "'main' is reserved for top-level code");
                continue;
            }
            const int arity = function.header_complete ? static_cast<int>(function.params.count) : -1;
            const auto [it, inserted] =
                callees_.emplace(std::string(function_name), Callee{CalleeKind::function, arity, function.pos});
            if (inserted) {
                accepted.push_back(&function);
            } else if (it->second.kind == CalleeKind::function) {
                sink_.error(function.pos, fmt::format("duplicate function '{}' (first defined at line {})", function_name,
                                                      it->second.defined_at.line));
            } else {
                sink_.error(function.pos, fmt::format("'{}' is a built-in function and cannot be redefined", function_name));
            }
        }
        return accepted;
    }

    // --- functions -----------------------------------------------------------------------------------------
    void generate_main() {
        Function main;
        main.name = "main";
        in_main_ = true;
        locals_.reset();
        generate_body(main, module_->statements, [&] {
            if (out_->reachable()) out_->emit(Op::halt, module_->end);
        });
        main.nlocals = locals_.max_slots();
        builder_.program().functions.push_back(std::move(main));
    }

    void generate_function(const FunctionDecl& declaration) {
        Function function;
        function.name = name(declaration.name);
        function.nargs = declaration.params.count;
        in_main_ = false;
        locals_.reset();
        locals_.enter();  // parameters and the body's own `let`s share one scope
        for (const Parameter& param : entries(module_->parameters, declaration.params)) {
            if (locals_.declared_in_innermost(name(param.name)))
                sink_.error(param.pos, fmt::format("duplicate parameter '{}'", name(param.name)));
            locals_.declare(name(param.name));
        }
        generate_body(function, declaration.body.statements, [&] {
            if (!out_->reachable()) return;
            out_->emit_constant(Nil{}, declaration.body.close);
            out_->emit(Op::ret, declaration.body.close);
        });
        function.nlocals = locals_.max_slots();
        builder_.program().functions.push_back(std::move(function));
    }

    // `body` and then `end` into `function`; or, at the first instruction that makes it longer than the VM
    // allows, an error, and nothing more of the function (its code stops growing there: it will not run).
    template <class End>
    void generate_body(Function& function, Range body, End end) {
        FunctionEmitter emitter(builder_, function);
        out_ = &emitter;
        try {
            for (const StmtId statement : statements(body)) generate(stmt(statement));
            end();
        } catch (const FunctionTooLong& error) {
            sink_.error(error.pos, fmt::format("function '{}' has more than the {} instructions allowed",
                                               function.name, kMaxFunctionSize));
            loops_.clear();
            chain_stack_.clear();
        }
        out_ = nullptr;
    }

    // --- statements ----------------------------------------------------------------------------------------
    void generate(const Stmt& statement) {
        const SourcePos pos = statement.pos;
        switch (statement.kind) {
        case StmtKind::let: return generate_let(statement.node.let, pos);
        case StmtKind::assign: return generate_assign(statement.node.assign, pos);
        case StmtKind::expression: return generate_effect(statement.node.expression);
        case StmtKind::block: return generate_block(statement.node.block);
        case StmtKind::if_: return generate_if(statement.node.if_);
        case StmtKind::while_:
            return generate_loop(statement.node.while_.condition, StmtId::none, statement.node.while_.body, pos);
        case StmtKind::for_: {
            const ForNode& loop = statement.node.for_;
            locals_.enter();
            if (loop.init != StmtId::none) generate(stmt(loop.init));
            generate_loop(loop.condition, loop.step, loop.body, pos);
            locals_.leave();
            return;
        }
        case StmtKind::break_:
            if (loops_.empty()) return sink_.error(pos, "'break' outside a loop");
            return out_->emit_jump(Op::jmp, *loops_.back().break_label, pos);
        case StmtKind::continue_:
            if (loops_.empty()) return sink_.error(pos, "'continue' outside a loop");
            return out_->emit_jump(Op::jmp, *loops_.back().continue_label, pos);
        case StmtKind::return_:
            if (statement.node.return_value != ExprId::none)
                generate_value(statement.node.return_value);
            else
                out_->emit_constant(Nil{}, pos);
            return out_->emit(Op::ret, pos);
        }
    }

    void generate_let(const LetNode& let, SourcePos pos) {
        const std::string_view let_name = name(let.name);
        if (let.init != ExprId::none) generate_value(let.init);
        if (in_main_ && locals_.at_top_level()) {
            if (!visible_globals_.emplace(let_name).second) already_declared(let);
            if (let.init != ExprId::none) out_->emit_global(Op::gstore, let_name, pos);
            return;
        }
        std::int32_t slot;
        if (locals_.declared_in_innermost(let_name)) {
            already_declared(let);
            slot = *locals_.find(let_name);
        } else {
            slot = locals_.declare(let_name);
        }
        if (let.init != ExprId::none) out_->emit(Op::store, pos, slot);
    }

    void already_declared(const LetNode& let) {
        sink_.error(let.name_pos, fmt::format("'{}' is already declared in this scope", name(let.name)));
    }

    void generate_assign(const AssignNode& assign, SourcePos pos) {
        const Expr& target = expr(assign.target);
        if (target.kind == ExprKind::index) {
            generate_value(target.index.array);
            generate_value(target.index.index);
            generate_value(assign.value);
            out_->emit(Op::aset, target.pos);
            return;
        }
        const std::string_view variable = name(target.variable);
        generate_value(assign.value);
        if (const auto slot = locals_.find(variable)) {
            out_->emit(Op::store, pos, *slot);
        } else if (global_visible(variable)) {
            out_->emit_global(Op::gstore, variable, pos);
        } else {
            sink_.error(target.pos, fmt::format("assignment to undeclared variable '{}'", variable));
        }
    }

    void generate_block(const BlockNode& block) {
        locals_.enter();
        for (const StmtId statement : statements(block.statements)) generate(stmt(statement));
        locals_.leave();
    }

    // Each clause jumps over the rest of the chain to one END: `if (a) A else if (b) B else C` is
    // <a jumps to NEXT1 if false>; A; jmp END; NEXT1: <b jumps to NEXT2 if false>; B; jmp END; NEXT2: C; END:
    void generate_if(const IfNode& statement) {
        const std::span<const IfClause> clauses = entries(module_->if_clauses, statement.clauses);
        const bool has_else = statement.else_branch != StmtId::none;
        if (Label* target = loop_exit_of(statement)) return generate_condition(clauses.front().condition, true, *target);
        Label end;
        for (std::size_t i = 0; i < clauses.size(); ++i) {
            const IfClause& clause = clauses[i];
            Label next;
            generate_condition(clause.condition, false, next);
            generate(stmt(clause.body));
            if (i + 1 < clauses.size() || has_else) out_->emit_jump(Op::jmp, end, clause.pos);
            out_->bind(next);
        }
        if (has_else) generate(stmt(statement.else_branch));
        out_->bind(end);
    }

    // For `if (c) { break; }` or `if (c) { continue; }` inside a loop: the label that one conditional jump
    // can go to instead of jumping around a jmp.
    Label* loop_exit_of(const IfNode& statement) const {
        if (statement.clauses.count != 1 || statement.else_branch != StmtId::none || loops_.empty()) return nullptr;
        const BlockNode& block = stmt(entries(module_->if_clauses, statement.clauses).front().body).node.block;
        if (block.statements.count != 1) return nullptr;
        const StmtKind only = stmt(statements(block.statements).front()).kind;
        if (only == StmtKind::break_) return loops_.back().break_label;
        if (only == StmtKind::continue_) return loops_.back().continue_label;
        return nullptr;
    }

    // The loop with its condition at the bottom; `continue` goes to the step (or the condition).
    void generate_loop(ExprId condition, StmtId step, StmtId body, SourcePos pos) {
        const bool forever = condition == ExprId::none || constant_truth(expr(condition)) == true;
        Label body_label, step_label, condition_label, exit;
        if (!forever) out_->emit_jump(Op::jmp, condition_label, pos);
        out_->bind_loop_start(body_label);
        loops_.push_back(Loop{&exit, &step_label});
        generate(stmt(body));
        loops_.pop_back();
        out_->bind(step_label);
        if (step != StmtId::none) generate(stmt(step));
        out_->bind(condition_label);
        if (forever)
            out_->emit_jump(Op::jmp, body_label, pos);
        else
            generate_condition(condition, true, body_label);
        out_->bind(exit);
    }

    // --- conditions ----------------------------------------------------------------------------------------
    std::optional<bool> constant_truth(const Expr& e) const {
        if (e.kind == ExprKind::literal) return truthy_constant(module_->constant(e.literal));
        return std::nullopt;
    }

    // Jumps to `target` when the truth of `id` equals `jump_if`; falls through otherwise.
    void generate_condition(ExprId id, bool jump_if, Label& target) {
        const Expr& e = expr(id);
        if (const auto truth = constant_truth(e)) {
            if (*truth == jump_if) out_->emit_jump(Op::jmp, target, e.pos);
            return;
        }
        if (e.kind == ExprKind::unary && e.unary.op == UnaryOp::not_)
            return generate_condition(e.unary.operand, !jump_if, target);
        if (const BinaryNode* logical = logical_binary(e)) {
            // `a && b` is false as soon as a is; `a || b` is true as soon as a is.
            const bool decided_by = logical->op == BinaryOp::or_;
            if (jump_if == decided_by) {
                generate_condition(logical->left, jump_if, target);
                generate_condition(logical->right, jump_if, target);
            } else {
                Label skip;
                generate_condition(logical->left, decided_by, skip);
                generate_condition(logical->right, jump_if, target);
                out_->bind(skip);
            }
            return;
        }
        generate_value(id);
        out_->emit_jump(jump_if ? Op::jnz : Op::jz, target, e.pos);
    }

    // --- expressions ---------------------------------------------------------------------------------------
    // Evaluates `id` for its effects only: nothing is left on the stack.
    void generate_effect(ExprId id) {
        const Expr& e = expr(id);
        switch (e.kind) {
        case ExprKind::literal: return;
        case ExprKind::variable:
            if (locals_.find(name(e.variable))) return;
            break;
        case ExprKind::call:
            if (generate_call(e.call, e.pos, false)) out_->emit(Op::pop, e.pos);
            return;
        case ExprKind::binary:
            if (const BinaryNode* logical = logical_binary(e)) {
                Label end;
                generate_condition(logical->left, logical->op == BinaryOp::or_, end);
                generate_effect(logical->right);
                out_->bind(end);
                return;
            }
            break;
        case ExprKind::unary:
        case ExprKind::index: break;
        }
        generate_value(id);
        out_->emit(Op::pop, e.pos);
    }

    // Evaluates `id`, leaving its value on the stack. A left-leaning chain of arithmetic or comparison
    // operators (`a + b + c ...`) is walked by a loop, so only right operands recurse (Expr::height).
    void generate_value(ExprId id) {
        // The operators above the leftmost operand, outermost first, on a stack the chains of right operands
        // share: a 4-byte id per operator.
        const std::size_t chain_start = chain_stack_.size();
        ExprId leftmost = id;
        while (expr(leftmost).kind == ExprKind::binary && !logical_binary(expr(leftmost))) {
            chain_stack_.push_back(leftmost);
            leftmost = expr(leftmost).binary.left;
        }
        generate_operand(expr(leftmost));
        while (chain_stack_.size() > chain_start) {
            const Expr& binary = expr(chain_stack_.back());
            chain_stack_.pop_back();
            generate_value(binary.binary.right);
            out_->emit(binary_opcode(binary.binary.op), binary.pos);
        }
    }

    // `e`'s value, when it is not an arithmetic or comparison operator (generate_value does those).
    void generate_operand(const Expr& e) {
        switch (e.kind) {
        case ExprKind::literal: return out_->emit_constant(module_->constant(e.literal), e.pos);
        case ExprKind::variable: return generate_variable(name(e.variable), e.pos);
        case ExprKind::unary:
            generate_value(e.unary.operand);
            return out_->emit(e.unary.op == UnaryOp::negate ? Op::neg : Op::not_, e.pos);
        case ExprKind::binary: return generate_logical_value(e.binary, e.pos);
        case ExprKind::call: generate_call(e.call, e.pos, true); return;
        case ExprKind::index:
            generate_value(e.index.array);
            generate_value(e.index.index);
            return out_->emit(Op::aget, e.pos);
        }
    }

    // `&&` or `||`, when not a condition: false or true.
    const BinaryNode* logical_binary(const Expr& e) const {
        return e.kind == ExprKind::binary && (e.binary.op == BinaryOp::and_ || e.binary.op == BinaryOp::or_)
                   ? &e.binary
                   : nullptr;
    }

    void generate_variable(std::string_view variable, SourcePos pos) {
        if (const auto slot = locals_.find(variable)) {
            out_->emit(Op::load, pos, *slot);
        } else if (global_visible(variable)) {
            out_->emit_global(Op::gload, variable, pos);
        } else {
            sink_.error(pos, fmt::format("undefined variable '{}'", variable));
        }
    }

    // `&&` or `||` as a value: true/false by the same jump chains as a condition.
    void generate_logical_value(const BinaryNode& logical, SourcePos pos) {
        const bool is_or = logical.op == BinaryOp::or_;
        Label decided, end;
        generate_condition(logical.left, is_or, decided);
        generate_condition(logical.right, is_or, decided);
        out_->emit_constant(!is_or, pos);
        out_->emit_jump(Op::jmp, end, pos);
        out_->bind(decided);
        out_->emit_constant(is_or, pos);
        out_->bind(end);
    }

    // Generates a call; returns whether it left a value on the stack. Without `want_value`, `print` leaves
    // none.
    bool generate_call(const CallNode& call, SourcePos pos, bool want_value) {
        const std::string_view callee = name(call.callee);
        const auto it = callees_.find(callee);
        if (it == callees_.end()) {
            sink_.error(pos, fmt::format("undefined function '{}'", callee));
        } else if (const int arity = it->second.arity; arity >= 0 && call.arguments.count != static_cast<std::uint32_t>(arity)) {
            sink_.error(pos, fmt::format("wrong number of arguments to '{}': expected {}, got {}", callee, arity,
                                         call.arguments.count));
        }
        for (const ExprId argument : entries(module_->arguments, call.arguments)) generate_value(argument);
        if (it == callees_.end()) return false;
        switch (it->second.kind) {
        case CalleeKind::print:
            out_->emit(Op::print, pos);
            if (!want_value) return false;
            out_->emit_constant(Nil{}, pos);
            return true;
        case CalleeKind::array: out_->emit(Op::newarray, pos); return true;
        case CalleeKind::len: out_->emit(Op::len, pos); return true;
        case CalleeKind::function:
        case CalleeKind::native: out_->emit_call(callee, pos); return true;
        }
        return true;
    }

    // Globals visible here: in a function, every top-level `let` of the file; in main, those declared so far.
    bool global_visible(std::string_view variable) const {
        return in_main_ ? visible_globals_.contains(variable) : all_globals_.contains(variable);
    }

    // --- the tree ------------------------------------------------------------------------------------------
    const Expr& expr(ExprId id) const { return module_->exprs[id]; }
    const Stmt& stmt(StmtId id) const { return module_->stmts[id]; }
    std::string_view name(NameId id) const { return module_->name(id); }
    std::span<const StmtId> statements(Range range) const { return entries(module_->statement_lists, range); }

    struct Loop {
        Label* break_label;
        Label* continue_label;
    };

    const Module* module_ = nullptr;
    ProgramBuilder builder_;
    DiagnosticSink& sink_;
    std::map<std::string, Callee, std::less<>> callees_;
    std::set<std::string_view> all_globals_;  // names view the source
    std::set<std::string_view> visible_globals_;
    bool in_main_ = true;
    FunctionEmitter* out_ = nullptr;
    LocalScopes locals_;
    std::vector<Loop> loops_;
    std::vector<ExprId> chain_stack_;  // generate_value's
};

} // namespace

Program generate(const Module& module, const std::string& file, const std::vector<NativeDeclaration>& natives,
                 DiagnosticSink& sink) {
    return CodeGenerator(file, natives, sink).run(module);
}

} // namespace opscope::lang
