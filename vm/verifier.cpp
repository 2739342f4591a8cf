// The verifier: one abstract interpretation of stack heights per function, plus operand range checks and
// the program model's size limits (program.hpp). What it proves lets the interpreter run without
// per-instruction checks (see interpreter.hpp). Nothing here can wrap: counts are checked against their
// limits before any sum, and stack heights are 64-bit and capped at kMaxStack as they are computed.
#include <opscope/verifier.hpp>
#include <opscope/errors.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>

namespace opscope {
namespace {

class FunctionVerifier {
public:
    FunctionVerifier(const Program& program, Function& function, const NativeArity& native_arity,
                     std::vector<Diagnostic>& errors)
        : program_(program), function_(function), native_arity_(native_arity), errors_(errors) {}

    void run() {
        if (function_.nlocals < function_.nargs)
            return fail(0, fmt::format("has {} locals but {} arguments (locals include the arguments)",
                                       function_.nlocals, function_.nargs));
        if (function_.nlocals > kMaxLocals)
            return fail(0, fmt::format("has {} locals; at most {} are allowed", function_.nlocals, kMaxLocals));
        if (function_.code.empty()) return fail(0, "has no instructions: execution falls off the end");
        if (function_.code.size() > kMaxFunctionSize)
            return fail(0, fmt::format("has {} instructions; at most {} are allowed", function_.code.size(),
                                       kMaxFunctionSize));
        if (!function_.positions.empty() && function_.positions.size() != function_.code.size())
            return fail(0, "debug positions do not match the instructions");
        for (std::size_t offset = 0; offset < function_.code.size(); ++offset)
            if (!check_operand(offset)) return;
        check_stack();
    }

private:
    void fail(std::size_t offset, std::string message) {
        const SourcePos pos = function_.position(offset);
        errors_.push_back(Diagnostic{program_.source_file, pos.line, pos.column,
                                     fmt::format("function '{}' offset {}: {}", function_.name, offset, message),
                                     {}});
    }

    // Pops of the instruction at `offset` (the callee's arity for `call`; the callee itself may be invalid,
    // so its count is taken as it is, widened, not trusted to be in range).
    std::int64_t pops(std::size_t offset) const {
        const Instruction& in = function_.code[offset];
        if (in.op != Op::call) return info(in.op).pops;
        const std::string& name = program_.call_targets[static_cast<std::size_t>(in.operand)];
        if (const int index = program_.find_function(name); index >= 0)
            return program_.functions[static_cast<std::size_t>(index)].nargs;
        return native_arity_ ? native_arity_(name).value_or(0) : 0;
    }

    bool check_operand(std::size_t offset) {
        const Instruction& in = function_.code[offset];
        if (static_cast<std::size_t>(in.op) >= kUserOpCount) {
            fail(offset, fmt::format("invalid opcode {}", static_cast<int>(in.op)));
            return false;
        }
        const OpInfo& op = info(in.op);
        const auto operand = static_cast<std::int64_t>(in.operand);
        const auto in_range = [&](std::size_t size, std::string_view what) {
            if (operand >= 0 && static_cast<std::size_t>(operand) < size) return true;
            fail(offset, fmt::format("'{}' operand {} is not a valid {} (there are {})", op.mnemonic, operand, what,
                                     size));
            return false;
        };
        switch (op.operand) {
        case OperandKind::none:
        case OperandKind::immediate:
            if (operand != 0) {
                fail(offset, fmt::format("'{}' takes no operand but has {}", op.mnemonic, operand));
                return false;
            }
            return true;
        case OperandKind::constant: return in_range(program_.constants.size(), "constant index");
        case OperandKind::local:
            if (operand >= 0 && operand < static_cast<std::int64_t>(function_.nlocals)) return true;
            fail(offset, fmt::format("local slot {} is out of range (the function has {} locals)", operand,
                                     function_.nlocals));
            return false;
        case OperandKind::global: return in_range(program_.globals.size(), "global index");
        case OperandKind::label:
            if (operand >= 0 && static_cast<std::size_t>(operand) < function_.code.size()) return true;
            fail(offset, fmt::format("jump target {} is outside the function (0..{})", operand,
                                     function_.code.size() - 1));
            return false;
        case OperandKind::callee: {
            if (!in_range(program_.call_targets.size(), "call target index")) return false;
            const std::string& name = program_.call_targets[static_cast<std::size_t>(operand)];
            if (program_.find_function(name) >= 0) return true;
            if (const std::optional<int> arity = native_arity_ ? native_arity_(name) : std::nullopt) {
                if (*arity >= 0) return true;
                fail(offset, fmt::format("call to native '{}' of negative arity {}", name, *arity));
                return false;
            }
            fail(offset, fmt::format("call to unknown function '{}'", name));
            return false;
        }
        }
        return true;
    }

    void check_stack() {
        const std::size_t size = function_.code.size();
        std::vector<std::int64_t> height(size, -1);
        std::vector<std::size_t> work{0};
        height[0] = 0;
        std::int64_t max_height = 0;
        const auto reach = [&](std::size_t from, std::size_t to, std::int64_t h) {
            if (to >= size) {
                fail(from, "execution can fall off the end of the function");
                return false;
            }
            if (height[to] < 0) {
                height[to] = h;
                work.push_back(to);
            } else if (height[to] != h) {
                fail(to, fmt::format("stack height differs between paths into this instruction ({} and {})",
                                     height[to], h));
                return false;
            }
            return true;
        };
        while (!work.empty()) {
            const std::size_t offset = work.back();
            work.pop_back();
            const Instruction& in = function_.code[offset];
            const std::int64_t h = height[offset];  // in 0..kMaxStack
            const std::int64_t n = pops(offset);     // in 0..UINT32_MAX
            if (h < n)
                return fail(offset, fmt::format("stack underflow: '{}' pops {} but the stack holds {}",
                                                mnemonic(in.op), n, h));
            const std::int64_t after = h - n + info(in.op).pushes;
            if (after > kMaxStack)
                return fail(offset, fmt::format("the stack grows past {} values, the most a function may use",
                                                kMaxStack));
            max_height = std::max(max_height, after);
            if (is_jump(in.op) && !reach(offset, static_cast<std::size_t>(in.operand), after)) return;
            if (!ends_flow(in.op) && !reach(offset, offset + 1, after)) return;
        }
        function_.max_stack = static_cast<std::uint32_t>(max_height);
    }

    const Program& program_;
    Function& function_;
    const NativeArity& native_arity_;
    std::vector<Diagnostic>& errors_;
};

} // namespace

void verify(Program& program, const NativeArity& native_arity) {
    std::vector<Diagnostic> errors;
    std::set<std::string_view> names;
    for (const Function& f : program.functions)
        if (!names.insert(f.name).second)
            errors.push_back({program.source_file, 0, 0, fmt::format("duplicate function '{}'", f.name), {}});
    const int main = program.find_function("main");
    if (main < 0)
        errors.push_back({program.source_file, 0, 0, "the program has no 'main' function", {}});
    else if (program.functions[static_cast<std::size_t>(main)].nargs != 0)
        errors.push_back({program.source_file, 0, 0,
                          fmt::format("'main' must take 0 arguments, not {}",
                                      program.functions[static_cast<std::size_t>(main)].nargs),
                          {}});
    // Table and program sizes first: the functions' checks index the tables, so they run only within limits.
    const std::size_t errors_before = errors.size();
    const auto at_most = [&](std::uint64_t size, std::uint64_t limit, std::string_view what) {
        if (size > limit)
            errors.push_back({program.source_file, 0, 0,
                              fmt::format("the program has {} {}; at most {} are allowed", size, what, limit), {}});
    };
    at_most(program.constants.size(), kMaxTableSize, "constants");
    at_most(program.globals.size(), kMaxTableSize, "globals");
    at_most(program.call_targets.size(), kMaxTableSize, "call targets");
    at_most(program.functions.size(), kMaxTableSize, "functions");
    std::uint64_t total = 0;
    for (const Function& f : program.functions) total += f.code.size();
    at_most(total, kMaxProgramSize, "instructions");
    const bool too_large = errors.size() != errors_before;
    if (!too_large)
        for (Function& f : program.functions) FunctionVerifier(program, f, native_arity, errors).run();
    if (!errors.empty()) throw ProgramError(std::move(errors));
}

} // namespace opscope
