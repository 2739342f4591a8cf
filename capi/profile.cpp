// The C API's profiles: taking one from a VM, the report formats (report_formats(), the one list), and
// writing a profile into a caller's buffer (snprintf's protocol) or a file.
#include "capi/handles.hpp"

#include <opscope/loader.hpp>
#include <opscope/report.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using namespace opscope;
using capi::ArgumentError;
using capi::guarded;
using capi::required;

namespace {

// report_formats()'s names as C strings, built once.
const std::vector<std::string>& format_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const ReportFormat& format : report_formats()) out.emplace_back(format.name);
        return out;
    }();
    return names;
}

ReportOptions to_options(const opscope_report_options& o) {
    if (o.folded_weight != OPSCOPE_WEIGHT_SAMPLES && o.folded_weight != OPSCOPE_WEIGHT_TIME)
        throw ArgumentError("folded_weight is not an opscope_weight");
    if (o.speedscope_weight != OPSCOPE_WEIGHT_SAMPLES && o.speedscope_weight != OPSCOPE_WEIGHT_TIME)
        throw ArgumentError("speedscope_weight is not an opscope_weight");
    if (o.pprof_metric != OPSCOPE_PPROF_CPU && o.pprof_metric != OPSCOPE_PPROF_INSTRUCTIONS)
        throw ArgumentError("pprof_metric is not an opscope_pprof_metric");
    ReportOptions out;
    out.top = o.top;
    out.threshold_percent = o.threshold_percent;
    out.hot_loop_min = o.hot_loop_min;
    out.folded.weight = o.folded_weight == OPSCOPE_WEIGHT_TIME ? FoldedOptions::Weight::time : FoldedOptions::Weight::samples;
    out.folded.lines = o.folded_lines != 0;
    out.pprof.metric = o.pprof_metric == OPSCOPE_PPROF_INSTRUCTIONS ? PprofOptions::Metric::instructions
                                                                    : PprofOptions::Metric::cpu;
    out.speedscope.weight =
        o.speedscope_weight == OPSCOPE_WEIGHT_SAMPLES ? SpeedscopeOptions::Weight::samples : SpeedscopeOptions::Weight::time;
    return out;
}

std::string written(const opscope_profile* profile, const char* format, const opscope_report_options* options) {
    const opscope_profile& p = required(profile, "profile");
    required(format, "format");
    const ReportFormat* chosen = find_report_format(format);
    if (!chosen) {
        std::string known;
        for (const std::string& name : format_names()) known += (known.empty() ? "" : ", ") + name;
        throw ArgumentError("unknown format '" + std::string(format) + "' (expected one of " + known + ")");
    }
    ReportOptions chosen_options = to_options(options ? *options : opscope_report_options_default());
    chosen_options.pprof.now_unix_ns = p.taken_unix_ns;
    return chosen->write(p.profile, chosen_options);
}

} // namespace

extern "C" {

opscope_status opscope_vm_profile(opscope_vm* vm, opscope_profile** profile) {
    if (profile) *profile = nullptr;
    return guarded(vm, [&] {
        required(vm, "vm");
        opscope_profile*& out = required(profile, "profile (the result pointer)");
        if (vm->native_depth > 0) throw capi::StateError("taking the profile from within one of the VM's natives");
        auto taken = std::make_unique<opscope_profile>();
        taken->profile = vm->backend->profile();
        taken->profile.source_file = vm->backend->machine().program().source_file;  // as backtraces name it
        if (vm->run_error) {
            taken->profile.partial = true;
            taken->profile.error = *vm->run_error;
        }
        taken->taken_unix_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::system_clock::now().time_since_epoch()).count());
        out = taken.release();
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_snapshot(opscope_vm* vm, opscope_profile** profile) {
    if (profile) *profile = nullptr;
    // From any thread: a failure is reported on this thread only (the VM's own message belongs to its thread).
    return guarded(nullptr, [&] {
        required(vm, "vm");
        opscope_profile*& out = required(profile, "profile (the result pointer)");
        auto taken = std::make_unique<opscope_profile>();
        taken->profile = vm->backend->snapshot();
        taken->profile.source_file = vm->backend->machine().program().source_file;
        taken->taken_unix_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::system_clock::now().time_since_epoch()).count());
        out = taken.release();
        return OPSCOPE_OK;
    });
}

void opscope_profile_destroy(opscope_profile* profile) { delete profile; }

opscope_report_options opscope_report_options_default(void) {
    const ReportOptions d;
    return opscope_report_options{
        d.top,
        d.threshold_percent,
        d.hot_loop_min,
        d.folded.weight == FoldedOptions::Weight::time ? OPSCOPE_WEIGHT_TIME : OPSCOPE_WEIGHT_SAMPLES,
        d.folded.lines ? 1 : 0,
        d.pprof.metric == PprofOptions::Metric::instructions ? OPSCOPE_PPROF_INSTRUCTIONS : OPSCOPE_PPROF_CPU,
        d.speedscope.weight == SpeedscopeOptions::Weight::time ? OPSCOPE_WEIGHT_TIME : OPSCOPE_WEIGHT_SAMPLES,
    };
}

size_t opscope_report_format_count(void) { return report_formats().size(); }

const char* opscope_report_format_name(size_t index) {
    try {
        return index < format_names().size() ? format_names()[index].c_str() : nullptr;
    } catch (...) {  // building the names ran out of memory
        return nullptr;
    }
}

int opscope_report_format_is_binary(size_t index) {
    return index < report_formats().size() && report_formats()[index].binary ? 1 : 0;
}

opscope_status opscope_profile_write(const opscope_profile* profile, const char* format,
                                     const opscope_report_options* options, char* buffer, size_t capacity,
                                     size_t* size) {
    return guarded(nullptr, [&] {
        std::size_t& needed = required(size, "size");
        if (!buffer && capacity) throw ArgumentError("buffer is NULL but capacity is not 0");
        const std::string bytes = written(profile, format, options);
        needed = bytes.size();
        if (bytes.size() > capacity)
            return capi::fail(nullptr, OPSCOPE_ERROR_BUFFER_TOO_SMALL,
                              ("the output is " + std::to_string(bytes.size()) + " bytes, the buffer " +
                               std::to_string(capacity)).c_str());
        if (!bytes.empty()) std::memcpy(buffer, bytes.data(), bytes.size());
        if (bytes.size() < capacity) buffer[bytes.size()] = '\0';
        return OPSCOPE_OK;
    });
}

opscope_status opscope_profile_write_file(const opscope_profile* profile, const char* format,
                                          const opscope_report_options* options, const char* path) {
    return guarded(nullptr, [&] {
        required(path, "path");
        const std::string bytes = written(profile, format, options);
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (out) out.close();
        if (!out) {
            const int error = errno;
            throw InputError("cannot write '" + std::string(path) + "': " + std::strerror(error));
        }
        return OPSCOPE_OK;
    });
}

} // extern "C"
