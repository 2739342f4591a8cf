// The verifier: one abstract interpretation of stack heights per function, plus operand range checks.
// What it proves lets the interpreter run without per-instruction checks (see interpreter.hpp).
#include <opscope/verifier.hpp>
#include <opscope/errors.hpp>

#include <fmt/format.h>

#include <set>

namespace opscope {
namespace {

constexpr std::size_t kMaxFunctionSize = (1u << 23) - 1;  // Instr::run_cost is 23 bits

class FunctionVerifier {
public:
    FunctionVerifier(const Program& program, Function& function, const NativeArity& native_arity,
                     std::vector<Diagnostic>& errors)
        : program_(program), function_(function), native_arity_(native_arity), errors_(errors) {}

    void run() {
        if (function_.nlocals < function_.nargs)
            return fail(0, fmt::format("has {} locals but {} arguments (locals include the arguments)",
                                       function_.nlocals, function_.nargs));
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

    // Pops of the instruction at `offset` (the callee's arity for `call`).
    int pops(std::size_t offset) const {
        const Instruction& in = function_.code[offset];
        if (in.op != Op::call) return info(in.op).pops;
        const std::string& name = program_.call_targets[static_cast<std::size_t>(in.operand)];
        if (const int index = program_.find_function(name); index >= 0)
            return static_cast<int>(program_.functions[static_cast<std::size_t>(index)].nargs);
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
            if (native_arity_ && native_arity_(name)) return true;
            fail(offset, fmt::format("call to unknown function '{}'", name));
            return false;
        }
        }
        return true;
    }

    void check_stack() {
        const std::size_t size = function_.code.size();
        std::vector<int> height(size, -1);
        std::vector<std::size_t> work{0};
        height[0] = 0;
        int max_height = 0;
        const auto reach = [&](std::size_t from, std::size_t to, int h) {
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
            const int h = height[offset];
            const int n = pops(offset);
            if (h < n)
                return fail(offset, fmt::format("stack underflow: '{}' pops {} but the stack holds {}",
                                                mnemonic(in.op), n, h));
            const int after = h - n + info(in.op).pushes;
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
    for (Function& f : program.functions) FunctionVerifier(program, f, native_arity, errors).run();
    if (!errors.empty()) throw ProgramError(std::move(errors));
}

} // namespace opscope
