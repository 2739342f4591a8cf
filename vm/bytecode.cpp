// The binary bytecode format (.opc): encoding, and decoding that survives hostile input.
//
// All integers are little-endian, written and read a byte at a time. Layout (version 1, the instruction set
// of kInstructionSet):
//   "OPSC"  u16 version  u16 flags (0)
//   source_file: string                      string = u32 length + bytes
//   constants:   u32 count, each u8 tag      0 nil, 1 false, 2 true, 3 int (i64), 4 float (f64 bits),
//                                            5 string
//   globals:     u32 count + strings
//   call_targets: u32 count + strings
//   functions:   u32 count, each: name, u32 nargs, u32 nlocals, u32 instruction count,
//                per instruction u8 op + i32 operand, u32 position count (0 or the instruction count),
//                per position u32 line + u32 column
// max_stack is not stored: the verifier recomputes it. Only user opcodes may appear. The decoder checks
// every read and every count against the bytes left before allocating, and each function's sizes against
// the program model's limits (kMaxLocals, kMaxFunctionSize in program.hpp); it checks nothing else semantic.
#include <opscope/errors.hpp>
#include <opscope/program.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>

namespace opscope {
namespace {

constexpr std::uint8_t kMagic[4] = {'O', 'P', 'S', 'C'};
// The version names an instruction set as well as a layout: opcodes are stored by number, so a change to
// the user opcodes (their order, operands, stack effects or flow) fails this assertion until kVersion is
// bumped and kInstructionSet records the new fingerprint. Files of the old numbering are then refused by
// version instead of loading as wrong instructions.
constexpr std::uint16_t kVersion = 1;
constexpr std::uint32_t kInstructionSet = 0xc9ed9645;
static_assert(instruction_set_fingerprint() == kInstructionSet,
              "the user opcode table changed: bump the bytecode kVersion and record the new instruction-set "
              "fingerprint in kInstructionSet");

enum class Tag : std::uint8_t { nil = 0, false_ = 1, true_ = 2, integer = 3, floating = 4, string = 5 };

class Writer {
public:
    void u8(std::uint8_t v) { bytes_.push_back(v); }
    void u16(std::uint16_t v) { little_endian(v, 2); }
    void u32(std::uint32_t v) { little_endian(v, 4); }
    void u64(std::uint64_t v) { little_endian(v, 8); }
    void count(std::size_t n) {
        if (n > std::numeric_limits<std::uint32_t>::max()) throw std::length_error("bytecode: count exceeds 32 bits");
        u32(static_cast<std::uint32_t>(n));
    }
    void string(const std::string& s) {
        count(s.size());
        bytes_.insert(bytes_.end(), s.begin(), s.end());
    }
    std::vector<std::uint8_t> take() { return std::move(bytes_); }

private:
    void little_endian(std::uint64_t v, int size) {
        for (int i = 0; i < size; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    std::vector<std::uint8_t> bytes_;
};

struct ConstantWriter {
    Writer& out;
    void operator()(Nil) const { out.u8(static_cast<std::uint8_t>(Tag::nil)); }
    void operator()(bool b) const { out.u8(static_cast<std::uint8_t>(b ? Tag::true_ : Tag::false_)); }
    void operator()(std::int64_t i) const {
        out.u8(static_cast<std::uint8_t>(Tag::integer));
        out.u64(static_cast<std::uint64_t>(i));
    }
    void operator()(double d) const {
        out.u8(static_cast<std::uint8_t>(Tag::floating));
        out.u64(std::bit_cast<std::uint64_t>(d));
    }
    void operator()(const std::string& s) const {
        out.u8(static_cast<std::uint8_t>(Tag::string));
        out.string(s);
    }
};

class Reader {
public:
    Reader(const std::vector<std::uint8_t>& bytes, const std::string& file) : bytes_(bytes), file_(file) {}

    std::size_t offset() const { return offset_; }
    std::size_t remaining() const { return bytes_.size() - offset_; }

    [[noreturn]] void fail_at(std::size_t offset, const std::string& message) const {
        throw ProgramError({Diagnostic{file_, 0, 0, fmt::format("byte offset {}: {}", offset, message), {}}});
    }

    std::uint8_t u8(std::string_view what) { return static_cast<std::uint8_t>(little_endian(1, what)); }
    std::uint16_t u16(std::string_view what) { return static_cast<std::uint16_t>(little_endian(2, what)); }
    std::uint32_t u32(std::string_view what) { return static_cast<std::uint32_t>(little_endian(4, what)); }
    std::uint64_t u64(std::string_view what) { return little_endian(8, what); }

    // A u32 count of elements at least `min_size` bytes each, checked against the bytes left.
    std::uint32_t count(std::string_view what, std::size_t min_size) {
        const std::size_t at = offset_;
        const std::uint32_t n = u32(what);
        if (n > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max()))
            fail_at(at, fmt::format("{} {} is too large", what, n));
        if (static_cast<std::uint64_t>(n) * min_size > remaining())
            fail_at(at, fmt::format("{} {} exceeds the {} bytes left", what, n, remaining()));
        return n;
    }

    std::string string(std::string_view what) {
        const std::size_t at = offset_;
        const std::uint32_t length = u32(what);
        if (length > remaining())
            fail_at(at, fmt::format("{} length {} exceeds the {} bytes left", what, length, remaining()));
        std::string s(bytes_.begin() + static_cast<std::ptrdiff_t>(offset_),
                      bytes_.begin() + static_cast<std::ptrdiff_t>(offset_ + length));
        offset_ += length;
        return s;
    }

private:
    std::uint64_t little_endian(std::size_t size, std::string_view what) {
        if (remaining() < size)
            fail_at(offset_, fmt::format("unexpected end of file reading {} ({} bytes needed, {} left)", what, size,
                                         remaining()));
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < size; ++i) v |= static_cast<std::uint64_t>(bytes_[offset_ + i]) << (8 * i);
        offset_ += size;
        return v;
    }

    const std::vector<std::uint8_t>& bytes_;
    const std::string& file_;
    std::size_t offset_ = 0;
};

Constant read_constant(Reader& in) {
    const std::size_t at = in.offset();
    const std::uint8_t tag = in.u8("constant tag");
    switch (static_cast<Tag>(tag)) {
    case Tag::nil: return Nil{};
    case Tag::false_: return false;
    case Tag::true_: return true;
    case Tag::integer: return static_cast<std::int64_t>(in.u64("int constant"));
    case Tag::floating: return std::bit_cast<double>(in.u64("float constant"));
    case Tag::string: return in.string("string constant");
    }
    in.fail_at(at, fmt::format("bad constant tag {}", tag));
}

std::vector<std::string> read_names(Reader& in, std::string_view count_what, std::string_view name_what) {
    const std::uint32_t n = in.count(count_what, 4);
    std::vector<std::string> names;
    names.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) names.push_back(in.string(name_what));
    return names;
}

Function read_function(Reader& in) {
    Function function;
    function.name = in.string("function name");
    std::size_t at = in.offset();
    function.nargs = in.u32("argument count");
    if (function.nargs > kMaxLocals)
        in.fail_at(at, fmt::format("argument count {} of function '{}' is too large (at most {})", function.nargs,
                                   function.name, kMaxLocals));
    at = in.offset();
    function.nlocals = in.u32("local count");
    if (function.nlocals > kMaxLocals)
        in.fail_at(at, fmt::format("local count {} of function '{}' is too large (at most {})", function.nlocals,
                                   function.name, kMaxLocals));
    if (function.nlocals < function.nargs)
        in.fail_at(at, fmt::format("local count {} of function '{}' is less than its argument count {}",
                                   function.nlocals, function.name, function.nargs));
    at = in.offset();
    const std::uint32_t instructions = in.count("instruction count", 5);
    if (instructions > kMaxFunctionSize)
        in.fail_at(at, fmt::format("instruction count {} of function '{}' is too large (at most {})", instructions,
                                   function.name, kMaxFunctionSize));
    function.code.reserve(instructions);
    for (std::uint32_t i = 0; i < instructions; ++i) {
        at = in.offset();
        const std::uint8_t op = in.u8("opcode");
        if (op >= kUserOpCount)
            in.fail_at(at, fmt::format("bad opcode {} in function '{}'", op, function.name));
        const auto operand = static_cast<std::int32_t>(in.u32("operand"));
        function.code.push_back({static_cast<Op>(op), operand});
    }
    at = in.offset();
    const std::uint32_t positions = in.count("position count", 8);
    if (positions != 0 && positions != instructions)
        in.fail_at(at, fmt::format("position count {} in function '{}' is neither 0 nor its instruction count {}",
                                   positions, function.name, instructions));
    function.positions.reserve(positions);
    for (std::uint32_t i = 0; i < positions; ++i) {
        const std::uint32_t line = in.u32("position line");
        const std::uint32_t column = in.u32("position column");
        function.positions.push_back({line, column});
    }
    return function;
}

} // namespace

std::vector<std::uint8_t> encode_bytecode(const Program& program) {
    Writer out;
    for (const std::uint8_t b : kMagic) out.u8(b);
    out.u16(kVersion);
    out.u16(0);
    out.string(program.source_file);

    out.count(program.constants.size());
    for (const Constant& c : program.constants) std::visit(ConstantWriter{out}, c);
    out.count(program.globals.size());
    for (const std::string& name : program.globals) out.string(name);
    out.count(program.call_targets.size());
    for (const std::string& name : program.call_targets) out.string(name);

    out.count(program.functions.size());
    for (const Function& function : program.functions) {
        out.string(function.name);
        out.u32(function.nargs);
        out.u32(function.nlocals);
        out.count(function.code.size());
        for (const Instruction& instruction : function.code) {
            out.u8(static_cast<std::uint8_t>(instruction.op));
            out.u32(static_cast<std::uint32_t>(instruction.operand));
        }
        // Positions are all or nothing; a partial list is written as Function::position() reports it.
        const std::size_t positions = function.positions.empty() ? 0 : function.code.size();
        out.count(positions);
        for (std::size_t i = 0; i < positions; ++i) {
            out.u32(function.position(i).line);
            out.u32(function.position(i).column);
        }
    }
    return out.take();
}

Program decode_bytecode(const std::vector<std::uint8_t>& bytes, const std::string& file) {
    Reader in(bytes, file);
    if (bytes.size() < std::size(kMagic) || !std::equal(std::begin(kMagic), std::end(kMagic), bytes.begin()))
        in.fail_at(0, "not an opscope bytecode file");
    for (std::size_t i = 0; i < std::size(kMagic); ++i) in.u8("magic");
    const std::uint16_t version = in.u16("version");
    if (version != kVersion)
        in.fail_at(4, fmt::format("unsupported bytecode version {} (this build reads version {})", version, kVersion));
    const std::uint16_t flags = in.u16("flags");
    if (flags != 0) in.fail_at(6, fmt::format("unsupported flags 0x{:04x} (expected 0)", flags));

    Program program;
    program.source_file = in.string("source file name");
    const std::uint32_t constants = in.count("constant count", 1);
    program.constants.reserve(constants);
    for (std::uint32_t i = 0; i < constants; ++i) program.constants.push_back(read_constant(in));
    program.globals = read_names(in, "global count", "global name");
    program.call_targets = read_names(in, "call target count", "call target name");

    // Smallest function: empty name, nargs, nlocals, no instructions, no positions.
    const std::uint32_t functions = in.count("function count", 20);
    program.functions.reserve(functions);
    for (std::uint32_t i = 0; i < functions; ++i) program.functions.push_back(read_function(in));

    if (in.remaining() != 0)
        in.fail_at(in.offset(), fmt::format("{} trailing bytes after the last function", in.remaining()));
    return program;
}

} // namespace opscope
