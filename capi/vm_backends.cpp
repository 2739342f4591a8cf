// The four policies the C API offers, each Vm<P> compiled here once behind capi::Backend. A policy without a
// profile lifecycle (NullProfiler) records nothing, so reset, start and stop do nothing for it.
#include "capi/handles.hpp"

#include <opscope/policies/counting.hpp>
#include <opscope/policies/full.hpp>
#include <opscope/policies/null.hpp>
#include <opscope/policies/timing.hpp>

#include <string>
#include <utility>

namespace opscope::capi {

namespace {

template <class Policy>
class BackendOf final : public Backend {
public:
    BackendOf(const Limits& limits, Policy policy) : vm_(limits, std::move(policy)) {}
    Machine& machine() override { return vm_; }
    void load(Program program) override { vm_.load(std::move(program)); }
    Value run() override { return vm_.run(); }
    Profile profile() const override { return vm_.profile(); }
    Profile snapshot() override { return vm_.snapshot(); }
    void reset_profile() override {
        if constexpr (requires { vm_.reset_profile(); }) vm_.reset_profile();
    }
    void start_profiling() override {
        if constexpr (requires { vm_.start_profiling(); }) vm_.start_profiling();
    }
    void stop_profiling() override {
        if constexpr (requires { vm_.stop_profiling(); }) vm_.stop_profiling();
    }

private:
    Vm<Policy> vm_;
};

} // namespace

std::unique_ptr<Backend> make_backend(opscope_policy policy, const Limits& limits, double sample_hz) {
    if (!(sample_hz >= 0.0)) throw ArgumentError("sample_hz must be 0 (the default) or positive");
    const double hz = sample_hz > 0.0 ? sample_hz : TimeSampler::kDefaultHz;
    switch (policy) {
    case OPSCOPE_POLICY_NULL: return std::make_unique<BackendOf<NullProfiler>>(limits, NullProfiler{});
    case OPSCOPE_POLICY_COUNTING: return std::make_unique<BackendOf<CountingProfiler>>(limits, CountingProfiler{});
    case OPSCOPE_POLICY_TIMING: return std::make_unique<BackendOf<TimingProfiler>>(limits, TimingProfiler(hz));
    case OPSCOPE_POLICY_FULL: return std::make_unique<BackendOf<FullProfiler>>(limits, FullProfiler(hz));
    case OPSCOPE_POLICY_MAX_ENUM: break;
    }
    throw ArgumentError("unknown policy " + std::to_string(static_cast<int>(policy)) +
                        " (expected OPSCOPE_POLICY_NULL, _COUNTING, _TIMING or _FULL)");
}

} // namespace opscope::capi
