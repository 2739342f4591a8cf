// The zero-cost check's driver: runs one workload under Vm<NullProfiler> and prints its output. It is built
// twice (benchmarks/CMakeLists.txt): as is, and with OPSCOPE_HOOKS_REMOVED, which deletes every hook call
// from the interpreter's source. benchmarks/zero_cost.sh runs both under callgrind and requires equal
// instruction counts for the run at two sizes.
#include "workloads.hpp"

#include <iostream>
#include <string>

// What the check counts (callgrind --toggle-collect): the run, with every call it makes, and nothing of the
// process start-up, whose instruction count varies between identical runs.
[[gnu::noinline]] void measured_run(opscope::Vm<opscope::NullProfiler>& vm) { vm.run(); }

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " WORKLOAD SIZE\n";
        return 2;
    }
    try {
        const opscope::bench::Workload& w = opscope::bench::find_workload(argv[1]);
        const std::int64_t size = std::stoll(argv[2]);
        opscope::Vm<opscope::NullProfiler> vm;
        vm.load(opscope::bench::load_workload(OPSCOPE_SOURCE_DIR, w, size));
        measured_run(vm);
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}
