// The parser: source to a Module by recursive descent, pulling tokens from the lexer as it goes. Syntax errors
// ("expected X, found Y") are reported to the sink; the parser then skips to the end of the statement (`;`, a
// closing `}` or a statement keyword) and continues, so one compile reports an error for each broken statement.
#pragma once

#include "ast.hpp"
#include "diagnostics.hpp"
#include "lexer.hpp"

#include <string_view>

namespace opscope::lang {

// Lexes `source` as it goes (lexical errors go to the same sink). The Module's names view `source`, which must
// outlive it.
Module parse(std::string_view source, DiagnosticSink& sink);

} // namespace opscope::lang
