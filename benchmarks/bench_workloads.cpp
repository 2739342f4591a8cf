// Every workload (benchmarks/workloads.hpp) under every built-in policy: `<workload>/<policy>`.
//
// The program's output is checked against an independent C++ computation once per benchmark (a wrong answer
// fails it). `instr/s` counts the program's own instructions (exact: the fuel a run uses). Each timed
// iteration is one whole run after reset_profile(), so the policies' recording cost is included and the
// profile does not grow across iterations; producing the report is not. OPSCOPE_BENCH_SMOKE=1 runs tiny
// sizes, for CI. For overhead ratios use benchmarks/overhead.sh, which interleaves the policies.
//
// Thread scaling: `threads/fib/<policy>/N/real_time` runs N VMs at once, one per thread, N = 1, 2, 4, 8
// (BM_Threads); select them with --benchmark_filter=threads/. The cost of a snapshot: `snapshot/...`.
#include "workloads.hpp"

#include <opscope/policies/counting.hpp>
#include <opscope/policies/full.hpp>
#include <opscope/policies/timing.hpp>

#include <benchmark/benchmark.h>

#include <ctime>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace opscope;

int g_wrong_outputs = 0;  // main's exit status reports them: a wrong answer fails the run, smoke mode included

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

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// N VMs on N threads: each timed iteration starts N threads, each running the workload once on a VM of its
// own (built and loaded beforehand; a VM moves between threads from run to run, ordered by the joins), and
// waits for all of them. `instr/s` is the throughput of all N against wall time; `runs/s` likewise;
// `instr/cpu-s` is per CPU second of the VMs' threads, which stays flat while the threads do not slow each
// other down (shared caches, memory bandwidth, signal delivery), whatever else the machine runs.
template <class Profiler>
void BM_Threads(benchmark::State& state, const bench::Workload& w) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::int64_t size = bench::smoke_mode() ? w.smoke_size : w.size;
    const Program program = bench::load_workload(OPSCOPE_SOURCE_DIR, w, size);
    std::vector<std::unique_ptr<Vm<Profiler>>> vms;
    std::vector<std::ostringstream> outs(n);
    std::vector<double> cpu_seconds(n, 0.0);  // each VM's threads' CPU time in its runs
    for (std::size_t i = 0; i < n; ++i) {
        vms.push_back(std::make_unique<Vm<Profiler>>());
        vms[i]->set_output(outs[i]);
        vms[i]->load(program);
    }
    for (auto _ : state) {
        state.PauseTiming();
        for (std::size_t i = 0; i < n; ++i) {
            outs[i].str({});
            if constexpr (requires { vms[i]->reset_profile(); }) vms[i]->reset_profile();
        }
        state.ResumeTiming();
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < n; ++i)
            threads.emplace_back([&vm = *vms[i], &seconds = cpu_seconds[i]] {
                const double begin = thread_cpu_seconds();
                vm.run();
                seconds += thread_cpu_seconds() - begin;
            });
    }
    for (const std::ostringstream& out : outs)
        if (out.str() != bench::expected_output(w, size)) {
            ++g_wrong_outputs;
            state.SkipWithError(("wrong output: " + out.str() + " expected " + bench::expected_output(w, size)).c_str());
            return;
        }
    const auto runs = static_cast<double>(n * state.iterations());
    state.counters["instr/s"] = benchmark::Counter(runs * static_cast<double>(instructions_of(program)),
                                                   benchmark::Counter::kIsRate);
    state.counters["runs/s"] = benchmark::Counter(runs, benchmark::Counter::kIsRate);
    double cpu = 0;
    for (const double seconds : cpu_seconds) cpu += seconds;
    state.counters["instr/cpu-s"] = runs * static_cast<double>(instructions_of(program)) / cpu;
}

template <class Profiler>
void register_threads(const bench::Workload& w) {
    const std::string name = "threads/" + std::string(w.name) + "/" + std::string(policy_name<Profiler>());
    benchmark::RegisterBenchmark(name.c_str(), [&w](benchmark::State& s) { BM_Threads<Profiler>(s, w); })
        ->Arg(1)
        ->Arg(2)
        ->Arg(4)
        ->Arg(8)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}

// What a snapshot costs the VM: Vm::snapshot() of the profile of one whole run (the derivation and the split,
// which a running VM does at its safe point), per workload and policy: `snapshot/<workload>/<policy>`.
template <class Profiler>
void BM_Snapshot(benchmark::State& state, const bench::Workload& w) {
    const std::int64_t size = bench::smoke_mode() ? w.smoke_size : w.size;
    Vm<Profiler> vm;
    std::ostringstream out;
    vm.set_output(out);
    vm.load(bench::load_workload(OPSCOPE_SOURCE_DIR, w, size));
    for (auto _ : state) {
        state.PauseTiming();
        vm.run();  // an interval with something in it
        state.ResumeTiming();
        benchmark::DoNotOptimize(vm.snapshot());
    }
}

template <class Profiler>
void register_snapshot(const bench::Workload& w) {
    const std::string name = "snapshot/" + std::string(w.name) + "/" + std::string(policy_name<Profiler>());
    benchmark::RegisterBenchmark(name.c_str(), [&w](benchmark::State& s) { BM_Snapshot<Profiler>(s, w); })
        ->Iterations(bench::smoke_mode() ? 2 : 40)  // each iteration runs the workload first, untimed
        ->Unit(benchmark::kMicrosecond);
}

} // namespace

int main(int argc, char** argv) {
    for (const bench::Workload& w : bench::kWorkloads) {
        register_policy<NullProfiler>(w);
        register_policy<CountingProfiler>(w);
        register_policy<TimingProfiler>(w);
        register_policy<FullProfiler>(w);
    }
    register_threads<NullProfiler>(bench::find_workload("fib"));
    register_threads<FullProfiler>(bench::find_workload("fib"));
    for (const char* name : {"fib", "callgraph"}) {
        register_snapshot<CountingProfiler>(bench::find_workload(name));
        register_snapshot<FullProfiler>(bench::find_workload(name));
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return g_wrong_outputs == 0 ? 0 : 1;
}
