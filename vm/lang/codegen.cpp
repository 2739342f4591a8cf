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
#include <set>

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
        const std::vector<const FunctionDecl*> functions = declare_functions(module);
        for (const auto& statement : module.statements)
            if (const auto* let = std::get_if<LetStmt>(&statement->node)) all_globals_.insert(let->name);

        generate_main(module);
        for (const FunctionDecl* function : functions) generate_function(*function);
        return builder_.take();
    }

private:
    // --- declarations --------------------------------------------------------------------------------------
    std::vector<const FunctionDecl*> declare_functions(const Module& module) {
        std::vector<const FunctionDecl*> accepted;
        for (const auto& function : module.functions) {
            if (function.name == "main") {
                sink_.error(function.pos, "'main' is reserved for top-level code");
                continue;
            }
            const int arity = function.header_complete ? static_cast<int>(function.params.size()) : -1;
            const auto [it, inserted] = callees_.emplace(function.name, Callee{CalleeKind::function, arity, function.pos});
            if (inserted) {
                accepted.push_back(&function);
            } else if (it->second.kind == CalleeKind::function) {
                sink_.error(function.pos, fmt::format("duplicate function '{}' (first defined at line {})", function.name,
                                                      it->second.defined_at.line));
            } else {
                sink_.error(function.pos, fmt::format("'{}' is a built-in function and cannot be redefined", function.name));
            }
        }
        return accepted;
    }

    // --- functions -----------------------------------------------------------------------------------------
    void generate_main(const Module& module) {
        Function main;
        main.name = "main";
        in_main_ = true;
        locals_.reset();
        FunctionEmitter emitter(builder_, main);
        out_ = &emitter;
        for (const auto& statement : module.statements) generate(*statement);
        if (out_->reachable()) out_->emit(Op::halt, module.end);
        main.nlocals = locals_.max_slots();
        builder_.program().functions.push_back(std::move(main));
    }

    void generate_function(const FunctionDecl& declaration) {
        Function function;
        function.name = declaration.name;
        function.nargs = static_cast<std::uint32_t>(declaration.params.size());
        in_main_ = false;
        locals_.reset();
        locals_.enter();  // parameters and the body's own `let`s share one scope
        for (std::size_t i = 0; i < declaration.params.size(); ++i) {
            if (locals_.declared_in_innermost(declaration.params[i]))
                sink_.error(declaration.param_positions[i], fmt::format("duplicate parameter '{}'", declaration.params[i]));
            locals_.declare(declaration.params[i]);
        }
        FunctionEmitter emitter(builder_, function);
        out_ = &emitter;
        for (const auto& statement : declaration.body.statements) generate(*statement);
        if (out_->reachable()) {
            out_->emit_constant(Nil{}, declaration.body.close);
            out_->emit(Op::ret, declaration.body.close);
        }
        function.nlocals = locals_.max_slots();
        builder_.program().functions.push_back(std::move(function));
    }

    // --- statements ----------------------------------------------------------------------------------------
    void generate(const Stmt& statement) {
        std::visit([&](const auto& node) { generate_statement(node, statement.pos); }, statement.node);
    }

    void generate_statement(const LetStmt& let, SourcePos pos) {
        if (let.init) generate_value(*let.init);
        if (in_main_ && locals_.at_top_level()) {
            if (!visible_globals_.insert(let.name).second) already_declared(let);
            if (let.init) out_->emit_global(Op::gstore, let.name, pos);
            return;
        }
        std::int32_t slot;
        if (locals_.declared_in_innermost(let.name)) {
            already_declared(let);
            slot = *locals_.find(let.name);
        } else {
            slot = locals_.declare(let.name);
        }
        if (let.init) out_->emit(Op::store, pos, slot);
    }

    void already_declared(const LetStmt& let) {
        sink_.error(let.name_pos, fmt::format("'{}' is already declared in this scope", let.name));
    }

    void generate_statement(const AssignStmt& assign, SourcePos pos) {
        if (const auto* index = std::get_if<IndexExpr>(&assign.target->node)) {
            generate_value(*index->array);
            generate_value(*index->index);
            generate_value(*assign.value);
            out_->emit(Op::aset, assign.target->pos);
            return;
        }
        const std::string& name = std::get<VariableRef>(assign.target->node).name;
        generate_value(*assign.value);
        if (const auto slot = locals_.find(name)) {
            out_->emit(Op::store, pos, *slot);
        } else if (global_visible(name)) {
            out_->emit_global(Op::gstore, name, pos);
        } else {
            sink_.error(assign.target->pos, fmt::format("assignment to undeclared variable '{}'", name));
        }
    }

    void generate_statement(const ExprStmt& statement, SourcePos) { generate_effect(*statement.expr); }

    void generate_statement(const BlockStmt& block, SourcePos) {
        locals_.enter();
        for (const auto& statement : block.statements) generate(*statement);
        locals_.leave();
    }

    // Each clause jumps over the rest of the chain to one END: `if (a) A else if (b) B else C` is
    // <a jumps to NEXT1 if false>; A; jmp END; NEXT1: <b jumps to NEXT2 if false>; B; jmp END; NEXT2: C; END:
    void generate_statement(const IfStmt& statement, SourcePos) {
        if (Label* target = loop_exit_of(statement))
            return generate_condition(*statement.clauses.front().condition, true, *target);
        Label end;
        for (std::size_t i = 0; i < statement.clauses.size(); ++i) {
            const IfClause& clause = statement.clauses[i];
            Label next;
            generate_condition(*clause.condition, false, next);
            generate(*clause.body);
            if (i + 1 < statement.clauses.size() || statement.else_branch) out_->emit_jump(Op::jmp, end, clause.pos);
            out_->bind(next);
        }
        if (statement.else_branch) generate(*statement.else_branch);
        out_->bind(end);
    }

    // For `if (c) { break; }` or `if (c) { continue; }` inside a loop: the label that one conditional jump
    // can go to instead of jumping around a jmp.
    Label* loop_exit_of(const IfStmt& statement) const {
        if (statement.clauses.size() != 1 || statement.else_branch || loops_.empty()) return nullptr;
        const auto& block = std::get<BlockStmt>(statement.clauses.front().body->node);
        if (block.statements.size() != 1) return nullptr;
        const auto& only = block.statements.front()->node;
        if (std::holds_alternative<BreakStmt>(only)) return loops_.back().break_label;
        if (std::holds_alternative<ContinueStmt>(only)) return loops_.back().continue_label;
        return nullptr;
    }

    void generate_statement(const WhileStmt& statement, SourcePos pos) {
        generate_loop(statement.condition.get(), nullptr, *statement.body, pos);
    }

    void generate_statement(const ForStmt& statement, SourcePos pos) {
        locals_.enter();
        if (statement.init) generate(*statement.init);
        generate_loop(statement.condition.get(), statement.step.get(), *statement.body, pos);
        locals_.leave();
    }

    // The loop with its condition at the bottom; `continue` goes to the step (or the condition).
    void generate_loop(const Expr* condition, const Stmt* step, const Stmt& body, SourcePos pos) {
        const bool forever = !condition || constant_truth(*condition) == true;
        Label body_label, step_label, condition_label, exit;
        if (!forever) out_->emit_jump(Op::jmp, condition_label, pos);
        out_->bind_loop_start(body_label);
        loops_.push_back(Loop{&exit, &step_label});
        generate(body);
        loops_.pop_back();
        out_->bind(step_label);
        if (step) generate(*step);
        out_->bind(condition_label);
        if (forever)
            out_->emit_jump(Op::jmp, body_label, pos);
        else
            generate_condition(*condition, true, body_label);
        out_->bind(exit);
    }

    void generate_statement(const BreakStmt&, SourcePos pos) {
        if (loops_.empty()) return sink_.error(pos, "'break' outside a loop");
        out_->emit_jump(Op::jmp, *loops_.back().break_label, pos);
    }

    void generate_statement(const ContinueStmt&, SourcePos pos) {
        if (loops_.empty()) return sink_.error(pos, "'continue' outside a loop");
        out_->emit_jump(Op::jmp, *loops_.back().continue_label, pos);
    }

    void generate_statement(const ReturnStmt& statement, SourcePos pos) {
        if (statement.value)
            generate_value(*statement.value);
        else
            out_->emit_constant(Nil{}, pos);
        out_->emit(Op::ret, pos);
    }

    // --- conditions ----------------------------------------------------------------------------------------
    static std::optional<bool> constant_truth(const Expr& expr) {
        if (const auto* literal = std::get_if<Literal>(&expr.node)) return truthy_constant(literal->value);
        return std::nullopt;
    }

    // Jumps to `target` when the truth of `expr` equals `jump_if`; falls through otherwise.
    void generate_condition(const Expr& expr, bool jump_if, Label& target) {
        if (const auto truth = constant_truth(expr)) {
            if (*truth == jump_if) out_->emit_jump(Op::jmp, target, expr.pos);
            return;
        }
        if (const auto* unary = std::get_if<UnaryExpr>(&expr.node); unary && unary->op == UnaryOp::not_) {
            return generate_condition(*unary->operand, !jump_if, target);
        }
        if (const auto* binary = std::get_if<BinaryExpr>(&expr.node);
            binary && (binary->op == BinaryOp::and_ || binary->op == BinaryOp::or_)) {
            // `a && b` is false as soon as a is; `a || b` is true as soon as a is.
            const bool decided_by = binary->op == BinaryOp::or_;
            if (jump_if == decided_by) {
                generate_condition(*binary->left, jump_if, target);
                generate_condition(*binary->right, jump_if, target);
            } else {
                Label skip;
                generate_condition(*binary->left, decided_by, skip);
                generate_condition(*binary->right, jump_if, target);
                out_->bind(skip);
            }
            return;
        }
        generate_value(expr);
        out_->emit_jump(jump_if ? Op::jnz : Op::jz, target, expr.pos);
    }

    // --- expressions ---------------------------------------------------------------------------------------
    // Evaluates `expr` for its effects only: nothing is left on the stack.
    void generate_effect(const Expr& expr) {
        if (std::holds_alternative<Literal>(expr.node)) return;
        if (const auto* variable = std::get_if<VariableRef>(&expr.node)) {
            if (locals_.find(variable->name)) return;
        } else if (const auto* call = std::get_if<CallExpr>(&expr.node)) {
            if (generate_call(*call, expr.pos, false)) out_->emit(Op::pop, expr.pos);
            return;
        } else if (const auto* binary = std::get_if<BinaryExpr>(&expr.node);
                   binary && (binary->op == BinaryOp::and_ || binary->op == BinaryOp::or_)) {
            Label end;
            generate_condition(*binary->left, binary->op == BinaryOp::or_, end);
            generate_effect(*binary->right);
            out_->bind(end);
            return;
        }
        generate_value(expr);
        out_->emit(Op::pop, expr.pos);
    }

    // Evaluates `expr`, leaving its value on the stack. A left-leaning chain of arithmetic or comparison
    // operators (`a + b + c ...`) is walked by a loop, so only right operands recurse (Expr::height).
    void generate_value(const Expr& expr) {
        std::vector<const Expr*> chain;  // the operators above the leftmost operand, outermost first
        const Expr* leftmost = &expr;
        while (const BinaryExpr* binary = plain_binary(*leftmost)) {
            chain.push_back(leftmost);
            leftmost = binary->left.get();
        }
        std::visit([&](const auto& node) { generate_expression(node, leftmost->pos); }, leftmost->node);
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            const BinaryExpr& binary = std::get<BinaryExpr>((*it)->node);
            generate_value(*binary.right);
            out_->emit(binary_opcode(binary.op), (*it)->pos);
        }
    }

    static const BinaryExpr* plain_binary(const Expr& expr) {
        const auto* binary = std::get_if<BinaryExpr>(&expr.node);
        return binary && binary->op != BinaryOp::and_ && binary->op != BinaryOp::or_ ? binary : nullptr;
    }

    void generate_expression(const Literal& literal, SourcePos pos) { out_->emit_constant(literal.value, pos); }

    void generate_expression(const VariableRef& variable, SourcePos pos) {
        if (const auto slot = locals_.find(variable.name)) {
            out_->emit(Op::load, pos, *slot);
        } else if (global_visible(variable.name)) {
            out_->emit_global(Op::gload, variable.name, pos);
        } else {
            sink_.error(pos, fmt::format("undefined variable '{}'", variable.name));
        }
    }

    void generate_expression(const UnaryExpr& unary, SourcePos pos) {
        generate_value(*unary.operand);
        out_->emit(unary.op == UnaryOp::negate ? Op::neg : Op::not_, pos);
    }

    void generate_expression(const BinaryExpr& binary, SourcePos pos) {
        if (binary.op == BinaryOp::and_ || binary.op == BinaryOp::or_) {
            // true/false by the same jump chains as a condition.
            const bool is_or = binary.op == BinaryOp::or_;
            Label decided, end;
            generate_condition(*binary.left, is_or, decided);
            generate_condition(*binary.right, is_or, decided);
            out_->emit_constant(!is_or, pos);
            out_->emit_jump(Op::jmp, end, pos);
            out_->bind(decided);
            out_->emit_constant(is_or, pos);
            out_->bind(end);
            return;
        }
        generate_value(*binary.left);  // not reached: generate_value compiles the other operators
        generate_value(*binary.right);
        out_->emit(binary_opcode(binary.op), pos);
    }

    void generate_expression(const CallExpr& call, SourcePos pos) { generate_call(call, pos, true); }

    void generate_expression(const IndexExpr& index, SourcePos pos) {
        generate_value(*index.array);
        generate_value(*index.index);
        out_->emit(Op::aget, pos);
    }

    // Generates a call; returns whether it left a value on the stack. Without `want_value`, `print` leaves
    // none.
    bool generate_call(const CallExpr& call, SourcePos pos, bool want_value) {
        const auto it = callees_.find(call.callee);
        if (it == callees_.end()) {
            sink_.error(pos, fmt::format("undefined function '{}'", call.callee));
        } else if (const int arity = it->second.arity;
                   arity >= 0 && call.arguments.size() != static_cast<std::size_t>(arity)) {
            sink_.error(pos, fmt::format("wrong number of arguments to '{}': expected {}, got {}", call.callee,
                                         arity, call.arguments.size()));
        }
        for (const auto& argument : call.arguments) generate_value(*argument);
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
        case CalleeKind::native: out_->emit_call(call.callee, pos); return true;
        }
        return true;
    }

    // Globals visible here: in a function, every top-level `let` of the file; in main, those declared so far.
    bool global_visible(const std::string& name) const {
        return in_main_ ? visible_globals_.contains(name) : all_globals_.contains(name);
    }

    struct Loop {
        Label* break_label;
        Label* continue_label;
    };

    ProgramBuilder builder_;
    DiagnosticSink& sink_;
    std::map<std::string, Callee, std::less<>> callees_;
    std::set<std::string, std::less<>> all_globals_;
    std::set<std::string, std::less<>> visible_globals_;
    bool in_main_ = true;
    FunctionEmitter* out_ = nullptr;
    LocalScopes locals_;
    std::vector<Loop> loops_;
};

} // namespace

Program generate(const Module& module, const std::string& file, const std::vector<NativeDeclaration>& natives,
                 DiagnosticSink& sink) {
    return CodeGenerator(file, natives, sink).run(module);
}

} // namespace opscope::lang
