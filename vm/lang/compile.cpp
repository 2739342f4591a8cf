// compile_source: the language front to back — lex, parse, generate — collecting every error on the way.
#include <opscope/compiler.hpp>

#include "codegen.hpp"
#include "diagnostics.hpp"
#include "lexer.hpp"
#include "parser.hpp"

namespace opscope {

Program compile_source(std::string_view source, const std::string& file,
                       const std::vector<NativeDeclaration>& natives) {
    lang::DiagnosticSink sink(source, file);
    const std::vector<lang::Token> tokens = lang::tokenize(source, sink);
    const lang::Module module = lang::parse(tokens, sink);
    Program program = lang::generate(module, file, natives, sink);
    if (sink.has_errors()) throw ProgramError(sink.take_sorted());
    return program;
}

} // namespace opscope
