// compile_source: the language front to back — lex, parse, generate — collecting every error on the way.
#include <opscope/compiler.hpp>

#include "codegen.hpp"
#include "diagnostics.hpp"
#include "parser.hpp"

namespace opscope {

Program compile_source(std::string_view text, const std::string& file,
                       const std::vector<NativeDeclaration>& natives) {
    const std::string_view source = without_byte_order_mark(text);
    lang::DiagnosticSink sink(source, file);
    const lang::Module module = lang::parse(source, sink);
    Program program = lang::generate(module, file, natives, sink);
    if (sink.has_errors()) {
        std::vector<Diagnostic> errors = sink.take_sorted();
        throw ProgramError(std::move(errors), sink.left_out());
    }
    return program;
}

} // namespace opscope
