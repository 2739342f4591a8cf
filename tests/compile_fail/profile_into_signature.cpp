// Compile-fail test: profile_into without `const` (Vm::profile() calls it on a const policy). As is, this file
// compiles (the control); with OPSCOPE_EXPECT_FAIL it must not, and the error must name ProfilerPolicy and
// profile_into. Registered by tests/CMakeLists.txt.
#include <opscope/opscope.hpp>

struct RunCounter {
    void on_run_begin(const opscope::Machine&) { ++runs; }
#ifdef OPSCOPE_EXPECT_FAIL
    void profile_into(opscope::Profile& out, const opscope::Machine&) {
#else
    void profile_into(opscope::Profile& out, const opscope::Machine&) const {
#endif
        out.frames = opscope::FrameStats{opscope::Accuracy::exact, runs, runs, 1};
    }
    std::uint64_t runs = 0;
};

int main() {
    const opscope::Vm<RunCounter> vm;
    return vm.profile().frames ? 0 : 1;
}
