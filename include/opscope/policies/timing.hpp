// TimingProfiler: CountingProfiler's exact counts plus TimeSampler's statistical times — per opcode (total,
// mean = time / exact count, distribution over sites), per instruction and line, per function (self and
// inclusive, natives apart), per call edge and loop, and the sampled call stacks. A composition, not a copy.
#pragma once

#include <opscope/policies/counting.hpp>
#include <opscope/policies/sampler.hpp>

namespace opscope {

class TimingProfiler : public Compose<CountingProfiler, TimeSampler> {
public:
    static constexpr std::string_view name = "timing";
    TimingProfiler() : TimingProfiler(TimeSampler::kDefaultHz) {}
    // `fast_start_ns`: see TimeSampler (more samples for short runs, at a cost).
    explicit TimingProfiler(double sample_hz, std::uint64_t fast_start_ns = 0)
        : Compose(CountingProfiler{}, TimeSampler{sample_hz, fast_start_ns}) {}
};

} // namespace opscope
