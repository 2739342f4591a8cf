// CountingProfiler's counts are exact: over a thousand random valid programs its profile equals, group by
// group, that of NaiveCounter (policy_support.hpp), a reference that watches every instruction of the
// unfused program and counts by brute force — for runs that return, `halt` inside nested calls, fault,
// run out of fuel, overflow the call depth, pause and resume profiling from natives, and repeat on one VM.
// Then a few hand-written programs whose counts are known by construction, with the numbers written here.
#include "policy_support.hpp"
#include "program_generator.hpp"

#include <opscope/policies/counting.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <tuple>

using namespace opscope;
using test::count_differences;
using test::count_view;
using test::CountView;

namespace {

// More instructions than any generated program needs: a VM bug that loops forever fails instead of hanging.
constexpr std::uint64_t kGuardFuel = 20'000'000;

// Output, then the result or the error with its backtrace.
// `stopped_at`, if given, receives the program-wide id of the instruction the run stopped at (or -1).
template <class Profiler>
std::string run_once(Vm<Profiler>& vm, std::int64_t* stopped_at = nullptr) {
    std::ostringstream out;
    vm.set_output(out);
    if (stopped_at) *stopped_at = -1;
    try {
        const Value result = vm.run();
        out << "=> " << to_display(result);
    } catch (const RuntimeError& e) {
        out << e.format();
        if (const int f = vm.program().find_function(e.backtrace().front().function); stopped_at && f >= 0)
            *stopped_at = vm.linked().functions()[static_cast<std::size_t>(f)].first_instruction + e.backtrace().front().offset;
    }
    return out.str();
}

// The policies under test and the reference, side by side; all reused from program to program (a new
// load() starts each one's profile afresh). `counting` also counts inclusive instructions; `plain` is
// CountingProfiler, whose counts must be the same and which must report no inclusive instructions.
struct Pair {
    Vm<InclusiveCountingProfiler> counting;
    Vm<CountingProfiler> plain;
    Vm<test::NaiveCounter> naive;
    Pair() {
        test::register_pause_natives(counting);
        test::register_pause_natives(plain);
        test::register_pause_natives(naive);
    }
    void load(const Program& program, const Limits& limits) {
        const auto load_into = [&](auto& vm) {
            vm.set_limits(limits);
            vm.load(program);
            vm.start_profiling();
        };
        load_into(counting);
        load_into(plain);
        load_into(naive);
    }
    // Runs them; the transcripts must agree (fusion is invisible). Returns the transcript.
    std::string run(std::string_view program_text = {}) {
        const std::string expected = run_once(naive);
        const std::string actual = run_once(counting, &stopped_at);
        BOOST_TEST(actual == expected, "fused and unfused runs differ:\n" << program_text);
        BOOST_TEST(run_once(plain) == expected, "counting with and without inclusive differ:\n" << program_text);
        return actual;
    }
    std::int64_t stopped_at = -1;  // where the last run stopped (program-wide id), if it raised
    // What differs between the two profiles ("" when equal): every count, and the inclusive instructions per
    // function (callgrind's rule), per call edge and per call site, which the naive counter measures with a
    // stack of its own.
    std::string differences() const {
        const Profile expected = naive.profile(), actual = counting.profile();
        std::string inclusive = test::view_differences(test::inclusive_view(expected), test::inclusive_view(actual));
        if (!inclusive.empty()) inclusive = "  inclusive [instructions]:\n" + inclusive;
        const Profile without = plain.profile();
        // An edge whose calls were all made while paused is listed only for the instructions it ran since.
        CountView with = count_view(actual);
        std::erase_if(with["call_graph"], [](const auto& entry) { return entry.second == "0"; });
        std::string plain_differences = count_differences(with, count_view(without));
        if (!plain_differences.empty()) plain_differences = "  CountingProfiler's counts differ:\n" + plain_differences;
        for (const FunctionStats& f : without.functions->entries)
            if (f.inclusive_instructions) plain_differences += "  CountingProfiler reports inclusive for " + f.name + "\n";
        for (const CallEdge& e : without.call_graph->entries) {
            if (e.inclusive_instructions) plain_differences += "  CountingProfiler reports inclusive for edge " + e.callee + "\n";
            for (const CallSite& site : e.sites)
                if (site.inclusive_instructions) plain_differences += "  CountingProfiler reports inclusive at a site\n";
        }
        return count_differences(count_view(expected), count_view(actual)) + inclusive + plain_differences;
    }
};

struct Outcomes {
    int returned = 0, halted = 0, halted_nested = 0, faulted = 0, out_of_fuel = 0, call_overflow = 0, paused = 0;
};

// The groups of a profile as a view, to check hand-written expectations against.
test::GroupView group(const CountView& view, const std::string& name) {
    const auto it = view.find(name);
    return it == view.end() ? test::GroupView{} : it->second;
}

// Checks `counting`'s profile against the naive one and the group expectations given.
void check_exact(Pair& pair, const CountView& expected_groups, const std::string& context) {
    const std::string differences = pair.differences();
    BOOST_TEST(differences.empty(), context << ": counting profile differs from the naive counter:\n" << differences);
    const CountView actual = count_view(pair.counting.profile());
    for (const auto& [name, entries] : expected_groups)
        BOOST_TEST(count_differences({{name, entries}}, {{name, group(actual, name)}}).empty(),
                   context << ": group " << name << ":\n"
                           << count_differences({{name, entries}}, {{name, group(actual, name)}}));
    BOOST_TEST(pair.naive.profiler().inconsistencies() == 0u);
}

} // namespace

BOOST_AUTO_TEST_SUITE(counting)

BOOST_AUTO_TEST_CASE(counts_equal_a_naive_counter_on_random_programs) {
    constexpr std::uint64_t kSeed = 0x636f756e74696e67;  // "counting"
    constexpr int kPrograms = 1200;
    test::ProgramGenerator generator(kSeed);
    std::mt19937_64 random(kSeed);
    const auto below = [&](std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(random); };
    Pair pair;
    Outcomes outcomes;
    int reported = 0, mismatches = 0, runs = 0;
    std::map<std::string, int> mismatched_groups;  // group -> differing entries, over all runs
    std::set<Op> linked;                           // what the counting VM ran, over all programs
    int derived_blocks = 0, faults_entering_derived = 0, fuel_out_at_derived = 0, nested_mutual_recursion = 0;
    // Function entries derived from their call sites, derivations that read a derived block, runs out of fuel
    // on landing in a derived entry, and calls into one that overflowed the call depth.
    int derived_entries = 0, chained_derivations = 0, fuel_out_at_derived_entry = 0, overflows_into_derived = 0;
    // Programs with a residual block (its entries from the instructions run), and runs that stopped in it.
    int residual_programs = 0, stops_in_residual = 0;
    std::size_t residual_first = 0, residual_end = 0;  // the current program's residual block
    std::set<std::size_t> entry_sources;  // of the current program's derived blocks

    for (int n = 0; n < kPrograms; ++n) {
        generator.set_options(test::GeneratorOptions{.pause_percent = n % 2 ? 15 : 0});
        // Safe points every few instructions refill the fuel register: inclusive counts must not notice.
        pair.counting.set_safe_point_interval(n % 3 ? static_cast<std::uint32_t>(1 + n % 11) : Machine::kDefaultSafePointInterval);
        const std::string text = generator.generate();
        Program program;
        try {
            program = assemble(text, "generated.opasm");
            pair.load(program, Limits{.fuel = kGuardFuel});
        } catch (const ProgramError& e) {
            BOOST_ERROR("generated program " << n << " is not valid:\n" << e.what() << "\n" << text);
            continue;
        }

        for (const Instr& in : pair.counting.linked().code()) linked.insert(op_of(in));
        entry_sources.clear();
        const LinkedProgram& linked_program = pair.counting.linked();
        const auto is_function_entry = [&](std::size_t id) {
            return linked_program.function_of(&linked_program.code()[id])->first_instruction == id;
        };
        const auto source_op = [&](std::size_t id) {
            const LinkedFunction& f = *linked_program.function_of(&linked_program.code()[id]);
            return f.source->code[id - f.first_instruction].op;
        };
        const auto leader_of = [&](std::size_t id) {
            while (linked_program.block_start(id) == BlockStart::none) --id;
            return id;
        };
        for (std::size_t id = 0; id < linked_program.instruction_count(); ++id) {
            if (linked_program.block_start(id) != BlockStart::derived) continue;
            ++derived_blocks;
            if (is_function_entry(id)) ++derived_entries;
            const BlockDerivation& derivation = *linked_program.derivation(id);
            bool chained = derivation.minus != BlockDerivation::kNone &&
                           linked_program.block_start(derivation.minus) == BlockStart::derived;
            for (const std::uint32_t source : derivation.sources) {
                entry_sources.insert(source);
                chained = chained || linked_program.block_start(leader_of(source)) == BlockStart::derived;
            }
            if (chained) ++chained_derivations;
        }
        residual_first = residual_end = linked_program.residual();
        if (residual_first != BlockDerivation::kNone) {
            ++residual_programs;
            do ++residual_end;
            while (residual_end < linked_program.instruction_count() && linked_program.block_start(residual_end) == BlockStart::none);
        }
        const auto compare = [&](const std::string& configuration) {
            ++runs;
            const std::string differences = pair.differences();
            if (differences.empty() && pair.naive.profiler().inconsistencies() == 0) return;
            ++mismatches;
            std::istringstream lines(differences);
            for (std::string line; std::getline(lines, line);)  // "  group [key]: ..."
                if (const std::size_t bracket = line.find(" ["); bracket != std::string::npos)
                    ++mismatched_groups[line.substr(2, bracket - 2)];
            if (reported++ < 5)
                BOOST_ERROR("program " << n << " (seed " << kSeed << "), " << configuration << ":\n"
                                       << differences << "naive counter inconsistencies: "
                                       << pair.naive.profiler().inconsistencies() << "\n--- program ---\n"
                                       << text);
        };
        const auto note = [&](const std::string& transcript) {
            if (pair.stopped_at >= 0) {  // the derivations' edge cases
                const auto at = static_cast<std::size_t>(pair.stopped_at);
                if (at >= residual_first && at < residual_end) ++stops_in_residual;
                if (pair.counting.run_end() == RunEnd::fault && entry_sources.contains(at)) ++faults_entering_derived;
                if (pair.counting.run_end() == RunEnd::out_of_fuel && pair.counting.linked().block_start(at) == BlockStart::derived) {
                    ++fuel_out_at_derived;
                    if (is_function_entry(at)) ++fuel_out_at_derived_entry;
                }
                if (pair.counting.run_end() == RunEnd::fault && entry_sources.contains(at) &&
                    source_op(at) == Op::call)
                    ++overflows_into_derived;
            }
            switch (pair.counting.run_end()) {
            case RunEnd::returned: ++outcomes.returned; break;
            case RunEnd::halted:
                ++outcomes.halted;
                if (pair.naive.profiler().last_halt_depth() > 1) ++outcomes.halted_nested;
                break;
            case RunEnd::out_of_fuel: ++outcomes.out_of_fuel; break;
            default:
                ++outcomes.faulted;
                if (transcript.find("call depth limit exceeded") != std::string::npos) ++outcomes.call_overflow;
                break;
            }
        };

        // 1. A whole run.
        const std::string transcript = pair.run(text);
        BOOST_TEST(transcript.find("fuel exhausted") == std::string::npos,
                   "program " << n << " did not end within " << kGuardFuel << " instructions\n" << text);
        note(transcript);
        compare("whole run");
        if (test::count_view(pair.naive.profile())["functions"].contains("pstop")) ++outcomes.paused;
        {  // mutual recursion ran: a function's inclusive is less than its calls from other functions add up to
            const Profile p = pair.counting.profile();
            std::map<std::string, std::uint64_t> from_others;
            for (const CallEdge& e : p.call_graph->entries)
                if (e.caller != e.callee && !e.caller.empty()) from_others[e.callee] += e.inclusive_instructions.value_or(0);
            for (const FunctionStats& f : p.functions->entries)
                if (f.name != "main" && f.inclusive_instructions < from_others[f.name]) {
                    ++nested_mutual_recursion;
                    break;
                }
        }
        const std::uint64_t executed = pair.naive.profile().summary->total_instructions;

        // 2. The same program out of fuel somewhere (or, now and then, before main's first instructions).
        if (executed > 1) {
            const std::uint64_t fuel = n % 10 == 0 ? 1 + below(3) : 1 + below(executed - 1);
            pair.load(program, Limits{.fuel = fuel});
            note(pair.run(text));
            compare("fuel limit " + std::to_string(fuel));
        }
        // 3. With a small call-depth limit: calls may overflow.
        if (n % 4 == 1) {
            const auto depth = static_cast<std::uint32_t>(2 + below(3));
            pair.load(program, Limits{.fuel = kGuardFuel, .max_call_depth = depth});
            note(pair.run(text));
            compare("max_call_depth " + std::to_string(depth));
        }
        // 4. Several runs on one VM add up.
        if (n % 5 == 3) {
            pair.load(program, Limits{.fuel = kGuardFuel});
            for (int run = 0; run < 3; ++run) pair.run(text);
            compare("three runs on one VM");
        }
    }
    BOOST_TEST_MESSAGE(fmt::format("{} programs, {} runs: {} returned, {} halted ({} inside calls), {} faulted ({} call "
                                   "overflows), {} out of fuel; {} with pause/resume; {} mismatches",
                                   kPrograms, runs, outcomes.returned, outcomes.halted, outcomes.halted_nested,
                                   outcomes.faulted, outcomes.call_overflow, outcomes.out_of_fuel, outcomes.paused,
                                   mismatches));
    std::string by_group;
    for (const auto& [name, count] : mismatched_groups) by_group += fmt::format(" {} {};", name, count);
    BOOST_TEST(mismatches == 0, "differing entries by group:" << by_group);
    // The generator must reach every way a run can end.
    // Branches whose taken count needs reporting ran as their _counted forms (split out of fused sequences),
    // and the others kept their fused forms.
    BOOST_TEST(linked.count(Op::jz_counted) == 1u);
    BOOST_TEST(linked.count(Op::jnz_counted) == 1u);
    // Blocks whose entries are derived, not counted, including runs whose fuel ran out on landing in one.
    // (The generator's guarded faults never fall into a derived block: a_fault_where_control_would_fall_...)
    BOOST_TEST_MESSAGE(fmt::format("{} derived blocks; {} faults at their entry sources, {} fuel landings in them",
                                   derived_blocks, faults_entering_derived, fuel_out_at_derived));
    BOOST_TEST(derived_blocks > kPrograms / 2);
    BOOST_TEST(fuel_out_at_derived > 0);
    BOOST_TEST_MESSAGE(fmt::format("{} derived function entries, {} derivations reading a derived block; {} fuel "
                                   "landings in a derived entry, {} call overflows into one",
                                   derived_entries, chained_derivations, fuel_out_at_derived_entry, overflows_into_derived));
    BOOST_TEST_MESSAGE(fmt::format("{} programs with a residual block; {} runs stopped (fault, halt, fuel) in it",
                                   residual_programs, stops_in_residual));
    BOOST_TEST(residual_programs > kPrograms / 4);
    BOOST_TEST(stops_in_residual > 10);
    BOOST_TEST(derived_entries > kPrograms / 4);
    BOOST_TEST(chained_derivations > kPrograms / 4);
    BOOST_TEST(fuel_out_at_derived_entry > 0);
    BOOST_TEST(overflows_into_derived > 0);
    BOOST_TEST(linked.count(Op::lt_ll_jz) + linked.count(Op::lt_lk_jz) + linked.count(Op::lt_jz) > 0u);
    BOOST_TEST(outcomes.returned > kPrograms / 4);
    BOOST_TEST(outcomes.halted > kPrograms / 20);
    BOOST_TEST(outcomes.halted_nested > 10);
    BOOST_TEST(outcomes.faulted > kPrograms / 20);
    BOOST_TEST(outcomes.call_overflow > 10);
    BOOST_TEST(outcomes.out_of_fuel > kPrograms / 2);
    BOOST_TEST(outcomes.paused > kPrograms / 8);
    BOOST_TEST_MESSAGE(fmt::format("{} programs ran an activation nested in another of its function through "
                                   "another function (mutual recursion)", nested_mutual_recursion));
    BOOST_TEST(nested_mutual_recursion > kPrograms / 20);
}

// --- hand-written programs with known counts ------------------------------------------------------------

// sum += i for i in 0..999: the body runs exactly 1000 times, the test 1001 times. Offsets and lines:
// 0-4 on lines 2-6, the body 5-12 on lines 8-15, the test 13-16 on lines 17-20, 17-19 on lines 21-23.
constexpr std::string_view kThousandIterations = R"(.func main 0 2
    push 0
    store 0
    push 0
    store 1
    jmp test
body:
    load 0
    load 1
    add
    store 0
    load 1
    push 1
    add
    store 1
test:
    load 1
    push 1000
    lt
    jnz body
    load 0
    print
    halt
.end
)";

BOOST_AUTO_TEST_CASE(a_loop_of_exactly_1000_iterations) {
    Pair pair;
    pair.load(assemble(kThousandIterations, "t.opasm"), {});
    BOOST_TEST(pair.run() == "499500\n=> nil");
    test::GroupView lines;
    for (int line : {2, 3, 4, 5, 6, 21, 22, 23}) lines[std::to_string(line)] = "1";
    for (int line = 8; line <= 15; ++line) lines[std::to_string(line)] = "1000";
    for (int line = 17; line <= 20; ++line) lines[std::to_string(line)] = "1001";
    check_exact(pair,
                {{"summary", {{"total_instructions", "12012"}, {"unique_instructions", "20"}, {"max_call_depth", "1"}}},
                 {"loops", {{"main+5..16", "line 8 iterations 1000"}}},
                 {"branches", {{"main+16", "line 20 executed 1001 taken 1000"}}},
                 {"opcodes",
                  {{"push", "2003"}, {"store", "2002"}, {"jmp", "1"}, {"load", "4002"}, {"add", "2000"},
                   {"lt", "1001"}, {"jnz", "1001"}, {"print", "1"}, {"halt", "1"}}},
                 {"lines", lines},
                 {"functions", {{"main", "calls 1"}}},
                 {"call_graph", {{"<host> -> main", "1"}}},
                 {"frames", {{"pushed", "1"}, {"popped", "1"}, {"max_depth", "1"}}},
                 {"stack", {{"pushes", "9006"}, {"pops", "9006"}, {"max_depth", "2"}}},
                 {"opcode_pairs",
                  {{"push store", "2"}, {"store push", "1"}, {"store jmp", "1"}, {"jmp load", "1"},
                   {"load load", "1000"}, {"load add", "1000"}, {"add store", "2000"}, {"store load", "2000"},
                   {"load push", "2001"}, {"push add", "1000"}, {"push lt", "1001"}, {"lt jnz", "1001"},
                   {"jnz load", "1001"}, {"load print", "1"}, {"print halt", "1"}}}},
                "1000 iterations");
    const CountView view = count_view(pair.counting.profile());
    BOOST_TEST(group(view, "instructions").at("main+5") == "load line 8 x1000");
    BOOST_TEST(group(view, "instructions").at("main+16") == "jnz line 20 x1001");
}

BOOST_AUTO_TEST_CASE(fib_10_makes_177_calls) {
    Pair pair;
    pair.load(assemble(test::opasm_example_sized("fib.opasm", 10), "fib.opasm"), {});
    BOOST_TEST(pair.run() == "55\n=> nil");
    // 177 calls: 88 with n >= 2 (the jz to `recurse` taken) and 89 leaves; main + 10 nested fib frames.
    check_exact(pair,
                {{"summary", {{"total_instructions", "1770"}, {"unique_instructions", "20"}, {"max_call_depth", "11"}}},
                 {"functions", {{"main", "calls 1"}, {"fib", "calls 177"}}},
                 {"call_graph", {{"<host> -> main", "1"}, {"main -> fib", "1"}, {"fib -> fib", "176"}}},
                 {"frames", {{"pushed", "178"}, {"popped", "178"}, {"max_depth", "11"}}},
                 {"stack", {{"pushes", "1414"}, {"pops", "1414"}, {"max_depth", "3"}}},
                 {"branches", {{"fib+3", "line 6 executed 177 taken 88"}}},
                 {"loops", {}},
                 {"opcodes",
                  {{"load", "442"}, {"push", "354"}, {"lt", "177"}, {"jz", "177"}, {"ret", "177"}, {"sub", "176"},
                   {"call", "177"}, {"add", "88"}, {"print", "1"}, {"halt", "1"}}}},
                "fib(10)");
    const test::GroupView pairs = group(count_view(pair.counting.profile()), "opcode_pairs");
    BOOST_TEST(pairs.at("call load") == "177");  // into fib
    BOOST_TEST(pairs.at("ret print") == "1");    // back into main
    BOOST_TEST(pairs.at("ret load") == "88");    // after the first recursive call
    BOOST_TEST(pairs.at("ret add") == "88");     // after the second
}

BOOST_AUTO_TEST_CASE(halt_inside_nested_calls_pops_every_frame) {
    Pair pair;
    pair.load(assemble(R"(.func main 0 0
    call a
    ret
.end
.func a 0 0
    call b
    ret
.end
.func b 0 0
    push 7
    print
    halt
.end
)",
                       "t.opasm"),
              {});
    BOOST_TEST(pair.run() == "7\n=> nil");
    check_exact(pair,
                {{"summary", {{"total_instructions", "5"}, {"unique_instructions", "5"}, {"max_call_depth", "3"}}},
                 {"frames", {{"pushed", "3"}, {"popped", "3"}, {"max_depth", "3"}}},
                 // the calls' results never arrive, but a call counts as popping its arguments and pushing one
                 {"stack", {{"pushes", "3"}, {"pops", "1"}, {"max_depth", "1"}}},
                 {"opcodes", {{"call", "2"}, {"push", "1"}, {"print", "1"}, {"halt", "1"}}},
                 {"opcode_pairs", {{"call call", "1"}, {"call push", "1"}, {"push print", "1"}, {"print halt", "1"}}},
                 {"functions", {{"main", "calls 1"}, {"a", "calls 1"}, {"b", "calls 1"}}}},
                "halt at depth 3");
}

// The verifier walks only reachable code, so a function may end in an unreachable instruction that would fall
// off its end. The pairs were read for every instruction, executed or not: fuzz_run found the read past the
// code (ASan; tests/fuzz/findings/fuzz_run/unreachable_last_instruction_falls_through.opasm).
BOOST_AUTO_TEST_CASE(an_unreachable_last_instruction_adds_no_pair) {
    Pair pair;
    pair.load(assemble(R"(.func main 0 0
    push 1
    ret
    push 2
.end
)",
                       "t.opasm"),
              {});
    BOOST_TEST(pair.run() == "=> 1");
    check_exact(pair,
                {{"opcodes", {{"push", "1"}, {"ret", "1"}}}, {"opcode_pairs", {{"push ret", "1"}}}},
                "an unreachable push at the end");
}

BOOST_AUTO_TEST_CASE(a_fault_counts_the_faulting_instruction_and_nothing_after_it) {
    Pair pair;
    pair.load(assemble(test::kThreeDeep, "t.opasm"),
              {});
    BOOST_TEST(pair.run().starts_with("error: division by zero"));
    check_exact(pair,
                {{"summary", {{"total_instructions", "7"}, {"unique_instructions", "7"}, {"max_call_depth", "3"}}},
                 {"frames", {{"pushed", "3"}, {"popped", "0"}, {"max_depth", "3"}}},
                 {"stack", {{"pushes", "7"}, {"pops", "4"}, {"max_depth", "2"}}},
                 {"opcodes", {{"push", "3"}, {"call", "2"}, {"load", "1"}, {"div", "1"}}},
                 {"opcode_pairs",
                  {{"push call", "2"}, {"call push", "1"}, {"call load", "1"}, {"load push", "1"}, {"push div", "1"}}}},
                "division by zero at depth 3");
}

// The loop test is entered by the `jmp` and by the body falling into it, so its entries are derived from
// theirs (BlockStart::derived); the body's last instruction faulting must not count as entering it. (The
// `jz done` keeps the body counted: else the body would be derived from the loop branch instead.)
BOOST_AUTO_TEST_CASE(a_fault_where_control_would_fall_into_a_derived_block) {
    Pair pair;
    pair.load(assemble(R"(.func main 0 2
    push 3
    newarray
    store 1
    push 0
    store 0
    push 1
    jz done
    jmp test
body:
    load 0
    push 1
    add
    store 0
    load 1
    load 0
    push 0
    aset
test:
    load 0
    push 5
    lt
    jnz body
done:
    push 0
    ret
.end
)",
                       "t.opasm"),
              {});
    BOOST_TEST((pair.counting.linked().block_start(16) == BlockStart::derived));
    BOOST_TEST(pair.run().starts_with("error: index 3 out of range"));
    // 8 before the loop, the test 3 times, the body twice whole and once up to its aset.
    check_exact(pair,
                {{"summary", {{"total_instructions", "44"}, {"unique_instructions", "20"}, {"max_call_depth", "1"}}},
                 {"opcodes", {{"aset", "3"}, {"lt", "3"}, {"jnz", "3"}, {"jz", "1"}, {"add", "3"}, {"push", "12"},
                              {"load", "12"}, {"store", "5"}, {"newarray", "1"}, {"jmp", "1"}}},
                 {"branches", {{"main+6", "line 8 executed 1 taken 0"}, {"main+19", "line 23 executed 3 taken 3"}}}},
                "fault before a derived block");
}

BOOST_AUTO_TEST_CASE(a_call_that_overflows_the_call_depth_pushes_no_frame) {
    Pair pair;
    // down(n) recurses forever; with at most 3 frames the third call of `down` fails.
    pair.load(assemble(R"(.func down 1 1
    load 0
    push 1
    add
    call down
    ret
.end
.func main 0 0
    push 0
    call down
    ret
.end
)",
                       "t.opasm"),
              Limits{.max_call_depth = 3});
    BOOST_TEST(pair.run().starts_with("error: "));
    // main: push, call (2); down at depth 2: load, push, add, call (4); down at depth 3: the same (4), whose
    // call fails.
    check_exact(pair,
                {{"summary", {{"total_instructions", "10"}, {"unique_instructions", "6"}, {"max_call_depth", "3"}}},
                 {"functions", {{"main", "calls 1"}, {"down", "calls 2"}}},
                 {"call_graph", {{"<host> -> main", "1"}, {"main -> down", "1"}, {"down -> down", "1"}}},
                 {"frames", {{"pushed", "3"}, {"popped", "0"}, {"max_depth", "3"}}},
                 {"opcode_pairs",
                  {{"push call", "1"}, {"call load", "2"}, {"load push", "2"}, {"push add", "2"}, {"add call", "2"}}}},
                "call depth overflow");
}

BOOST_AUTO_TEST_CASE(out_of_fuel_the_instruction_never_started) {
    Pair pair;
    // Fuel is charged per straight run: 5 (offsets 0-4), then 4 (the first test), then 12 per iteration.
    // 134 = 5 + 4 + 10 * 12 + 5: ten iterations fit; the eleventh's jump back is taken, but its body never
    // starts.
    pair.load(assemble(kThousandIterations, "t.opasm"), Limits{.fuel = 134});
    BOOST_TEST(pair.run() == "error: fuel exhausted after 129 of 134 instructions: the next straight-line run of 12 "
                             "instructions does not fit in the 5 left\n  at main+5 (t.opasm:8)");
    check_exact(pair,
                {{"summary", {{"total_instructions", "129"}, {"unique_instructions", "17"}, {"max_call_depth", "1"}}},
                 {"loops", {{"main+5..16", "line 8 iterations 11"}}},
                 {"branches", {{"main+16", "line 20 executed 11 taken 11"}}},
                 {"frames", {{"pushed", "1"}, {"popped", "0"}, {"max_depth", "1"}}}},
                "out of fuel");
    const test::GroupView pairs = group(count_view(pair.counting.profile()), "opcode_pairs");
    BOOST_TEST(pairs.at("jnz load") == "10");
    BOOST_TEST(group(count_view(pair.counting.profile()), "instructions").at("main+5") == "load line 8 x10");
}

BOOST_AUTO_TEST_CASE(out_of_fuel_before_main_starts_records_nothing) {
    Pair pair;
    pair.load(assemble(kThousandIterations, "t.opasm"), {});
    pair.run();  // a full profile of this program first: the next load must start afresh
    pair.load(assemble(std::string(kThousandIterations), "again.opasm"), Limits{.fuel = 3});
    BOOST_TEST(pair.run().starts_with("error: fuel exhausted"));
    check_exact(pair,
                {{"summary", {{"total_instructions", "0"}, {"unique_instructions", "0"}, {"max_call_depth", "0"}}},
                 {"functions", {{"main", "calls 0"}}},
                 {"frames", {{"pushed", "0"}, {"popped", "0"}, {"max_depth", "0"}}},
                 {"branches", {{"main+16", "line 20 executed 0 taken 0"}}},
                 {"loops", {{"main+5..16", "line 8 iterations 0"}}}},
                "out of fuel at once");
}

BOOST_AUTO_TEST_CASE(every_backward_jump_is_a_loop_executed_or_not) {
    Pair pair;
    // Unreachable backward jumps.
    pair.load(assemble(R"(.func main 0 1
    push 0
    store 0
    jmp skip
back:
    push 1
    jz back
    jmp back
skip:
    push 5
    ret
.end
)",
                       "t.opasm"),
              {});
    BOOST_TEST(pair.run() == "=> 5");
    check_exact(pair,
                {{"summary", {{"total_instructions", "5"}, {"unique_instructions", "5"}, {"max_call_depth", "1"}}},
                 {"loops", {{"main+3..4", "line 6 iterations 0"}, {"main+3..5", "line 6 iterations 0"}}},
                 {"branches", {{"main+4", "line 7 executed 0 taken 0"}}}},
                "unexecuted backward jumps");

    // A loop tested at the top whose body leaves on its first pass: the back edge (main+12) never runs.
    pair.load(assemble(R"(.func main 0 1
    push 0
    store 0
top:
    load 0
    push 3
    lt
    jz done
    push 1
    jnz done
    load 0
    push 1
    add
    store 0
    jmp top
done:
    push 0
    ret
.end
)",
                       "t.opasm"),
              {});
    BOOST_TEST(pair.run() == "=> 0");
    check_exact(pair, {{"loops", {{"main+2..12", "line 5 iterations 0"}}}}, "a loop left on its first pass");
}

// docs/profile-format.md, "Which entries are listed": every bytecode function and every conditional jump is
// listed, called or run or not; natives, hotspots and lines only when they ran. And `stack.max_depth` is
// per frame: main holds 3 values when it calls f, whose 2 make 5 on the stack, but no frame holds more
// than 4.
BOOST_AUTO_TEST_CASE(zero_count_entries_and_the_per_frame_stack_depth) {
    Pair pair;
    pair.load(assemble(R"(.func unused 0 0
    push 1
    jz out
out:
    push 2
    call sqrt
    ret
.end
.func f 0 0
    push 1
    push 2
    add
    ret
.end
.func main 0 0
    push 7
    push 8
    push 9
    call f
    pop
    pop
    pop
    ret
.end
)",
                       "t.opasm"),
              {});
    BOOST_TEST(pair.run() == "=> 7");
    check_exact(pair,
                {{"summary", {{"total_instructions", "12"}, {"unique_instructions", "12"}, {"max_call_depth", "2"}}},
                 {"functions", {{"unused", "calls 0"}, {"f", "calls 1"}, {"main", "calls 1"}}},
                 {"branches", {{"unused+1", "line 3 executed 0 taken 0"}}},
                 {"lines",
                  {{"10", "1"}, {"11", "1"}, {"12", "1"}, {"13", "1"}, {"16", "1"}, {"17", "1"}, {"18", "1"},
                   {"19", "1"}, {"20", "1"}, {"21", "1"}, {"22", "1"}, {"23", "1"}}},
                 {"frames", {{"pushed", "2"}, {"popped", "2"}, {"max_depth", "2"}}},
                 {"stack", {{"pushes", "7"}, {"pops", "7"}, {"max_depth", "4"}}}},
                "zero counts");
}

// docs/profile-format.md, `loops`: the compiler's loop is one backward jump, at the bottom, to the body.
BOOST_AUTO_TEST_CASE(a_compiled_while_loop_is_one_loop_at_its_body) {
    Pair pair;
    const Program program = compile_source("let i = 0;\nwhile (i < 3) {\n    i = i + 1;\n    if (i == 9) { break; }\n}\n"
                                           "print(i);\n",
                                           "t.ops", {});
    pair.load(program, {});
    BOOST_TEST(pair.run() == "3\n=> nil");
    const test::GroupView loops = group(count_view(pair.counting.profile()), "loops");
    BOOST_TEST_REQUIRE(loops.size() == 1u);
    BOOST_TEST(loops.begin()->second == "line 3 iterations 3");  // the body's first statement; three passes
    BOOST_TEST(pair.differences() == "");
}

// docs/profile-format.md, "Faults": a native that throws was called (it ran), and its call instruction is
// executed with its full stack effect; no pair follows it.
BOOST_AUTO_TEST_CASE(a_native_that_throws_counts_as_called) {
    Pair pair;
    const auto refuse = [](Machine&, std::span<const Value>) -> Value { throw Fault("refused"); };
    pair.counting.register_native("refuse", 1, refuse);
    pair.naive.register_native("refuse", 1, refuse);
    pair.plain.register_native("refuse", 1, refuse);
    pair.load(assemble(".func main 0 0\n    push 1\n    call refuse\n    ret\n.end\n", "t.opasm"), {});
    BOOST_TEST(pair.run() == "error: in native 'refuse': refused\n  at main+1 (t.opasm:3)");
    check_exact(pair,
                {{"summary", {{"total_instructions", "2"}, {"unique_instructions", "2"}, {"max_call_depth", "1"}}},
                 {"functions", {{"main", "calls 1"}, {"refuse", "calls 1 native"}}},
                 {"stack", {{"pushes", "2"}, {"pops", "1"}, {"max_depth", "1"}}},
                 {"opcode_pairs", {{"push call", "1"}}}},
                "a native that throws");
}

// docs/profile-format.md, "Pausing": recording stops after the `call` of profile_stop() (counted) and
// resumes after the `call` of profile_start() (not counted); a pair counts only when both its instructions do.
BOOST_AUTO_TEST_CASE(where_pausing_and_resuming_fall) {
    Pair pair;
    pair.load(assemble(R"(.func main 0 0
    push 1
    pop
    call pstop
    pop
    push 2
    pop
    call pstart
    pop
    push 3
    ret
.end
)",
                       "t.opasm"),
              {});
    BOOST_TEST(pair.run() == "=> 3");
    check_exact(pair,
                {{"summary", {{"total_instructions", "6"}, {"unique_instructions", "6"}, {"max_call_depth", "1"}}},
                 {"instructions",
                  {{"main+0", "push line 2 x1"}, {"main+1", "pop line 3 x1"}, {"main+2", "call line 4 x1"},
                   {"main+7", "pop line 9 x1"}, {"main+8", "push line 10 x1"}, {"main+9", "ret line 11 x1"}}},
                 {"functions", {{"main", "calls 1"}, {"pstop", "calls 1 native"}}},
                 {"opcode_pairs", {{"push pop", "1"}, {"pop call", "1"}, {"pop push", "1"}, {"push ret", "1"}}}},
                "pause and resume");
}

// A loop's body calls a native; the third call looks at the profile mid-run (the blocks the live frames
// are in count as run to their ends), or resets it (what the rest of those blocks runs then counts). The
// loop's blocks include the residual one, whose entries follow from the instructions run, so both views
// need the instructions run up to the native, in the counts' terms.
BOOST_AUTO_TEST_CASE(mid_run_profiles_and_resets_count_the_residual_block_exactly) {
    const Program program = assemble(R"(.func main 0 1
    push 0
    store 0
    jmp test
body:
    call probe
    pop
    load 0
    push 1
    add
    store 0
test:
    load 0
    push 5
    lt
    jnz body
    push 0
    ret
.end
)",
                                     "probe.opasm");
    for (const bool reset : {false, true}) {
        Vm<CountingProfiler> vm;
        int calls = 0;
        Profile mid;
        vm.register_native("probe", 0, [&](Machine&, std::span<const Value>) {
            if (++calls == 3) {
                if (reset) vm.reset_profile();
                else mid = vm.profile();
            }
            return Value::nil();
        });
        vm.load(program);
        BOOST_TEST(vm.linked().residual() != BlockDerivation::kNone);
        vm.run();
        const Profile& p = reset ? vm.profile() : mid;
        std::map<std::uint32_t, std::uint64_t> counts;
        for (const InstructionStats& i : p.instructions->entries) counts[i.offset] = i.count;
        // Mid-run: three entries of the body (the third in the native) and of the test; nothing after.
        // Reset: the rest of the third iteration (pop .. store), then two more, the last test and the exit.
        const std::map<std::uint32_t, std::uint64_t> expected =
            reset ? std::map<std::uint32_t, std::uint64_t>{{3, 2}, {4, 3}, {5, 3}, {6, 3}, {7, 3}, {8, 3}, {9, 3},
                                                           {10, 3}, {11, 3}, {12, 3}, {13, 1}, {14, 1}}
                  : std::map<std::uint32_t, std::uint64_t>{{0, 1}, {1, 1}, {2, 1}, {3, 3}, {4, 3}, {5, 3}, {6, 3},
                                                           {7, 3}, {8, 3}, {9, 3}, {10, 3}, {11, 3}, {12, 3}};
        BOOST_TEST(counts == expected, (reset ? "reset" : "mid-run profile"));
        BOOST_TEST(p.summary->total_instructions == (reset ? 31u : 33u));
    }
}

BOOST_AUTO_TEST_CASE(native_calls_are_counted_as_native_functions) {
    Pair pair;
    pair.load(assemble(R"(.func main 0 0
    push 16
    call sqrt
    print
    call clock
    pop
    push 16
    call sqrt
    ret
.end
)",
                       "t.opasm"),
              {});
    BOOST_TEST(pair.run() == "4.0\n=> 4.0");
    check_exact(pair,
                {{"functions", {{"main", "calls 1"}, {"sqrt", "calls 2 native"}, {"clock", "calls 1 native"}}},
                 {"call_graph", {{"<host> -> main", "1"}, {"main -> sqrt", "2"}, {"main -> clock", "1"}}},
                 {"frames", {{"pushed", "1"}, {"popped", "1"}, {"max_depth", "1"}}},
                 {"stack", {{"pushes", "5"}, {"pops", "5"}, {"max_depth", "1"}}},
                 {"opcode_pairs",
                  {{"push call", "2"}, {"call print", "1"}, {"print call", "1"}, {"call pop", "1"}, {"pop push", "1"},
                   {"call ret", "1"}}}},
                "natives");
}

BOOST_AUTO_TEST_CASE(runs_on_one_vm_add_up) {
    Pair pair;
    pair.load(assemble(test::opasm_example_sized("fib.opasm", 10), "fib.opasm"), {});
    pair.run();
    pair.run();
    check_exact(pair,
                {{"summary", {{"total_instructions", "3540"}, {"unique_instructions", "20"}, {"max_call_depth", "11"}}},
                 {"functions", {{"main", "calls 2"}, {"fib", "calls 354"}}},
                 {"call_graph", {{"<host> -> main", "2"}, {"main -> fib", "2"}, {"fib -> fib", "352"}}},
                 {"frames", {{"pushed", "356"}, {"popped", "356"}, {"max_depth", "11"}}}},
                "fib(10) twice");
    // A run's first instruction does not pair with the previous run's last.
    BOOST_TEST(!group(count_view(pair.counting.profile()), "opcode_pairs").contains("halt push"));
}

BOOST_AUTO_TEST_CASE(compiled_examples_count_exactly) {
    Pair pair;
    const std::pair<const char*, std::pair<const char*, const char*>> examples[] = {
        {"fib.ops", {"let N = 30;", "let N = 12;"}},
        {"loop.ops", {"let N = 100000000;", "let N = 3000;"}},
        {"sieve.ops", {"let N = 2000000;", "let N = 500;"}},
        {"calls.ops", {"let N = 10000000;", "let N = 2000;"}},
        {"trees.ops", {"let D = 16;", "let D = 5;"}},
        {"callgraph.ops", {"let N = 2000000;", "let N = 300;"}},
        {"hello.ops", {"", ""}},
    };
    for (const auto& [name, change] : examples) {
        std::string source = test::example_text(name);
        if (*change.first) source = test::replaced(source, change.first, change.second);
        pair.load(compile_source(source, name), {});
        pair.run();
        check_exact(pair, {}, name);
    }
}

// Calls that push their last argument, returns of an expression and in-place updates (fused for Counting too):
// exact at every fuel limit, where a run may stop on landing after any call or return, and with a call-depth
// limit that stops a fused call after its push.
BOOST_AUTO_TEST_CASE(fused_calls_and_returns_count_exactly_at_every_fuel_limit) {
    const std::string_view kProgram = test::kFusedCallsProgram;
    const Program program = assemble(kProgram, "t.opasm");
    Pair pair;
    pair.load(program, {});
    BOOST_TEST(pair.run().starts_with("144\n121\n81\n"));
    check_exact(pair, {}, "whole run");
    std::set<Op> linked;
    for (const Instr& in : pair.counting.linked().code()) linked.insert(op_of(in));
    for (const Op op : {Op::add_l_ret, Op::mul_l_ret, Op::call_k, Op::call_l, Op::add_lks_x, Op::sub_lls_x, Op::sub_lks_x})
        BOOST_TEST(linked.count(op) == 1u, mnemonic(op));
    const std::uint64_t executed = pair.naive.profile().summary->total_instructions;
    for (std::uint64_t fuel = 1; fuel <= executed; ++fuel) {
        pair.load(program, Limits{.fuel = fuel});
        pair.run();
        check_exact(pair, {}, "fuel " + std::to_string(fuel));
    }
    pair.load(program, Limits{.max_call_depth = 1});
    BOOST_TEST(pair.run().starts_with("error: call depth limit exceeded"));
    check_exact(pair, {}, "call depth 1");
}

// --- inclusive instructions (docs/profile-format.md, "Inclusive instructions") --------------------------

// The inclusive instructions of `p`: per function, per edge ("caller -> callee") and per site ("caller+offset").
struct Inclusive {
    std::map<std::string, std::uint64_t> function, edge, site;
    std::map<std::string, std::uint64_t> site_calls;
};
Inclusive inclusive_of(const Profile& p) {
    Inclusive out;
    for (const FunctionStats& f : p.functions->entries) out.function[f.name] = f.inclusive_instructions.value();
    for (const CallEdge& e : p.call_graph->entries) {
        out.edge[(e.caller.empty() ? "<host>" : e.caller) + " -> " + e.callee] = e.inclusive_instructions.value();
        std::uint64_t sites = 0;
        for (const CallSite& s : e.sites) {
            out.site[e.caller + "+" + std::to_string(s.offset)] = s.inclusive_instructions.value();
            out.site_calls[e.caller + "+" + std::to_string(s.offset)] = s.calls;
            sites += s.inclusive_instructions.value();
        }
        if (!e.caller.empty()) BOOST_TEST(sites == *e.inclusive_instructions, "an edge's inclusive is its sites'");
    }
    return out;
}

// fib(n)'s activation: a leaf runs 6 instructions, any other 14 of its own plus its two calls'.
std::uint64_t fib_activation(int n) { return n < 2 ? 6 : 14 + fib_activation(n - 1) + fib_activation(n - 2); }
// Every activation under fib(n), fib(n) included.
std::uint64_t fib_activations(int n) { return fib_activation(n) + (n < 2 ? 0 : fib_activations(n - 1) + fib_activations(n - 2)); }

BOOST_AUTO_TEST_CASE(inclusive_instructions_of_fib_count_a_recursive_activation_once_per_function) {
    Pair pair;
    pair.load(assemble(test::opasm_example_sized("fib.opasm", 10), "fib.opasm"), {});
    BOOST_TEST(pair.run() == "55\n=> nil");
    check_exact(pair, {}, "fib(10)");
    const Profile p = pair.counting.profile();
    const Inclusive incl = inclusive_of(p);
    const std::uint64_t total = p.summary->total_instructions;  // 1770
    BOOST_TEST(total == 1770u);
    BOOST_TEST(incl.function.at("main") == total);
    BOOST_TEST(incl.function.at("fib") == total - 4);  // all but main's push, call, print, halt
    BOOST_TEST(incl.function.at("fib") == fib_activation(10));
    BOOST_TEST(incl.edge.at("<host> -> main") == total);
    BOOST_TEST(incl.edge.at("main -> fib") == fib_activation(10));
    BOOST_TEST(incl.site.at("main+1") == fib_activation(10));
    // Each recursive call adds its own cost: the edge counts nested activations again and again, so it is
    // far more than the total (as callgrind's calls= lines are).
    BOOST_TEST(incl.edge.at("fib -> fib") == fib_activations(10) - fib_activation(10));
    BOOST_TEST(incl.edge.at("fib -> fib") > total);
    // fib(n - 1) from offset 9, fib(n - 2) from offset 13, each 88 times.
    BOOST_TEST(incl.site_calls.at("fib+9") == 88u);
    BOOST_TEST(incl.site_calls.at("fib+13") == 88u);
    std::uint64_t first = 0, second = 0;
    for (int n = 2; n <= 10; ++n) {  // how often fib(n) runs, times what its calls cost
        const auto runs = [](int k) {
            std::uint64_t a = 1, b = 1;  // fib(k) runs fibonacci(10 - k + 1) times under fib(10)
            for (int i = k; i < 10; ++i) std::tie(a, b) = std::pair(b, a + b);
            return k == 10 ? std::uint64_t{1} : a;
        };
        first += runs(n) * fib_activation(n - 1);
        second += runs(n) * fib_activation(n - 2);
    }
    BOOST_TEST(incl.site.at("fib+9") == first);
    BOOST_TEST(incl.site.at("fib+13") == second);
    const auto& sites = p.call_graph->entries;
    const auto edge = std::find_if(sites.begin(), sites.end(), [](const CallEdge& e) { return e.caller == "fib"; });
    BOOST_TEST_REQUIRE(edge->sites.size() == 2u);
    BOOST_TEST(edge->sites[0].line == 13u);  // `call fib` lines of fib.opasm
    BOOST_TEST(edge->sites[1].line == 17u);
}

// a(n) calls b(n - 1) while n > 0, b(n) calls a(n): an activation of a is nested in another of a through b.
constexpr std::string_view kMutual = R"(.func main 0 0
    push 3
    call a
    ret
.end
.func a 1 1
    load 0
    jz done
    load 0
    push 1
    sub
    call b
    ret
done:
    push 0
    ret
.end
.func b 1 1
    load 0
    call a
    ret
.end
)";

BOOST_AUTO_TEST_CASE(inclusive_instructions_of_mutual_recursion) {
    Pair pair;
    pair.load(assemble(kMutual, "t.opasm"), {});
    BOOST_TEST(pair.run() == "=> 0");
    check_exact(pair, {}, "a -> b -> a");
    const Inclusive incl = inclusive_of(pair.counting.profile());
    // a(0) runs 4, b(n) 3 + a(n), a(n > 0) 7 + b(n - 1): a(0) 4, b(0) 7, a(1) 14, b(1) 17, a(2) 24, b(2) 27,
    // a(3) 34; main 3 + a(3) = 37.
    BOOST_TEST(incl.function.at("main") == 37u);
    BOOST_TEST(incl.function.at("a") == 34u);  // the outermost a(3) only
    BOOST_TEST(incl.function.at("b") == 27u);  // the outermost b(2) only
    BOOST_TEST(incl.edge.at("main -> a") == 34u);
    BOOST_TEST(incl.edge.at("a -> b") == 27u + 17u + 7u);   // every call's own cost
    BOOST_TEST(incl.edge.at("b -> a") == 24u + 14u + 4u);
}

BOOST_AUTO_TEST_CASE(inclusive_instructions_of_frames_a_fault_halt_or_fuel_leaves_live) {
    {  // main -> f -> g, whose div faults: each live frame ran up to the fault, the faulting div included
        Pair pair;
        pair.load(assemble(test::kThreeDeep, "t.opasm"), {});
        BOOST_TEST(pair.run().starts_with("error: division by zero"));
        check_exact(pair, {}, "fault at depth 3");
        const Inclusive incl = inclusive_of(pair.counting.profile());
        BOOST_TEST(incl.function.at("main") == 7u);
        BOOST_TEST(incl.function.at("f") == 5u);
        BOOST_TEST(incl.function.at("g") == 3u);
        BOOST_TEST(incl.edge.at("f -> g") == 3u);
    }
    {  // `halt` in b under a under main
        Pair pair;
        pair.load(assemble(".func main 0 0\n    call a\n    ret\n.end\n.func a 0 0\n    call b\n    ret\n.end\n"
                           ".func b 0 0\n    push 7\n    print\n    halt\n.end\n",
                           "t.opasm"),
                  {});
        BOOST_TEST(pair.run() == "7\n=> nil");
        check_exact(pair, {}, "halt at depth 3");
        const Inclusive incl = inclusive_of(pair.counting.profile());
        BOOST_TEST(incl.function.at("main") == 5u);
        BOOST_TEST(incl.function.at("a") == 4u);
        BOOST_TEST(incl.function.at("b") == 3u);
    }
    {  // fib(10) out of fuel part way: main = the instructions run, fib = all but main's two
        Pair pair;
        pair.load(assemble(test::opasm_example_sized("fib.opasm", 10), "fib.opasm"), Limits{.fuel = 500});
        BOOST_TEST(pair.run().starts_with("error: fuel exhausted"));
        check_exact(pair, {}, "fib(10) out of fuel");
        const Profile p = pair.counting.profile();
        const Inclusive incl = inclusive_of(p);
        BOOST_TEST(incl.function.at("main") == p.summary->total_instructions);
        BOOST_TEST(incl.function.at("fib") == p.summary->total_instructions - 2);
        BOOST_TEST(incl.edge.at("main -> fib") == p.summary->total_instructions - 2);
    }
}

// docs/profile-format.md, "Inclusive instructions": only instructions run while recording count, whenever
// their call was made.
BOOST_AUTO_TEST_CASE(inclusive_instructions_across_a_pause) {
    {  // f pauses and resumes inside itself: its 3 + 3 recorded instructions
        Pair pair;
        pair.load(assemble(R"(.func main 0 0
    call f
    pop
    push 1
    ret
.end
.func f 0 0
    push 1
    pop
    call pstop
    pop
    push 2
    pop
    call pstart
    pop
    push 3
    ret
.end
)",
                           "t.opasm"),
                  {});
        BOOST_TEST(pair.run() == "=> 1");
        check_exact(pair, {}, "a pause inside f");
        const Inclusive incl = inclusive_of(pair.counting.profile());
        BOOST_TEST(pair.counting.profile().summary->total_instructions == 10u);
        BOOST_TEST(incl.function.at("main") == 10u);
        BOOST_TEST(incl.function.at("f") == 6u);
        BOOST_TEST(incl.edge.at("main -> f") == 6u);
        BOOST_TEST(incl.edge.at("f -> pstop") == 0u);
    }
    {  // f is called while paused and resumes recording: no call recorded, but its last 3 instructions
        Pair pair;
        pair.load(assemble(R"(.func main 0 0
    call pstop
    pop
    call f
    pop
    push 1
    ret
.end
.func f 0 0
    call pstart
    pop
    push 2
    ret
.end
)",
                           "t.opasm"),
                  {});
        BOOST_TEST(pair.run() == "=> 1");
        check_exact(pair, {}, "f called while paused");
        const Profile p = pair.counting.profile();
        const Inclusive incl = inclusive_of(p);
        BOOST_TEST(p.summary->total_instructions == 7u);
        BOOST_TEST(incl.function.at("main") == 7u);
        BOOST_TEST(incl.function.at("f") == 3u);
        BOOST_TEST(incl.edge.at("main -> f") == 3u);
        const auto edge = std::find_if(p.call_graph->entries.begin(), p.call_graph->entries.end(),
                                       [](const CallEdge& e) { return e.caller == "main" && e.callee == "f"; });
        BOOST_TEST(edge->calls == 0u);
        BOOST_TEST_REQUIRE(edge->sites.size() == 1u);
        BOOST_TEST(edge->sites[0].calls == 0u);
        BOOST_TEST(edge->sites[0].offset == 2u);
    }
}

// A native may run another Counting VM's loop on the same thread, inside this one's: each VM's leaders count
// into its own tables (the thread's counter offset is put back when the inner loop stops, by returning or by a
// fault), so all three profiles equal those of the same runs made one VM at a time.
BOOST_AUTO_TEST_CASE(a_native_running_other_counting_vms_leaves_every_count_exact) {
    const Program outer_program = compile_source(
        "fn work(n) {\n    let s = 0;\n    for (let i = 0; i < n; i = i + 1) {\n"
        "        if (i % 3 == 0) { s = s + nested(i); } else { s = s + i % 7; }\n    }\n    return s;\n}\n"
        "print(work(200));\n", "outer.ops", {{"nested", 1}});
    const Program inner_program = compile_source(
        "fn f(n) {\n    let s = 0;\n    for (let i = 0; i < n; i = i + 1) { if (i % 2 == 0) { s = s + i; } }\n"
        "    return s;\n}\nprint(f(40));\n", "inner.ops");
    const Program faulting_program = compile_source(
        "fn g(n) {\n    let s = 0;\n    for (let i = 0; i < n; i = i + 1) { s = s + i; }\n    return s / (n - n);\n}\n"
        "print(g(25));\n", "faulting.ops");
    std::ostringstream sink;
    const auto loaded = [&](Vm<CountingProfiler>& vm, const Program& program) {
        vm.set_output(sink);
        vm.load(program);
    };
    Vm<CountingProfiler> inner, faulting, outer, inner_alone, faulting_alone, outer_alone;
    loaded(inner, inner_program);
    loaded(faulting, faulting_program);
    loaded(inner_alone, inner_program);
    loaded(faulting_alone, faulting_program);
    // Odd arguments run `inner`, even ones `faulting` (which fails with a division by zero); both return n.
    const auto run_other = [](Vm<CountingProfiler>& vm, std::int64_t n) {
        if (n % 2 == 0) {
            BOOST_CHECK_THROW(vm.run(), RuntimeError);
        } else {
            vm.run();
        }
    };
    outer.register_native("nested", 1, [&](Machine&, std::span<const Value> args) {
        run_other(args[0].as.i % 2 == 0 ? faulting : inner, args[0].as.i);
        return args[0];
    });
    outer_alone.register_native("nested", 1, [](Machine&, std::span<const Value> args) { return args[0]; });
    loaded(outer, outer_program);
    loaded(outer_alone, outer_program);
    const auto& code = outer.linked().code();
    BOOST_REQUIRE(std::count_if(code.begin(), code.end(), [](const Instr& in) { return is_leader(in); }) > 0);

    outer.run();
    outer_alone.run();
    for (std::int64_t n = 0; n < 200; n += 3) run_other(n % 2 == 0 ? faulting_alone : inner_alone, n);

    BOOST_TEST(outer.profile().instructions->entries == outer_alone.profile().instructions->entries);
    BOOST_TEST(inner.profile().instructions->entries == inner_alone.profile().instructions->entries);
    BOOST_TEST(faulting.profile().instructions->entries == faulting_alone.profile().instructions->entries);
    BOOST_TEST(outer.profile().summary->total_instructions == outer_alone.profile().summary->total_instructions);
    BOOST_TEST(inner.profile().summary->total_instructions > 0u);
}

BOOST_AUTO_TEST_CASE(functions_have_their_file_and_first_line) {
    Pair pair;
    pair.load(compile_source("let x = 1;\n\nfn f(a) {\n    return a + 1;\n}\n\nprint(f(x));\n", "t.ops", {}), {});
    BOOST_TEST(pair.run() == "2\n=> nil");
    const Profile p = pair.counting.profile();
    for (const FunctionStats& f : p.functions->entries) {
        BOOST_TEST((f.file == std::optional<std::string>("t.ops")));
        BOOST_TEST((f.line == (f.name == "f" ? std::optional<std::uint32_t>(4) : std::optional<std::uint32_t>(1))), f.name);
    }
    BOOST_TEST(p.summary->start_unix_ns.has_value());
    BOOST_TEST(*p.summary->start_unix_ns > 1'600'000'000'000'000'000u);  // after 2020
}

BOOST_AUTO_TEST_SUITE_END()
