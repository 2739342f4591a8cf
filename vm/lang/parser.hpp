// The parser: tokens to a Module by recursive descent. Syntax errors ("expected X, found Y") are reported
// to the sink; the parser then skips to the end of the statement (`;`, a closing `}` or a statement keyword)
// and continues, so one compile reports an error for each broken statement.
#pragma once

#include "ast.hpp"
#include "diagnostics.hpp"
#include "token.hpp"

#include <vector>

namespace opscope::lang {

// `tokens` ends with an end_of_file token (as tokenize() returns them).
Module parse(const std::vector<Token>& tokens, DiagnosticSink& sink);

} // namespace opscope::lang
