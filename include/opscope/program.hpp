// Program: the bytecode model shared by the assembler, compiler, binary format, disassembler and verifier.
//
// A Program is plain data. Operands index the program's tables (constants, globals, call_targets) or
// give an instruction offset (jumps); offsets count instructions, not bytes. `positions` maps each
// instruction to a source line and column for debug info (0 = unknown).
#pragma once

#include <opscope/opcodes.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace opscope {

// The sizes a Program may have. The assembler and the bytecode decoder refuse larger ones where they read
// them (file:line:col, byte offset), and the verifier proves them again for Programs built in memory, so the
// sums the linker and interpreter make from them (a frame's nlocals + max_stack, instruction ids) stay far
// from wrapping 32 bits.
inline constexpr std::uint32_t kMaxLocals = 65535;                 // per function, arguments included
inline constexpr std::uint32_t kMaxStack = 65535;                  // operand values per function (max_stack)
inline constexpr std::uint32_t kMaxFunctionSize = (1u << 23) - 1;  // instructions (Instr::run_cost holds it)
inline constexpr std::uint32_t kMaxProgramSize = (1u << 31) - 1;   // instructions in all functions together
inline constexpr std::uint32_t kMaxTableSize = (1u << 31) - 1;     // constants, globals, call targets, functions

struct Instruction {
    Op op = Op::halt;
    std::int32_t operand = 0;
    friend bool operator==(const Instruction&, const Instruction&) = default;
};

struct SourcePos {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

struct Nil {
    friend bool operator==(Nil, Nil) = default;
};
// A literal of `push`: nil, bool, int, float or string.
using Constant = std::variant<Nil, bool, std::int64_t, double, std::string>;

// Constants are interned by exact value and type: int 1 and float 1.0 differ, and floats compare by bit
// pattern, so 0.0 and -0.0 are two constants while a NaN equals itself. hash_constant agrees with it.
bool same_constant(const Constant& a, const Constant& b);
std::size_t hash_constant(const Constant& c);

struct Function {
    std::string name;
    std::uint32_t nargs = 0;
    std::uint32_t nlocals = 0;  // >= nargs, <= kMaxLocals; arguments are locals 0..nargs-1
    std::vector<Instruction> code;
    std::vector<SourcePos> positions;  // empty, or one per instruction
    std::uint32_t max_stack = 0;       // computed by the verifier (<= kMaxStack)

    SourcePos position(std::size_t offset) const { return offset < positions.size() ? positions[offset] : SourcePos{}; }
    // Its first line: the smallest known line of its instructions (0 when none is known).
    std::uint32_t first_line() const {
        std::uint32_t first = 0;
        for (const SourcePos& p : positions)
            if (p.line != 0 && (first == 0 || p.line < first)) first = p.line;
        return first;
    }
    friend bool operator==(const Function&, const Function&) = default;
};

struct Program {
    std::string source_file;                // where `positions` point (a .ops or .opasm file); may be empty
    std::vector<Constant> constants;
    std::vector<std::string> globals;       // names
    std::vector<std::string> call_targets;  // names: program functions or natives, resolved at load
    std::vector<Function> functions;

    // Index of the function named `name`, or -1.
    int find_function(std::string_view name) const;
    friend bool operator==(const Program&, const Program&) = default;
};

// Builds a Program while interning constants, globals and call targets in order of first use (O(1)
// amortised each). The assembler and the compiler both emit through it, so equal sources give equal bytecode.
class ProgramBuilder {
public:
    explicit ProgramBuilder(std::string source_file = {});
    std::int32_t constant(const Constant& c);
    std::int32_t global(std::string_view name);
    std::int32_t call_target(std::string_view name);
    Program& program() { return program_; }
    Program take() { return std::move(program_); }

private:
    // A hash index over one table: value hash -> table indices.
    struct Index {
        std::unordered_multimap<std::size_t, std::int32_t> slots;
        std::size_t size = 0;  // the table size it indexes
    };
    Program program_;
    Index constant_index_, global_index_, call_target_index_;
};

// Binary bytecode (.opc): magic "OPSC", version, tables, functions with names and debug positions.
std::vector<std::uint8_t> encode_bytecode(const Program& program);
// Throws ProgramError naming `file` and the byte offset of the problem.
Program decode_bytecode(const std::vector<std::uint8_t>& bytes, const std::string& file);

// Text assembly (.opasm). Throws ProgramError with every error found (file:line:col). A leading UTF-8 byte
// order mark (which some editors write) is skipped, as compile_source skips it.
Program assemble(std::string_view text, const std::string& file);

// `text` without a leading UTF-8 byte order mark (U+FEFF): an encoding's signature, not part of the text.
inline std::string_view without_byte_order_mark(std::string_view text) {
    return text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text;
}

// Assembly text that reassembles to an identical Program (labels are generated, `.source`/`.line` kept).
std::string disassemble(const Program& program);

// Text form of a constant as the assembler reads it (strings quoted and escaped, floats round-trip).
std::string constant_literal(const Constant& c);

} // namespace opscope
