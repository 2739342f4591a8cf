// Profile's derived values: rates, means, sampled shares and their intervals, and the names of accuracies
// and timeline event kinds.
#include <opscope/profile.hpp>

#include <algorithm>
#include <cmath>
#include <tuple>

namespace opscope {

std::string_view to_string(Accuracy accuracy) {
    return accuracy == Accuracy::exact ? "exact" : "statistical";
}

std::string_view to_string(TimelineEvent::Kind kind) {
    return kind == TimelineEvent::Kind::enter ? "enter" : "exit";
}

std::optional<double> Summary::instructions_per_second() const {
    if (!wall_time_ns || *wall_time_ns == 0) return std::nullopt;
    return static_cast<double>(total_instructions) * 1e9 / static_cast<double>(*wall_time_ns);
}

std::optional<double> OpcodeStats::mean_ns() const {
    if (time_ns && count > 0) return static_cast<double>(*time_ns) / static_cast<double>(count);
    if (time_distribution) return time_distribution->mean_ns();
    return std::nullopt;
}

std::optional<double> BranchStats::taken_rate() const {
    if (executed == 0) return std::nullopt;
    return static_cast<double>(taken) / static_cast<double>(executed);
}

std::optional<double> LoopStats::time_per_iteration_ns() const {
    if (!time_ns || iterations == 0) return std::nullopt;
    return static_cast<double>(*time_ns) / static_cast<double>(iterations);
}

std::pair<double, double> wilson_interval(double share, double n, double z) {
    if (!(n > 0)) return {0.0, 1.0};
    const double p = std::clamp(share, 0.0, 1.0);
    const double z2 = z * z;
    const double denominator = 1 + z2 / n;
    const double centre = (p + z2 / (2 * n)) / denominator;
    const double half = z / denominator * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

std::optional<double> effective_samples(const Profile& profile) {
    if (!profile.timing) return std::nullopt;
    return profile.timing->effective_samples.value_or(static_cast<double>(profile.timing->samples));
}

std::optional<SampledShare> sampled_share(const Profile& profile, std::optional<std::uint64_t> time_ns,
                                          std::optional<std::uint64_t> samples) {
    const auto n = effective_samples(profile);
    if (!time_ns || !samples || !n || !profile.summary || !profile.summary->wall_time_ns ||
        *profile.summary->wall_time_ns == 0)
        return std::nullopt;
    const double wall = static_cast<double>(*profile.summary->wall_time_ns);
    SampledShare s;
    s.samples = *samples;
    s.share = std::min(1.0, static_cast<double>(*time_ns) / wall);
    std::tie(s.low, s.high) = wilson_interval(s.share, *n);
    s.time_low_ns = s.low * wall;
    s.time_high_ns = s.high * wall;
    s.meaningful = s.samples >= kMeaningfulSamples && s.high - s.low <= s.share;
    return s;
}

std::optional<std::uint64_t> total_instructions(const Profile& profile) {
    if (profile.summary) return profile.summary->total_instructions;
    if (!profile.opcodes) return std::nullopt;
    std::uint64_t total = 0;
    for (const OpcodeStats& e : profile.opcodes->entries) total += e.count;
    return total;
}

} // namespace opscope
