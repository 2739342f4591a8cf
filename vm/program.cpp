// Program lookups, ProgramBuilder's interning, and the text form of constants.
//
// Interning is by exact value and type: int 1 and float 1.0 are different constants, and floats compare by
// bit pattern, so 0.0 and -0.0 are two constants while a NaN equals itself. Tables are searched linearly;
// `program()` hands out the Program mutably, so a side index could go stale.
#include <opscope/program.hpp>

#include <opscope/errors.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>

namespace opscope {

int Program::find_function(std::string_view name) const {
    for (std::size_t i = 0; i < functions.size(); ++i)
        if (functions[i].name == name) return static_cast<int>(i);
    return -1;
}

namespace {

bool same_constant(const Constant& a, const Constant& b) {
    if (a.index() != b.index()) return false;
    if (const double* x = std::get_if<double>(&a))
        return std::bit_cast<std::uint64_t>(*x) == std::bit_cast<std::uint64_t>(std::get<double>(b));
    return a == b;
}

// Index of `value` in `table`, appending it first if absent. Operands are int32, so tables stop at kMaxTableSize.
template <class T, class Equal>
std::int32_t intern(std::vector<T>& table, const T& value, Equal equal, const Program& program, const char* what) {
    for (std::size_t i = 0; i < table.size(); ++i)
        if (equal(table[i], value)) return static_cast<std::int32_t>(i);
    if (table.size() >= kMaxTableSize)
        throw ProgramError({Diagnostic{program.source_file, 0, 0, std::string("too many ") + what, {}}});
    table.push_back(value);
    return static_cast<std::int32_t>(table.size() - 1);
}

} // namespace

ProgramBuilder::ProgramBuilder(std::string source_file) { program_.source_file = std::move(source_file); }

std::int32_t ProgramBuilder::constant(const Constant& c) {
    return intern(program_.constants, c, same_constant, program_, "constants");
}

std::int32_t ProgramBuilder::global(std::string_view name) {
    return intern(program_.globals, std::string(name), std::equal_to<>{}, program_, "globals");
}

std::int32_t ProgramBuilder::call_target(std::string_view name) {
    return intern(program_.call_targets, std::string(name), std::equal_to<>{}, program_, "call targets");
}

namespace {

std::string float_literal(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round-trip form
    std::string text(buffer, result.ptr);
    // "1" would read back as an int; keep it a float.
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text;
}

std::string string_literal(const std::string& value) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (const char ch : value) {
        const auto byte = static_cast<unsigned char>(ch);
        switch (ch) {
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\0': out += "\\0"; break;
        default:
            if (byte < 0x20 || byte >= 0x7f) {
                out += "\\x";
                out += kHex[byte >> 4];
                out += kHex[byte & 0xf];
            } else {
                out += ch;
            }
        }
    }
    out += '"';
    return out;
}

struct LiteralText {
    std::string operator()(Nil) const { return "nil"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return float_literal(d); }
    std::string operator()(const std::string& s) const { return string_literal(s); }
};

} // namespace

std::string constant_literal(const Constant& c) { return std::visit(LiteralText{}, c); }

} // namespace opscope
