// Every workload (benchmarks/workloads.hpp) under every built-in policy: `<workload>/<policy>`.
//
// The program's output is checked against an independent C++ computation once per benchmark (a wrong answer
// fails it). `instr/s` counts the program's own instructions (exact: the fuel a run uses). Each timed
// iteration is one whole run after reset_profile(), so the policies' recording cost is included and the
// profile does not grow across iterations; producing the report is not. OPSCOPE_BENCH_SMOKE=1 runs tiny
// sizes, for CI. For overhead ratios use benchmarks/overhead.sh, which interleaves the policies.
//
// Thread scaling: `threads/fib/<policy>/real_time/threads:N` runs N VMs at once, one per thread (each its own
// Vm, as BM_Run builds one per thread), N = 1, 2, 4, 8; `instr/s` is summed over the threads, so it is the
// throughput of all N against wall time. Select them with --benchmark_filter=threads/.
#include "workloads.hpp"

#include <opscope/policies/counting.hpp>
#include <opscope/policies/full.hpp>
#include <opscope/policies/timing.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <sstream>
#include <string>

namespace {

using namespace opscope;

// main's exit status reports them: a wrong answer fails the run, smoke mode included (threads: atomic).
std::atomic<int> g_wrong_outputs{0};

// The instructions a run of `program` executes (fuel_used() is exact after a successful run).
std::uint64_t instructions_of(const Program& program) {
    Vm<NullProfiler> vm(Limits{.fuel = std::uint64_t{1} << 62});
    std::ostringstream ignored;
    vm.set_output(ignored);
    vm.load(program);
    vm.run();
    return vm.fuel_used();
}

template <class Profiler>
void BM_Run(benchmark::State& state, const bench::Workload& w) {
    const std::int64_t size = bench::smoke_mode() ? w.smoke_size : w.size;
    const Program program = bench::load_workload(OPSCOPE_SOURCE_DIR, w, size);
    Vm<Profiler> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(program);
    vm.run();
    if (out.str() != bench::expected_output(w, size)) {
        ++g_wrong_outputs;
        state.SkipWithError(("wrong output: " + out.str() + " expected " + bench::expected_output(w, size)).c_str());
        return;
    }
    const std::uint64_t instructions = instructions_of(program);
    for (auto _ : state) {
        state.PauseTiming();
        out.str({});
        if constexpr (requires { vm.reset_profile(); }) vm.reset_profile();
        state.ResumeTiming();
        benchmark::DoNotOptimize(vm.run());
    }
    state.counters["instr/s"] = benchmark::Counter(static_cast<double>(instructions * state.iterations()),
                                                   benchmark::Counter::kIsRate);
    state.counters["instructions"] = static_cast<double>(instructions);
}

template <class Profiler>
void register_policy(const bench::Workload& w) {
    const std::string name = std::string(w.name) + "/" + std::string(policy_name<Profiler>());
    benchmark::RegisterBenchmark(name.c_str(), [&w](benchmark::State& s) { BM_Run<Profiler>(s, w); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}

// N VMs on N threads (Google Benchmark runs the body once per thread, so each thread builds its own VM).
template <class Profiler>
void register_threaded(const bench::Workload& w) {
    const std::string name = "threads/" + std::string(w.name) + "/" + std::string(policy_name<Profiler>());
    benchmark::RegisterBenchmark(name.c_str(), [&w](benchmark::State& s) { BM_Run<Profiler>(s, w); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->ThreadRange(1, 8);
}

} // namespace

int main(int argc, char** argv) {
    for (const bench::Workload& w : bench::kWorkloads) {
        register_policy<NullProfiler>(w);
        register_policy<CountingProfiler>(w);
        register_policy<TimingProfiler>(w);
        register_policy<FullProfiler>(w);
    }
    register_threaded<NullProfiler>(bench::find_workload("fib"));
    register_threaded<FullProfiler>(bench::find_workload("fib"));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return g_wrong_outputs == 0 ? 0 : 1;
}
