// Reports of a Profile: the human-readable text report (report_text.cpp) and the versioned JSON format
// (report_json.cpp, documented in docs/profile-format.md). Both read only the plain Profile value.
#pragma once

#include <opscope/profile.hpp>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace opscope {

struct ReportOptions {
    std::size_t top = 10;              // rows per ranked section
    double threshold_percent = 1.0;    // hotspots and lines below this share of instructions are left out
    std::uint64_t hot_loop_min = 100;  // loops with fewer iterations are left out
};

// Sections, in order: header, summary (with the timing, overhead, time in natives and timeline lines),
// top opcodes, hotspots, hot lines, hot loops, branches, functions, call graph, call stacks, opcode pairs,
// frames and stack, memory, and a last line naming what was not measured.
// Unmeasured groups get no section; statistical figures carry a leading '~'. No line exceeds 100 columns.
std::string format_text(const Profile& profile, const ReportOptions& options = {});

// Every format a Profile can be written in, by name: the CLI's --format choices and the tests that write
// each format follow this list, so a new format is its writer (report/) plus one row (report_formats.cpp).
struct ReportFormat {
    std::string_view name;
    std::string_view description;
    std::string (*write)(const Profile& profile, const ReportOptions& options);
};
std::span<const ReportFormat> report_formats();
const ReportFormat* find_report_format(std::string_view name);  // null when there is none

inline constexpr std::string_view kProfileFormat = "opscope-profile";
inline constexpr int kProfileFormatVersion = 1;

// The JSON document, pretty-printed. Lossless: parse_json(format_json(p)) == p for a canonical p.
std::string format_json(const Profile& profile);

// A document that is not a profile of this format and version, or is malformed; path() is the JSON
// Pointer of the offending value ("" for the document itself).
class ProfileFormatError : public std::runtime_error {
public:
    ProfileFormatError(std::string path, const std::string& problem);
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// Reads a document written by format_json (derived figures such as percentages are recomputed, not
// read); returns it in canonical form. Throws ProfileFormatError.
Profile parse_json(std::string_view json);

} // namespace opscope
