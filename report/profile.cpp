// Profile's derived values: rates, means and the names of accuracies and timeline event kinds.
#include <opscope/profile.hpp>

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

std::optional<std::uint64_t> total_instructions(const Profile& profile) {
    if (profile.summary) return profile.summary->total_instructions;
    if (!profile.opcodes) return std::nullopt;
    std::uint64_t total = 0;
    for (const OpcodeStats& e : profile.opcodes->entries) total += e.count;
    return total;
}

} // namespace opscope
