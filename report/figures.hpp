// How the human-readable reports (text, HTML, the flame graph's tooltips) write numbers: digit groups, three
// significant figures, durations, sizes, rates and shares; and how they rank rows. Private to report/.
#pragma once

#include <opscope/profile.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace opscope::report {

std::string digits(std::uint64_t n);  // 1,234,567
std::string signed_digits(double delta);  // a difference of counts: "+1,234", "-56", "0"
std::string significant(double value);  // three significant figures at most
std::string duration(double ns);        // "0 ns", "812 ns", "1.25 us", "3.40 ms", "2.10 s"
std::string duration(std::uint64_t ns);
std::string byte_size(std::uint64_t bytes);  // "512 B", "1.50 KiB", "3.00 MiB", "1.20 GiB"
std::string per_second(double rate);         // "950", "1.20 k", "3.40 M", "2.00 G"
std::string samples_text(std::uint64_t n);   // "1 sample", "1,234 samples"
double share(std::uint64_t part, std::uint64_t whole);  // percent; 0 when whole is 0
std::string percent(double value);                      // "12.5%"
// A sampled share and the wider side of its 95% interval, in percentage points: "12.3% ±1.4".
std::string share_with_interval(const SampledShare& s);
// What the sampled figures' intervals and hidden (or greyed) figures mean: the text and HTML legends. Below
// kFewSamples effective samples (about what --fast-start gives a 50 ms run) the legend says how to get more.
std::string sampled_legend(const Profile& p);
inline constexpr double kFewSamples = 200;

// Pointers to `entries`, ordered by `rank` (descending); ties keep canonical order.
template <class Entry, class Rank>
std::vector<const Entry*> ranked(const std::vector<Entry>& entries, Rank rank) {
    std::vector<const Entry*> order;
    for (const Entry& e : entries) order.push_back(&e);
    std::stable_sort(order.begin(), order.end(), [&](const Entry* a, const Entry* b) { return rank(*a) > rank(*b); });
    return order;
}

} // namespace opscope::report
