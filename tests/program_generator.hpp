// Random valid assembly programs for the profiler tests: verifier-accepted and always terminating.
//
// A program is `main` plus up to four helpers f0..f3 that may call each other (and themselves) freely: each
// helper first spends one unit of the global `gas` and returns at once when none is left, so the calls
// are bounded whatever the call graph. Loops count a local up to a small bound (four loop shapes: test at
// the bottom with jnz or jz, test at the top with a backward jmp, and a jump into a bottom test), nest two
// deep, and may be left early (a break, a return). Statements are stack-neutral: arithmetic on ints stored
// to locals and globals, printing, calls of helpers and of the natives `sqrt` and `clock` (and, on request,
// `pstop`/`pstart`), arrays, stack shuffles, dead code after a jump, and rarely `halt` or a guarded
// runtime fault (division by zero, an out-of-range aget, a type error, a failing native). Some programs
// carry `.line` directives so that several instructions share a line.
//
// Naming: `emit` writes one instruction line; `int_value` / `condition` push one value; `statement`
// leaves the stack as it found it.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace opscope::test {

struct GeneratorOptions {
    int pause_percent = 0;  // chance that a statement calls `pstop` or `pstart` (arity 0, registered by the host)
    int fault_percent = 5;  // chance that a statement is a guarded runtime fault
    int halt_percent = 2;   // chance that a statement is a guarded `halt`
};

class ProgramGenerator {
public:
    explicit ProgramGenerator(std::uint64_t seed, GeneratorOptions options = {}) : random_(seed), options_(options) {}

    void set_options(const GeneratorOptions& options) { options_ = options; }

    std::string generate() {
        text_.clear();
        label_ = 0;
        use_lines_ = chance(40);
        line_ = 1 + below(5);
        helpers_.clear();
        const int helper_count = below(5);
        for (int i = 0; i < helper_count; ++i) helpers_.push_back(Helper{fmt::format("f{}", i), below(4)});
        if (use_lines_ && chance(50)) text_ += ".source \"generated.ops\"\n";
        for (const Helper& h : helpers_) function(h.name, h.nargs, false);
        function("main", 0, true);
        return text_;
    }

private:
    struct Helper {
        std::string name;
        int nargs;
    };
    static constexpr int kMaxLoopDepth = 2;

    // The function being generated.
    struct Scope {
        bool is_main = false;
        int nargs = 0;
        int first_counter = 0;  // locals first_counter .. +kMaxLoopDepth-1 count loops, by nesting level
        int first_scratch = 0;
        int scratch_count = 0;
        int loop_depth = 0;
        std::vector<std::string> loop_exits;  // labels that leave the enclosing loops, innermost last
        bool dead = false;                    // generating unreachable code
    };

    int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }
    bool chance(int percent) { return below(100) < percent; }
    std::string label() { return fmt::format("L{}", label_++); }

    void emit(std::string_view instruction) { text_ += fmt::format("    {}\n", instruction); }
    void place(const std::string& label) { text_ += label + ":\n"; }
    void next_line() {
        if (!use_lines_) return;
        line_ += below(3);  // 0: the statement shares the previous one's line
        text_ += fmt::format(".line {}\n", line_);
    }

    std::int64_t literal() {
        switch (below(10)) {
        case 0: return std::int64_t{5000000000} + below(1000);  // not an int32: a constant-table push
        case 1: return -below(100000);
        case 2: return below(1000000);
        default: return below(21) - 10;
        }
    }
    void push_literal() { emit(fmt::format("push {}", literal())); }

    // Locals an expression may read: arguments, scratch, and the counters of the loops around it.
    int readable_local(const Scope& s) {
        const int n = s.nargs + s.scratch_count + s.loop_depth;
        const int pick = below(n);
        if (pick < s.nargs) return pick;
        if (pick < s.nargs + s.scratch_count) return s.first_scratch + (pick - s.nargs);
        return s.first_counter + (pick - s.nargs - s.scratch_count);
    }
    int scratch(const Scope& s) { return s.first_scratch + below(s.scratch_count); }

    void function(const std::string& name, int nargs, bool is_main) {
        Scope s;
        s.is_main = is_main;
        s.nargs = nargs;
        s.first_counter = nargs;
        s.first_scratch = nargs + kMaxLoopDepth;
        s.scratch_count = 1 + below(3);
        text_ += fmt::format(".func {} {} {}\n", name, nargs, s.first_scratch + s.scratch_count);
        if (use_lines_ && chance(70)) next_line();  // else the first instructions are on line 0
        if (is_main) {
            emit(fmt::format("push {}", 2 + below(25)));
            emit("gstore gas");
            push_literal();
            emit("gstore g0");
            push_literal();
            emit("gstore g1");
        } else {  // spend one unit of gas; with none left, return a literal at once
            const std::string body = label();
            emit("gload gas");
            emit("push 1");
            emit("sub");
            emit("dup");
            emit("gstore gas");
            emit("push 0");
            emit("le");
            emit(fmt::format("jz {}", body));
            push_literal();
            emit("ret");
            place(body);
        }
        for (int k = 0; k < s.scratch_count; ++k) {
            push_literal();
            emit(fmt::format("store {}", s.first_scratch + k));
        }
        const int statements = 2 + below(6);
        for (int k = 0; k < statements; ++k) statement(s, 3);
        next_line();
        if (is_main && chance(25)) {
            int_value(s, 2);
            emit("print");
            emit("halt");
        } else {
            int_value(s, 2);
            emit("ret");
        }
        text_ += ".end\n\n";
    }

    void call_helper(Scope& s, int depth) {
        const Helper& h = helpers_[static_cast<std::size_t>(below(static_cast<int>(helpers_.size())))];
        for (int a = 0; a < h.nargs; ++a) int_value(s, depth);
        emit("call " + h.name);
    }

    // Pushes one number (an int, or a float after sqrt).
    void int_value(Scope& s, int depth) {
        const int r = depth <= 0 ? below(30) : below(100);
        if (r < 12) return push_literal();
        if (r < 26) return emit(fmt::format("load {}", readable_local(s)));
        if (r < 30) return emit(fmt::format("gload {}", chance(50) ? "g0" : (chance(50) ? "g1" : "gas")));
        if (r < 55) {
            int_value(s, depth - 1);
            int_value(s, depth - 1);
            static constexpr const char* ops[] = {"add", "sub", "mul"};
            return emit(ops[below(3)]);
        }
        if (r < 63) {  // by a non-zero literal
            int_value(s, depth - 1);
            static constexpr int divisors[] = {1, -1, 2, 3, -7, 10, 1000};
            emit(fmt::format("push {}", divisors[below(7)]));
            return emit(chance(50) ? "div" : "mod");
        }
        if (r < 68) {
            int_value(s, depth - 1);
            return emit("neg");
        }
        if (r < 78 && !helpers_.empty()) return call_helper(s, depth - 1);
        if (r < 83) {
            int_value(s, depth - 1);
            emit("dup");
            return emit("add");
        }
        if (r < 88) {
            int_value(s, depth - 1);
            int_value(s, depth - 1);
            emit("swap");
            return emit("sub");
        }
        if (r < 92) {
            emit(fmt::format("push {}", below(5)));
            emit("newarray");
            return emit("len");
        }
        return push_literal();
    }

    // Pushes one value for a jz/jnz.
    void condition(Scope& s, int depth) {
        const int r = below(100);
        static constexpr const char* compares[] = {"lt", "le", "gt", "ge", "eq", "ne"};
        if (r < 55) {
            int_value(s, depth);
            int_value(s, depth);
            return emit(compares[below(6)]);
        }
        if (r < 70 && s.loop_depth > 0) {  // a counter against a literal (the fused `load; push; cmp; jz` shape)
            emit(fmt::format("load {}", s.first_counter + below(s.loop_depth)));
            emit(fmt::format("push {}", below(6)));
            return emit(compares[below(6)]);
        }
        if (r < 80) {
            condition(s, depth - 1);
            return emit("not");
        }
        if (r < 95) return int_value(s, depth);
        emit(chance(50) ? "push true" : "push false");
    }

    // Jumps to `target` when the condition is false (or true, with `when_true`).
    void branch_on(Scope& s, int depth, const std::string& target, bool when_true) {
        condition(s, depth);
        emit(fmt::format("{} {}", when_true ? "jnz" : "jz", target));
    }

    void block(Scope& s, int depth) {
        const int n = 1 + below(3);
        for (int k = 0; k < n; ++k) statement(s, depth);
    }

    void loop(Scope& s, int depth) {
        const int counter = s.first_counter + s.loop_depth;
        const int bound = below(7);
        const std::string top = label(), exit = label();
        const auto increment = [&] {
            emit(fmt::format("load {}", counter));
            emit("push 1");
            emit("add");
            emit(fmt::format("store {}", counter));
        };
        emit("push 0");
        emit(fmt::format("store {}", counter));
        ++s.loop_depth;
        s.loop_exits.push_back(exit);
        switch (below(4)) {
        case 0:  // body; count; jnz back while below the bound
        case 1:  // the same with the test inverted: jz back
        {
            const bool inverted = below(2) == 1;
            place(top);
            block(s, depth - 1);
            increment();
            emit(fmt::format("load {}", counter));
            emit(fmt::format("push {}", bound));
            emit(inverted ? "ge" : "lt");
            emit(fmt::format("{} {}", inverted ? "jz" : "jnz", top));
            break;
        }
        case 2: {  // test at the top, backward jmp
            place(top);
            emit(fmt::format("load {}", counter));
            emit(fmt::format("push {}", bound));
            emit("lt");
            emit(fmt::format("jz {}", exit));
            block(s, depth - 1);
            increment();
            emit(fmt::format("jmp {}", top));
            break;
        }
        default: {  // jump into the test at the bottom
            const std::string test = label();
            emit(fmt::format("jmp {}", test));
            place(top);
            block(s, depth - 1);
            increment();
            place(test);
            emit(fmt::format("load {}", counter));
            emit(fmt::format("push {}", bound));
            emit("lt");
            emit(fmt::format("jnz {}", top));
            break;
        }
        }
        place(exit);
        s.loop_exits.pop_back();
        --s.loop_depth;
    }

    // A guarded fault: the guard makes it happen in some runs only.
    void fault(Scope& s, int depth) {
        const std::string skip = label();
        if (chance(70)) branch_on(s, depth, skip, chance(50));
        switch (below(5)) {
        case 0:
            int_value(s, depth);
            emit("push 0");
            emit(chance(50) ? "div" : "mod");
            emit("pop");
            break;
        case 1:
            emit(fmt::format("push {}", 1 + below(3)));
            emit("newarray");
            emit(fmt::format("push {}", 3 + below(3)));
            emit("aget");
            emit("pop");
            break;
        case 2:
            emit("push \"text\"");
            int_value(s, depth);
            emit(chance(50) ? "sub" : "lt");
            emit("pop");
            break;
        case 3:
            emit("push nil");
            emit("call sqrt");
            emit("pop");
            break;
        default:
            emit("push nil");
            emit("neg");
            emit("pop");
            break;
        }
        place(skip);
    }

    void statement(Scope& s, int depth) {
        next_line();
        if (!s.dead && chance(options_.fault_percent)) return fault(s, depth);
        if (!s.dead && chance(options_.halt_percent) && (!s.is_main || chance(30))) {
            const std::string skip = label();
            branch_on(s, depth, skip, chance(50));
            emit("halt");
            return place(skip);
        }
        if (chance(options_.pause_percent)) {
            emit(chance(50) ? "call pstop" : "call pstart");
            return emit("pop");
        }
        const int r = below(100);
        if (r < 16) {
            int_value(s, depth);
            return emit(fmt::format("store {}", scratch(s)));
        }
        if (r < 22) {
            int_value(s, depth);
            return emit(chance(50) ? "gstore g0" : "gstore g1");
        }
        if (r < 27) {
            int_value(s, depth);
            return emit("print");
        }
        if (r < 30) {
            int_value(s, depth);
            return emit("pop");
        }
        if (r < 42 && depth > 0) {  // if, with or without else
            const std::string other = label(), end = label();
            const bool with_else = chance(50);
            branch_on(s, depth - 1, other, chance(30));
            block(s, depth - 1);
            if (with_else) {
                emit(fmt::format("jmp {}", end));
                place(other);
                block(s, depth - 1);
                return place(end);
            }
            return place(other);
        }
        if (r < 54 && depth > 0 && s.loop_depth < kMaxLoopDepth) return loop(s, depth);
        if (r < 64 && !helpers_.empty()) {
            call_helper(s, depth - 1);
            switch (below(3)) {
            case 0: return emit(fmt::format("store {}", scratch(s)));
            case 1: return emit("pop");
            default: return emit("print");
            }
        }
        if (r < 68) {
            int_value(s, depth - 1);
            emit("call sqrt");
            return emit(chance(50) ? "pop" : fmt::format("store {}", scratch(s)));
        }
        if (r < 70) {
            emit("call clock");
            return emit("pop");
        }
        if (r < 75) {  // a small array: fill one slot, read one back
            const int size = 1 + below(4);
            emit(fmt::format("push {}", size));
            emit("newarray");
            emit("dup");
            emit(fmt::format("push {}", below(size)));
            int_value(s, depth - 1);
            emit("aset");
            emit(fmt::format("push {}", below(size)));
            emit("aget");
            return emit(chance(50) ? "print" : "pop");
        }
        if (r < 79) {
            int_value(s, depth - 1);
            emit("dup");
            emit("mul");
            return emit(fmt::format("store {}", scratch(s)));
        }
        if (r < 82 && !s.dead) {  // dead code after a jump (may hold a loop: a never-taken back edge)
            const std::string over = label();
            emit(fmt::format("jmp {}", over));
            s.dead = true;
            statement(s, depth);
            s.dead = false;
            return place(over);
        }
        if (r < 86 && !s.loop_exits.empty()) {  // break out of the innermost loop
            const std::string exit = s.loop_exits.back();
            return branch_on(s, depth - 1, exit, chance(50));
        }
        if (r < 90) {  // an early return
            const std::string skip = label();
            branch_on(s, depth - 1, skip, chance(50));
            int_value(s, depth - 1);
            emit("ret");
            return place(skip);
        }
        int_value(s, depth);
        emit(fmt::format("store {}", scratch(s)));
    }

    std::mt19937_64 random_;
    GeneratorOptions options_;
    std::string text_;
    int label_ = 0;
    bool use_lines_ = false;
    int line_ = 1;
    std::vector<Helper> helpers_;
};

} // namespace opscope::test
