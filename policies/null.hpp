// NullProfiler: records nothing and declares no hooks, so Vm<NullProfiler> runs the bare interpreter.
#pragma once

namespace opscope {

struct NullProfiler {};

} // namespace opscope
