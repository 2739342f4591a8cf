// The export writers' shared helpers (export_support.hpp) and MissingGroupError (report.hpp).
#include "export_support.hpp"

#include <fmt/format.h>

namespace opscope {

MissingGroupError::MissingGroupError(std::string_view format, std::string_view group, std::string_view policy,
                                     std::string_view recorded_by)
    : std::runtime_error(fmt::format("format '{}' needs {}, which the profile{} did not record: profile with "
                                     "--policy {}",
                                     format, group, policy.empty() ? std::string() : fmt::format(" (policy '{}')", policy),
                                     recorded_by)),
      group_(group) {}

namespace exports {

FunctionIndex::FunctionIndex(const Profile& profile) : profile_(profile) {
    if (profile.functions)
        for (const FunctionStats& f : profile.functions->entries) by_name_.emplace(f.name, &f);
}

const FunctionStats* FunctionIndex::find(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
}

std::optional<std::string> FunctionIndex::file(std::string_view name) const {
    const FunctionStats* f = find(name);
    if (f && f->native) return std::nullopt;
    if (f && f->file) return *f->file;
    if (profile_.source_file.empty() || name == kTruncatedFrame) return std::nullopt;
    return profile_.source_file;
}

std::uint32_t FunctionIndex::first_line(std::string_view name) const {
    const FunctionStats* f = find(name);
    return f && f->line ? *f->line : 0;
}

bool FunctionIndex::native(std::string_view name) const {
    const FunctionStats* f = find(name);
    return f && f->native;
}

std::string sanitized(std::string_view text, std::string_view reserved) {
    std::string out(text);
    for (char& c : out) {
        if (c == '\n' || c == '\r') c = ' ';
        else if (reserved.find(c) != std::string_view::npos) c = '_';
    }
    return out;
}

std::string partial_note(const Profile& profile) {
    return fmt::format("partial: the run stopped at a runtime error{}, the data covers what ran",
                       profile.error.empty() ? std::string() : fmt::format(" ({})", sanitized(profile.error)));
}

} // namespace exports
} // namespace opscope
