// The garbage-collected heap for strings and arrays: precise mark-sweep.
//
// Small objects (up to kMaxSmallBytes) live in slabs of equal-sized slots, one size class per 16 bytes: an
// allocation pops a free slot, and a sweep walks each slab in address order, freeing the dead and
// threading the free slots back in address order, so new objects are packed together again after every
// collection. (With malloc per object, allocation, free and the sweep's walk over a list of scattered
// objects took much of an allocation-heavy program's time, and long runs grew slower as the free memory
// fragmented.)
// Larger objects come from operator new, on an intrusive list; the last two large blocks freed (1 MiB and
// more) are kept for reuse, so a program that replaces a big array with another like it stops faulting in
// fresh pages.
//
// Roots are supplied by the owner (the Machine) through a callback at collection time: value stack,
// globals, constants. Natives that hold a fresh object in a C++ variable across another allocation keep it
// alive with a `Heap::Pin`.
#pragma once

#include <opscope/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace opscope {

struct HeapStats {
    std::uint64_t allocations = 0;
    std::uint64_t allocated_bytes = 0;  // total ever allocated
    std::uint64_t string_allocations = 0, string_bytes = 0;
    std::uint64_t array_allocations = 0, array_bytes = 0;
    std::uint64_t frees = 0;
    std::uint64_t freed_bytes = 0;
    std::uint64_t live_bytes = 0;
    std::uint64_t peak_bytes = 0;
    std::uint64_t gc_cycles = 0;
    std::uint64_t gc_time_ns = 0;
};

class Heap {
public:
    using RootVisitor = std::function<void(const Value&)>;
    using RootEnumerator = std::function<void(const RootVisitor&)>;

    Heap() = default;
    Heap(const Heap&) = delete;
    Heap& operator=(const Heap&) = delete;
    ~Heap();

    void set_roots(RootEnumerator roots) { roots_ = std::move(roots); }
    // 0 = unlimited. Exceeding it after a full collection throws Fault.
    void set_limit(std::uint64_t bytes) { limit_ = bytes; }
    std::uint64_t limit() const { return limit_; }

    // Allocation may collect first; every value not reachable from a root or a Pin may be freed.
    String* new_string(std::string_view text);
    String* concat(const String& a, const String& b);
    Array* new_array(std::size_t length);  // elements are nil

    void collect();
    const HeapStats& stats() const { return stats_; }
    void reset_stats();  // keeps live/peak accounting consistent with the objects still alive
    void reset_peak() { stats_.peak_bytes = stats_.live_bytes; }  // Machine: at each run's start

    // Keeps a value alive while in scope (LIFO).
    class Pin {
    public:
        Pin(Heap& heap, Value v) : heap_(heap) { heap_.pins_.push_back(v); }
        ~Pin() { heap_.pins_.pop_back(); }
        Pin(const Pin&) = delete;
        Pin& operator=(const Pin&) = delete;

    private:
        Heap& heap_;
    };

private:
    static constexpr std::size_t kGranule = 16;
    static constexpr std::size_t kMaxSmallBytes = 512;
    static constexpr std::size_t kSizeClasses = kMaxSmallBytes / kGranule;
    static constexpr std::size_t kSlabBytes = 64 * 1024;
    static constexpr std::size_t kKeepFrom = 1024 * 1024;  // freed blocks this large are kept for reuse
    static constexpr std::size_t kKeptBlocks = 2;
    static std::size_t size_class(std::size_t bytes) { return (bytes - 1) / kGranule; }
    static std::size_t slot_bytes(std::size_t size_class) { return (size_class + 1) * kGranule; }

    Object* allocate(std::size_t bytes, ObjectKind kind);
    Object* allocate_slot(std::size_t size_class);
    static Object** thread_free_slots(std::byte* slab, std::size_t size_class, Object** link);
    void mark(const Value& v);
    void sweep();
    void sweep_slabs(std::size_t size_class);
    void release(Object* object);  // accounting for an object the sweep frees
    void* allocate_large(std::size_t bytes);
    void free_large(Object* object);

    Object* large_objects_ = nullptr;
    std::vector<std::byte*> slabs_[kSizeClasses];
    Object* free_slots_[kSizeClasses] = {};
    struct KeptBlock {
        void* memory;
        std::size_t bytes;
    };
    std::vector<KeptBlock> kept_;  // large blocks freed, for reuse (see allocate_large)
    std::vector<Object*> gray_;
    std::vector<Value> pins_;
    RootEnumerator roots_;
    HeapStats stats_;
    std::uint64_t limit_ = 0;
    std::uint64_t next_collection_ = kMinThreshold;
    static constexpr std::uint64_t kMinThreshold = 1u << 20;
};

} // namespace opscope
