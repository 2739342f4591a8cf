// Value operations shared by the interpreter's slow paths, natives and reports.
#include <opscope/value.hpp>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>
#include <vector>

namespace opscope {

std::string_view type_name(Type t) {
    switch (t) {
    case Type::nil: return "nil";
    case Type::boolean: return "bool";
    case Type::integer: return "int";
    case Type::floating: return "float";
    case Type::string: return "string";
    case Type::array: return "array";
    case Type::undefined: return "undefined";
    }
    return "?";
}

int compare_numbers(const Value& a, const Value& b) {
    if (a.is_int() && b.is_int()) return (a.as.i > b.as.i) - (a.as.i < b.as.i);
    if (a.is_float() && b.is_float()) {
        if (std::isnan(a.as.f) || std::isnan(b.as.f)) return 2;
        return (a.as.f > b.as.f) - (a.as.f < b.as.f);
    }
    // Mixed int/float, exactly: compare the float against the int's neighbourhood without rounding the int.
    const bool int_first = a.is_int();
    const std::int64_t i = int_first ? a.as.i : b.as.i;
    const double f = int_first ? b.as.f : a.as.f;
    int int_vs_float;  // sign of (i - f)
    if (std::isnan(f)) return 2;
    constexpr double two63 = 9223372036854775808.0;
    if (f >= two63) {
        int_vs_float = -1;
    } else if (f < -two63) {
        int_vs_float = 1;
    } else {
        const double whole = std::trunc(f);
        const auto fi = static_cast<std::int64_t>(whole);  // exact: |whole| < 2^63
        if (i != fi) {
            int_vs_float = i < fi ? -1 : 1;
        } else {
            const double frac = f - whole;
            int_vs_float = frac > 0 ? -1 : (frac < 0 ? 1 : 0);
        }
    }
    return int_first ? int_vs_float : -int_vs_float;
}

bool values_equal(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
    if (a.type != b.type) return false;
    switch (a.type) {
    case Type::nil: return true;
    case Type::boolean: return a.as.i == b.as.i;
    case Type::string: return a.as.obj == b.as.obj || a.as_string()->view() == b.as_string()->view();
    case Type::integer:
    case Type::floating:  // numbers compared above
    case Type::array:
    case Type::undefined: return a.as.obj == b.as.obj;
    }
    return a.as.obj == b.as.obj;
}

std::string format_float(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
    std::string text(buffer, result.ptr);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text;
}

namespace {
void append_scalar(std::string& out, const Value& v) {
    switch (v.type) {
    case Type::nil: out += "nil"; break;
    case Type::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Type::integer: {
        char buffer[24];
        const auto result = std::to_chars(buffer, buffer + sizeof buffer, v.as.i);
        out.append(buffer, result.ptr);
        break;
    }
    case Type::floating: out += format_float(v.as.f); break;
    case Type::string: out += v.as_string()->view(); break;
    case Type::undefined: out += "undefined"; break;
    case Type::array: break;
    }
}
} // namespace

// Iterative, so arbitrarily deep nesting cannot overflow the C++ stack; an array inside itself prints "[...]".
// Every element visited writes at least one character ('[', a separator or the closing ']' follows each), so
// the character budget bounds the time and memory of the walk however much the arrays share.
void append_display(std::string& out, const Value& v, std::size_t max_chars) {
    if (!v.is_array()) return append_scalar(out, v);  // a string is already in the heap, under its limit
    struct Open {
        const Array* array;
        std::size_t next;
    };
    std::vector<Open> open;
    std::unordered_set<const Array*> on_path;
    const std::size_t start = out.size();
    const auto used = [&] { return out.size() - start; };
    bool string_cut = false;  // a string element was cut short at the budget
    const auto visit = [&](const Value& value) {  // called only while used() < max_chars
        if (!value.is_array()) {
            const std::size_t room = max_chars - used();
            if (value.is_string() && value.as_string()->length > room) {
                out += value.as_string()->view().substr(0, room);
                string_cut = true;
                return;
            }
            return append_scalar(out, value);
        }
        const Array* array = value.as_array();
        if (!on_path.insert(array).second) {
            out += "[...]";
            return;
        }
        out += '[';
        open.push_back({array, 0});
    };
    const auto truncate = [&](std::string_view before_marker) {
        out += before_marker;
        out += kDisplayTruncated;  // stands for the rest of every open array
        out.append(open.size(), ']');
    };
    if (max_chars == 0) return truncate("");
    visit(v);
    while (!open.empty()) {
        Open& top = open.back();
        if (string_cut) return truncate("");
        if (top.next == top.array->length) {
            out += ']';
            on_path.erase(top.array);
            open.pop_back();
            continue;
        }
        if (used() >= max_chars) return truncate(top.next ? ", " : "");
        if (top.next) out += ", ";
        visit(top.array->get(top.next++));  // may grow `open`: `top` is not used after this
    }
}

std::string to_display(const Value& v, std::size_t max_chars) {
    std::string out;
    append_display(out, v, max_chars);
    return out;
}

} // namespace opscope
