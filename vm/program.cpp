// Program lookups, ProgramBuilder's interning, and the text form of constants.
//
// Constants are interned by exact value and type (same_constant). Each table has a hash index
// (hash -> indices), so interning is O(1) amortised; `program()` hands out the Program mutably, so the index
// is checked against the table on every hit and rebuilt if the table's size changed behind its back.
#include <opscope/program.hpp>

#include <opscope/errors.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>

namespace opscope {

int Program::find_function(std::string_view name) const {
    for (std::size_t i = 0; i < functions.size(); ++i)
        if (functions[i].name == name) return static_cast<int>(i);
    return -1;
}

bool same_constant(const Constant& a, const Constant& b) {
    if (a.index() != b.index()) return false;
    if (const double* x = std::get_if<double>(&a))
        return std::bit_cast<std::uint64_t>(*x) == std::bit_cast<std::uint64_t>(std::get<double>(b));
    return a == b;
}

// The type, then the value (a float by its bits).
std::size_t hash_constant(const Constant& c) {
    const std::size_t value = std::visit(
        [](const auto& v) -> std::size_t {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, Nil>) return 0;
            else if constexpr (std::is_same_v<T, double>) return std::hash<std::uint64_t>{}(std::bit_cast<std::uint64_t>(v));
            else return std::hash<T>{}(v);
        },
        c);
    return value * 31 + c.index();
}

namespace {

// Index of `value` in `table`, appending it first if absent. Operands are int32, so tables stop at kMaxTableSize.
template <class T, class Index, class Hash, class Equal>
std::int32_t intern(std::vector<T>& table, Index& index, const T& value, Hash hash, Equal equal,
                    const Program& program, const char* what) {
    if (index.size != table.size()) {  // the table changed through program(): index it afresh
        index.slots.clear();
        for (std::size_t i = 0; i < table.size(); ++i) index.slots.emplace(hash(table[i]), static_cast<std::int32_t>(i));
        index.size = table.size();
    }
    const std::size_t h = hash(value);
    for (auto [it, end] = index.slots.equal_range(h); it != end; ++it)
        if (equal(table[static_cast<std::size_t>(it->second)], value)) return it->second;
    if (table.size() >= kMaxTableSize)
        throw ProgramError({Diagnostic{program.source_file, 0, 0, std::string("too many ") + what, {}}});
    table.push_back(value);
    const auto i = static_cast<std::int32_t>(table.size() - 1);
    index.slots.emplace(h, i);
    index.size = table.size();
    return i;
}

} // namespace

ProgramBuilder::ProgramBuilder(std::string source_file) { program_.source_file = std::move(source_file); }

std::int32_t ProgramBuilder::constant(const Constant& c) {
    return intern(program_.constants, constant_index_, c, hash_constant, same_constant, program_, "constants");
}

std::int32_t ProgramBuilder::global(std::string_view name) {
    return intern(program_.globals, global_index_, std::string(name), std::hash<std::string>{}, std::equal_to<>{},
                  program_, "globals");
}

std::int32_t ProgramBuilder::call_target(std::string_view name) {
    return intern(program_.call_targets, call_target_index_, std::string(name), std::hash<std::string>{},
                  std::equal_to<>{}, program_, "call targets");
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
