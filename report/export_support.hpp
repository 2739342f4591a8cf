// Helpers the export writers share (report_folded.cpp, report_pprof.cpp, report_callgrind.cpp): a
// function's file and first line, and names made safe for line-based formats. Private to report/.
#pragma once

#include <opscope/profile.hpp>
#include <opscope/report.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace opscope::exports {

// The policies that record each group a format may need (as the built-in policies do).
inline constexpr std::string_view kStacksRecordedBy = "timing or full";
inline constexpr std::string_view kHotspotsRecordedBy = "counting, timing or full";
inline constexpr std::string_view kTimelineRecordedBy = "full";

// What the profile says of each function, by name (empty when it has no functions group).
class FunctionIndex {
public:
    explicit FunctionIndex(const Profile& profile);
    const FunctionStats* find(std::string_view name) const;
    // The function's source file: its own, else the program's (natives and unknown: none).
    std::optional<std::string> file(std::string_view name) const;
    std::uint32_t first_line(std::string_view name) const;  // 0 when unknown
    bool native(std::string_view name) const;

private:
    const Profile& profile_;
    std::map<std::string, const FunctionStats*, std::less<>> by_name_;
};

// `text` with the characters a line-based format reserves replaced: newlines and carriage returns by spaces,
// and each of `reserved` by '_'.
std::string sanitized(std::string_view text, std::string_view reserved = "");

// "partial: the run stopped at a runtime error (MESSAGE), the data covers what ran", one line.
std::string partial_note(const Profile& profile);

} // namespace opscope::exports
