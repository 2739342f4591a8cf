// What the writers of a ProfileDiff share (diff_format.cpp defines them; diff_html.cpp uses them too), so the
// text, JSON, folded and HTML writers pick the same rows and draw the same stacks. Private to report/.
#pragma once

#include <opscope/diff.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace opscope::diff_support {

// The groups that have rows of the metric, in the diff's order.
std::vector<std::string> groups_of(const ProfileDiff& diff, DiffMetric metric);

// A group's rows of the metric after --threshold (|delta| at least that percent of the group's base total), in
// the diff's order; --top is the writer's to apply.
std::vector<const DiffRow*> shown(const ProfileDiff& diff, const DiffOptions& options, const std::string& group);

// What a group's figure is for the metric when the group and metric names do not say it ("inclusive
// instructions, "), or "".
std::string_view meaning(const std::string& group, DiffMetric metric);

// frames root first joined by ';' (names with ';' replaced) -> (base, new): the differential folded stacks.
// samples and time: the sampled call stacks; instructions: the hotspots as `function;function (file:line)`.
// Stacks zero on both sides are left out. Throws MissingGroupError (naming `format`) when either profile lacks
// the group, std::invalid_argument for calls.
using DifferentialStacks = std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>;
DifferentialStacks differential_stacks(const Profile& base, const Profile& next, DiffMetric metric, std::string_view format);

} // namespace opscope::diff_support
