// The lexer: .ops source text to tokens, handed out one at a time so that a large source never exists as a
// token list (the parser keeps one token of lookahead). Lexical errors (unexpected characters, unterminated
// strings, bad escapes, malformed numbers) are reported to the sink and lexing continues.
#pragma once

#include "diagnostics.hpp"
#include "token.hpp"

#include <memory>
#include <string_view>

namespace opscope::lang {

class Lexer {
public:
    // Tokens refer to `source`, which must outlive them.
    Lexer(std::string_view source, DiagnosticSink& sink);
    ~Lexer();
    Lexer(const Lexer&) = delete;
    Lexer& operator=(const Lexer&) = delete;

    // The next token; after the last one, an end_of_file token placed just after it, every time.
    Token next();

private:
    class Scanner;
    std::unique_ptr<Scanner> scanner_;
};

} // namespace opscope::lang
