// Differential test of the language: seeded random expression programs are compiled and run by the VM and
// evaluated by a tiny reference evaluator written here, with the VM's semantics (int64 wrap-around, division
// truncating toward zero, % with the dividend's sign, x / -1 wrapping, x % -1 == 0, integer division by zero
// the runtime error "division by zero", && || ! by truthiness producing bools, == between an int and a bool
// false). Both must print the same lines and agree on whether and where the program fails.
//
// The expressions are well typed (arithmetic and ordering only on ints) so that the only runtime error is
// division by zero. Each expression is used in one of several contexts — printed, bound by `let`, an `if`
// or `while` condition, an expression statement — because the compiler generates different code for each
// (values versus jump chains versus nothing left on the stack). Variables are function locals or globals.
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace opscope;

namespace {

// --- the expression model ------------------------------------------------------------------------------
enum class Kind { integer, boolean };

enum class NodeOp { literal, variable, negate, not_, add, sub, mul, div, mod, lt, le, gt, ge, eq, ne, and_, or_ };

struct Node {
    NodeOp op = NodeOp::literal;
    Kind kind = Kind::integer;
    std::int64_t value = 0;  // literal (a bool literal: 0 or 1)
    int variable = 0;        // variable: index into the program's variables
    std::unique_ptr<Node> left, right;
};
using NodePtr = std::unique_ptr<Node>;

struct RefValue {
    Kind kind;
    std::int64_t i = 0;
    bool b = false;
};

struct DivisionByZero {};

bool truthy(const RefValue& v) { return v.kind == Kind::boolean ? v.b : v.i != 0; }
RefValue make_int(std::int64_t i) { return RefValue{Kind::integer, i, false}; }
RefValue make_bool(bool b) { return RefValue{Kind::boolean, 0, b}; }

std::int64_t wrap(std::uint64_t u) { return static_cast<std::int64_t>(u); }
std::uint64_t bits(std::int64_t i) { return static_cast<std::uint64_t>(i); }

// --- the reference evaluator -----------------------------------------------------------------------------
RefValue evaluate(const Node& node, const std::vector<std::int64_t>& variables) {
    auto int_of = [&](const NodePtr& child) { return evaluate(*child, variables).i; };
    switch (node.op) {
    case NodeOp::literal: return node.kind == Kind::boolean ? make_bool(node.value != 0) : make_int(node.value);
    case NodeOp::variable: return make_int(variables[static_cast<std::size_t>(node.variable)]);
    case NodeOp::negate: return make_int(wrap(0 - bits(int_of(node.left))));
    case NodeOp::not_: return make_bool(!truthy(evaluate(*node.left, variables)));
    case NodeOp::and_: {
        if (!truthy(evaluate(*node.left, variables))) return make_bool(false);
        return make_bool(truthy(evaluate(*node.right, variables)));
    }
    case NodeOp::or_: {
        if (truthy(evaluate(*node.left, variables))) return make_bool(true);
        return make_bool(truthy(evaluate(*node.right, variables)));
    }
    case NodeOp::eq:
    case NodeOp::ne: {
        const RefValue a = evaluate(*node.left, variables);
        const RefValue b = evaluate(*node.right, variables);
        bool equal = false;
        if (a.kind == b.kind) equal = a.kind == Kind::integer ? a.i == b.i : a.b == b.b;
        return make_bool(node.op == NodeOp::eq ? equal : !equal);
    }
    default: break;
    }
    const std::int64_t a = int_of(node.left);  // left before right, as the VM evaluates
    const std::int64_t b = int_of(node.right);
    switch (node.op) {
    case NodeOp::add: return make_int(wrap(bits(a) + bits(b)));
    case NodeOp::sub: return make_int(wrap(bits(a) - bits(b)));
    case NodeOp::mul: return make_int(wrap(bits(a) * bits(b)));
    case NodeOp::div:
        if (b == 0) throw DivisionByZero{};
        return make_int(b == -1 ? wrap(0 - bits(a)) : a / b);
    case NodeOp::mod:
        if (b == 0) throw DivisionByZero{};
        return make_int(b == -1 ? 0 : a % b);
    case NodeOp::lt: return make_bool(a < b);
    case NodeOp::le: return make_bool(a <= b);
    case NodeOp::gt: return make_bool(a > b);
    case NodeOp::ge: return make_bool(a >= b);
    default: break;
    }
    throw std::logic_error("unhandled node");
}

std::string show(const RefValue& v) {
    if (v.kind == Kind::boolean) return v.b ? "true" : "false";
    return std::to_string(v.i);
}

// --- printing as source, with only the parentheses precedence needs (plus some redundant ones) -----------
int precedence(NodeOp op) {
    switch (op) {
    case NodeOp::or_: return 1;
    case NodeOp::and_: return 2;
    case NodeOp::eq:
    case NodeOp::ne: return 3;
    case NodeOp::lt:
    case NodeOp::le:
    case NodeOp::gt:
    case NodeOp::ge: return 4;
    case NodeOp::add:
    case NodeOp::sub: return 5;
    case NodeOp::mul:
    case NodeOp::div:
    case NodeOp::mod: return 6;
    case NodeOp::negate:
    case NodeOp::not_: return 7;
    case NodeOp::literal:
    case NodeOp::variable: return 8;
    }
    return 0;
}

const char* spelling(NodeOp op) {
    switch (op) {
    case NodeOp::add: return "+";
    case NodeOp::sub: return "-";
    case NodeOp::mul: return "*";
    case NodeOp::div: return "/";
    case NodeOp::mod: return "%";
    case NodeOp::lt: return "<";
    case NodeOp::le: return "<=";
    case NodeOp::gt: return ">";
    case NodeOp::ge: return ">=";
    case NodeOp::eq: return "==";
    case NodeOp::ne: return "!=";
    case NodeOp::and_: return "&&";
    case NodeOp::or_: return "||";
    case NodeOp::negate: return "-";
    case NodeOp::not_: return "!";
    default: return "?";
    }
}

class Generator {
public:
    explicit Generator(std::uint64_t seed) : random_(seed) {}

    int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }
    bool chance(int percent) { return below(100) < percent; }

    std::int64_t int_literal() {
        static constexpr std::int64_t special[] = {0, 1, -1, 2, -2, 7, 10, 1000003,
                                                   std::numeric_limits<std::int64_t>::max(),
                                                   std::numeric_limits<std::int64_t>::min(),
                                                   std::int64_t{1} << 62, -(std::int64_t{1} << 62), 4294967296,
                                                   -4294967295, 3037000499, 123456789012345};
        switch (below(4)) {
        case 0: return special[below(static_cast<int>(std::size(special)))];
        case 1: return std::uniform_int_distribution<std::int64_t>(std::numeric_limits<std::int64_t>::min(),
                                                                   std::numeric_limits<std::int64_t>::max())(random_);
        default: return below(21) - 10;
        }
    }

    NodePtr expression(Kind kind, int depth, int variables) {
        auto node = std::make_unique<Node>();
        node->kind = kind;
        const bool leaf = depth <= 0 || chance(20);
        if (kind == Kind::integer) {
            if (leaf) {
                if (variables > 0 && chance(50)) {
                    node->op = NodeOp::variable;
                    node->variable = below(variables);
                } else {
                    node->value = int_literal();
                }
                return node;
            }
            static constexpr NodeOp ops[] = {NodeOp::add, NodeOp::sub, NodeOp::mul, NodeOp::div,
                                             NodeOp::mod, NodeOp::negate};
            node->op = ops[below(static_cast<int>(std::size(ops)))];
            node->left = expression(Kind::integer, depth - 1, variables);
            if (node->op != NodeOp::negate) node->right = expression(Kind::integer, depth - 1, variables);
            return node;
        }
        if (leaf) {
            node->value = below(2);
            return node;
        }
        static constexpr NodeOp ops[] = {NodeOp::lt, NodeOp::le, NodeOp::gt,  NodeOp::ge,  NodeOp::eq,
                                         NodeOp::ne, NodeOp::and_, NodeOp::or_, NodeOp::not_};
        node->op = ops[below(static_cast<int>(std::size(ops)))];
        switch (node->op) {
        case NodeOp::lt:
        case NodeOp::le:
        case NodeOp::gt:
        case NodeOp::ge:
            node->left = expression(Kind::integer, depth - 1, variables);
            node->right = expression(Kind::integer, depth - 1, variables);
            break;
        case NodeOp::not_: node->left = expression(any_kind(), depth - 1, variables); break;
        default:  // == != && || take either kind on each side
            node->left = expression(any_kind(), depth - 1, variables);
            node->right = expression(any_kind(), depth - 1, variables);
            break;
        }
        return node;
    }

    Kind any_kind() { return chance(50) ? Kind::integer : Kind::boolean; }

    std::string source(const Node& node) {
        switch (node.op) {
        case NodeOp::literal:
            if (node.kind == Kind::boolean) return node.value ? "true" : "false";
            return std::to_string(node.value);
        case NodeOp::variable: return fmt::format("v{}", node.variable);
        case NodeOp::negate:
        case NodeOp::not_: {
            const std::string operand = child(*node.left, precedence(node.op), false);
            const bool space = node.op == NodeOp::negate && operand.starts_with('-');
            return std::string(spelling(node.op)) + (space ? " " : "") + operand;
        }
        default: {
            const int p = precedence(node.op);
            return child(*node.left, p, false) + " " + spelling(node.op) + " " + child(*node.right, p, true);
        }
        }
    }

private:
    // A child of an operator of precedence `p`; binary operators are left-associative.
    std::string child(const Node& node, int p, bool right_side) {
        int own = precedence(node.op);
        if (node.op == NodeOp::literal && node.kind == Kind::integer && node.value < 0) own = 7;  // reads as unary
        const bool needed = right_side ? own <= p : own < p;
        if (needed || (own < 8 && chance(10))) return std::string(1, '(').append(source(node)).append(1, ')');  // not "(" + s: GCC 12 -Wrestrict false positive
        return source(node);
    }

    std::mt19937_64 random_;
};

// --- programs ------------------------------------------------------------------------------------------------
enum class Context { print, let, if_condition, while_condition, statement };

struct Case {
    std::string source;
    std::string expected;  // printed lines, then "error: division by zero" if the program fails
};

Case make_case(Generator& generator) {
    const bool in_function = generator.chance(60);
    const int variable_count = generator.below(4);
    std::vector<std::int64_t> variables;
    for (int i = 0; i < variable_count; ++i) variables.push_back(generator.int_literal());

    std::string body;
    std::string expected;
    bool failed = false;
    const std::string indent = in_function ? "    " : "";
    for (int i = 0; i < variable_count; ++i) {
        const std::string literal = std::to_string(variables[static_cast<std::size_t>(i)]);
        body += fmt::format("{}let v{} = {};\n", indent, i, literal);
    }
    const int statements = 1 + generator.below(3);
    for (int s = 0; s < statements; ++s) {
        const auto context = static_cast<Context>(generator.below(5));
        const bool wants_bool = (context == Context::if_condition || context == Context::while_condition)
                                    ? generator.chance(80)
                                    : generator.chance(40);
        const NodePtr expr = generator.expression(wants_bool ? Kind::boolean : Kind::integer,
                                                  1 + generator.below(5), variable_count);
        const std::string text = generator.source(*expr);
        switch (context) {
        case Context::print: body += fmt::format("{}print({});\n", indent, text); break;
        case Context::let:
            body += fmt::format("{}{{\n{}    let t = {};\n{}    print(t);\n{}}}\n", indent, indent, text, indent, indent);
            break;
        case Context::if_condition:
            body += fmt::format("{}if ({}) {{ print(\"T\"); }} else {{ print(\"F\"); }}\n", indent, text);
            break;
        case Context::while_condition:
            body += fmt::format("{}while ({}) {{ print(\"W\"); break; }}\n", indent, text);
            break;
        case Context::statement: body += fmt::format("{}{};\n", indent, text); break;
        }
        if (failed) continue;
        try {
            const RefValue value = evaluate(*expr, variables);
            switch (context) {
            case Context::print:
            case Context::let: expected += show(value) + "\n"; break;
            case Context::if_condition: expected += truthy(value) ? "T\n" : "F\n"; break;
            case Context::while_condition: expected += truthy(value) ? "W\n" : ""; break;
            case Context::statement: break;
            }
        } catch (const DivisionByZero&) {
            expected += "error: division by zero";
            failed = true;
        }
    }
    body += fmt::format("{}print(\"end\");\n", indent);
    if (!failed) expected += "end\n";
    if (in_function) return Case{"fn run() {\n" + body + "}\nrun();\n", expected};
    return Case{body, expected};
}

// Output of the compiled program, then "error: <message>" if it failed. One VM per policy runs every program
// (a VM must stay usable after any run): a fresh VM per program spent most of an ASan build's time on setting
// up and poisoning its 64 MB value stack.
template <class Profiler>
std::string vm_transcript(const Program& program) {
    static Vm<Profiler> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(program);
    try {
        vm.run();
    } catch (const RuntimeError& e) {
        out << "error: " << e.message();
    }
    return out.str();
}

} // namespace

BOOST_AUTO_TEST_CASE(compiled_expressions_agree_with_the_reference_evaluator) {
    constexpr std::uint64_t kSeed = 0x6f7073636f7065;  // "opscope"
    constexpr int kPrograms = 600;
    Generator generator(kSeed);
    int failing_programs = 0;
    for (int n = 0; n < kPrograms; ++n) {
        const Case c = make_case(generator);
        Program program;
        try {
            program = compile_source(c.source, "differential.ops");
        } catch (const ProgramError& e) {
            BOOST_ERROR("program " << n << " does not compile:\n" << e.what() << "\n" << c.source);
            continue;
        }
        const std::string fused = vm_transcript<NullProfiler>(program);
        BOOST_TEST(fused == c.expected, "program " << n << " (seed " << kSeed << "):\n" << c.source);
        BOOST_TEST(vm_transcript<test::InstructionCounter>(program) == fused, "unfused run of program " << n);
        if (c.expected.ends_with("division by zero")) ++failing_programs;
    }
    // The generator must exercise both outcomes.
    BOOST_TEST(failing_programs > kPrograms / 20);
    BOOST_TEST(failing_programs < kPrograms / 2);
}

BOOST_AUTO_TEST_CASE(reference_semantics_spot_checks) {
    // The reference's own edge cases, checked against the VM directly.
    const auto run = [](const std::string& source) {
        return vm_transcript<NullProfiler>(compile_source(source, "spot.ops"));
    };
    BOOST_TEST(run("print(-9223372036854775808 / -1);") == "-9223372036854775808\n");
    BOOST_TEST(run("print(-9223372036854775808 % -1);") == "0\n");
    BOOST_TEST(run("print(9223372036854775807 * 2);") == "-2\n");
    BOOST_TEST(run("print(-7 / 2);\nprint(-7 % 2);\nprint(7 % -2);") == "-3\n-1\n1\n");
    BOOST_TEST(run("print(1 == true);\nprint(0 != false);") == "false\ntrue\n");
    BOOST_TEST(run("print(1);\nprint(1 % 0);\nprint(2);") == "1\nerror: division by zero");
    BOOST_TEST(run("print(false && 1 / 0);\nprint(true || 1 / 0);") == "false\ntrue\n");
}
