// Compile-fail test: a hook declared with the wrong parameter list. As is, this file compiles (the control);
// with OPSCOPE_EXPECT_FAIL it must not, and the error must name ProfilerPolicy and on_call — a misspelt hook
// is rejected rather than silently never called. Registered by tests/CMakeLists.txt.
#include <opscope/opscope.hpp>

#include <cstddef>
#include <cstdint>

struct CallCounter {
#ifdef OPSCOPE_EXPECT_FAIL
    void on_call(int) { ++calls; }
#else
    void on_call(const opscope::LinkedFunction*, std::size_t, const opscope::LinkedFunction&, std::size_t) { ++calls; }
#endif
    std::uint64_t calls = 0;
};

int main() {
    opscope::Vm<CallCounter> vm;
    return static_cast<int>(vm.profiler().calls);
}
