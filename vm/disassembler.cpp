// The disassembler: a Program as `.opasm` text that reassembles to an identical Program.
//
// Jump targets get labels `L<offset>`; every instruction carries its offset as a trailing comment. To keep
// positions exact, each function opens with a `.line` and gets another wherever the position changes (so
// the assembler's "any .line means explicit positions" rule always applies), and `.source` is emitted
// whenever it matters. A table (constants, globals, call targets) whose entries are not in first-use order,
// or that holds unused entries, is pre-declared with `.const`/`.global`/`.target` so reassembly interns the
// same entries in the same order.
//
// Not reproduced: max_stack (the verifier recomputes it); a function with code but no positions (it comes
// back with zero positions); duplicate table entries and NaN payloads (every NaN reads back as the quiet
// NaN). Operands that no assembly can express (out of their table or function, negative slots) print as
// `?N` so that reassembling fails loudly instead of changing the program.
#include <opscope/program.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace opscope {
namespace {

bool is_identifier(std::string_view s) {
    auto start = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '.' || c == '$'; };
    return !s.empty() && start(s[0]) &&
           std::all_of(s.begin(), s.end(), [&](char c) { return start(c) || (c >= '0' && c <= '9'); });
}

// A name as written in assembly; a name the assembler could not read is quoted so reassembly rejects it.
std::string name_text(const std::string& name) { return is_identifier(name) ? name : constant_literal(Constant{name}); }

bool valid_op(Op op) { return static_cast<std::size_t>(op) < kUserOpCount; }

template <class Table>
bool in_range(const Table& table, std::int32_t index) {
    return index >= 0 && static_cast<std::size_t>(index) < table.size();
}

// True when interning the tables in order of first use (what the assembler does) rebuilds them exactly.
struct TableOrder {
    bool constants = true, globals = true, call_targets = true;
};

TableOrder table_order(const Program& program) {
    std::vector<bool> seen_constants(program.constants.size()), seen_globals(program.globals.size()),
        seen_targets(program.call_targets.size());
    std::size_t next_constant = 0, next_global = 0, next_target = 0;
    TableOrder order;
    auto use = [](std::vector<bool>& seen, std::size_t& next, bool& ok, std::int32_t index) {
        if (index < 0 || static_cast<std::size_t>(index) >= seen.size() || seen[index]) return;
        seen[index] = true;
        ok = ok && static_cast<std::size_t>(index) == next;
        ++next;
    };
    for (const Function& function : program.functions) {
        for (const Instruction& instruction : function.code) {
            if (!valid_op(instruction.op)) continue;
            switch (info(instruction.op).operand) {
            case OperandKind::constant: use(seen_constants, next_constant, order.constants, instruction.operand); break;
            case OperandKind::global: use(seen_globals, next_global, order.globals, instruction.operand); break;
            case OperandKind::callee: use(seen_targets, next_target, order.call_targets, instruction.operand); break;
            case OperandKind::none:
            case OperandKind::local:
            case OperandKind::label:
            case OperandKind::immediate: break;
            }
        }
    }
    order.constants = order.constants && next_constant == program.constants.size();
    order.globals = order.globals && next_global == program.globals.size();
    order.call_targets = order.call_targets && next_target == program.call_targets.size();
    return order;
}

// The operand as assembly text, or "?N" when assembly cannot express it.
std::string operand_text(const Program& program, const Function& function, const Instruction& instruction) {
    const std::int32_t operand = instruction.operand;
    const std::string invalid = fmt::format("?{}", operand);
    switch (info(instruction.op).operand) {
    case OperandKind::none: return operand == 0 ? std::string() : invalid;
    case OperandKind::constant:
        return in_range(program.constants, operand) ? constant_literal(program.constants[operand]) : invalid;
    case OperandKind::local: return operand >= 0 ? std::to_string(operand) : invalid;
    case OperandKind::global: return in_range(program.globals, operand) ? name_text(program.globals[operand]) : invalid;
    case OperandKind::callee:
        return in_range(program.call_targets, operand) ? name_text(program.call_targets[operand]) : invalid;
    case OperandKind::label:
        return operand >= 0 && static_cast<std::size_t>(operand) <= function.code.size() ? fmt::format("L{}", operand)
                                                                                           : invalid;
    case OperandKind::immediate: break;
    }
    return invalid;
}

void disassemble_function(const Program& program, const Function& function, std::string& out) {
    const std::size_t size = function.code.size();
    std::vector<bool> is_target(size + 1);
    for (const Instruction& instruction : function.code)
        if (valid_op(instruction.op) && is_jump(instruction.op) && instruction.operand >= 0 &&
            static_cast<std::size_t>(instruction.operand) <= size)
            is_target[instruction.operand] = true;

    out += fmt::format(".func {} {} {}\n", name_text(function.name), function.nargs, function.nlocals);
    if (size == 0) out += "    .line 0 0\n";
    for (std::size_t offset = 0; offset < size; ++offset) {
        if (is_target[offset]) out += fmt::format("L{}:\n", offset);
        const SourcePos position = function.position(offset);
        if (offset == 0 || position != function.position(offset - 1))
            out += fmt::format("    .line {} {}\n", position.line, position.column);
        const Instruction& instruction = function.code[offset];
        std::string text;
        if (valid_op(instruction.op)) {
            text = std::string(mnemonic(instruction.op));
            if (const std::string operand = operand_text(program, function, instruction); !operand.empty())
                text += " " + operand;
        } else {
            text = fmt::format("?op{} {}", static_cast<unsigned>(instruction.op), instruction.operand);
        }
        out += fmt::format("    {:<28} ; {}\n", text, offset);
    }
    if (is_target[size]) out += fmt::format("L{}:\n", size);
    out += ".end\n";
}

} // namespace

std::string disassemble(const Program& program) {
    std::string out = fmt::format("; opscope assembly: functions {}, constants {}, globals {}, call targets {}\n",
                                  program.functions.size(), program.constants.size(), program.globals.size(),
                                  program.call_targets.size());
    // Without functions there is no `.line`, and the assembler would default source_file to its own file.
    if (!program.source_file.empty() || program.functions.empty())
        out += fmt::format(".source {}\n", constant_literal(Constant{program.source_file}));

    const TableOrder order = table_order(program);
    if (!order.constants)
        for (const Constant& c : program.constants) out += fmt::format(".const {}\n", constant_literal(c));
    if (!order.globals)
        for (const std::string& name : program.globals) out += fmt::format(".global {}\n", name_text(name));
    if (!order.call_targets)
        for (const std::string& name : program.call_targets) out += fmt::format(".target {}\n", name_text(name));

    for (const Function& function : program.functions) {
        out += '\n';
        disassemble_function(program, function, out);
    }
    return out;
}

} // namespace opscope
