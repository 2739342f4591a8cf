// Keyword lookup and the names diagnostics give tokens.
#include "token.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace opscope::lang {

TokenKind keyword_kind(std::string_view text) {
    static constexpr std::array<std::pair<std::string_view, TokenKind>, 12> keywords{{
        {"fn", TokenKind::kw_fn},       {"let", TokenKind::kw_let},           {"if", TokenKind::kw_if},
        {"else", TokenKind::kw_else},   {"while", TokenKind::kw_while},       {"for", TokenKind::kw_for},
        {"break", TokenKind::kw_break}, {"continue", TokenKind::kw_continue}, {"return", TokenKind::kw_return},
        {"true", TokenKind::kw_true},   {"false", TokenKind::kw_false},       {"nil", TokenKind::kw_nil},
    }};
    for (const auto& [spelling, kind] : keywords)
        if (spelling == text) return kind;
    return TokenKind::identifier;
}

std::optional<char> escaped_char(char e) {
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case '"': return '"';
    case '\\': return '\\';
    case '0': return '\0';
    default: return std::nullopt;
    }
}

std::string string_value(std::string_view text) {
    std::string value;
    for (std::size_t i = 1; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] != '\\') {
            value += text[i];
        } else if (++i < text.size()) {
            if (const std::optional<char> c = escaped_char(text[i])) value += *c;
        }
    }
    return value;
}

std::string describe(const Token& token) {
    switch (token.kind) {
    case TokenKind::end_of_file: return "end of file";
    case TokenKind::identifier: return fmt::format("identifier '{}'", token.text);
    case TokenKind::integer:
    case TokenKind::floating: return fmt::format("number '{}'", token.text);
    case TokenKind::string: return fmt::format("string {}", token.text);
    default: return fmt::format("'{}'", token.text);
    }
}

} // namespace opscope::lang
