// The sampler's tick grid (TimeSampler, policies/sampler.cpp): where its timer's ticks fall, so that they
// share the kernel's timer interrupts. Pure functions of the kernel's tick, which the sampler reads.
#pragma once

#include <algorithm>
#include <cstdint>

namespace opscope::tick_grid {

// The grid a sampler of mean period `period_ns` ticks on, the kernel's tick being `tick` ns: the tick, or
// half of it for a period shorter than the tick, so that every tick or every other one shares the kernel's
// timer interrupt. Where a guest's timer interrupt is what a sample costs, a sample that rides the kernel's
// tick costs a few microseconds instead of 30-80 (BENCHMARKS.md section 5). 0, no grid: the tick is unknown,
// or the period is under half a tick, where a grid would save a third of the cost or less and take the
// jitter away.
inline std::uint64_t step_ns(std::uint64_t tick, std::uint64_t period_ns) {
    if (tick == 0 || period_ns == 0 || period_ns < tick / 2) return 0;
    return period_ns >= tick ? tick : tick / 2;
}

// The period to the next tick, jittered so that the samples cannot lock onto a periodic program: ±25% of
// `period_ns` (`uniform` in [0, 1)), unless the grid has no two points in that window (a period under two
// steps), where next_tick_after's rounding to whole steps at random is all the jitter there is (none at
// exactly one step).
inline double jittered_period(double period_ns, std::uint64_t step_ns, double uniform) {
    if (step_ns != 0 && period_ns < 2.0 * static_cast<double>(step_ns)) return period_ns;
    return (0.75 + 0.5 * uniform) * period_ns;
}

// Whether ticks of mean period `period_ns` vary at all (jittered_period, next_tick_after): only a period of
// exactly one step (within 1%) ticks like a clock.
inline bool varies(double period_ns, std::uint64_t step_ns) {
    const auto step = static_cast<double>(step_ns);
    return step_ns == 0 || period_ns < 0.99 * step || period_ns > 1.01 * step;
}

// A tick about `period_ns` after `from_ns`: off the grid (`step_ns` 0), exactly that; on it, the grid point a
// whole number of steps on, the number rounded up or down at random in proportion (`uniform` in [0, 1)),
// so the mean period stays `period_ns` and a period between one and two steps alternates between them.
// `from_ns` off the grid (a timer's first tick, a thread that lost ticks) is rounded down to it first.
inline std::uint64_t next_tick_after(std::uint64_t from_ns, double period_ns, std::uint64_t step_ns, double uniform) {
    if (step_ns == 0) return from_ns + std::max<std::uint64_t>(1, static_cast<std::uint64_t>(period_ns));
    const double steps = period_ns / static_cast<double>(step_ns);
    auto whole = static_cast<std::uint64_t>(steps);
    if (uniform < steps - static_cast<double>(whole)) ++whole;
    return (from_ns / step_ns + std::max<std::uint64_t>(whole, 1)) * step_ns;
}

} // namespace opscope::tick_grid
