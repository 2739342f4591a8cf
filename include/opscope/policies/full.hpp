// FullProfiler: everything — CountingProfiler's exact counts, TimeSampler's sampled times (opcodes, lines,
// functions, call edges, loops, call stacks), MemoryRecorder's heap statistics and the timeline's ring of
// call events. A composition of the smaller policies, not a copy of them.
#pragma once

#include <opscope/policies/counting.hpp>
#include <opscope/policies/memory.hpp>
#include <opscope/policies/sampler.hpp>
#include <opscope/policies/timeline.hpp>

namespace opscope {

class FullProfiler : public Compose<CountingProfiler, TimeSampler, MemoryRecorder, TickedCallTimeline> {
public:
    static constexpr std::string_view name = "full";
    FullProfiler() : FullProfiler(TimeSampler::kDefaultHz) {}
    explicit FullProfiler(double sample_hz,
                          std::size_t timeline_capacity = CallTimeline::kDefaultCapacity)
        : Compose(CountingProfiler{}, TimeSampler{sample_hz}, MemoryRecorder{}, TickedCallTimeline{timeline_capacity}) {}

    // The sampler's ticks open the timeline's windows (wired here, where the parts have settled in the VM).
    void on_run_begin(const Machine& machine) {
        boost::hana::at_c<1>(parts()).set_tick_listener(boost::hana::at_c<3>(parts()).tick_flag());
        Compose::on_run_begin(machine);
    }
};

} // namespace opscope
