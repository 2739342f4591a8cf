// The assembler: `.opasm` text to a Program.
//
// Each line is split into tokens (words, quoted strings, ':'), then read as label definitions (a name with
// ':' right after it) followed by an instruction or a directive. An error never stops the run: every bad line gets a diagnostic
// (file:line:col, pointing at the offending token) and all of them are thrown together, in text order.
//
// Directives: `.func NAME NARGS NLOCALS` ... `.end`, `.source "FILE"`, `.line N [C]`, and three top-level
// table pre-declarations, `.const LIT`, `.global NAME`, `.target NAME`, which intern in order; the
// disassembler emits them when a Program's tables are not in first-use order.
//
// Positions: when the text has any `.line`, an instruction's position is the last `.line` seen in its
// function (0:0 before the first) and source_file is only what `.source` says; otherwise it is the
// instruction's own line and mnemonic column here, and source_file defaults to the assembled file.
#include <opscope/errors.hpp>
#include <opscope/program.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <tuple>

namespace opscope {
namespace {

constexpr auto kUint32Max = static_cast<std::uint64_t>(std::numeric_limits<std::uint32_t>::max());

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_identifier_start(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '.' || c == '$';
}
bool is_identifier_char(char c) { return is_identifier_start(c) || is_digit(c); }
bool is_identifier(std::string_view s) {
    return !s.empty() && is_identifier_start(s[0]) && std::all_of(s.begin(), s.end(), is_identifier_char);
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }
int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
bool all_digits(std::string_view s, int base) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [base](char c) {
        return base == 16 ? hex_value(c) >= 0 : is_digit(c);
    });
}
std::uint32_t to_column(std::size_t index) { return static_cast<std::uint32_t>(index + 1); }

struct Token {
    enum class Kind : std::uint8_t { word, string, colon };
    Kind kind = Kind::word;
    std::string_view text;      // as written; a string token includes its quotes
    std::uint32_t column = 0;   // 1-based
    std::string value;          // a string token's decoded bytes
};

struct LexedLine {
    std::vector<Token> tokens;
    std::optional<std::pair<std::uint32_t, std::string>> error;  // column, message
};

// Reads the string literal starting at line[start] == '"' into `token`; returns the index after it.
std::size_t lex_string(std::string_view line, std::size_t start, Token& token, LexedLine& out) {
    std::size_t i = start + 1;
    while (true) {
        if (i >= line.size()) {
            out.error = {to_column(start), "unterminated string"};
            return line.size();
        }
        const char c = line[i];
        if (c == '"') break;
        if (c != '\\') {
            token.value += c;
            ++i;
            continue;
        }
        if (i + 1 >= line.size()) {
            out.error = {to_column(start), "unterminated string"};
            return line.size();
        }
        switch (line[i + 1]) {
        case 'n': token.value += '\n'; break;
        case 't': token.value += '\t'; break;
        case 'r': token.value += '\r'; break;
        case '"': token.value += '"'; break;
        case '\\': token.value += '\\'; break;
        case '0': token.value += '\0'; break;
        case 'x':
            if (i + 3 < line.size() && hex_value(line[i + 2]) >= 0 && hex_value(line[i + 3]) >= 0) {
                token.value += static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3]));
                i += 4;
                continue;
            }
            out.error = {to_column(i), fmt::format("bad escape '{}' in string (expected \\xHH)",
                                                   line.substr(i, std::min<std::size_t>(4, line.size() - i)))};
            return line.size();
        default:
            out.error = {to_column(i), fmt::format("bad escape '{}' in string", line.substr(i, 2))};
            return line.size();
        }
        i += 2;
    }
    token.text = line.substr(start, i + 1 - start);
    return i + 1;
}

// Splits one line (without its newline) into tokens, up to a ';' comment or the first lexical error.
LexedLine tokenize(std::string_view line) {
    LexedLine out;
    std::size_t i = 0;
    while (i < line.size() && !out.error) {
        const char c = line[i];
        if (is_space(c)) {
            ++i;
        } else if (c == ';') {
            break;
        } else if (c == ':') {
            out.tokens.push_back({Token::Kind::colon, line.substr(i, 1), to_column(i), {}});
            ++i;
        } else if (c == '"') {
            Token token{Token::Kind::string, {}, to_column(i), {}};
            i = lex_string(line, i, token, out);
            if (!out.error) out.tokens.push_back(std::move(token));
        } else {
            const std::size_t start = i;
            while (i < line.size() && !is_space(line[i]) && line[i] != ';' && line[i] != ':' && line[i] != '"') ++i;
            out.tokens.push_back({Token::Kind::word, line.substr(start, i - start), to_column(start), {}});
        }
    }
    return out;
}

// A decimal integer in 0..limit. On failure `message` gets "bad WHAT 'x' ..." or "WHAT 'x' out of range".
std::optional<std::uint64_t> parse_count(const Token& token, std::uint64_t limit, std::string_view what,
                                         std::string& message) {
    if (token.kind != Token::Kind::word || !all_digits(token.text, 10)) {
        message = fmt::format("bad {} '{}' (expected a non-negative integer)", what, token.text);
        return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto result = std::from_chars(token.text.data(), token.text.data() + token.text.size(), value);
    if (result.ec != std::errc{} || value > limit) {
        message = fmt::format("{} '{}' out of range (at most {})", what, token.text, limit);
        return std::nullopt;
    }
    return value;
}

// -?DIGITS(.DIGITS)?([eE][+-]?DIGITS)? with a fraction or an exponent (without one it is an int).
bool is_float_syntax(std::string_view s) {
    std::size_t i = s.starts_with('-') ? 1 : 0;
    auto digits = [&] {
        const std::size_t start = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        return i > start;
    };
    if (!digits()) return false;
    bool fraction = false, exponent = false;
    if (i < s.size() && s[i] == '.') {
        ++i;
        if (!digits()) return false;
        fraction = true;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (!digits()) return false;
        exponent = true;
    }
    return i == s.size() && (fraction || exponent);
}

// The constant a literal word stands for; on failure `message` says why.
std::optional<Constant> parse_literal_word(std::string_view text, std::string& message) {
    if (text == "nil") return Constant{Nil{}};
    if (text == "true") return Constant{true};
    if (text == "false") return Constant{false};
    if (text == "inf") return Constant{std::numeric_limits<double>::infinity()};
    if (text == "-inf") return Constant{-std::numeric_limits<double>::infinity()};
    if (text == "nan") return Constant{std::numeric_limits<double>::quiet_NaN()};

    const bool negative = text.starts_with('-');
    std::string_view digits = text.substr(negative ? 1 : 0);
    int base = 10;
    if (digits.starts_with("0x") || digits.starts_with("0X")) {
        digits.remove_prefix(2);
        base = 16;
    }
    if (all_digits(digits, base)) {
        std::uint64_t magnitude = 0;
        const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
        constexpr auto kLimit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        if (result.ec != std::errc{} || magnitude > kLimit + (negative ? 1 : 0)) {
            message = fmt::format("integer literal '{}' out of range", text);
            return std::nullopt;
        }
        // Two's complement negation in unsigned arithmetic also covers INT64_MIN.
        return Constant{static_cast<std::int64_t>(negative ? ~magnitude + 1 : magnitude)};
    }
    if (base == 10 && is_float_syntax(text)) {
        double value = 0;
        const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
        if (result.ec == std::errc::result_out_of_range) {
            message = fmt::format("float literal '{}' out of range", text);
            return std::nullopt;
        }
        if (result.ec == std::errc{} && result.ptr == text.data() + text.size()) return Constant{value};
    }
    message = fmt::format("bad literal '{}'", text);
    return std::nullopt;
}

std::string_view operand_description(OperandKind kind) {
    switch (kind) {
    case OperandKind::constant: return "a literal";
    case OperandKind::local: return "a local slot number";
    case OperandKind::global: return "a global name";
    case OperandKind::label: return "a label";
    case OperandKind::callee: return "a function name";
    case OperandKind::none:
    case OperandKind::immediate: break;
    }
    return "no operand";
}

struct LabelDefinition {
    std::int32_t offset = 0;
    std::uint32_t line = 0;
};
struct LabelUse {
    std::size_t instruction = 0;
    std::string name;
    std::uint32_t line = 0, column = 0;
    std::string_view source_line;
};
struct OpenFunction {
    Function function;
    std::uint32_t line = 0, column = 0;  // of its `.func`
    std::string_view source_line;
    std::map<std::string, LabelDefinition, std::less<>> labels;
    std::vector<LabelUse> label_uses;
    std::vector<SourcePos> declared_positions;  // from `.line`, one per instruction
    SourcePos declared;                         // the last `.line` seen
};

class Assembler {
public:
    Assembler(std::string_view text, const std::string& file) : text_(text), file_(file) {}
    Program run();

private:
    using Tokens = std::span<const Token>;

    void parse_line(std::string_view line);
    bool define_label(const Token& token);
    void instruction(Tokens tokens);
    std::optional<std::int32_t> operand(const OpInfo& op, const Token& token, std::optional<std::string>& label);
    void directive(Tokens tokens);
    void begin_function(Tokens tokens);
    void end_function();
    void line_directive(Tokens tokens);
    bool at_top_level(const Token& directive);
    bool no_trailing(Tokens tokens, std::size_t expected, std::string_view after);
    std::optional<Constant> literal(const Token& token);

    void error(std::uint32_t column, std::string message) {
        error_at(line_number_, column, line_text_, std::move(message));
    }
    void error_at(std::uint32_t line, std::uint32_t column, std::string_view source_line, std::string message) {
        diagnostics_.push_back({file_, line, column, std::move(message), {}});
        diagnostics_.back().set_source_line(source_line);
    }

    std::string_view text_;
    const std::string& file_;
    ProgramBuilder builder_;
    std::vector<Diagnostic> diagnostics_;
    std::uint32_t line_number_ = 0;
    std::string_view line_text_;
    std::optional<OpenFunction> open_;
    std::vector<std::vector<SourcePos>> declared_positions_;  // per finished function
    std::map<std::string, std::uint32_t, std::less<>> function_lines_;  // name -> line of its `.func`
    bool any_line_directive_ = false;
    std::optional<std::uint32_t> source_line_number_;  // where `.source` was given
    std::string source_file_;
};

Program Assembler::run() {
    std::size_t start = 0;
    while (true) {
        std::size_t end = text_.find('\n', start);
        if (end == std::string_view::npos) end = text_.size();
        std::string_view line = text_.substr(start, end - start);
        if (line.ends_with('\r')) line.remove_suffix(1);
        ++line_number_;
        line_text_ = line;
        parse_line(line);
        if (end == text_.size()) break;
        start = end + 1;
    }
    if (open_) {
        error_at(open_->line, open_->column, open_->source_line,
                 fmt::format("missing '.end' for function '{}'", open_->function.name));
        end_function();
    }
    if (!diagnostics_.empty()) {
        std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
            return std::tie(a.line, a.column) < std::tie(b.line, b.column);
        });
        throw ProgramError(std::move(diagnostics_));
    }
    Program program = builder_.take();
    if (any_line_directive_) {
        for (std::size_t i = 0; i < program.functions.size(); ++i)
            program.functions[i].positions = std::move(declared_positions_[i]);
        program.source_file = source_file_;
    } else {
        program.source_file = source_line_number_ ? source_file_ : file_;
    }
    return program;
}

void Assembler::parse_line(std::string_view line) {
    const LexedLine lexed = tokenize(line);
    if (lexed.error) {
        error(lexed.error->first, lexed.error->second);
        return;
    }
    Tokens tokens = lexed.tokens;
    bool labelled = false;
    // A label is a word with ':' right after it.
    auto starts_with_label = [](Tokens t) {
        return t.size() >= 2 && t[0].kind == Token::Kind::word && t[1].kind == Token::Kind::colon &&
               t[1].column == t[0].column + t[0].text.size();
    };
    while (starts_with_label(tokens)) {
        if (!define_label(tokens[0])) return;
        tokens = tokens.subspan(2);
        labelled = true;
    }
    if (tokens.empty()) return;
    const Token& head = tokens[0];
    if (head.kind != Token::Kind::word) {
        error(head.column, fmt::format("expected an instruction, label or directive, found '{}'", head.text));
    } else if (head.text.starts_with('.')) {
        if (labelled)
            error(head.column, fmt::format("directive '{}' cannot follow a label on the same line", head.text));
        else
            directive(tokens);
    } else {
        instruction(tokens);
    }
}

bool Assembler::define_label(const Token& token) {
    if (!open_) {
        error(token.column, fmt::format("label '{}' outside a function", token.text));
        return false;
    }
    if (!is_identifier(token.text)) {
        error(token.column, fmt::format("bad label name '{}'", token.text));
        return false;
    }
    const auto [it, inserted] = open_->labels.try_emplace(
        std::string(token.text), LabelDefinition{static_cast<std::int32_t>(open_->function.code.size()), line_number_});
    if (!inserted) {
        error(token.column, fmt::format("duplicate label '{}' in function '{}' (first defined on line {})", token.text,
                                        open_->function.name, it->second.line));
        return false;
    }
    return true;
}

void Assembler::instruction(Tokens tokens) {
    const Token& head = tokens[0];
    if (!open_) {
        error(head.column, fmt::format("instruction '{}' outside a function", head.text));
        return;
    }
    const std::optional<Op> op = op_from_mnemonic(head.text);
    if (!op) {
        error(head.column, fmt::format("unknown instruction '{}'", head.text));
        return;
    }
    const OpInfo& op_info = info(*op);
    std::int32_t value = 0;
    std::optional<std::string> label;
    if (op_info.operand == OperandKind::none) {
        if (tokens.size() > 1) {
            error(tokens[1].column,
                  fmt::format("unexpected operand '{}' ('{}' takes none)", tokens[1].text, op_info.mnemonic));
            return;
        }
    } else {
        if (tokens.size() < 2) {
            error(head.column, fmt::format("missing operand: '{}' takes {}", op_info.mnemonic,
                                           operand_description(op_info.operand)));
            return;
        }
        const std::optional<std::int32_t> parsed = operand(op_info, tokens[1], label);
        if (!parsed) return;
        value = *parsed;
        if (tokens.size() > 2) {
            error(tokens[2].column,
                  fmt::format("unexpected '{}' after the operand of '{}'", tokens[2].text, op_info.mnemonic));
            return;
        }
    }

    Function& function = open_->function;
    // Reported once, at the first instruction past the limit; the rest are kept but never returned.
    if (function.code.size() == kMaxFunctionSize)
        error(head.column, fmt::format("too many instructions in function '{}' (at most {})", function.name,
                                       kMaxFunctionSize));
    if (label) open_->label_uses.push_back({function.code.size(), std::move(*label), line_number_, tokens[1].column, line_text_});
    function.code.push_back({*op, value});
    function.positions.push_back({line_number_, head.column});
    open_->declared_positions.push_back(open_->declared);
}

std::optional<std::int32_t> Assembler::operand(const OpInfo& op, const Token& token, std::optional<std::string>& label) {
    const bool name = token.kind == Token::Kind::word && is_identifier(token.text);
    switch (op.operand) {
    case OperandKind::constant:
        if (const std::optional<Constant> c = literal(token)) return builder_.constant(*c);
        return std::nullopt;
    case OperandKind::local: {
        std::string message;
        if (const auto slot = parse_count(token, kMaxLocals - 1, "local slot", message))
            return static_cast<std::int32_t>(*slot);
        error(token.column, std::move(message));
        return std::nullopt;
    }
    case OperandKind::global:
        if (name) return builder_.global(token.text);
        break;
    case OperandKind::callee:
        if (name) return builder_.call_target(token.text);
        break;
    case OperandKind::label:
        if (name) {
            label = std::string(token.text);
            return 0;  // patched when the function ends
        }
        break;
    case OperandKind::none:
    case OperandKind::immediate: break;
    }
    error(token.column, fmt::format("expected {}, found '{}'", operand_description(op.operand), token.text));
    return std::nullopt;
}

std::optional<Constant> Assembler::literal(const Token& token) {
    if (token.kind == Token::Kind::string) return Constant{token.value};
    std::string message;
    if (std::optional<Constant> c = parse_literal_word(token.text, message)) return c;
    error(token.column, std::move(message));
    return std::nullopt;
}

// Reports the first token past `expected` ones, if any.
bool Assembler::no_trailing(Tokens tokens, std::size_t expected, std::string_view after) {
    if (tokens.size() <= expected) return true;
    error(tokens[expected].column, fmt::format("unexpected '{}' after {}", tokens[expected].text, after));
    return false;
}

bool Assembler::at_top_level(const Token& directive) {
    if (!open_) return true;
    error(directive.column, fmt::format("'{}' inside function '{}' (it belongs before the functions)", directive.text,
                                        open_->function.name));
    return false;
}

void Assembler::directive(Tokens tokens) {
    const Token& head = tokens[0];
    const std::string_view name = head.text;
    if (name == ".func") {
        begin_function(tokens);
    } else if (name == ".end") {
        if (!open_) {
            error(head.column, "'.end' outside a function");
            return;
        }
        no_trailing(tokens, 1, "'.end'");
        end_function();
    } else if (name == ".line") {
        line_directive(tokens);
    } else if (name == ".source") {
        if (!at_top_level(head)) return;
        if (source_line_number_) {
            error(head.column, fmt::format("duplicate '.source' (first given on line {})", *source_line_number_));
            return;
        }
        if (tokens.size() < 2 || tokens[1].kind != Token::Kind::string) {
            error(tokens.size() < 2 ? head.column : tokens[1].column, "'.source' expects a quoted file name");
            return;
        }
        if (!no_trailing(tokens, 2, "'.source \"FILE\"'")) return;
        source_file_ = tokens[1].value;
        source_line_number_ = line_number_;
    } else if (name == ".const") {
        if (!at_top_level(head)) return;
        if (tokens.size() < 2) {
            error(head.column, "'.const' expects a literal");
            return;
        }
        if (const std::optional<Constant> c = literal(tokens[1]); c && no_trailing(tokens, 2, "'.const' literal"))
            builder_.constant(*c);
    } else if (name == ".global" || name == ".target") {
        if (!at_top_level(head)) return;
        const bool global = name == ".global";
        if (tokens.size() < 2 || tokens[1].kind != Token::Kind::word || !is_identifier(tokens[1].text)) {
            if (tokens.size() < 2)
                error(head.column, fmt::format("'{}' expects a name", name));
            else
                error(tokens[1].column, fmt::format("expected a name, found '{}'", tokens[1].text));
            return;
        }
        if (!no_trailing(tokens, 2, fmt::format("'{}' name", name))) return;
        if (global)
            builder_.global(tokens[1].text);
        else
            builder_.call_target(tokens[1].text);
    } else {
        error(head.column, fmt::format("unknown directive '{}'", name));
    }
}

void Assembler::begin_function(Tokens tokens) {
    const Token& head = tokens[0];
    if (open_) {
        error(head.column, fmt::format("'.func' inside function '{}' (missing '.end'?)", open_->function.name));
        end_function();
    }
    open_.emplace();
    open_->line = line_number_;
    open_->column = head.column;
    open_->source_line = line_text_;
    if (tokens.size() < 4) {
        error(head.column, "'.func' expects NAME NARGS NLOCALS");
        return;
    }
    const Token& name = tokens[1];
    if (name.kind != Token::Kind::word || !is_identifier(name.text)) {
        error(name.column, fmt::format("bad function name '{}'", name.text));
        return;
    }
    open_->function.name = std::string(name.text);
    std::string message;
    const auto nargs = parse_count(tokens[2], kMaxLocals, "argument count", message);
    if (!nargs) {
        error(tokens[2].column, std::move(message));
        return;
    }
    const auto nlocals = parse_count(tokens[3], kMaxLocals, "local count", message);
    if (!nlocals) {
        error(tokens[3].column, std::move(message));
        return;
    }
    if (*nlocals < *nargs) {
        error(tokens[3].column, fmt::format("local count {} is less than argument count {}", *nlocals, *nargs));
        return;
    }
    open_->function.nargs = static_cast<std::uint32_t>(*nargs);
    open_->function.nlocals = static_cast<std::uint32_t>(*nlocals);
    if (!no_trailing(tokens, 4, "'.func NAME NARGS NLOCALS'")) return;
    const auto [it, inserted] = function_lines_.try_emplace(open_->function.name, line_number_);
    if (!inserted)
        error(name.column,
              fmt::format("duplicate function '{}' (first defined on line {})", open_->function.name, it->second));
}

void Assembler::end_function() {
    OpenFunction& open = *open_;
    for (const LabelUse& use : open.label_uses) {
        const auto it = open.labels.find(use.name);
        if (it == open.labels.end())
            error_at(use.line, use.column, use.source_line, fmt::format("undefined label '{}'", use.name));
        else
            open.function.code[use.instruction].operand = it->second.offset;
    }
    std::vector<Function>& functions = builder_.program().functions;
    if (functions.size() >= kMaxTableSize) {
        error_at(open.line, open.column, open.source_line, "too many functions");
    } else {
        functions.push_back(std::move(open.function));
        declared_positions_.push_back(std::move(open.declared_positions));
    }
    open_.reset();
}

void Assembler::line_directive(Tokens tokens) {
    const Token& head = tokens[0];
    any_line_directive_ = true;
    if (!open_) {
        error(head.column, "'.line' outside a function");
        return;
    }
    if (tokens.size() < 2) {
        error(head.column, "'.line' expects a line number");
        return;
    }
    std::string message;
    const auto line = parse_count(tokens[1], kUint32Max, "line number", message);
    if (!line) {
        error(tokens[1].column, std::move(message));
        return;
    }
    std::uint64_t column = 0;
    if (tokens.size() >= 3) {
        const auto parsed = parse_count(tokens[2], kUint32Max, "column number", message);
        if (!parsed) {
            error(tokens[2].column, std::move(message));
            return;
        }
        column = *parsed;
    }
    if (!no_trailing(tokens, 3, "'.line N C'")) return;
    open_->declared = {static_cast<std::uint32_t>(*line), static_cast<std::uint32_t>(column)};
}

} // namespace

Program assemble(std::string_view text, const std::string& file) {
    return Assembler(without_byte_order_mark(text), file).run();
}

} // namespace opscope
