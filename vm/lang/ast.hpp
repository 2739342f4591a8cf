// The syntax tree the parser builds and the code generator walks. Every node carries the SourcePos its
// instructions are attributed to: operators at the operator token, calls at the callee name, statements at
// their first token.
#pragma once

#include <opscope/program.hpp>

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace opscope::lang {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;

enum class UnaryOp : std::uint8_t { negate, not_ };
enum class BinaryOp : std::uint8_t { add, sub, mul, div, mod, eq, ne, lt, le, gt, ge, and_, or_ };

// --- expressions ---------------------------------------------------------------------------------------
struct Literal {
    Constant value;  // negative number literals are folded here by the parser
};
struct VariableRef {
    std::string name;
};
struct UnaryExpr {
    UnaryOp op;
    ExprPtr operand;
};
struct BinaryExpr {
    BinaryOp op;
    ExprPtr left;
    ExprPtr right;
};
struct CallExpr {
    std::string callee;
    std::vector<ExprPtr> arguments;
};
struct IndexExpr {
    ExprPtr array;
    ExprPtr index;
};

struct Expr {
    SourcePos pos;
    // How deep the code generator recurses below this node: one level per operand, except the left operand
    // of an arithmetic or comparison operator, which it reaches by a loop (so `a + b + c + ...` is one level
    // however long). The parser bounds it so that the code generator cannot exhaust the stack.
    std::uint32_t height = 1;
    std::variant<Literal, VariableRef, UnaryExpr, BinaryExpr, CallExpr, IndexExpr> node;

    Expr() = default;
    Expr(const Expr&) = delete;
    Expr& operator=(const Expr&) = delete;
    ~Expr();  // takes the tree apart with a loop: destroying a deep tree cannot exhaust the stack
};

// Moves `e`'s operands to `out`, leaving it without children.
inline void take_operands(Expr& e, std::vector<ExprPtr>& out) {
    if (auto* unary = std::get_if<UnaryExpr>(&e.node)) {
        out.push_back(std::move(unary->operand));
    } else if (auto* binary = std::get_if<BinaryExpr>(&e.node)) {
        out.push_back(std::move(binary->left));
        out.push_back(std::move(binary->right));
    } else if (auto* call = std::get_if<CallExpr>(&e.node)) {
        for (ExprPtr& argument : call->arguments) out.push_back(std::move(argument));
    } else if (auto* index = std::get_if<IndexExpr>(&e.node)) {
        out.push_back(std::move(index->array));
        out.push_back(std::move(index->index));
    }
}

inline Expr::~Expr() {
    std::vector<ExprPtr> pending;  // allocates only for a node with operands
    take_operands(*this, pending);
    while (!pending.empty()) {
        ExprPtr next = std::move(pending.back());
        pending.pop_back();
        if (next) take_operands(*next, pending);
    }  // each `next` is destroyed without children, so its own ~Expr does not recurse
}

// --- statements ----------------------------------------------------------------------------------------
struct LetStmt {
    std::string name;
    SourcePos name_pos;
    ExprPtr init;  // null when the initializer had a syntax error (the name is still declared)
};
struct AssignStmt {
    ExprPtr target;  // a VariableRef or an IndexExpr (the parser rejects anything else)
    ExprPtr value;
};
struct ExprStmt {
    ExprPtr expr;
};
struct BlockStmt {
    std::vector<StmtPtr> statements;
    SourcePos close;  // the closing brace
};
// `if (c) {...} else if (c) {...} ... else {...}`: the chain is one node, so that a long chain is walked (and
// destroyed) by a loop, not by recursion.
struct IfClause {
    SourcePos pos;      // its `if`
    ExprPtr condition;
    StmtPtr body;       // a block
};
struct IfStmt {
    std::vector<IfClause> clauses;  // the `if` and each `else if`, in order; never empty
    StmtPtr else_branch;            // null or a block
};
struct WhileStmt {
    ExprPtr condition;
    StmtPtr body;
};
struct ForStmt {
    StmtPtr init;        // null, a let, an assignment or an expression statement
    ExprPtr condition;   // null: loop forever
    StmtPtr step;        // null, an assignment or an expression statement
    StmtPtr body;
};
struct BreakStmt {};
struct ContinueStmt {};
struct ReturnStmt {
    ExprPtr value;  // null: return nil
};

struct Stmt {
    SourcePos pos;
    std::variant<LetStmt, AssignStmt, ExprStmt, BlockStmt, IfStmt, WhileStmt, ForStmt, BreakStmt, ContinueStmt,
                 ReturnStmt>
        node;
};

// --- top level -----------------------------------------------------------------------------------------
struct FunctionDecl {
    std::string name;
    SourcePos pos;  // the name
    std::vector<std::string> params;
    std::vector<SourcePos> param_positions;
    bool header_complete = false;  // false after a syntax error in the parameter list: arity unknown
    BlockStmt body;
};

struct Module {
    std::vector<FunctionDecl> functions;  // in source order
    std::vector<StmtPtr> statements;      // top-level statements in source order: the body of `main`
    SourcePos end;                        // just after the last token
};

} // namespace opscope::lang
