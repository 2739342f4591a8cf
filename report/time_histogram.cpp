// TimeHistogram's bucket arithmetic, recording, merging and percentiles.
#include <opscope/time_histogram.hpp>

#include <algorithm>
#include <bit>
#include <cmath>

namespace opscope {

// Index i < S (S = kSubBuckets) holds exactly the value i. Above, group g = i / S >= 1 covers
// [S << (g-1), S << g) in S buckets of width 1 << (g-1).
std::size_t TimeHistogram::bucket_of(std::uint64_t ns) {
    if (ns < kSubBuckets) return static_cast<std::size_t>(ns);
    const unsigned magnitude = static_cast<unsigned>(std::bit_width(ns)) - 1;  // floor(log2(ns)) >= bits
    const unsigned shift = magnitude - kSubBucketBits;
    const std::uint64_t sub = (ns >> shift) - kSubBuckets;  // in [0, S)
    return static_cast<std::size_t>((shift + 1) * kSubBuckets + sub);
}

std::uint64_t TimeHistogram::bucket_lower_ns(std::size_t index) {
    if (index < kSubBuckets) return index;
    const std::size_t group = index / kSubBuckets;
    const std::uint64_t sub = index % kSubBuckets;
    return (kSubBuckets + sub) << (group - 1);
}

std::uint64_t TimeHistogram::bucket_width_ns(std::size_t index) {
    if (index < kSubBuckets) return 1;
    return std::uint64_t{1} << (index / kSubBuckets - 1);
}

void TimeHistogram::record(std::uint64_t ns, std::uint64_t times) {
    if (times == 0) return;
    const std::size_t index = bucket_of(ns);
    if (buckets.size() <= index) buckets.resize(index + 1, 0);
    buckets[index] += times;
    min_ns = samples == 0 ? ns : std::min(min_ns, ns);
    max_ns = samples == 0 ? ns : std::max(max_ns, ns);
    samples += times;
    sum_ns += ns * times;
}

void TimeHistogram::add(const TimeHistogram& other) {
    if (other.samples == 0) return;
    if (buckets.size() < other.buckets.size()) buckets.resize(other.buckets.size(), 0);
    for (std::size_t i = 0; i < other.buckets.size(); ++i) buckets[i] += other.buckets[i];
    min_ns = samples == 0 ? other.min_ns : std::min(min_ns, other.min_ns);
    max_ns = samples == 0 ? other.max_ns : std::max(max_ns, other.max_ns);
    samples += other.samples;
    sum_ns += other.sum_ns;
}

std::optional<std::uint64_t> TimeHistogram::percentile(double percent) const {
    if (samples == 0) return std::nullopt;
    const double wanted = std::ceil(std::clamp(percent, 0.0, 100.0) / 100.0 * static_cast<double>(samples));
    // Counts near 2^64 round up to 2^64 as a double, and a NaN percent stays NaN: neither converts to an
    // integer (undefined behaviour), so both mean the last sample.
    constexpr double two64 = 18446744073709551616.0;
    const std::uint64_t rank =
        !(wanted < two64) ? samples : std::clamp<std::uint64_t>(static_cast<std::uint64_t>(wanted), 1, samples);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        seen += buckets[i];
        if (seen >= rank) {
            const std::uint64_t middle = bucket_lower_ns(i) + bucket_width_ns(i) / 2;
            return std::clamp(middle, min_ns, max_ns);
        }
    }
    return max_ns;  // unreachable for a consistent histogram (samples == sum of buckets)
}

std::optional<double> TimeHistogram::mean_ns() const {
    if (samples == 0) return std::nullopt;
    return static_cast<double>(sum_ns) / static_cast<double>(samples);
}

} // namespace opscope
