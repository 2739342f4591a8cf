// The list of report formats (report.hpp): one row per writer.
#include <opscope/report.hpp>

#include <array>

namespace opscope {

namespace {
constexpr std::array kFormats = {
    ReportFormat{"text", "the human-readable report", [](const Profile& p, const ReportOptions& o) { return format_text(p, o); }, ".txt", false, false},
    ReportFormat{"json", "the versioned, lossless JSON document (docs/profile-format.md)",
                 [](const Profile& p, const ReportOptions&) { return format_json(p); }, ".json", false, true,
                 [](const Profile& p, const ReportOptions&, const ReportSink& sink) { write_json(p, sink); }},
    ReportFormat{"folded", "folded stacks for flamegraph.pl, inferno and speedscope (sampled; --weight, --no-lines)",
                 [](const Profile& p, const ReportOptions& o) { return format_folded(p, o.folded); }, ".folded", false, false},
    ReportFormat{"speedscope", "speedscope JSON: sampled stacks (statistical) and the call timeline as an evented profile (--weight)",
                 [](const Profile& p, const ReportOptions& o) { return format_speedscope(p, o.speedscope); }, ".speedscope.json", false, true,
                 [](const Profile& p, const ReportOptions& o, const ReportSink& sink) { write_speedscope(p, o.speedscope, sink); }},
    ReportFormat{"chrome", "Chrome Trace Event JSON for Perfetto and chrome://tracing: the call timeline (policy full)",
                 [](const Profile& p, const ReportOptions&) { return format_chrome_trace(p); }, ".trace.json", false, true,
                 [](const Profile& p, const ReportOptions&, const ReportSink& sink) { write_chrome_trace(p, sink); }},
    ReportFormat{"pprof", "gzipped pprof profile.proto for go tool pprof, Pyroscope, Parca (--metric cpu|instructions)",
                 [](const Profile& p, const ReportOptions& o) { return format_pprof(p, o.pprof); }, ".pb.gz", true, false},
    ReportFormat{"callgrind", "callgrind format for callgrind_annotate and KCachegrind (exact Ir per line)",
                 [](const Profile& p, const ReportOptions&) { return format_callgrind(p); }, ".callgrind", false, false},
    ReportFormat{"html", "one self-contained HTML page: flame graph, annotated source, tables (no network, works without JS)",
                 [](const Profile& p, const ReportOptions& o) { return format_html(p, o); }, ".html", false, false},
};
} // namespace

std::span<const ReportFormat> report_formats() { return kFormats; }

const ReportFormat* find_report_format(std::string_view name) {
    for (const ReportFormat& format : kFormats)
        if (format.name == name) return &format;
    return nullptr;
}

} // namespace opscope
