// Tokens of the opscope language (.ops) and how diagnostics name them ("identifier 'x'", "';'").
#pragma once

#include <opscope/program.hpp>

#include <cstdint>
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

struct Token {
    TokenKind kind = TokenKind::end_of_file;
    SourcePos pos;
    std::string_view text;          // the spelling in the source (literals: including quotes or prefix)
    std::uint64_t integer = 0;      // integer: the magnitude (literals carry no sign)
    bool integer_overflow = false;  // integer: does not fit in 64 bits at all
    double floating = 0.0;          // floating: the value
    std::string string;             // string: the value with escapes decoded
};

// The keyword spelled `text`, or TokenKind::identifier.
TokenKind keyword_kind(std::string_view text);

// How an error message names a token: "identifier 'x'", "number '12'", "string \"a\"", "'while'", "';'",
// "end of file".
std::string describe(const Token& token);

} // namespace opscope::lang
