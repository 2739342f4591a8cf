// The code generator: a parsed Module to a Program. Resolves names (locals, globals, functions, built-ins,
// natives) and reports semantic errors to the sink.
#pragma once

#include <opscope/compiler.hpp>
#include "ast.hpp"
#include "diagnostics.hpp"

#include <string>
#include <vector>

namespace opscope::lang {

// `main` (the top-level statements) is function 0, then the user functions in source order.
Program generate(const Module& module, const std::string& file, const std::vector<NativeDeclaration>& natives,
                 DiagnosticSink& sink);

} // namespace opscope::lang
