// TimeHistogram: a mergeable distribution of durations in nanoseconds, kept as log-linear buckets (the
// HdrHistogram idea). Values below 32 ns have a bucket each; above that, every power of two is split into
// 32 equal buckets, so a bucket is at most 1/32 (~3%) as wide as the values it holds. Two histograms add
// bucket by bucket, so the percentiles of a merge are exactly those of the pooled samples' histogram.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace opscope {

struct TimeHistogram {
    static constexpr unsigned kSubBucketBits = 5;
    static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBucketBits;
    // Buckets needed to cover every std::uint64_t value.
    static constexpr std::size_t kMaxBuckets = (64 - kSubBucketBits + 1) * kSubBuckets;

    std::vector<std::uint64_t> buckets;  // samples per bucket index; never ends in a zero (canonical form)
    std::uint64_t samples = 0;           // == sum of buckets
    std::uint64_t sum_ns = 0;            // exact sum of the recorded values
    std::uint64_t min_ns = 0;            // exact; meaningful only when samples > 0
    std::uint64_t max_ns = 0;            // exact; meaningful only when samples > 0

    void record(std::uint64_t ns, std::uint64_t times = 1);
    void add(const TimeHistogram& other);

    // The value at `percent` (0-100] of the samples by rank (nearest rank): the midpoint of the bucket
    // holding that rank, clamped to [min_ns, max_ns]. Empty when there are no samples.
    std::optional<std::uint64_t> percentile(double percent) const;
    std::optional<double> mean_ns() const;

    static std::size_t bucket_of(std::uint64_t ns);
    static std::uint64_t bucket_lower_ns(std::size_t index);  // smallest value in the bucket
    static std::uint64_t bucket_width_ns(std::size_t index);  // number of values in the bucket

    bool operator==(const TimeHistogram&) const = default;
};

} // namespace opscope
