// The verifier: every program passes it before it runs, so the interpreter needs no per-instruction checks.
#pragma once

#include <opscope/program.hpp>

#include <functional>
#include <optional>
#include <string_view>

namespace opscope {

// Arity of the host function `name`, or nullopt when there is none.
using NativeArity = std::function<std::optional<int>(std::string_view name)>;

// Rejects (ProgramError naming function + offset + source line): a missing or non-zero-arity `main`;
// sizes past the limits in program.hpp (locals, stack height, instructions, tables); natives of negative
// arity; functions with nlocals < nargs or duplicate names; operands outside their table; jumps outside the
// function; local slots out of range; calls to unknown functions; stack heights that go negative or differ
// between paths into one instruction; code that can fall off the end. Sets each Function::max_stack.
void verify(Program& program, const NativeArity& native_arity);

} // namespace opscope
