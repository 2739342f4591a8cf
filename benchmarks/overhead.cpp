// opscope_overhead: how much slower each profiling policy runs a workload than NullProfiler, measured so
// that a noisy machine cannot fake the answer. Per workload and policy it times PAIRS adjacent pairs of runs
// (Null then the policy, and the policy then Null on alternate pairs, so drift and warm-up cancel), takes the
// ratio within each pair, and reports the median ratio with its min and max (--rounds M: each process
// measures M pairs and gives their median, robust to load that comes and goes). Each timed sample repeats the
// run until it lasts at least --min-sample-ms, so short workloads are not lost in timer and scheduler noise.
// A policy run starts from reset_profile(); its recording cost is included, building the report is not.
// Time is the VM thread's CPU time (user + system: the kernel's signal delivery for the sampler counts) by
// default: on these shared 2-core VMs wall-clock pairs swing by ±30% from scheduling alone, while CPU-time
// pairs agree within a few percent. --clock wall measures wall time instead. Each pair is measured in a
// fresh process of its own (this program again, with --pair), because a process keeps a speed of its own
// for its lifetime: see measure_workload().
//
// `--policies ...,twin` adds a control row: NullTwin (below), Null's own interpreter in a second copy, whose
// "overhead" is what placement alone does to a workload (benchmarks/layouts.sh; BENCHMARKS.md section 9).
//
// Exits 1 if a policy's median exceeds its budget (Counting 5%, Timing 10%, Full 10%), 2 on bad arguments,
// 3 if a workload printed a wrong answer or failed. --smoke (tiny sizes, for CI) checks answers but not budgets. `benchmarks/overhead.sh` builds and runs this.
#include "workloads.hpp"

#include <opscope/policies/counting.hpp>
#include <opscope/policies/full.hpp>
#include <opscope/policies/timing.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

using namespace opscope;
using Clock = std::chrono::steady_clock;

// Seconds on the chosen clock: wall (steady_clock), or this thread's CPU time (user + system, so the
// kernel's work delivering the sampler's signals counts; time the thread spends descheduled does not).
bool g_thread_cpu_clock = false;
double now_seconds() {
    if (g_thread_cpu_clock) {
        timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    }
    return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

// One VM of some policy with the workload loaded: runs it `repeats` times and returns the seconds taken.
class Runner {
public:
    virtual ~Runner() = default;
    virtual double run(int repeats) = 0;
    virtual std::string_view policy() const = 0;
    std::string output() const { return output_.str(); }

protected:
    std::ostringstream output_;
};

template <class Profiler>
class PolicyRunner final : public Runner {
public:
    explicit PolicyRunner(const Program& program) {
        vm_.set_output(output_);
        vm_.load(program);
    }
    double run(int repeats) override {
        double seconds = 0;
        for (int i = 0; i < repeats; ++i) {
            output_.str({});
            if constexpr (requires { vm_.reset_profile(); }) vm_.reset_profile();
            const double start = now_seconds();
            vm_.run();
            seconds += now_seconds() - start;
        }
        return seconds;
    }
    std::string_view policy() const override { return policy_name<Profiler>(); }

private:
    Vm<Profiler> vm_;
};

// The control: a policy with no hooks, so Vm<NullTwin> compiles to the same machine code as Vm<NullProfiler>
// (checked in BENCHMARKS.md section 9: the same instructions, byte for byte but for rip-relative addresses), in
// an instantiation of its own that the compiler and linker place elsewhere. It adds no work, so the spread of
// its ratio to Null across builds is the part of every policy's ratio that is placement, not policy.
struct NullTwin {
    static constexpr std::string_view name = "twin";
};

struct Options {
    int pairs = 9;
    double min_sample_ms = 200;
    std::string summary_path;  // --summary FILE: one line per row, for scripts (benchmarks/layouts.sh)
    int rounds = 1;  // interleaved pairs of samples per process; the process's ratio is their median
    std::vector<std::string> workloads;
    std::vector<std::string> policies{"counting", "timing", "full"};
    std::map<std::string, std::int64_t> sizes;  // --sizes: instead of a workload's default size
    bool smoke = false;
    bool cpu_clock = true;
    // --pair WORKLOAD POLICY null-first|policy-first: measure one pair in this process (the parent's child).
    bool pair = false;
    std::string pair_workload, pair_policy;
    bool pair_policy_first = false;
};

std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

// What --policies accepts; make_runner builds each.
constexpr std::string_view kPolicyNames[] = {"counting", "timing", "full", "twin"};
const char* const kPolicyList = "counting, timing, full, twin";

std::unique_ptr<Runner> make_runner(const std::string& policy, const Program& program) {
    if (policy == "null") return std::make_unique<PolicyRunner<NullProfiler>>(program);
    if (policy == "counting") return std::make_unique<PolicyRunner<CountingProfiler>>(program);
    if (policy == "timing") return std::make_unique<PolicyRunner<TimingProfiler>>(program);
    if (policy == "full") return std::make_unique<PolicyRunner<FullProfiler>>(program);
    if (policy == "twin") return std::make_unique<PolicyRunner<NullTwin>>(program);
    throw std::invalid_argument("unknown policy '" + policy + "' (" + kPolicyList + ")");
}

std::int64_t size_of(const Options& options, const bench::Workload& w, bool smoke) {
    if (smoke) return w.smoke_size;
    const auto given = options.sizes.find(std::string(w.name));
    return given == options.sizes.end() ? w.size : given->second;
}

// The twin has no budget: it is the control the budgets are read against.
std::optional<double> budget_of(const std::string& policy) {
    if (policy == "twin") return std::nullopt;
    return policy == "counting" ? 0.05 : 0.10;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

const char* kUsage =
    "usage: opscope_overhead [--pairs N] [--rounds M] [--min-sample-ms MS] [--workloads a,b,...] [--policies p,q,...]\n"
    "                        [--sizes w=N,...] [--clock wall|cpu] [--smoke]\n"
    "                        [--summary FILE]\n"
    "  workloads: fib loop sieve calls trees callgraph (default: all); policies: counting timing full (default), twin\n";

Options parse(int argc, char** argv) {
    Options o;
    for (const bench::Workload& w : bench::kWorkloads) o.workloads.emplace_back(w.name);
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--pairs") {
            o.pairs = std::stoi(value());
            if (o.pairs < 1) throw std::invalid_argument("--pairs must be at least 1");
        } else if (arg == "--summary") {
            o.summary_path = value();
        } else if (arg == "--rounds") {
            o.rounds = std::stoi(value());
            if (o.rounds < 1) throw std::invalid_argument("--rounds must be at least 1");
        } else if (arg == "--min-sample-ms") {
            o.min_sample_ms = std::stod(value());
        } else if (arg == "--workloads") {
            o.workloads = split(value());
        } else if (arg == "--sizes") {
            for (const std::string& item : split(value())) {
                const std::size_t eq = item.find('=');
                if (eq == std::string::npos) throw std::invalid_argument("--sizes takes WORKLOAD=N,...");
                bench::find_workload(item.substr(0, eq));
                const std::int64_t size = std::stoll(item.substr(eq + 1));
                if (size < 1) throw std::invalid_argument("--sizes: a size must be at least 1");
                o.sizes[item.substr(0, eq)] = size;
            }
        } else if (arg == "--policies") {
            o.policies = split(value());
        } else if (arg == "--pair") {
            o.pair = true;
            o.pair_workload = value();
            o.pair_policy = value();
            const std::string order = value();
            if (order != "null-first" && order != "policy-first") throw std::invalid_argument("--pair order is null-first or policy-first");
            o.pair_policy_first = order == "policy-first";
        } else if (arg == "--smoke") {
            o.smoke = true;
        } else if (arg == "--clock") {
            const std::string clock = value();
            if (clock != "wall" && clock != "cpu") throw std::invalid_argument("--clock is wall or cpu");
            o.cpu_clock = clock == "cpu";
        } else {
            throw std::invalid_argument("unknown argument '" + arg + "'");
        }
    }
    return o;
}

// A child's measurement: `rounds` interleaved pairs of samples of `repeats` runs each, in a process of its
// own; `ratio` is the median of the rounds' policy/Null ratios.
struct PairTimes {
    double null_seconds = 0, policy_seconds = 0;  // per run
    double ratio = 0;
};

// --pair: runs in the child. Loads the workload, runs both VMs once (Null's time sizes the samples), times
// the pair in the order given and checks both VMs' answers. Prints the pair's times; 3 on a wrong answer.
int run_pair(const Options& options, bool smoke) {
    const std::string& workload = options.pair_workload;
    const std::string& policy = options.pair_policy;
    try {
        const bench::Workload& w = bench::find_workload(workload);
        const std::int64_t size = size_of(options, w, smoke);
        const Program program = bench::load_workload(OPSCOPE_SOURCE_DIR, w, size);
        const std::string expected = bench::expected_output(w, size);
        const std::unique_ptr<Runner> null_runner = make_runner("null", program);
        const std::unique_ptr<Runner> policy_runner = make_runner(policy, program);
        // Both VMs run once first: a VM's first run pays for what later runs reuse (heap slabs, counter
        // tables, the sampler's timer), which must not land on one side of the pair.
        const double warm_up = null_runner->run(1);
        policy_runner->run(1);
        const int repeats = std::max(1, static_cast<int>(std::ceil(options.min_sample_ms / 1000 / std::max(warm_up, 1e-9))));
        // Several rounds in one process, each order alternating: adjacent samples share the machine's
        // moment, so their ratio survives load that comes and goes between rounds.
        std::vector<double> ratios;
        PairTimes t;
        for (int round = 0; round < options.rounds; ++round) {
            const bool policy_first = options.pair_policy_first != (round % 2 == 1);
            double null_seconds = 0, policy_seconds = 0;
            if (policy_first) policy_seconds = policy_runner->run(repeats);
            null_seconds = null_runner->run(repeats);
            if (!policy_first) policy_seconds = policy_runner->run(repeats);
            ratios.push_back(policy_seconds / null_seconds);
            t.null_seconds += null_seconds / repeats / options.rounds;
            t.policy_seconds += policy_seconds / repeats / options.rounds;
        }
        t.ratio = median(ratios);
        for (const Runner* r : {null_runner.get(), policy_runner.get()})
            if (r->output() != expected) {
                fmt::print(stderr, "{} under {}: printed '{}', expected '{}'\n", workload, r->policy(), r->output(), expected);
                return 3;
            }
        fmt::print("{:.9f} {:.9f} {:.9f}\n", t.null_seconds, t.policy_seconds, t.ratio);
        std::fflush(stdout);
        return 0;
    } catch (const std::exception& e) {  // a workload that fails to load or run
        fmt::print(stderr, "opscope_overhead: {}\n", e.what());
        return 3;
    }
}

// Runs one pair in a new process (this program again, with --pair); nullopt if it failed.
std::optional<PairTimes> spawn_pair(const Options& options, const std::string& workload, const std::string& policy,
                                    bool policy_first, bool smoke) {
    static const std::string quoted = [] {  // this program, quoted for the shell ("" if unknown)
        std::string self(4096, '\0');
        const ssize_t length = readlink("/proc/self/exe", self.data(), self.size());
        if (length <= 0) return std::string();
        self.resize(static_cast<std::size_t>(length));
        std::string out = "'";
        for (const char c : self) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return out + "'";
    }();
    if (quoted.empty()) return std::nullopt;
    const std::string command =
        fmt::format("{} --pair {} {} {} --min-sample-ms {} --rounds {} --clock {}{}{}", quoted, workload, policy,
                    policy_first ? "policy-first" : "null-first", options.min_sample_ms, options.rounds,
                    options.cpu_clock ? "cpu" : "wall",
                    smoke ? " --smoke" : "",
                    options.sizes.count(workload) ? fmt::format(" --sizes {}={}", workload, options.sizes.at(workload)) : "");
    FILE* child = popen(command.c_str(), "r");
    if (!child) return std::nullopt;
    PairTimes t;
    const int read = std::fscanf(child, "%lf %lf %lf", &t.null_seconds, &t.policy_seconds, &t.ratio);
    const int status = pclose(child);
    if (read != 3 || status != 0 || !(t.ratio > 0)) return std::nullopt;
    return t;
}

// One workload's rows; returns how many policies were over budget, or -1 after a wrong answer or failure.
// Every pair is measured in a fresh process: a process keeps its own speed for its lifetime (where its
// memory and code landed), and one process's pairs agreed within 1% while the medians of separate processes
// ranged from -10% to +16% for the same binary (fib/Counting). So the median is over processes.
int measure_workload(const Options& options, const std::string& name, bool smoke) {
    const bench::Workload& w = bench::find_workload(name);
    int over_budget = 0;
    bool first_row = true;
    for (const std::string& policy : options.policies) {
        std::vector<double> ratios;
        double null_per_run = 0;
        for (int pair = 0; pair < options.pairs; ++pair) {
            const std::optional<PairTimes> t = spawn_pair(options, name, policy, /*policy_first=*/pair % 2 == 1, smoke);
            if (!t) {
                fmt::print(stderr, "opscope_overhead: {} under {}: the measuring process failed\n", name, policy);
                return -1;
            }
            null_per_run += t->null_seconds / options.pairs;
            ratios.push_back(t->ratio);
        }
        const double m = median(ratios);
        const std::optional<double> budget = budget_of(policy);
        const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
        const bool ok = !budget || m - 1 <= *budget;
        over_budget += !ok;
        const std::string overhead = fmt::format("{:+.1f}% ({:+.1f}..{:+.1f})", (m - 1) * 100, (*lo - 1) * 100, (*hi - 1) * 100);
        fmt::print("{:<10} {:>10} {:>9.3f}ms {:>9} {:>26} {:>7}  {}\n", first_row ? name : "",
                   first_row ? std::to_string(size_of(options, w, smoke)) : "", null_per_run * 1e3, policy, overhead,
                   budget ? fmt::format("{:.0f}%", *budget * 100) : "-", !budget ? "control" : ok ? "ok" : "OVER BUDGET");
        std::fflush(stdout);  // a row at a time: the whole table takes minutes
        if (!options.summary_path.empty()) {
            std::FILE* summary = std::fopen(options.summary_path.c_str(), "a");
            if (!summary) throw std::runtime_error("cannot append to " + options.summary_path);
            fmt::print(summary, "{} {} {:.6f} {:.6f} {:.6f} {:.6f}\n", name, policy, m - 1, *lo - 1, *hi - 1, null_per_run * 1e3);
            std::fclose(summary);
        }
        first_row = false;
    }
    return over_budget;
}

} // namespace

int main(int argc, char** argv) {
    Options options;
    try {
        options = parse(argc, argv);
        for (const std::string& w : options.workloads) bench::find_workload(w);
        for (const std::string& p : options.policies)
            if (std::find(std::begin(kPolicyNames), std::end(kPolicyNames), p) == std::end(kPolicyNames))
                throw std::invalid_argument("unknown policy '" + p + "' (" + kPolicyList + ")");
    } catch (const std::exception& e) {
        fmt::print(stderr, "opscope_overhead: {}\n{}", e.what(), kUsage);
        return 2;
    }
    const bool smoke = options.smoke || bench::smoke_mode();
    g_thread_cpu_clock = options.cpu_clock;
    if (options.pair) return run_pair(options, smoke);

    fmt::print("policy overhead vs NullProfiler: median of {} processes (min..max), each the median of {} interleaved pair(s), samples >= {} ms, {} time{}\n\n",
               options.pairs, options.rounds, options.min_sample_ms, options.cpu_clock ? "thread CPU" : "wall", smoke ? ", smoke sizes" : "");
    fmt::print("{:<10} {:>10} {:>11} {:>9} {:>26} {:>7}  {}\n", "workload", "size", "null run", "policy",
               "overhead (min..max)", "budget", "verdict");
    int over_budget = 0;
    for (const std::string& name : options.workloads) {
        int result;
        try {
            result = measure_workload(options, name, smoke);
        } catch (const std::exception& e) {  // the summary file could not be written
            fmt::print(stderr, "opscope_overhead: {}\n", e.what());
            return 2;
        }
        if (result < 0) return 3;
        over_budget += result;
    }
    if (smoke) {
        fmt::print("\nsmoke sizes: answers checked, budgets not enforced (runs this short measure start-up)\n");
        return 0;
    }
    if (over_budget) {
        fmt::print("\n{} policy/workload pair(s) over budget\n", over_budget);
        return 1;
    }
    fmt::print("\nevery policy within budget on every workload\n");
    return 0;
}
