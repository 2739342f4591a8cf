// The shared benchmark workloads (../shared/bench/ALGORITHMS.md) in hand-written assembly, run by the VM.
//
// Each program is examples/<name>.opasm; the literal on its `; @size` line is replaced by the benchmark's
// size, and the output is checked against an independent C++ computation once per benchmark (a wrong answer
// fails the benchmark). OPSCOPE_BENCH_SMOKE=1 runs tiny sizes, for CI.
#include <opscope/opscope.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Workload {
    const char* name;
    std::int64_t size;
    std::int64_t smoke_size;
    std::int64_t (*expected)(std::int64_t size);
};

std::int64_t fib(std::int64_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
std::int64_t loop(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum = (sum + i) % 1000003;
    return sum;
}
std::int64_t sieve(std::int64_t n) {
    std::vector<bool> flags(static_cast<std::size_t>(n + 1), true);
    std::int64_t count = 0;
    for (std::int64_t i = 2; i * i <= n; ++i)
        if (flags[static_cast<std::size_t>(i)])
            for (std::int64_t j = i * i; j <= n; j += i) flags[static_cast<std::size_t>(j)] = false;
    for (std::int64_t k = 2; k <= n; ++k) count += flags[static_cast<std::size_t>(k)];
    return count;
}
std::int64_t calls(std::int64_t n) {
    std::int64_t s = 0;
    for (std::int64_t i = 0; i < n; ++i) s = s + i + 1;
    return s;
}

const Workload kWorkloads[] = {
    {"fib", 30, 15, fib},
    {"loop", 100'000'000, 100'000, loop},
    {"sieve", 2'000'000, 20'000, sieve},
    {"calls", 10'000'000, 10'000, calls},
};

bool smoke() {
    const char* v = std::getenv("OPSCOPE_BENCH_SMOKE");
    return v && *v && std::string(v) != "0";
}

// The workload's assembly with its size substituted.
std::string workload_source(const Workload& w, std::int64_t size) {
    const std::string text = opscope::read_text_file(std::string(OPSCOPE_SOURCE_DIR) + "/examples/" + w.name + ".opasm");
    static const std::regex size_line(R"(push\s+-?\d+(\s*;\s*@size))");
    return std::regex_replace(text, size_line, "push " + std::to_string(size) + "$1");
}

template <class Profiler>
void BM_Run(benchmark::State& state, const Workload& w) {
    const std::int64_t size = smoke() ? w.smoke_size : w.size;
    opscope::Vm<Profiler> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(opscope::assemble(workload_source(w, size), std::string(w.name) + ".opasm"));
    const std::string expected = std::to_string(w.expected(size)) + "\n";
    vm.run();
    if (out.str() != expected) {
        state.SkipWithError(("wrong output: " + out.str()).c_str());
        return;
    }
    std::uint64_t instructions = 0;
    {
        // Count the instructions once, exactly, with a fuel budget (fuel_used() is exact on success).
        opscope::Vm<Profiler> counter(opscope::Limits{.fuel = std::uint64_t{1} << 62});
        std::ostringstream ignored;
        counter.set_output(ignored);
        counter.load(vm.program());
        counter.run();
        instructions = counter.fuel_used();
    }
    for (auto _ : state) {
        out.str({});
        benchmark::DoNotOptimize(vm.run());
    }
    state.counters["instr/s"] = benchmark::Counter(static_cast<double>(instructions * state.iterations()),
                                                   benchmark::Counter::kIsRate);
    state.counters["instructions"] = static_cast<double>(instructions);
}

} // namespace

int main(int argc, char** argv) {
    for (const Workload& w : kWorkloads)
        benchmark::RegisterBenchmark((std::string(w.name) + "/null").c_str(),
                                     [&w](benchmark::State& s) { BM_Run<opscope::NullProfiler>(s, w); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
