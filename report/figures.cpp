#include "figures.hpp"

#include <fmt/format.h>

#include <cmath>

namespace opscope::report {

std::string digits(std::uint64_t n) {
    const std::string plain = std::to_string(n);
    std::string grouped;
    for (std::size_t i = 0; i < plain.size(); ++i) {
        if (i > 0 && (plain.size() - i) % 3 == 0) grouped += ',';
        grouped += plain[i];
    }
    return grouped;
}

std::string signed_digits(double delta) {
    const std::string magnitude = digits(static_cast<std::uint64_t>(std::llround(std::abs(delta))));
    return delta > 0 ? "+" + magnitude : delta < 0 ? "-" + magnitude : "0";
}

std::string significant(double value) {
    if (value < 10) return fmt::format("{:.2f}", value);
    if (value < 100) return fmt::format("{:.1f}", value);
    return fmt::format("{:.0f}", value);
}

std::string duration(double ns) {
    if (ns == 0) return "0 ns";  // nothing measured: not "0.00 ns", which claims a precision
    if (ns < 1e3) return significant(ns) + " ns";
    if (ns < 1e6) return significant(ns / 1e3) + " us";
    if (ns < 1e9) return significant(ns / 1e6) + " ms";
    return significant(ns / 1e9) + " s";
}
std::string duration(std::uint64_t ns) { return duration(static_cast<double>(ns)); }

std::string byte_size(std::uint64_t bytes) {
    const double b = static_cast<double>(bytes);
    if (bytes < 1024) return std::to_string(bytes) + " B";
    if (b < 1024.0 * 1024) return significant(b / 1024) + " KiB";
    if (b < 1024.0 * 1024 * 1024) return significant(b / (1024.0 * 1024)) + " MiB";
    return significant(b / (1024.0 * 1024 * 1024)) + " GiB";
}

std::string samples_text(std::uint64_t n) { return digits(n) + (n == 1 ? " sample" : " samples"); }

std::string per_second(double rate) {
    if (rate < 1e3) return significant(rate);
    if (rate < 1e6) return significant(rate / 1e3) + " k";
    if (rate < 1e9) return significant(rate / 1e6) + " M";
    return significant(rate / 1e9) + " G";
}

double share(std::uint64_t part, std::uint64_t whole) {
    return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}
std::string percent(double value) { return fmt::format("{:.1f}%", value); }

std::string share_with_interval(const SampledShare& s) {
    const double half = std::max(s.share - s.low, s.high - s.share);
    return fmt::format("{:.1f}% \u00b1{:.1f}", 100 * s.share, 100 * half);
}

std::string sampled_legend(const Profile& p) {
    const auto n = effective_samples(p);
    if (!n) return "";
    return fmt::format("Sampled times: % is the share of the wall time, \u00b1 the wider side of its 95% interval "
                       "(Wilson score, {}, {:.0f} effective); a time or share from fewer than {} samples, "
                       "or whose interval is wider than the share itself, is too uncertain to mean anything and "
                       "is not shown (-) in text, greyed in HTML.{}",
                       samples_text(p.timing->samples), *n, kMeaningfulSamples,
                       *n < kFewSamples ? " For more samples: a longer run, or a higher rate (opscope profile "
                                          "--sample-rate, or --fast-start: 5 kHz for the first 50 ms), at more overhead."
                                        : "");
}

} // namespace opscope::report
