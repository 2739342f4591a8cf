// The syntax tree the parser builds and the code generator walks, kept compact because hostile source can be
// 16 MiB of operators: nodes are small fixed-size structs in pools, addressed by 32-bit ids (an Expr is 24
// bytes, a Stmt 28); names and literals are ids into tables where each distinct one is stored once; the lists
// (call arguments, block statements, `else if` clauses, parameters) are ranges of side tables. No node owns
// memory, so the tree is freed a pool at a time, without recursion.
//
// Every node carries the SourcePos its instructions are attributed to: operators at the operator token, calls
// at the callee name, statements at their first token.
#pragma once

#include <opscope/program.hpp>

#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

namespace opscope::lang {

// Ids of nodes and table entries. `none` marks an absent optional child.
enum class ExprId : std::uint32_t { none = std::numeric_limits<std::uint32_t>::max() };
enum class StmtId : std::uint32_t { none = std::numeric_limits<std::uint32_t>::max() };
enum class NameId : std::uint32_t {};      // Module::names
enum class ConstantId : std::uint32_t {};  // Module::constants

// `count` entries of a side table from `first`.
struct Range {
    std::uint32_t first;
    std::uint32_t count;
};

// Nodes of one type, addressed by the order they were added. Stored in fixed-size chunks: growing never
// moves a node (a vector, as it grows, holds the old and the new array: three times its size) and leaves at
// most one chunk unused. A chunk is reserved, not constructed, so a small program touches little of it.
template <class Node, class Id>
class Pool {
public:
    Id add(const Node& node) {
        if (size_ % kChunk == 0) chunks_.emplace_back().reserve(kChunk);
        chunks_.back().push_back(node);
        return static_cast<Id>(size_++);  // below `none`: each node takes a byte of source at least
    }
    const Node& operator[](Id id) const {
        const auto i = static_cast<std::uint32_t>(id);
        return chunks_[i / kChunk][i % kChunk];
    }

private:
    static constexpr std::uint32_t kChunk = 4096;
    std::vector<std::vector<Node>> chunks_;
    std::uint32_t size_ = 0;
};

enum class UnaryOp : std::uint8_t { negate, not_ };
enum class BinaryOp : std::uint8_t { add, sub, mul, div, mod, eq, ne, lt, le, gt, ge, and_, or_ };

// --- expressions ---------------------------------------------------------------------------------------
enum class ExprKind : std::uint8_t { literal, variable, unary, binary, call, index };

struct UnaryNode {
    UnaryOp op;
    ExprId operand;
};
struct BinaryNode {
    BinaryOp op;
    ExprId left;
    ExprId right;
};
struct CallNode {
    NameId callee;
    Range arguments;  // Module::arguments
};
struct IndexNode {
    ExprId array;
    ExprId index;
};

struct Expr {
    SourcePos pos;
    ExprKind kind;
    // How deep the code generator recurses below this node: one level per operand, except the left operand
    // of an arithmetic or comparison operator, which it reaches by a loop (so `a + b + c + ...` is one level
    // however long). The parser bounds it so that the code generator cannot exhaust the stack.
    std::uint16_t height;
    union {  // the member `kind` names
        ConstantId literal;  // negative number literals are folded here by the parser
        NameId variable;
        UnaryNode unary;
        BinaryNode binary;
        CallNode call;
        IndexNode index;
    };
};
static_assert(sizeof(Expr) == 24);

// --- statements ----------------------------------------------------------------------------------------
enum class StmtKind : std::uint8_t { let, assign, expression, block, if_, while_, for_, break_, continue_, return_ };

struct LetNode {
    NameId name;
    SourcePos name_pos;
    ExprId init;  // none when the initializer had a syntax error (the name is still declared)
};
struct AssignNode {
    ExprId target;  // a variable or an index (the parser rejects anything else)
    ExprId value;
};
struct BlockNode {
    Range statements;  // Module::statement_lists
    SourcePos close;   // the closing brace
};
// `if (c) {...} else if (c) {...} ... else {...}`: the chain is one node, so that a long chain is walked by a
// loop, not by recursion.
struct IfClause {
    SourcePos pos;  // its `if`
    ExprId condition;
    StmtId body;  // a block
};
struct IfNode {
    Range clauses;       // Module::if_clauses: the `if` and each `else if`, in order; never empty
    StmtId else_branch;  // none or a block
};
struct WhileNode {
    ExprId condition;
    StmtId body;
};
struct ForNode {
    StmtId init;        // none, a let, an assignment or an expression statement
    ExprId condition;   // none: loop forever
    StmtId step;        // none, an assignment or an expression statement
    StmtId body;
};

// The member `kind` names; break and continue have none. Named, unlike Expr's, to have a constructor: its
// positions make some members non-trivial.
union StmtNode {
    LetNode let;
    AssignNode assign;
    ExprId expression;
    BlockNode block;
    IfNode if_;
    WhileNode while_;
    ForNode for_;
    ExprId return_value;  // none: return nil

    StmtNode() : let{} {}
};

struct Stmt {
    SourcePos pos;
    StmtKind kind;
    StmtNode node;
};
static_assert(sizeof(Stmt) == 28);

// --- top level -----------------------------------------------------------------------------------------
struct Parameter {
    NameId name;
    SourcePos pos;
};

struct FunctionDecl {
    NameId name;
    SourcePos pos;  // the name
    Range params;   // Module::parameters
    bool header_complete = false;  // false after a syntax error in the parameter list: arity unknown
    BlockNode body;
};

struct Module {
    Pool<Expr, ExprId> exprs;
    Pool<Stmt, StmtId> stmts;
    std::vector<std::string_view> names;  // each distinct identifier once, viewing the source
    std::vector<Constant> constants;      // each distinct literal value once (same_constant)
    std::vector<ExprId> arguments;
    std::vector<StmtId> statement_lists;
    std::vector<IfClause> if_clauses;
    std::vector<Parameter> parameters;

    std::vector<FunctionDecl> functions;  // in source order
    Range statements;                     // top-level statements in source order: the body of `main`
    SourcePos end;                        // just after the last token

    std::string_view name(NameId id) const { return names[static_cast<std::uint32_t>(id)]; }
    const Constant& constant(ConstantId id) const { return constants[static_cast<std::uint32_t>(id)]; }
};

// The entries of `table` that `range` names.
template <class T>
std::span<const T> entries(const std::vector<T>& table, Range range) {
    return std::span<const T>(table).subspan(range.first, range.count);
}

} // namespace opscope::lang
