// The parser: one function per grammar rule, lowest precedence first for expressions.
//
// Error handling: a rule that cannot continue reports "expected X, found Y" and throws SyntaxError; the
// nearest statement boundary catches it and calls synchronize(). A `let` or `fn` whose name was read is kept
// even when the rest is broken, so later uses of the name do not produce follow-on errors.
#include "parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace opscope::lang {
namespace {

// Limits that keep the recursive parser and the code generator far from the end of the stack (README, "The
// language"). Nothing else recurses: statement lists, `else if` chains and operator chains are read by loops.
constexpr int kMaxNesting = 200;  // open blocks, parentheses, unary operators, indexes and call arguments
constexpr std::uint32_t kMaxExpressionHeight = 1000;  // nodes on an expression's longest path to a leaf
static_assert(kMaxExpressionHeight <= std::numeric_limits<decltype(Expr::height)>::max());

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

// The entries one list under construction (a block's statements, a call's arguments, ...) has pushed on a
// stack the parser shares between nested lists, from the list's start. Taken, they move to a side table of
// the Module; abandoned by a syntax error, they are popped.
template <class Entry>
class ListOnStack {
public:
    explicit ListOnStack(std::vector<Entry>& stack) : stack_(stack), start_(stack.size()) {}
    ~ListOnStack() { stack_.resize(start_); }
    ListOnStack(const ListOnStack&) = delete;
    ListOnStack& operator=(const ListOnStack&) = delete;

    void push(const Entry& entry) { stack_.push_back(entry); }
    std::size_t size() const { return stack_.size() - start_; }
    Range take(std::vector<Entry>& table) {
        const Range range{static_cast<std::uint32_t>(table.size()), static_cast<std::uint32_t>(size())};
        table.insert(table.end(), stack_.begin() + static_cast<std::ptrdiff_t>(start_), stack_.end());
        stack_.resize(start_);
        return range;
    }

private:
    std::vector<Entry>& stack_;
    std::size_t start_;
};

class Parser {
public:
    Parser(std::string_view source, DiagnosticSink& sink) : lexer_(source, sink), sink_(sink) {}

    Module parse_module() {
        ListOnStack<StmtId> statements(statement_stack_);
        while (!check(TokenKind::end_of_file)) {
            if (check(TokenKind::kw_fn)) {
                if (auto function = parse_function()) module_.functions.push_back(*function);
            } else if (check(TokenKind::right_brace)) {
                sink_.error(peek().pos, "unexpected '}'");
                advance();
            } else if (const StmtId statement = parse_statement_recovering(); statement != StmtId::none) {
                statements.push(statement);
            }
        }
        module_.statements = statements.take(module_.statement_lists);
        module_.end = peek().pos;
        return std::move(module_);
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
        FunctionDecl function{};
        try {
            const Token& name = expect_identifier("function name");
            function.name = intern_name(name.text);
            function.pos = name.pos;
        } catch (const SyntaxError&) {
            synchronize(start);
            return std::nullopt;
        }
        try {
            expect(TokenKind::left_paren);
            // Parameter lists do not nest: each goes straight to the table, and those read before an error
            // stay declared.
            function.params = Range{static_cast<std::uint32_t>(module_.parameters.size()), 0};
            if (!check(TokenKind::right_paren)) {
                do {
                    const Token& param = expect_identifier("parameter name");
                    module_.parameters.push_back(Parameter{intern_name(param.text), param.pos});
                    ++function.params.count;
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
    // A statement, or none after a syntax error.
    StmtId parse_statement_recovering() {
        const std::size_t start = index_;
        try {
            return parse_statement();
        } catch (const SyntaxError&) {
            synchronize(start);
            return StmtId::none;
        }
    }

    // `{ statements }` into `block`; statements parsed before an error stay in it.
    void parse_block(BlockNode& block) {
        Nesting nesting(*this);  // an error is at the `{`
        expect(TokenKind::left_brace);
        ListOnStack<StmtId> statements(statement_stack_);
        try {
            while (!check(TokenKind::right_brace) && !check(TokenKind::end_of_file)) {
                if (const StmtId statement = parse_statement_recovering(); statement != StmtId::none)
                    statements.push(statement);
            }
            block.close = expect(TokenKind::right_brace).pos;
        } catch (const SyntaxError&) {
            block.statements = statements.take(module_.statement_lists);
            throw;
        }
        block.statements = statements.take(module_.statement_lists);
    }

    StmtId parse_block_statement() {
        const SourcePos pos = peek().pos;
        Stmt statement = stmt(pos, StmtKind::block);
        statement.node.block = BlockNode{};
        parse_block(statement.node.block);
        return module_.stmts.add(statement);
    }

    StmtId parse_statement() {
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
            return module_.stmts.add(stmt(first.pos, first.kind == TokenKind::kw_break ? StmtKind::break_
                                                                                        : StmtKind::continue_));
        }
        case TokenKind::kw_return: {
            advance();
            Stmt statement = stmt(first.pos, StmtKind::return_);
            statement.node.return_value = check(TokenKind::semicolon) ? ExprId::none : parse_expression();
            expect(TokenKind::semicolon);
            return module_.stmts.add(statement);
        }
        case TokenKind::kw_fn:
            sink_.error(first.pos, "functions can only be defined at top level");
            parse_function();  // skip it
            return StmtId::none;
        default: {
            const StmtId statement = parse_simple();
            expect(TokenKind::semicolon);
            return statement;
        }
        }
    }

    // `let name = e;` — kept (declaring the name) even when the initializer or the `;` is broken.
    StmtId parse_let_statement() {
        const std::size_t start = index_;
        Stmt statement = stmt(peek().pos, StmtKind::let);
        statement.node.let = LetNode{};
        parse_let_name(statement.node.let);
        try {
            parse_let_initializer(statement.node.let);
            expect(TokenKind::semicolon);
        } catch (const SyntaxError&) {
            synchronize(start);
        }
        return module_.stmts.add(statement);
    }

    void parse_let_name(LetNode& let) {
        advance();  // let
        const Token& name = expect_identifier("variable name");
        let.name = intern_name(name.text);
        let.name_pos = name.pos;
        let.init = ExprId::none;
    }
    void parse_let_initializer(LetNode& let) {
        expect(TokenKind::assign);
        let.init = parse_expression();
    }

    // An assignment `target = e` or an expression, without the `;`.
    StmtId parse_simple() {
        const SourcePos pos = peek().pos;
        const ExprId expr = parse_expression();
        if (!check(TokenKind::assign)) return expression_statement(pos, expr);
        const Token& assign = advance();
        const ExprId value = parse_expression();
        const ExprKind target = module_.exprs[expr].kind;
        if (target != ExprKind::variable && target != ExprKind::index) {
            sink_.error(assign.pos, "invalid assignment target");
            return expression_statement(pos, value);  // still checked for errors
        }
        Stmt statement = stmt(pos, StmtKind::assign);
        statement.node.assign = AssignNode{expr, value};
        return module_.stmts.add(statement);
    }

    StmtId expression_statement(SourcePos pos, ExprId expr) {
        Stmt statement = stmt(pos, StmtKind::expression);
        statement.node.expression = expr;
        return module_.stmts.add(statement);
    }

    ExprId parse_condition() {
        expect(TokenKind::left_paren);
        const ExprId condition = parse_expression();
        expect(TokenKind::right_paren);
        return condition;
    }

    // A chain of `else if`s is read by a loop into one node, however long it is.
    StmtId parse_if() {
        Stmt statement = stmt(peek().pos, StmtKind::if_);
        statement.node.if_ = IfNode{{}, StmtId::none};
        ListOnStack<IfClause> clauses(if_clause_stack_);
        do {
            IfClause clause{};
            clause.pos = advance().pos;  // if
            clause.condition = parse_condition();
            clause.body = parse_block_statement();
            clauses.push(clause);
            if (!match(TokenKind::kw_else)) break;
            if (!check(TokenKind::kw_if)) {
                statement.node.if_.else_branch = parse_block_statement();
                break;
            }
        } while (true);
        statement.node.if_.clauses = clauses.take(module_.if_clauses);
        return module_.stmts.add(statement);
    }

    StmtId parse_while() {
        Stmt statement = stmt(advance().pos, StmtKind::while_);
        const ExprId condition = parse_condition();
        statement.node.while_ = WhileNode{condition, parse_block_statement()};
        return module_.stmts.add(statement);
    }

    // `for (init; cond; step) { body }`; each of the three clauses may be empty.
    StmtId parse_for() {
        Stmt statement = stmt(advance().pos, StmtKind::for_);
        ForNode loop{StmtId::none, ExprId::none, StmtId::none, StmtId::none};
        expect(TokenKind::left_paren);
        if (check(TokenKind::kw_let)) {
            Stmt let = stmt(peek().pos, StmtKind::let);
            let.node.let = LetNode{};
            parse_let_name(let.node.let);
            parse_let_initializer(let.node.let);
            loop.init = module_.stmts.add(let);
        } else if (!check(TokenKind::semicolon)) {
            loop.init = parse_simple();
        }
        expect(TokenKind::semicolon);
        if (!check(TokenKind::semicolon)) loop.condition = parse_expression();
        expect(TokenKind::semicolon);
        if (!check(TokenKind::right_paren)) loop.step = parse_simple();
        expect(TokenKind::right_paren);
        loop.body = parse_block_statement();
        statement.node.for_ = loop;
        return module_.stmts.add(statement);
    }

    // --- expressions, lowest precedence first ---------------------------------------------------------------
    ExprId parse_expression() {
        Nesting nesting(*this);
        return parse_or();
    }

    // The height of a node over children of height `below`, or a syntax error at `pos` past the limit.
    std::uint16_t checked_height(std::uint32_t below, SourcePos pos) {
        if (below >= kMaxExpressionHeight) {
            sink_.error(pos, fmt::format("expression deeper than {} (operators, indexes and calls, nested or chained)",
                                         kMaxExpressionHeight));
            throw SyntaxError{};
        }
        return static_cast<std::uint16_t>(below + 1);
    }
    std::uint16_t height_of(ExprId e) const { return module_.exprs[e].height; }

    // The code generator reaches the left operand of an arithmetic or comparison operator by a loop: only
    // its right operand, or either operand of `&&` and `||`, is a level deeper (Expr::height).
    ExprId make_binary(const Token& op_token, BinaryOp op, ExprId left, ExprId right) {
        const bool logical = op == BinaryOp::and_ || op == BinaryOp::or_;
        const std::uint16_t right_height = checked_height(height_of(right), op_token.pos);
        const std::uint16_t left_height = logical ? checked_height(height_of(left), op_token.pos) : height_of(left);
        Expr e = expr(op_token.pos, ExprKind::binary, std::max(left_height, right_height));
        e.binary = BinaryNode{op, left, right};
        return module_.exprs.add(e);
    }

    ExprId parse_or() {
        ExprId left = parse_and();
        while (check(TokenKind::or_or)) {
            const Token& op = advance();
            left = make_binary(op, BinaryOp::or_, left, parse_and());
        }
        return left;
    }

    ExprId parse_and() {
        ExprId left = parse_equality();
        while (check(TokenKind::and_and)) {
            const Token& op = advance();
            left = make_binary(op, BinaryOp::and_, left, parse_equality());
        }
        return left;
    }

    ExprId parse_equality() {
        ExprId left = parse_comparison();
        for (;;) {
            BinaryOp op;
            if (check(TokenKind::equal)) op = BinaryOp::eq;
            else if (check(TokenKind::not_equal)) op = BinaryOp::ne;
            else return left;
            const Token& op_token = advance();
            left = make_binary(op_token, op, left, parse_comparison());
        }
    }

    ExprId parse_comparison() {
        ExprId left = parse_additive();
        for (;;) {
            BinaryOp op;
            if (check(TokenKind::less)) op = BinaryOp::lt;
            else if (check(TokenKind::less_equal)) op = BinaryOp::le;
            else if (check(TokenKind::greater)) op = BinaryOp::gt;
            else if (check(TokenKind::greater_equal)) op = BinaryOp::ge;
            else return left;
            const Token& op_token = advance();
            left = make_binary(op_token, op, left, parse_additive());
        }
    }

    ExprId parse_additive() {
        ExprId left = parse_multiplicative();
        for (;;) {
            BinaryOp op;
            if (check(TokenKind::plus)) op = BinaryOp::add;
            else if (check(TokenKind::minus)) op = BinaryOp::sub;
            else return left;
            const Token& op_token = advance();
            left = make_binary(op_token, op, left, parse_multiplicative());
        }
    }

    ExprId parse_multiplicative() {
        ExprId left = parse_unary();
        for (;;) {
            BinaryOp op;
            if (check(TokenKind::star)) op = BinaryOp::mul;
            else if (check(TokenKind::slash)) op = BinaryOp::div;
            else if (check(TokenKind::percent)) op = BinaryOp::mod;
            else return left;
            const Token& op_token = advance();
            left = make_binary(op_token, op, left, parse_unary());
        }
    }

    ExprId parse_unary() {
        if (!check(TokenKind::minus) && !check(TokenKind::bang)) return parse_postfix();
        const Token& op = advance();
        if (op.kind == TokenKind::minus && peek(1).kind != TokenKind::left_bracket) {
            // A negative number literal is one constant; this is also how INT64_MIN is written.
            if (check(TokenKind::integer)) {
                const Token& literal = advance();
                const std::uint64_t min_magnitude = std::uint64_t{1} << 63;
                if (literal.integer_overflow || literal.integer > min_magnitude) {
                    out_of_range(literal, "-");
                    return make_literal(op.pos, std::int64_t{0});
                }
                return make_literal(op.pos, static_cast<std::int64_t>(0 - literal.integer));
            }
            if (check(TokenKind::floating)) return make_literal(op.pos, -advance().floating);
        }
        Nesting nesting(*this);
        const ExprId operand = parse_unary();
        Expr e = expr(op.pos, ExprKind::unary, checked_height(height_of(operand), op.pos));
        e.unary = UnaryNode{op.kind == TokenKind::minus ? UnaryOp::negate : UnaryOp::not_, operand};
        return module_.exprs.add(e);
    }

    void out_of_range(const Token& literal, std::string_view sign) {
        sink_.error(literal.pos, fmt::format("integer literal '{}{}' is out of range (64-bit signed)", sign,
                                             literal.text));
    }

    // A primary followed by any number of `[index]`.
    ExprId parse_postfix() {
        ExprId array = parse_primary();
        while (check(TokenKind::left_bracket)) {
            const Token& bracket = advance();
            const ExprId index = parse_expression();
            expect(TokenKind::right_bracket);
            Expr e = expr(bracket.pos, ExprKind::index,
                          checked_height(std::max(height_of(array), height_of(index)), bracket.pos));
            e.index = IndexNode{array, index};
            array = module_.exprs.add(e);
        }
        return array;
    }

    ExprId parse_primary() {
        const Token token = peek();
        switch (token.kind) {
        case TokenKind::integer:
            advance();
            if (token.integer_overflow || token.integer > static_cast<std::uint64_t>(INT64_MAX)) {
                out_of_range(token, "");
                return make_literal(token.pos, std::int64_t{0});
            }
            return make_literal(token.pos, static_cast<std::int64_t>(token.integer));
        case TokenKind::floating: advance(); return make_literal(token.pos, token.floating);
        case TokenKind::string: advance(); return make_literal(token.pos, string_value(token.text));
        case TokenKind::kw_true: advance(); return make_literal(token.pos, true);
        case TokenKind::kw_false: advance(); return make_literal(token.pos, false);
        case TokenKind::kw_nil: advance(); return make_literal(token.pos, Nil{});
        case TokenKind::identifier: {
            advance();
            if (check(TokenKind::left_paren)) return parse_call(token);
            Expr e = expr(token.pos, ExprKind::variable, 1);
            e.variable = intern_name(token.text);
            return module_.exprs.add(e);
        }
        case TokenKind::left_paren: {
            advance();
            const ExprId inner = parse_expression();
            expect(TokenKind::right_paren);
            return inner;
        }
        default: fail(token, "expression");
        }
    }

    ExprId parse_call(const Token& callee) {
        advance();  // (
        ListOnStack<ExprId> arguments(argument_stack_);
        std::uint16_t height = 1;
        if (!check(TokenKind::right_paren)) {
            do {
                const ExprId argument = parse_expression();
                arguments.push(argument);
                height = std::max(height, checked_height(height_of(argument), callee.pos));
            } while (match(TokenKind::comma));
        }
        if (!check(TokenKind::right_paren)) fail(peek(), "',' or ')'");
        advance();
        Expr e = expr(callee.pos, ExprKind::call, height);
        e.call = CallNode{intern_name(callee.text), arguments.take(module_.arguments)};
        return module_.exprs.add(e);
    }

    // --- nodes and tables ------------------------------------------------------------------------------------
    // A node whose union member the caller sets.
    static Expr expr(SourcePos pos, ExprKind kind, std::uint16_t height) {
        Expr e;
        e.pos = pos;
        e.kind = kind;
        e.height = height;
        return e;
    }
    static Stmt stmt(SourcePos pos, StmtKind kind) {
        Stmt s;
        s.pos = pos;
        s.kind = kind;
        return s;
    }

    ExprId make_literal(SourcePos pos, Constant value) {
        Expr e = expr(pos, ExprKind::literal, 1);
        e.literal = intern_constant(std::move(value));
        return module_.exprs.add(e);
    }

    NameId intern_name(std::string_view name) {
        const auto [it, inserted] = name_ids_.try_emplace(name, static_cast<NameId>(module_.names.size()));
        if (inserted) module_.names.push_back(name);
        return it->second;
    }

    ConstantId intern_constant(Constant value) {
        const std::size_t hash = hash_constant(value);
        for (auto [it, end] = constant_ids_.equal_range(hash); it != end; ++it)
            if (same_constant(module_.constant(it->second), value)) return it->second;
        const auto id = static_cast<ConstantId>(module_.constants.size());
        module_.constants.push_back(std::move(value));
        constant_ids_.emplace(hash, id);
        return id;
    }

    Lexer lexer_;
    std::deque<Token> lookahead_;
    DiagnosticSink& sink_;
    std::size_t index_ = 0;  // tokens consumed
    int nesting_ = 0;

    Module module_;
    std::unordered_map<std::string_view, NameId> name_ids_;
    std::unordered_multimap<std::size_t, ConstantId> constant_ids_;  // hash_constant -> ids
    // The lists being read, innermost last (ListOnStack).
    std::vector<StmtId> statement_stack_;
    std::vector<ExprId> argument_stack_;
    std::vector<IfClause> if_clause_stack_;
};

} // namespace

Module parse(std::string_view source, DiagnosticSink& sink) { return Parser(source, sink).parse_module(); }

} // namespace opscope::lang
