// The parser: one function per grammar rule, lowest precedence first for expressions.
//
// Error handling: a rule that cannot continue reports "expected X, found Y" and throws SyntaxError; the
// nearest statement boundary catches it and calls synchronize(). A `let` or `fn` whose name was read is kept
// even when the rest is broken, so later uses of the name do not produce follow-on errors.
#include "parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace opscope::lang {
namespace {

// Limits that keep the recursive parser, the code generator and the syntax tree's destructors far from the
// end of the stack (README, "The language"). Nothing else recurses: statement lists, `else if` chains and
// operator chains are read by loops.
constexpr int kMaxNesting = 200;  // open blocks, parentheses, unary operators, indexes and call arguments
constexpr std::uint32_t kMaxExpressionHeight = 1000;  // nodes on an expression's longest path to a leaf

struct SyntaxError {};

bool starts_statement(TokenKind kind) {
    switch (kind) {
    case TokenKind::kw_fn:
    case TokenKind::kw_let:
    case TokenKind::kw_if:
    case TokenKind::kw_while:
    case TokenKind::kw_for:
    case TokenKind::kw_break:
    case TokenKind::kw_continue:
    case TokenKind::kw_return: return true;
    default: return false;
    }
}

std::string quoted(TokenKind kind) {
    switch (kind) {
    case TokenKind::left_paren: return "'('";
    case TokenKind::right_paren: return "')'";
    case TokenKind::left_brace: return "'{'";
    case TokenKind::right_brace: return "'}'";
    case TokenKind::right_bracket: return "']'";
    case TokenKind::semicolon: return "';'";
    case TokenKind::assign: return "'='";
    default: return "token";
    }
}

std::uint32_t height_of(const ExprPtr& e) { return e ? e->height : 0; }

template <class Node>
ExprPtr make_expr(SourcePos pos, Node node, std::uint32_t height = 1) {
    auto e = std::make_unique<Expr>();
    e->pos = pos;
    e->height = height;
    e->node = std::move(node);
    return e;
}

template <class Node>
StmtPtr make_stmt(SourcePos pos, Node node) {
    auto s = std::make_unique<Stmt>();
    s->pos = pos;
    s->node = std::move(node);
    return s;
}

class Parser {
public:
    Parser(std::string_view source, DiagnosticSink& sink) : lexer_(source, sink), sink_(sink) {}

    Module parse_module() {
        Module module;
        while (!check(TokenKind::end_of_file)) {
            if (check(TokenKind::kw_fn)) {
                if (auto function = parse_function()) module.functions.push_back(std::move(*function));
            } else if (check(TokenKind::right_brace)) {
                sink_.error(peek().pos, "unexpected '}'");
                advance();
            } else if (auto statement = parse_statement_recovering()) {
                module.statements.push_back(std::move(statement));
            }
        }
        module.end = peek().pos;
        return module;
    }

private:
    // --- tokens --------------------------------------------------------------------------------------------
    // Tokens come from the lexer as they are needed: `lookahead_` holds the next ones read (two at most, for
    // peek(1)). A reference from peek() lasts until the next advance(); advance() returns a copy.
    const Token& peek(std::size_t ahead = 0) {
        while (lookahead_.size() <= ahead) {
            if (!lookahead_.empty() && lookahead_.back().kind == TokenKind::end_of_file) return lookahead_.back();
            lookahead_.push_back(lexer_.next());
        }
        return lookahead_[ahead];
    }
    bool check(TokenKind kind) { return peek().kind == kind; }
    // The end_of_file token stays: advancing past it gives it again.
    Token advance() {
        const Token token = peek();
        if (token.kind != TokenKind::end_of_file) {
            lookahead_.pop_front();
            ++index_;
        }
        return token;
    }
    bool match(TokenKind kind) {
        if (!check(kind)) return false;
        advance();
        return true;
    }

    [[noreturn]] void fail(const Token& at, const std::string& expected) {
        sink_.error(at.pos, fmt::format("expected {}, found {}", expected, describe(at)));
        throw SyntaxError{};
    }
    Token expect(TokenKind kind) {
        if (!check(kind)) fail(peek(), quoted(kind));
        return advance();
    }
    Token expect_identifier(const std::string& what) {
        if (!check(TokenKind::identifier)) fail(peek(), what);
        return advance();
    }

    // Skips the rest of a broken statement that began at token `start`: through the next `;` or balanced
    // `{...}` group, or up to a `}` closing the enclosing block or a keyword that starts a new statement.
    void synchronize(std::size_t start) {
        int depth = 0;
        while (!check(TokenKind::end_of_file)) {
            const TokenKind kind = peek().kind;
            if (depth == 0) {
                if (kind == TokenKind::semicolon) {
                    advance();
                    return;
                }
                if (kind == TokenKind::right_brace) return;
                if (starts_statement(kind) && index_ > start) return;
            }
            if (kind == TokenKind::left_brace) {
                ++depth;
            } else if (kind == TokenKind::right_brace && --depth == 0) {
                advance();
                return;
            }
            advance();
        }
    }

    // Counts one level of recursion for as long as it lives.
    class Nesting {
    public:
        explicit Nesting(Parser& parser) : parser_(parser) {
            if (++parser_.nesting_ > kMaxNesting) {
                --parser_.nesting_;
                parser_.sink_.error(parser_.peek().pos, fmt::format("nesting deeper than {}", kMaxNesting));
                throw SyntaxError{};
            }
        }
        ~Nesting() { --parser_.nesting_; }
        Nesting(const Nesting&) = delete;
        Nesting& operator=(const Nesting&) = delete;

    private:
        Parser& parser_;
    };

    // --- functions ---------------------------------------------------------------------------------------
    // `fn name(params) { body }`. Returns nothing only when not even the name could be read.
    std::optional<FunctionDecl> parse_function() {
        const std::size_t start = index_;
        advance();  // fn
        FunctionDecl function;
        try {
            const Token& name = expect_identifier("function name");
            function.name = name.text;
            function.pos = name.pos;
        } catch (const SyntaxError&) {
            synchronize(start);
            return std::nullopt;
        }
        try {
            expect(TokenKind::left_paren);
            if (!check(TokenKind::right_paren)) {
                do {
                    const Token& param = expect_identifier("parameter name");
                    function.params.emplace_back(param.text);
                    function.param_positions.push_back(param.pos);
                } while (match(TokenKind::comma));
            }
            if (!check(TokenKind::right_paren)) fail(peek(), "',' or ')'");
            advance();
            function.header_complete = true;
            parse_block(function.body);
        } catch (const SyntaxError&) {
            synchronize(start);
        }
        return function;
    }

    // --- statements --------------------------------------------------------------------------------------
    StmtPtr parse_statement_recovering() {
        const std::size_t start = index_;
        try {
            return parse_statement();
        } catch (const SyntaxError&) {
            synchronize(start);
            return nullptr;
        }
    }

    // `{ statements }` into `block`; statements parsed before an error stay in it.
    void parse_block(BlockStmt& block) {
        Nesting nesting(*this);  // an error is at the `{`
        expect(TokenKind::left_brace);
        while (!check(TokenKind::right_brace) && !check(TokenKind::end_of_file)) {
            if (auto statement = parse_statement_recovering()) block.statements.push_back(std::move(statement));
        }
        block.close = expect(TokenKind::right_brace).pos;
    }

    StmtPtr parse_block_statement() {
        const SourcePos pos = peek().pos;
        BlockStmt block;
        parse_block(block);
        return make_stmt(pos, std::move(block));
    }

    StmtPtr parse_statement() {
        const Token first = peek();
        switch (first.kind) {
        case TokenKind::kw_let: return parse_let_statement();
        case TokenKind::kw_if: return parse_if();
        case TokenKind::kw_while: return parse_while();
        case TokenKind::kw_for: return parse_for();
        case TokenKind::left_brace: return parse_block_statement();
        case TokenKind::kw_break:
        case TokenKind::kw_continue: {
            advance();
            expect(TokenKind::semicolon);
            if (first.kind == TokenKind::kw_break) return make_stmt(first.pos, BreakStmt{});
            return make_stmt(first.pos, ContinueStmt{});
        }
        case TokenKind::kw_return: {
            advance();
            ReturnStmt statement;
            if (!check(TokenKind::semicolon)) statement.value = parse_expression();
            expect(TokenKind::semicolon);
            return make_stmt(first.pos, std::move(statement));
        }
        case TokenKind::kw_fn:
            sink_.error(first.pos, "functions can only be defined at top level");
            parse_function();  // skip it
            return nullptr;
        default: {
            StmtPtr statement = parse_simple();
            expect(TokenKind::semicolon);
            return statement;
        }
        }
    }

    // `let name = e;` — kept (declaring the name) even when the initializer or the `;` is broken.
    StmtPtr parse_let_statement() {
        const std::size_t start = index_;
        const SourcePos pos = peek().pos;
        LetStmt let;
        parse_let_name(let);
        try {
            parse_let_initializer(let);
            expect(TokenKind::semicolon);
        } catch (const SyntaxError&) {
            synchronize(start);
        }
        return make_stmt(pos, std::move(let));
    }

    void parse_let_name(LetStmt& let) {
        advance();  // let
        const Token& name = expect_identifier("variable name");
        let.name = name.text;
        let.name_pos = name.pos;
    }
    void parse_let_initializer(LetStmt& let) {
        expect(TokenKind::assign);
        let.init = parse_expression();
    }

    // An assignment `target = e` or an expression, without the `;`.
    StmtPtr parse_simple() {
        const SourcePos pos = peek().pos;
        ExprPtr expr = parse_expression();
        if (!check(TokenKind::assign)) return make_stmt(pos, ExprStmt{std::move(expr)});
        const Token& assign = advance();
        ExprPtr value = parse_expression();
        if (!std::holds_alternative<VariableRef>(expr->node) && !std::holds_alternative<IndexExpr>(expr->node)) {
            sink_.error(assign.pos, "invalid assignment target");
            return make_stmt(pos, ExprStmt{std::move(value)});  // still checked for errors
        }
        return make_stmt(pos, AssignStmt{std::move(expr), std::move(value)});
    }

    ExprPtr parse_condition() {
        expect(TokenKind::left_paren);
        ExprPtr condition = parse_expression();
        expect(TokenKind::right_paren);
        return condition;
    }

    // A chain of `else if`s is read by a loop into one node, however long it is.
    StmtPtr parse_if() {
        const SourcePos pos = peek().pos;
        IfStmt statement;
        do {
            IfClause clause;
            clause.pos = advance().pos;  // if
            clause.condition = parse_condition();
            clause.body = parse_block_statement();
            statement.clauses.push_back(std::move(clause));
            if (!match(TokenKind::kw_else)) break;
            if (!check(TokenKind::kw_if)) {
                statement.else_branch = parse_block_statement();
                break;
            }
        } while (true);
        return make_stmt(pos, std::move(statement));
    }

    StmtPtr parse_while() {
        const SourcePos pos = advance().pos;
        WhileStmt statement;
        statement.condition = parse_condition();
        statement.body = parse_block_statement();
        return make_stmt(pos, std::move(statement));
    }

    // `for (init; cond; step) { body }`; each of the three clauses may be empty.
    StmtPtr parse_for() {
        const SourcePos pos = advance().pos;
        ForStmt statement;
        expect(TokenKind::left_paren);
        if (check(TokenKind::kw_let)) {
            const SourcePos let_pos = peek().pos;
            LetStmt let;
            parse_let_name(let);
            parse_let_initializer(let);
            statement.init = make_stmt(let_pos, std::move(let));
        } else if (!check(TokenKind::semicolon)) {
            statement.init = parse_simple();
        }
        expect(TokenKind::semicolon);
        if (!check(TokenKind::semicolon)) statement.condition = parse_expression();
        expect(TokenKind::semicolon);
        if (!check(TokenKind::right_paren)) statement.step = parse_simple();
        expect(TokenKind::right_paren);
        statement.body = parse_block_statement();
        return make_stmt(pos, std::move(statement));
    }

    // --- expressions, lowest precedence first ---------------------------------------------------------------
    ExprPtr parse_expression() {
        Nesting nesting(*this);
        return parse_or();
    }

    // The height of a node over children of height `below`, or a syntax error at `pos` past the limit.
    std::uint32_t checked_height(std::uint32_t below, SourcePos pos) {
        if (below >= kMaxExpressionHeight) {
            sink_.error(pos, fmt::format("expression deeper than {} (operators, indexes and calls, nested or chained)",
                                         kMaxExpressionHeight));
            throw SyntaxError{};
        }
        return below + 1;
    }

    // The code generator reaches the left operand of an arithmetic or comparison operator by a loop: only
    // its right operand, or either operand of `&&` and `||`, is a level deeper (Expr::height).
    ExprPtr make_binary(const Token& op_token, BinaryOp op, ExprPtr left, ExprPtr right) {
        const bool logical = op == BinaryOp::and_ || op == BinaryOp::or_;
        const std::uint32_t right_height = checked_height(height_of(right), op_token.pos);
        const std::uint32_t left_height = logical ? checked_height(height_of(left), op_token.pos) : height_of(left);
        return make_expr(op_token.pos, BinaryExpr{op, std::move(left), std::move(right)},
                         std::max(left_height, right_height));
    }

    ExprPtr parse_or() {
        ExprPtr left = parse_and();
        while (check(TokenKind::or_or)) {
            const Token& op = advance();
            left = make_binary(op, BinaryOp::or_, std::move(left), parse_and());
        }
        return left;
    }

    ExprPtr parse_and() {
        ExprPtr left = parse_equality();
        while (check(TokenKind::and_and)) {
            const Token& op = advance();
            left = make_binary(op, BinaryOp::and_, std::move(left), parse_equality());
        }
        return left;
    }

    ExprPtr parse_equality() {
        ExprPtr left = parse_comparison();
        for (;;) {
            BinaryOp op;
            if (check(TokenKind::equal)) op = BinaryOp::eq;
            else if (check(TokenKind::not_equal)) op = BinaryOp::ne;
            else return left;
            const Token& op_token = advance();
            left = make_binary(op_token, op, std::move(left), parse_comparison());
        }
    }

    ExprPtr parse_comparison() {
        ExprPtr left = parse_additive();
        for (;;) {
            BinaryOp op;
            if (check(TokenKind::less)) op = BinaryOp::lt;
            else if (check(TokenKind::less_equal)) op = BinaryOp::le;
            else if (check(TokenKind::greater)) op = BinaryOp::gt;
            else if (check(TokenKind::greater_equal)) op = BinaryOp::ge;
            else return left;
            const Token& op_token = advance();
            left = make_binary(op_token, op, std::move(left), parse_additive());
        }
    }

    ExprPtr parse_additive() {
        ExprPtr left = parse_multiplicative();
        for (;;) {
            BinaryOp op;
            if (check(TokenKind::plus)) op = BinaryOp::add;
            else if (check(TokenKind::minus)) op = BinaryOp::sub;
            else return left;
            const Token& op_token = advance();
            left = make_binary(op_token, op, std::move(left), parse_multiplicative());
        }
    }

    ExprPtr parse_multiplicative() {
        ExprPtr left = parse_unary();
        for (;;) {
            BinaryOp op;
            if (check(TokenKind::star)) op = BinaryOp::mul;
            else if (check(TokenKind::slash)) op = BinaryOp::div;
            else if (check(TokenKind::percent)) op = BinaryOp::mod;
            else return left;
            const Token& op_token = advance();
            left = make_binary(op_token, op, std::move(left), parse_unary());
        }
    }

    ExprPtr parse_unary() {
        if (!check(TokenKind::minus) && !check(TokenKind::bang)) return parse_postfix();
        const Token& op = advance();
        if (op.kind == TokenKind::minus && peek(1).kind != TokenKind::left_bracket) {
            // A negative number literal is one constant; this is also how INT64_MIN is written.
            if (check(TokenKind::integer)) {
                const Token& literal = advance();
                const std::uint64_t min_magnitude = std::uint64_t{1} << 63;
                if (literal.integer_overflow || literal.integer > min_magnitude) {
                    out_of_range(literal, "-");
                    return make_expr(op.pos, Literal{std::int64_t{0}});
                }
                return make_expr(op.pos, Literal{static_cast<std::int64_t>(0 - literal.integer)});
            }
            if (check(TokenKind::floating)) return make_expr(op.pos, Literal{-advance().floating});
        }
        Nesting nesting(*this);
        ExprPtr operand = parse_unary();
        const std::uint32_t height = checked_height(operand->height, op.pos);
        const UnaryOp unary = op.kind == TokenKind::minus ? UnaryOp::negate : UnaryOp::not_;
        return make_expr(op.pos, UnaryExpr{unary, std::move(operand)}, height);
    }

    void out_of_range(const Token& literal, std::string_view sign) {
        sink_.error(literal.pos, fmt::format("integer literal '{}{}' is out of range (64-bit signed)", sign,
                                             literal.text));
    }

    // A primary followed by any number of `[index]`.
    ExprPtr parse_postfix() {
        ExprPtr expr = parse_primary();
        while (check(TokenKind::left_bracket)) {
            const Token& bracket = advance();
            ExprPtr index = parse_expression();
            expect(TokenKind::right_bracket);
            const std::uint32_t height = checked_height(std::max(expr->height, index->height), bracket.pos);
            expr = make_expr(bracket.pos, IndexExpr{std::move(expr), std::move(index)}, height);
        }
        return expr;
    }

    ExprPtr parse_primary() {
        const Token token = peek();
        switch (token.kind) {
        case TokenKind::integer:
            advance();
            if (token.integer_overflow || token.integer > static_cast<std::uint64_t>(INT64_MAX)) {
                out_of_range(token, "");
                return make_expr(token.pos, Literal{std::int64_t{0}});
            }
            return make_expr(token.pos, Literal{static_cast<std::int64_t>(token.integer)});
        case TokenKind::floating: advance(); return make_expr(token.pos, Literal{token.floating});
        case TokenKind::string: advance(); return make_expr(token.pos, Literal{string_value(token.text)});
        case TokenKind::kw_true: advance(); return make_expr(token.pos, Literal{true});
        case TokenKind::kw_false: advance(); return make_expr(token.pos, Literal{false});
        case TokenKind::kw_nil: advance(); return make_expr(token.pos, Literal{Nil{}});
        case TokenKind::identifier:
            advance();
            if (check(TokenKind::left_paren)) return parse_call(token);
            return make_expr(token.pos, VariableRef{std::string(token.text)});
        case TokenKind::left_paren: {
            advance();
            ExprPtr inner = parse_expression();
            expect(TokenKind::right_paren);
            return inner;
        }
        default: fail(token, "expression");
        }
    }

    ExprPtr parse_call(const Token& callee) {
        advance();  // (
        CallExpr call{std::string(callee.text), {}};
        std::uint32_t height = 1;
        if (!check(TokenKind::right_paren)) {
            do {
                call.arguments.push_back(parse_expression());
                height = std::max(height, checked_height(call.arguments.back()->height, callee.pos));
            } while (match(TokenKind::comma));
        }
        if (!check(TokenKind::right_paren)) fail(peek(), "',' or ')'");
        advance();
        return make_expr(callee.pos, std::move(call), height);
    }

    Lexer lexer_;
    std::deque<Token> lookahead_;
    DiagnosticSink& sink_;
    std::size_t index_ = 0;  // tokens consumed
    int nesting_ = 0;
};

} // namespace

Module parse(std::string_view source, DiagnosticSink& sink) { return Parser(source, sink).parse_module(); }

} // namespace opscope::lang
