// NullProfiler: records nothing and declares no hooks, so Vm<NullProfiler> runs the bare interpreter (the
// benchmarks check it executes exactly the instructions of a build with every hook compiled out).
#pragma once

#include <string_view>

namespace opscope {

struct NullProfiler {
    static constexpr std::string_view name = "null";
};

} // namespace opscope
