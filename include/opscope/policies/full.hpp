// FullProfiler: everything — CountingProfiler's exact counts, TimeSampler's sampled times (opcodes, lines,
// functions, call edges, loops, call stacks), MemoryRecorder's heap statistics and the timeline's ring of
// call events. A composition of the smaller policies, not a copy of them.
#pragma once

#include <opscope/policies/counting.hpp>
#include <opscope/policies/memory.hpp>
#include <opscope/policies/sampler.hpp>
#include <opscope/policies/timeline.hpp>

namespace opscope {

// The composition over its counting part: CountingProfiler (FullProfiler) or InclusiveCountingProfiler
// (InclusiveFullProfiler, which adds exact inclusive instructions for two hooks per call).
template <class Counting>
class BasicFullProfiler : public Compose<Counting, TimeSampler, MemoryRecorder, TickedCallTimeline> {
    using Parts = Compose<Counting, TimeSampler, MemoryRecorder, TickedCallTimeline>;

public:
    static constexpr std::string_view name = "full";
    BasicFullProfiler() : BasicFullProfiler(TimeSampler::kDefaultHz) {}
    // `fast_start_ns`: see TimeSampler (more samples for short runs, at a cost).
    explicit BasicFullProfiler(double sample_hz, std::size_t timeline_capacity = CallTimeline::kDefaultCapacity,
                               std::uint64_t fast_start_ns = 0)
        : Parts(Counting{}, TimeSampler{sample_hz, fast_start_ns}, MemoryRecorder{}, TickedCallTimeline{timeline_capacity}) {}

    // The sampler's ticks open the timeline's windows: they set the call trap, which the timeline clears when
    // its window is full.
    void on_run_begin(const Machine& machine) {
        boost::hana::at_c<1>(this->parts()).trap_calls_at_ticks(true);
        Parts::on_run_begin(machine);
    }

    TickedCallTimeline& timeline() { return boost::hana::at_c<3>(this->parts()); }
};

class FullProfiler : public BasicFullProfiler<CountingProfiler> {
public:
    using BasicFullProfiler::BasicFullProfiler;
};

class InclusiveFullProfiler : public BasicFullProfiler<InclusiveCountingProfiler> {
public:
    using BasicFullProfiler::BasicFullProfiler;
};

} // namespace opscope
