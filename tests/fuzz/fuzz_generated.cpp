// fuzz_generated: structure-aware. The input is not a program but the choices that build one: each byte picks
// the next production of a generator of valid `.ops` programs aimed at the run-time paths random bytes rarely
// reach: deep and mutual recursion (up to the depth limit), big and nested arrays (trees, shared
// sub-arrays, cycles, printed), string growth by doubling, allocation churn kept alive through a global
// (GC pressure, up to the heap limit), loops with break and continue, and now and then a runtime fault.
//
// Checked for every input:
//   - the generated source compiles (a refusal is a bug in the compiler or in this generator);
//   - Vm<NullProfiler>, Vm<CountingProfiler> and Vm<FullProfiler> agree on the result, the output and the
//     error, under tight limits;
//   - Counting and Full agree on every exact count, which add up: opcodes and lines sum to the summary's
//     total, and the total is within the fuel.
#include "fuzz_support.hpp"

#include <fmt/format.h>

#include <array>
#include <numeric>

using namespace opscope;

namespace {

constexpr Limits kLimits{
    .fuel = 30000, .max_call_depth = 200, .stack_slots = 16384, .heap_bytes = 1u << 20, .output_bytes = 1u << 16};

// The fuzzer's bytes as a stream of choices; once they run out every choice is 0, which always leads to a
// short program (the first production of each rule is a leaf).
class Choices {
public:
    Choices(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    int below(int n) { return n <= 1 || position_ >= size_ ? 0 : data_[position_++] % n; }
    bool chance(int percent) { return below(100) >= 100 - percent; }
    template <typename T, std::size_t N>
    const T& pick(const std::array<T, N>& options) {
        return options[static_cast<std::size_t>(below(static_cast<int>(N)))];
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t position_ = 0;
};

// Sizes, counts and depths worth trying: the edges, the small, and the ones past a limit.
constexpr std::array<int, 16> kInteresting{0, 1, 2, 3, 5, 8, 12, 20, 30, 64, 100, 199, 1000, 100000, -1, 7};

enum class Kind { integer, string, array };

struct Variable {
    std::string name;
    Kind kind;
    int known_size = 0;  // arrays: slots 0..known_size-1 exist
};

// One helper function, made from a template; main and the generic helpers call it with an int.
struct Helper {
    std::string name;
    Kind returns;  // integer helpers may appear in int expressions; the others are printed or kept
};

// Every choice is taken in statement order, never two in one call's arguments: argument evaluation order
// differs between g++ and clang++, and a reproducer must make the same program in every build.
class SourceGenerator {
public:
    explicit SourceGenerator(Choices& choices) : c_(choices) {}

    std::string generate() {
        // `keep` holds allocations alive across calls (GC pressure); `shared` is a cycle once main runs.
        text_ += "let keep = array(8);\nlet shared = array(2);\nshared[0] = shared;\n";
        const int helpers = 1 + c_.below(5);
        for (int i = 0; i < helpers; ++i) helper(fmt::format("f{}", i));
        scopes_.push_back({});
        const int statements = 1 + c_.below(12);
        for (int i = 0; i < statements; ++i) statement(3, "");
        return text_;
    }

private:
    void helper(const std::string& name) {
        const std::string i = fresh("i");
        switch (c_.below(7)) {
        case 0:  // recursion as deep as n, a small array per frame
            text_ += fmt::format("fn {0}(n) {{ if (n <= 0) {{ return 0; }} let pad = array({1}); pad[0] = n; "
                                 "return {0}(n - 1) + 1; }}\n",
                                 name, 1 + c_.below(4));
            break;
        case 1:  // fib-like: exponential calls, cut by fuel
            text_ += fmt::format("fn {0}(n) {{ if (n < 2) {{ return n; }} return {0}(n - 1) + {0}(n - 2); }}\n", name);
            break;
        case 2: {  // a tree of arrays, depth n; sharing a[0] makes it a DAG whose display is 2^n long
            const std::string leaf = c_.chance(50) ? "\"leaf\"" : "n";
            const std::string second = c_.chance(50) ? "a[0]" : name + "(n - 1)";
            text_ += fmt::format("fn {0}(n) {{ if (n <= 0) {{ return {1}; }} let a = array(2); a[0] = {0}(n - 1); "
                                 "a[1] = {2}; return a; }}\n",
                                 name, leaf, second);
            helpers_.push_back({name, Kind::array});
            return;
        }
        case 3:  // a string doubled n times (or grown by one character)
            text_ += fmt::format("fn {0}(n) {{ let s = \"ab\"; let {1} = 0; while ({1} < n) {{ s = s + {2}; "
                                 "{1} = {1} + 1; }} return s; }}\n",
                                 name, i, c_.chance(70) ? "s" : "\"c\"");
            helpers_.push_back({name, Kind::string});
            return;
        case 4:  // churn: n arrays, one in eight kept alive
            text_ += fmt::format("fn {0}(n) {{ let {1} = 0; while ({1} < n) {{ let t = array({2}); t[0] = {1}; "
                                 "keep[{1} % 8] = t; {1} = {1} + 1; }} return {1}; }}\n",
                                 name, i, 1 + c_.below(300));
            break;
        case 5:  // mutual recursion through an earlier helper's name is not possible: through itself twice
            text_ += fmt::format("fn {0}(n) {{ if (n <= 0) {{ return 1; }} if (n % 2 == 0) {{ return {0}(n - 1) * 2 % "
                                 "1000003; }} return {0}(n - 1) + n; }}\n",
                                 name);
            break;
        default: {  // a generic function of one int, calling only helpers made before it
            scopes_.push_back({Variable{"n", Kind::integer}});
            text_ += fmt::format("fn {}(n) {{\n", name);
            const int statements = c_.below(6);
            for (int k = 0; k < statements; ++k) statement(2, "    ");
            text_ += fmt::format("    return {};\n}}\n", int_expression(2));
            scopes_.pop_back();
            break;
        }
        }
        helpers_.push_back({name, Kind::integer});
    }

    std::string fresh(const char* prefix) { return fmt::format("{}{}", prefix, names_++); }

    const Variable* find(Kind kind) {
        std::vector<const Variable*> found;
        for (const auto& scope : scopes_)
            for (const Variable& v : scope)
                if (v.kind == kind) found.push_back(&v);
        if (found.empty()) return nullptr;
        return found[static_cast<std::size_t>(c_.below(static_cast<int>(found.size())))];
    }

    std::string argument() { return c_.chance(80) ? std::to_string(c_.pick(kInteresting)) : int_expression(1); }

    std::string call(Kind kind) {
        std::vector<const Helper*> found;
        for (const Helper& h : helpers_)
            if (h.returns == kind) found.push_back(&h);
        if (found.empty()) return {};
        const std::string& name = found[static_cast<std::size_t>(c_.below(static_cast<int>(found.size())))]->name;
        return name + "(" + argument() + ")";
    }

    std::string int_expression(int depth) {
        const int r = depth <= 0 ? c_.below(3) : c_.below(12);
        switch (r) {
        case 0: return std::to_string(c_.pick(kInteresting));
        case 1:
            if (const Variable* v = find(Kind::integer)) return v->name;
            return "1";
        case 2: return c_.chance(50) ? "9007199254740993" : "-4611686018427387904";
        case 3:
        case 4:
        case 5: {
            static constexpr std::array<const char*, 4> ops{"+", "-", "*", "%"};
            const char* op = c_.pick(ops);
            // % by a literal that is not zero, but for a rare division-by-zero fault
            const std::string right = op[0] == '%' ? (c_.chance(3) ? "0" : std::to_string(1 + c_.below(97)))
                                                   : int_expression(depth - 1);
            return fmt::format("({} {} {})", int_expression(depth - 1), op, right);  // right first: named above
        }
        case 6: return fmt::format("(-{})", int_expression(depth - 1));
        case 7: {
            if (const Variable* v = c_.chance(50) ? find(Kind::string) : find(Kind::array))
                return fmt::format("len({})", v->name);
            return "len(shared)";
        }
        case 8: {
            const std::string called = call(Kind::integer);
            return called.empty() ? "2" : called;
        }
        case 9:
            if (const Variable* v = find(Kind::array); v && v->known_size > 0)
                return fmt::format("{}[{}]", v->name, c_.below(v->known_size));
            return "3";
        default: return std::to_string(c_.below(1000));
        }
    }

    std::string condition(int depth) {
        static constexpr std::array<const char*, 6> compares{"<", "<=", ">", ">=", "==", "!="};
        switch (depth <= 0 ? 0 : c_.below(5)) {
        case 0: {
            const std::string left = int_expression(depth - 1);
            const char* compare = c_.pick(compares);
            return fmt::format("{} {} {}", left, compare, int_expression(depth - 1));
        }
        case 1: return fmt::format("!({})", condition(depth - 1));
        case 2:
        case 3: {
            const std::string left = condition(depth - 1);
            const char* connective = c_.below(2) == 0 ? "&&" : "||";
            return fmt::format("({}) {} ({})", left, connective, condition(depth - 1));
        }
        default:
            if (const Variable* v = find(Kind::string)) return fmt::format("{} == \"ab\"", v->name);
            return "true";
        }
    }

    std::string string_expression() {
        const Variable* v = find(Kind::string);
        switch (c_.below(4)) {
        case 0: return "\"x\"";
        case 1:
            if (v) return fmt::format("{0} + {0}", v->name);
            return "\"yz\"";
        case 2: {
            const std::string called = call(Kind::string);
            if (!called.empty()) return called;
            return "\"w\"";
        }
        default: return v ? v->name + " + \"!\"" : "\"v\"";
        }
    }

    void line(const std::string& indent, const std::string& code) { text_ += indent + code + "\n"; }

    void block(int depth, const std::string& indent, const std::string& header, bool in_loop) {
        line(indent, header + " {");
        scopes_.push_back({});
        const int statements = 1 + c_.below(4);
        for (int k = 0; k < statements; ++k) statement(depth - 1, indent + "    ", in_loop);
        scopes_.pop_back();
        line(indent, "}");
    }

    void statement(int depth, const std::string& indent, bool in_loop = false) {
        if (++statements_ > 120) depth = 0;  // bound the program's size
        switch (depth <= 0 ? c_.below(4) : c_.below(17)) {
        case 0: {
            const std::string name = fresh("v");
            line(indent, fmt::format("let {} = {};", name, int_expression(depth)));
            scopes_.back().push_back({name, Kind::integer});
            return;
        }
        case 1: {
            const std::string name = fresh("s");
            line(indent, fmt::format("let {} = {};", name, string_expression()));
            scopes_.back().push_back({name, Kind::string});
            return;
        }
        case 2: {  // an array of a literal size, a slot filled
            const std::string name = fresh("a");
            const int size = c_.chance(90) ? 1 + c_.below(6) : c_.pick(kInteresting);
            line(indent, fmt::format("let {} = array({});", name, size));
            if (size > 0) {
                const int slot = c_.below(size);
                line(indent, fmt::format("{}[{}] = {};", name, slot, int_expression(depth)));
            }
            scopes_.back().push_back({name, Kind::array, std::max(size, 0)});
            return;
        }
        case 3: line(indent, fmt::format("print({});", print_argument(depth))); return;
        case 4:
            if (const Variable* v = find(Kind::integer))
                return line(indent, fmt::format("{} = {};", v->name, int_expression(depth)));
            return line(indent, fmt::format("print({});", int_expression(depth)));
        case 5:
            if (const Variable* v = find(Kind::string)) return line(indent, fmt::format("{} = {};", v->name, string_expression()));
            return line(indent, "print(\"no string\");");
        case 6:  // an element: a nested array, itself (a cycle), or a number
            if (const Variable* v = find(Kind::array); v && v->known_size > 0) {
                const Variable* other = find(Kind::array);
                const std::string value = c_.chance(60) ? int_expression(depth) : other->name;
                return line(indent, fmt::format("{}[{}] = {};", v->name, c_.below(v->known_size), value));
            }
            return line(indent, "keep[0] = shared;");
        case 7: return block(depth, indent, fmt::format("if ({})", condition(depth - 1)), in_loop);
        case 8:
            block(depth, indent, fmt::format("if ({})", condition(depth - 1)), in_loop);
            return block(depth, indent, "else", in_loop);
        case 9: {  // counted while: the count first, so `continue` cannot skip it
            const std::string counter = fresh("i");
            line(indent, fmt::format("let {} = 0;", counter));
            line(indent, fmt::format("while ({} < {}) {{", counter, c_.pick(kInteresting)));
            line(indent + "    ", fmt::format("{0} = {0} + 1;", counter));
            scopes_.push_back({});
            const int statements = 1 + c_.below(3);
            for (int k = 0; k < statements; ++k) statement(depth - 1, indent + "    ", true);
            scopes_.pop_back();
            return line(indent, "}");
        }
        case 10: {
            const std::string counter = fresh("i");
            return block(depth, indent,
                         fmt::format("for (let {0} = 0; {0} < {1}; {0} = {0} + 1)", counter, c_.pick(kInteresting)), true);
        }
        case 11:
            if (in_loop) return line(indent, c_.chance(50) ? fmt::format("if ({}) {{ break; }}", condition(0)) : "continue;");
            return keep(print_argument(depth), indent);
        case 12: {
            const std::string called = call(c_.chance(50) ? Kind::integer : (c_.chance(50) ? Kind::array : Kind::string));
            if (called.empty()) return line(indent, "print(len(keep));");
            return line(indent, c_.chance(50) ? "print(" + called + ");" : "keep[7] = " + called + ";");
        }
        case 13:  // rare: a fault ends the run, and the paths worth reaching are behind long runs
            if (c_.chance(25)) return line(indent, fault());
            return keep(int_expression(depth), indent);
        case 14: {  // an array of a computed size: big, negative or past the heap
            const std::string name = fresh("a");
            line(indent, fmt::format("let {} = array({});", name, argument()));
            scopes_.back().push_back({name, Kind::array, 0});
            return;
        }
        case 15: return line(indent, fmt::format("print(\"{}\");", c_.chance(50) ? "tab\\there" : "quote\\\""));
        default: return keep(string_expression(), indent);
        }
    }

    // `keep[k] = value;` at a chosen k; the value is made (its choices taken) first.
    void keep(const std::string& value, const std::string& indent) {
        line(indent, fmt::format("keep[{}] = {};", c_.below(8), value));
    }

    std::string print_argument(int depth) {
        switch (c_.below(6)) {
        case 0: return "shared";
        case 1: return "keep";
        case 2:
            if (const Variable* v = find(Kind::array)) return v->name;
            return "keep";
        case 3: return string_expression();
        case 4: return c_.chance(50) ? "nil" : "1.5";
        default: return int_expression(depth);
        }
    }

    // A statement that fails at run time: every kind of RuntimeError the program can cause.
    std::string fault() {
        switch (c_.below(6)) {
        case 0: return "print(1 / 0);";
        case 1: return "print(keep[8]);";
        case 2: return "print(nil + 1);";
        case 3: return "print(\"s\" < 1);";
        case 4: return "print(len(3));";
        default: return "print(sqrt(nil));";
        }
    }

    Choices& c_;
    std::string text_;
    int names_ = 0;
    int statements_ = 0;
    std::vector<std::vector<Variable>> scopes_;
    std::vector<Helper> helpers_;
};

// The exact counts of a profile, as text: two policies that count must produce the same.
std::string exact_counts(const Profile& p) {
    std::string out;
    if (p.summary) out += fmt::format("total {} max_depth {}\n", p.summary->total_instructions, p.summary->max_call_depth.value_or(0));
    if (p.opcodes)
        for (const auto& e : p.opcodes->entries) out += fmt::format("opcode {} {}\n", e.name, e.count);
    if (p.lines)
        for (const auto& e : p.lines->entries) out += fmt::format("line {} {}\n", e.line, e.count);
    if (p.branches)
        for (const auto& e : p.branches->entries)
            out += fmt::format("branch {}+{} {}/{}\n", e.function, e.offset, e.taken, e.executed);
    if (p.call_graph)
        for (const auto& e : p.call_graph->entries) out += fmt::format("call {}->{} {}\n", e.caller, e.callee, e.calls);
    return out;
}

template <typename Entries>
std::uint64_t sum_of_counts(const Entries& entries) {
    return std::accumulate(entries.begin(), entries.end(), std::uint64_t{0},
                           [](std::uint64_t sum, const auto& e) { return sum + e.count; });
}

void check_totals(const Profile& p, const std::string& source) {
    if (!p.summary || !p.opcodes || !p.lines) fuzz::finding("a counting profile lacks its summary, opcodes or lines", source);
    const std::uint64_t total = p.summary->total_instructions;
    if (sum_of_counts(p.opcodes->entries) != total || sum_of_counts(p.lines->entries) != total)
        fuzz::finding("opcode or line counts do not add up to the total", exact_counts(p) + "\n--- source:\n" + source);
    if (total > kLimits.fuel) fuzz::finding("more instructions ran than the fuel allows", exact_counts(p) + "\n--- source:\n" + source);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Choices choices(data, size);
    const std::string source = SourceGenerator(choices).generate();
    Program program;
    try {
        program = compile_source(source, "generated.ops");
    } catch (const ProgramError& e) {
        fuzz::finding("a generated program does not compile", std::string(e.what()) + "\n--- source:\n" + source);
    }
    const fuzz::Outcome bare = fuzz::run_in<NullProfiler>(program, kLimits);
    const fuzz::Outcome counting = fuzz::run_in<CountingProfiler>(program, kLimits);
    const fuzz::Outcome full = fuzz::run_in<FullProfiler>(program, kLimits);
    if (!bare.loaded) fuzz::finding("a compiled program was refused by load()", source);
    if (!bare.same_behaviour(counting) || !bare.same_behaviour(full))
        fuzz::finding("the policies disagree", bare.describe("null") + "\n" + counting.describe("counting") + "\n" +
                                                    full.describe("full") + "\n--- source:\n" + source);
    const std::string counted = exact_counts(counting.profile);
    if (counted != exact_counts(full.profile))
        fuzz::finding("Counting and Full count differently",
                      counted + "\n--- full:\n" + exact_counts(full.profile) + "\n--- source:\n" + source);
    check_totals(counting.profile, source);
    // OPSCOPE_FUZZ_SHOW=1 prints each generated program and what it did (to see what the generator reaches).
    if (std::getenv("OPSCOPE_FUZZ_SHOW"))
        std::fprintf(stderr, "%s--- %s, %llu instructions\n", source.c_str(), bare.result.c_str(),
                     static_cast<unsigned long long>(counting.profile.summary->total_instructions));
    return 0;
}
