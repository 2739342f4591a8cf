// Compile-fail test: a policy `name` that is not a string (it becomes Profile::policy). As is, this file
// compiles (the control); with OPSCOPE_EXPECT_FAIL it must not, and the error must name ProfilerPolicy and
// the name check. Registered by tests/CMakeLists.txt.
#include <opscope/opscope.hpp>

#include <string_view>

struct Named {
#ifdef OPSCOPE_EXPECT_FAIL
    static constexpr int name = 7;
#else
    static constexpr std::string_view name = "seven";
#endif
};

int main() {
    const opscope::Vm<Named> vm;
    return vm.profile().policy == "seven" ? 0 : 1;
}
