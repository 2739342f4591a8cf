// Reports of a Profile: the human-readable text report (report_text.cpp), the versioned JSON format
// (report_json.cpp, documented in docs/profile-format.md) and the exports other tools open (folded stacks,
// speedscope, Chrome trace, pprof, callgrind: report_folded.cpp, report_speedscope.cpp, report_chrome.cpp,
// report_pprof.cpp, report_callgrind.cpp; the timeline's balanced spans timeline_spans.cpp; docs/exports.md)
// and the self-contained HTML report (report_html.cpp, its flame graph flamegraph_svg.cpp).
// All read only the plain Profile value.
#pragma once

#include <opscope/profile.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace opscope {

// Folded stacks (flamegraph.pl input): what a stack's count is, and whether frames carry their line.
struct FoldedOptions {
    enum class Weight : std::uint8_t { samples, time } weight = Weight::samples;  // time: integer nanoseconds
    bool lines = true;  // `fib (fib.ops:6)` when the stack's lines are known, as py-spy writes them
};

// pprof: cpu = the sampled call stacks (samples and nanoseconds); instructions = the exact count of every
// executed instruction, labelled with its opcode and offset.
struct PprofOptions {
    enum class Metric : std::uint8_t { cpu, instructions } metric = Metric::cpu;
    // time_nanos when the profile has no summary.start_unix_ns: this "now" minus the wall time (unset: the
    // clock's now; tests set it so the output is deterministic).
    std::optional<std::uint64_t> now_unix_ns;
};

// speedscope: the sampled profile's weights are the stacks' sampled nanoseconds (time, the default, unit
// nanoseconds) or their sample counts (unit none).
struct SpeedscopeOptions {
    enum class Weight : std::uint8_t { samples, time } weight = Weight::time;
};

// Where a streaming writer puts its text, a piece at a time (a file, standard output, a string).
using ReportSink = std::function<void(std::string_view piece)>;

struct ReportOptions {
    std::size_t top = 10;              // rows per ranked section
    double threshold_percent = 1.0;    // hotspots and lines below this share of instructions are left out
    std::uint64_t hot_loop_min = 100;  // loops with fewer iterations are left out
    FoldedOptions folded;
    PprofOptions pprof;
    SpeedscopeOptions speedscope;
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
    std::string_view file_suffix;  // for files named by opscope (`profile --every`): ".json", ".pb.gz", ...
    bool binary = false;           // bytes (pprof's gzip), not text
    bool reads_timeline_events = true;  // false: the timeline's summary is enough (Timeline::events_left_out)
    // The same text a piece at a time, for the formats whose text can be large (the JSON ones: the timeline's
    // events); null for the others.
    void (*stream)(const Profile& profile, const ReportOptions& options, const ReportSink& sink) = nullptr;
};
std::span<const ReportFormat> report_formats();
const ReportFormat* find_report_format(std::string_view name);  // null when there is none

// A format that needs a metric group the profile lacks (its policy did not record it): the message names
// the format, the group, the profile's policy and the policies that record it ("... use --policy timing or
// full").
class MissingGroupError : public std::runtime_error {
public:
    MissingGroupError(std::string_view format, std::string_view group, std::string_view policy,
                      std::string_view recorded_by);
    const std::string& group() const { return group_; }

private:
    std::string group_;
};

// Folded stacks from call_stacks: one line per stack, `main;fib;fib 3`, frames root first, sorted; counts
// are integers (samples, or nanoseconds with Weight::time), all statistical. A partial profile gets a
// zero-count first line `[partial: ...] 0`. Throws MissingGroupError without call_stacks (or without their
// times for Weight::time).
std::string format_folded(const Profile& profile, const FoldedOptions& options = {});

// pprof's profile.proto, gzipped (binary). Cpu needs call_stacks, instructions needs the hotspots
// (instructions group); MissingGroupError otherwise. Ids are 1..N and string_table[0] is "" (Parca's and
// Pyroscope's rules); comments say which values are exact and whether the run was partial. Deterministic
// but for time_nanos when the profile has no start time.
std::string format_pprof(const Profile& profile, const PprofOptions& options = {});

// callgrind's format (callgrind_annotate, KCachegrind): event Ir = exact instructions per (function, line)
// from the hotspots, event Time = sampled nanoseconds when measured; `calls=` lines with exact call counts
// and exact inclusive instructions per call site when the call graph has them (else a comment says they
// were left out: never estimated). Throws MissingGroupError without the hotspots.
std::string format_callgrind(const Profile& profile);

// One self-contained HTML page for a browser: header (program, policy, samples and rate, wall time,
// overhead, partial banner), the flame graph of call_stacks as static inline SVG, the annotated source
// (every line's exact count, heat bar, sampled time, branch and loop figures), then tables of functions,
// opcodes, hotspots (options.top), branches, loops, call graph, memory, frames, opcode pairs (options.top)
// and a timeline summary. A group the profile lacks gets its heading and a note saying why, never an error:
// every policy's profile can be written. No URL anywhere (a CSP meta tag forbids every fetch); readable with
// JavaScript off (the inline script only zooms, searches and sorts); every string from the profile
// escaped. Statistical figures carry '~'. The DOM contract (ids, data- attributes) is in docs/exports.md.
std::string format_html(const Profile& profile, const ReportOptions& options = {});

// speedscope's file format (https://www.speedscope.app/file-format-schema.json, named by `$schema` only,
// never fetched): shared frames (one per function, with its file and first line; one per (function, line)
// when the stacks' lines are known), a sampled profile of call_stacks (statistical) and, when the profile has
// a timeline (policy full), an evented profile of its enters and exits, balanced across gaps and the
// overwritten start (exact order, times as the timeline's time_accuracy). Names say which is exact and
// whether the run was partial. Throws MissingGroupError without call_stacks (or their times for
// Weight::time). Deterministic.
std::string format_speedscope(const Profile& profile, const SpeedscopeOptions& options = {});
// The same text, put to `sink` a piece at a time (as write_json).
void write_speedscope(const Profile& profile, const SpeedscopeOptions& options, const ReportSink& sink);

// Chrome's Trace Event JSON (Perfetto UI, chrome://tracing): one B/E slice per span of the timeline,
// balanced across gaps (frames whose enter was not recorded have cat "call,enter-not-recorded"), gaps as
// instant events "[gap: ...]", the heap as a counter where the profile has a value at a time, and otherData
// saying what is exact and statistical, the policy, the timeline's counts and whether the run was partial.
// Throws MissingGroupError without the timeline. Deterministic.
std::string format_chrome_trace(const Profile& profile);
// The same text, put to `sink` a piece at a time (as write_json).
void write_chrome_trace(const Profile& profile, const ReportSink& sink);

inline constexpr std::string_view kProfileFormat = "opscope-profile";
inline constexpr int kProfileFormatVersion = 1;

// The JSON document, pretty-printed. Lossless: parse_json(format_json(p)) == p for a canonical p.
std::string format_json(const Profile& profile);
// The same text, put to `sink` a piece at a time, in chunks of 16 KiB as it is written: the document (the
// timeline's events: thousands under Full, ~150 bytes each) is never in memory whole.
void write_json(const Profile& profile, const ReportSink& sink);

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
