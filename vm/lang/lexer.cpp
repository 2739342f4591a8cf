// The lexer: a single pass over the bytes of the source, tracking line and column (1-based, in bytes).
#include "lexer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace opscope::lang {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_identifier_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_identifier_char(char c) { return is_identifier_start(c) || is_digit(c); }

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

// A character as an error message shows it: printable_text of its byte.
std::string show_char(char c) { return printable_text(std::string_view(&c, 1)); }

} // namespace

// The lexer's state and rules; Lexer hands out its tokens one at a time.
class Lexer::Scanner {
public:
    Scanner(std::string_view source, DiagnosticSink& sink) : source_(source), sink_(sink) {}

    Token next() {
        for (;;) {
            skip_space_and_comments();
            if (at_end()) break;
            Token token = next_token();
            if (token.kind == TokenKind::end_of_file) continue;  // an unexpected character, already reported
            end_pos_ = here();
            return token;
        }
        Token end;
        end.kind = TokenKind::end_of_file;
        end.pos = end_pos_;
        return end;
    }

private:
    bool at_end() const { return offset_ >= source_.size(); }
    char peek(std::size_t ahead = 0) const {
        return offset_ + ahead < source_.size() ? source_[offset_ + ahead] : '\0';
    }
    SourcePos here() const { return SourcePos{line_, column_}; }
    bool at_identifier_char() const { return !at_end() && is_identifier_char(peek()); }

    void advance() {
        if (source_[offset_] == '\n') {
            ++line_;
            column_ = 1;
        } else {
            ++column_;
        }
        ++offset_;
    }

    void skip_space_and_comments() {
        while (!at_end()) {
            const char c = peek();
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                advance();
            } else if (c == '/' && peek(1) == '/') {
                while (!at_end() && peek() != '\n') advance();
            } else {
                break;
            }
        }
    }

    Token next_token() {
        Token token;
        token.pos = here();
        const std::size_t start = offset_;
        const char c = peek();
        if (is_digit(c)) {
            lex_number(token);
        } else if (is_identifier_start(c)) {
            while (!at_end() && is_identifier_char(peek())) advance();
            token.kind = keyword_kind(source_.substr(start, offset_ - start));
        } else if (c == '"') {
            lex_string(token);
        } else {
            lex_operator(token);
        }
        token.text = source_.substr(start, offset_ - start);
        return token;
    }

    void lex_number(Token& token) {
        const std::size_t start = offset_;
        bool malformed = false;
        if (peek() == '0' && (peek(1) == 'x' || peek(1) == 'X')) {
            advance();
            advance();
            token.kind = TokenKind::integer;
            if (!is_hex_digit(peek())) malformed = true;
            while (!at_end() && is_hex_digit(peek())) {
                accumulate(token, 16, hex_value(peek()));
                advance();
            }
        } else {
            token.kind = TokenKind::integer;
            while (!at_end() && is_digit(peek())) {
                accumulate(token, 10, peek() - '0');
                advance();
            }
            if (peek() == '.' && is_digit(peek(1))) {
                token.kind = TokenKind::floating;
                advance();
                while (!at_end() && is_digit(peek())) advance();
            }
            if ((peek() == 'e' || peek() == 'E') &&
                (is_digit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && is_digit(peek(2))))) {
                token.kind = TokenKind::floating;
                advance();
                if (peek() == '+' || peek() == '-') advance();
                while (!at_end() && is_digit(peek())) advance();
            }
            if (token.kind == TokenKind::floating) {
                // Out of range both ways (1e999, 1e-999) is an error, as in the assembler: never inf or 0.
                const std::string_view text = source_.substr(start, offset_ - start);
                double value = 0.0;
                const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
                if (result.ec == std::errc::result_out_of_range && !at_identifier_char())
                    sink_.error(token.pos, fmt::format("float literal '{}' out of range", text));
                token.floating = value;
            }
        }
        if (at_identifier_char()) {
            malformed = true;
            while (!at_end() && is_identifier_char(peek())) advance();
        }
        if (malformed) {
            sink_.error(token.pos, fmt::format("invalid number '{}'", source_.substr(start, offset_ - start)));
            token.integer_overflow = false;  // one error is enough
        }
    }

    static void accumulate(Token& token, unsigned base, int digit) {
        const auto d = static_cast<std::uint64_t>(digit);
        if (token.integer > (UINT64_MAX - d) / base) token.integer_overflow = true;
        token.integer = token.integer * base + d;
    }

    void lex_string(Token& token) {
        token.kind = TokenKind::string;
        advance();  // the opening quote
        for (;;) {
            if (at_end() || peek() == '\n') {
                sink_.error(token.pos, "unterminated string");
                return;
            }
            const char c = peek();
            if (c == '"') {
                advance();
                return;
            }
            if (c != '\\') {
                advance();
                continue;
            }
            const SourcePos escape_pos = here();
            advance();
            const char e = at_end() ? '\0' : peek();
            if (!escaped_char(e)) {
                if (at_end() || e == '\n') continue;  // reported as unterminated on the next turn
                sink_.error(escape_pos, fmt::format("invalid escape sequence '\\{}' in string", show_char(e)));
            }
            advance();
        }
    }

    void lex_operator(Token& token) {
        const char c = peek();
        const char next = peek(1);
        auto one = [&](TokenKind kind) {
            token.kind = kind;
            advance();
        };
        auto two = [&](TokenKind kind) {
            token.kind = kind;
            advance();
            advance();
        };
        switch (c) {
        case '(': one(TokenKind::left_paren); return;
        case ')': one(TokenKind::right_paren); return;
        case '{': one(TokenKind::left_brace); return;
        case '}': one(TokenKind::right_brace); return;
        case '[': one(TokenKind::left_bracket); return;
        case ']': one(TokenKind::right_bracket); return;
        case ',': one(TokenKind::comma); return;
        case ';': one(TokenKind::semicolon); return;
        case '+': one(TokenKind::plus); return;
        case '-': one(TokenKind::minus); return;
        case '*': one(TokenKind::star); return;
        case '/': one(TokenKind::slash); return;
        case '%': one(TokenKind::percent); return;
        case '!': next == '=' ? two(TokenKind::not_equal) : one(TokenKind::bang); return;
        case '=': next == '=' ? two(TokenKind::equal) : one(TokenKind::assign); return;
        case '<': next == '=' ? two(TokenKind::less_equal) : one(TokenKind::less); return;
        case '>': next == '=' ? two(TokenKind::greater_equal) : one(TokenKind::greater); return;
        case '&':
            if (next == '&') return two(TokenKind::and_and);
            break;
        case '|':
            if (next == '|') return two(TokenKind::or_or);
            break;
        default: break;
        }
        // One error for a whole UTF-8 sequence (its lead byte and continuation bytes, of which a sequence has
        // three at most: the message shows no more of a longer run of garbage).
        const std::size_t start = offset_;
        advance();
        while (!at_end() && (static_cast<unsigned char>(peek()) & 0xc0) == 0x80) advance();
        const std::string_view character = source_.substr(start, std::min<std::size_t>(offset_ - start, 4));
        std::string message = fmt::format("unexpected character '{}'", printable_text(character));
        if (c == '&' || c == '|') message += fmt::format(" (did you mean '{}{}'?)", c, c);
        sink_.error(token.pos, std::move(message));
        token.kind = TokenKind::end_of_file;  // tells run() to drop it
    }

    std::string_view source_;
    DiagnosticSink& sink_;
    std::size_t offset_ = 0;
    std::uint32_t line_ = 1;
    std::uint32_t column_ = 1;
    SourcePos end_pos_{1, 1};  // just after the last token
};

Lexer::Lexer(std::string_view source, DiagnosticSink& sink) : scanner_(std::make_unique<Scanner>(source, sink)) {}
Lexer::~Lexer() = default;
Token Lexer::next() { return scanner_->next(); }

} // namespace opscope::lang
