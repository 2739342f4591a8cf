// The lexer: .ops source text to tokens. Lexical errors (unexpected characters, unterminated strings, bad
// escapes, malformed numbers) are reported to the sink and lexing continues.
#pragma once

#include "diagnostics.hpp"
#include "token.hpp"

#include <string_view>
#include <vector>

namespace opscope::lang {

// The tokens of `source`, ending with one end_of_file token placed just after the last real token.
// Tokens refer to `source`, which must outlive them.
std::vector<Token> tokenize(std::string_view source, DiagnosticSink& sink);

} // namespace opscope::lang
