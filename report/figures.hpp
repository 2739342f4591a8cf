// How the human-readable reports (text, HTML, the flame graph's tooltips) write numbers: digit groups, three
// significant figures, durations, sizes, rates and shares. Private to report/.
#pragma once

#include <cstdint>
#include <string>

namespace opscope::report {

std::string digits(std::uint64_t n);  // 1,234,567
std::string significant(double value);  // three significant figures at most
std::string duration(double ns);        // "0 ns", "812 ns", "1.25 us", "3.40 ms", "2.10 s"
std::string duration(std::uint64_t ns);
std::string byte_size(std::uint64_t bytes);  // "512 B", "1.50 KiB", "3.00 MiB", "1.20 GiB"
std::string per_second(double rate);         // "950", "1.20 k", "3.40 M", "2.00 G"
double share(std::uint64_t part, std::uint64_t whole);  // percent; 0 when whole is 0
std::string percent(double value);                      // "12.5%"

} // namespace opscope::report
