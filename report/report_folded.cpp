// format_folded: the sampled call stacks as folded stacks, the input of flamegraph.pl, inferno and
// speedscope (brendangregg/FlameGraph "fold stacks"): `main;fib;fib 3`, frames root first joined by ';', a
// space and an integer count. Frames carry their line as py-spy writes them, `fib (fib.ops:6)`, when the
// stack's lines are known. Every count is statistical (samples, or sampled nanoseconds).
#include "export_support.hpp"

#include <fmt/format.h>

#include <map>

namespace opscope {

namespace {

// One frame: the name with ';' (the separator) made safe, and its line when asked for and known.
std::string frame_text(const exports::FunctionIndex& functions, const std::string& name, std::uint32_t line,
                       bool with_line) {
    std::string text = exports::sanitized(name, ";");
    if (!with_line || line == 0 || name == kTruncatedFrame) return text;
    const std::optional<std::string> file = functions.file(name);
    return file ? fmt::format("{} ({}:{})", text, exports::sanitized(*file, ";"), line)
                : fmt::format("{} (line {})", text, line);
}

} // namespace

std::string format_folded(const Profile& profile, const FoldedOptions& options) {
    const bool by_time = options.weight == FoldedOptions::Weight::time;
    if (!profile.call_stacks) throw MissingGroupError("folded", "the sampled call stacks (call_stacks)", profile.policy,
                                                      exports::kStacksRecordedBy);
    for (const StackSample& stack : profile.call_stacks->entries)
        if (by_time && !stack.time_ns)
            throw MissingGroupError("folded --weight time", "sampled times of the call stacks", profile.policy,
                                    exports::kStacksRecordedBy);

    const exports::FunctionIndex functions(profile);
    std::map<std::string, std::uint64_t> lines;  // sorted, equal stacks added (e.g. without their lines)
    for (const StackSample& stack : profile.call_stacks->entries) {
        const std::uint64_t weight = by_time ? *stack.time_ns : stack.samples;
        if (weight == 0 || stack.frames.empty()) continue;
        const bool with_lines = options.lines && stack.lines.size() == stack.frames.size();
        std::string folded;
        for (std::size_t i = 0; i < stack.frames.size(); ++i) {
            if (i) folded += ';';
            folded += frame_text(functions, stack.frames[i], with_lines ? stack.lines[i] : 0, with_lines);
        }
        lines[folded] += weight;
    }

    std::string out;
    // A partial run says so in a stack of its own, counted 0: flamegraph.pl and speedscope read it without a
    // warning, and no total changes.
    if (profile.partial) out += fmt::format("[{}] 0\n", exports::sanitized(exports::partial_note(profile), ";"));
    for (const auto& [stack, weight] : lines) out += fmt::format("{} {}\n", stack, weight);
    return out;
}

} // namespace opscope
