// fuzz_profile_json: the input as a profile JSON document. parse_json() may throw ProfileFormatError and
// nothing else; a profile it accepts is written as text and JSON and in every export (folded, speedscope,
// chrome, pprof, callgrind, html — whose page must hold no script but its own and no URL, whatever the strings —, with each option; they may refuse a missing group with a MissingGroupError, nothing else: `opscope export`
// hands them any saved profile), merged with itself (which may refuse counts past 2^64 - 1 with a
// ProfileFormatError, nothing else), and reads back equal. It is also diffed against itself (no exact row may
// change) and against an empty profile, in every diff format and metric (folded may refuse a missing group or
// the calls metric, nothing else).
#include "fuzz_support.hpp"

#include <opscope/diff.hpp>

using namespace opscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Profile profile;
    try {
        profile = parse_json(fuzz::as_text(data, size));
    } catch (const ProfileFormatError&) {
        return 0;
    }

    (void)format_text(profile);
    for (const FoldedOptions& options : {FoldedOptions{}, FoldedOptions{FoldedOptions::Weight::time, false}}) {
        try {
            (void)format_folded(profile, options);
        } catch (const MissingGroupError&) {
        }
    }
    for (SpeedscopeOptions::Weight weight : {SpeedscopeOptions::Weight::time, SpeedscopeOptions::Weight::samples}) {
        try {
            (void)format_speedscope(profile, {weight});
        } catch (const MissingGroupError&) {
        }
    }
    try {
        (void)format_chrome_trace(profile);
    } catch (const MissingGroupError&) {
    }
    for (PprofOptions::Metric metric : {PprofOptions::Metric::cpu, PprofOptions::Metric::instructions}) {
        try {
            (void)format_pprof(profile, {metric, 0});
        } catch (const MissingGroupError&) {
        }
    }
    try {
        (void)format_callgrind(profile);
    } catch (const MissingGroupError&) {
    }
    const std::string page = format_html(profile);  // never refuses: every group is optional
    std::size_t scripts = 0;
    for (std::size_t at = page.find("<script"); at != std::string::npos; at = page.find("<script", at + 1)) ++scripts;
    if (scripts != 1 || page.find("http://") != std::string::npos || page.find("https://") != std::string::npos)
        fuzz::finding("format_html let a profile string through unescaped", page);
    const ProfileDiff same = diff(profile, profile);
    for (const DiffRow& row : same.rows)
        if (row.accuracy == Accuracy::exact && row.changed) fuzz::finding("diff(p, p) has a changed exact row", row.key);
    const ProfileDiff from_empty = diff(Profile{}, profile);
    for (DiffMetric metric : {DiffMetric::instructions, DiffMetric::calls, DiffMetric::samples, DiffMetric::time}) {
        DiffOptions options;
        options.metric = metric;
        for (const ProfileDiff* d : {&same, &from_empty}) {
            (void)format_diff_text(*d, options);
            (void)format_diff_json(*d, options);
        }
        try {
            (void)format_diff_folded(profile, profile, metric);
        } catch (const MissingGroupError&) {
        } catch (const std::invalid_argument&) {
        }
    }
    const std::string json = format_json(profile);
    try {
        (void)merge(profile, profile);
    } catch (const ProfileFormatError&) {  // a count or time doubled past 2^64 - 1 is refused, not wrapped
    }

    Profile again;
    try {
        again = parse_json(json);
    } catch (const ProfileFormatError& e) {
        fuzz::finding("format_json output does not parse", json + "\n" + e.what());
    }
    if (!(again == profile)) fuzz::finding("parse_json(format_json(p)) != p", json);
    return 0;
}
