// Tokens of the opscope language (.ops) and how diagnostics name them ("identifier 'x'", "';'").
#pragma once

#include <opscope/program.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace opscope::lang {

enum class TokenKind : std::uint8_t {
    end_of_file,
    identifier,
    integer,
    floating,
    string,
    // keywords
    kw_fn, kw_let, kw_if, kw_else, kw_while, kw_for, kw_break, kw_continue, kw_return, kw_true, kw_false, kw_nil,
    // punctuation and operators
    left_paren, right_paren, left_brace, right_brace, left_bracket, right_bracket, comma, semicolon,
    plus, minus, star, slash, percent, bang, assign,
    equal, not_equal, less, less_equal, greater, greater_equal, and_and, or_or,
};

// Small and trivially copyable (40 bytes): the parser pulls tokens one at a time and copies the few it keeps.
// A string literal's value is decoded from its text when the parser needs it (string_value).
struct Token {
    TokenKind kind = TokenKind::end_of_file;
    bool integer_overflow = false;  // integer: does not fit in 64 bits at all
    SourcePos pos;
    std::string_view text;          // the spelling in the source (literals: including quotes or prefix)
    union {
        std::uint64_t integer = 0;  // integer: the magnitude (literals carry no sign)
        double floating;            // floating: the value
    };
};

// The character `\e` stands for in a string literal, or nothing for an invalid escape. The one table of
// escapes: the lexer checks them with it, string_value decodes them with it.
std::optional<char> escaped_char(char e);

// The value of a string literal token's text (quotes included): escapes decoded, invalid ones (already
// reported by the lexer) left out.
std::string string_value(std::string_view text);

// The keyword spelled `text`, or TokenKind::identifier.
TokenKind keyword_kind(std::string_view text);

// How an error message names a token: "identifier 'x'", "number '12'", "string \"a\"", "'while'", "';'",
// "end of file".
std::string describe(const Token& token);

} // namespace opscope::lang
