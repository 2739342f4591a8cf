// The opscope language (.ops): compiled to a Program with per-instruction source lines and columns.
#pragma once

#include <opscope/program.hpp>

#include <string>
#include <string_view>

namespace opscope {

// Compiles `.ops` source (a leading UTF-8 byte order mark is skipped). Throws ProgramError listing every
// error found ("file:line:col: error: ...", each with its source line for a caret display). `natives` are
// extra host function names and arities callable from the source besides the built-ins (print, array, len,
// clock, sqrt).
struct NativeDeclaration {
    std::string name;
    int arity;
};
Program compile_source(std::string_view source, const std::string& file,
                       const std::vector<NativeDeclaration>& natives = {});

} // namespace opscope
