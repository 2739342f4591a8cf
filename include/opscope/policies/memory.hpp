// MemoryRecorder: the heap's own exact statistics (allocations and bytes by type, frees, bytes reclaimed,
// live, peak, GC cycles and time) over the recorded part of the runs. It reads Heap::stats() at the
// recording boundaries, so it costs nothing while the program runs.
#pragma once

#include <opscope/policy.hpp>

#include <algorithm>

namespace opscope {

class MemoryRecorder {
public:
    static constexpr std::string_view name = "memory";

    // A new program starts the profile afresh, as in every policy.
    void on_load(const Machine&) { reset(); }
    void on_run_begin(const Machine& m) {
        in_run_ = true;
        if (recording_) begin_ = m.heap().stats();
    }
    void on_run_end(const Machine& m) {
        if (recording_) close(m);
        in_run_ = false;
    }
    void start(const Machine& m) {
        if (recording_) return;
        recording_ = true;
        if (in_run_) begin_ = m.heap().stats();
    }
    void stop(const Machine& m) {
        if (!recording_) return;
        if (in_run_) close(m);
        recording_ = false;
    }
    void reset() { total_ = HeapStats{}; measured_ = false; }
    bool recording() const { return recording_; }

    void profile_into(Profile& out, const Machine&) const {
        if (!measured_) return;
        MemoryStats m;
        m.allocations = total_.allocations;
        m.allocated_bytes = total_.allocated_bytes;
        m.frees = total_.frees;
        m.freed_bytes = total_.freed_bytes;
        m.peak_bytes = total_.peak_bytes;
        m.live_bytes = total_.live_bytes;
        m.gc_cycles = total_.gc_cycles;
        m.gc_time_ns = total_.gc_time_ns;
        if (total_.string_allocations) m.by_type.push_back({"string", total_.string_allocations, total_.string_bytes});
        if (total_.array_allocations) m.by_type.push_back({"array", total_.array_allocations, total_.array_bytes});
        out.memory = m;
    }

private:
    // Adds the interval since begin_: counters as differences, live as the latest, peak as the maximum.
    void close(const Machine& m) {
        const HeapStats& now = m.heap().stats();
        total_.allocations += now.allocations - begin_.allocations;
        total_.allocated_bytes += now.allocated_bytes - begin_.allocated_bytes;
        total_.string_allocations += now.string_allocations - begin_.string_allocations;
        total_.string_bytes += now.string_bytes - begin_.string_bytes;
        total_.array_allocations += now.array_allocations - begin_.array_allocations;
        total_.array_bytes += now.array_bytes - begin_.array_bytes;
        total_.frees += now.frees - begin_.frees;
        total_.freed_bytes += now.freed_bytes - begin_.freed_bytes;
        total_.gc_cycles += now.gc_cycles - begin_.gc_cycles;
        total_.gc_time_ns += now.gc_time_ns - begin_.gc_time_ns;
        total_.live_bytes = now.live_bytes;
        total_.peak_bytes = std::max(total_.peak_bytes, now.peak_bytes);
        measured_ = true;
    }
    HeapStats begin_{}, total_{};
    bool recording_ = true, in_run_ = false, measured_ = false;
};

} // namespace opscope
