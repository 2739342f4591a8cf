// FullProfiler: everything — CountingProfiler's exact counts, TimeSampler's sampled times (opcodes, lines,
// functions, call edges, loops, call stacks), MemoryRecorder's heap statistics and CallTimeline's ring of
// call events. A composition of the smaller policies, not a copy of them.
#pragma once

#include "counting.hpp"
#include "memory.hpp"
#include "sampler.hpp"
#include "timeline.hpp"

namespace opscope {

class FullProfiler : public Compose<CountingProfiler, TimeSampler, MemoryRecorder, CallTimeline> {
public:
    static constexpr std::string_view name = "full";
    FullProfiler() : FullProfiler(TimeSampler::kDefaultHz) {}
    explicit FullProfiler(double sample_hz,
                          std::size_t timeline_capacity = CallTimeline::kDefaultCapacity)
        : Compose(CountingProfiler{}, TimeSampler{sample_hz}, MemoryRecorder{}, CallTimeline{timeline_capacity}) {}
};

} // namespace opscope
