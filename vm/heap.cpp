// Mark-sweep collection. An allocation collects first when the heap would grow past twice the bytes that
// were live after the previous collection (at least 1 MiB), or past the host's limit; so memory stays
// bounded by a constant factor of what the program really keeps alive.
#include <opscope/heap.hpp>
#include <opscope/errors.hpp>

#include <fmt/format.h>

#include <cstring>
#include <new>

namespace opscope {

// A large block a collection freed is kept for the next large allocation it fits (at least half used):
// a program that drops a big array and makes another like it, as a sieve does per repetition, then writes
// memory it already has instead of faulting in fresh pages (sieve: 32,000 page faults -> 16,000).
// (Transparent huge pages were tried instead: fewer faults, but the first process after one that freed
// much memory spent 0.15-0.2 s more in the kernel.)
void* Heap::allocate_large(std::size_t bytes) {
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
        if (it->bytes >= bytes && it->bytes / 2 <= bytes) {
            void* memory = it->memory;
            kept_.erase(it);
            return memory;
        }
    }
    return ::operator new(bytes);
}

void Heap::free_large(Object* object) {
    if (object->bytes < kKeepFrom) return ::operator delete(object);
    if (kept_.size() == kKeptBlocks) {  // the oldest goes
        ::operator delete(kept_.front().memory);
        kept_.erase(kept_.begin());
    }
    kept_.push_back(KeptBlock{object, object->bytes});
}

Heap::~Heap() {
    while (large_objects_) {
        Object* next = large_objects_->next;
        ::operator delete(large_objects_);
        large_objects_ = next;
    }
    for (auto& slabs : slabs_)
        for (std::byte* slab : slabs) ::operator delete(slab);
    for (const KeptBlock& block : kept_) ::operator delete(block.memory);
}

// Appends the slab's free slots to the list ending at `link`, in address order; returns the new end.
Object** Heap::thread_free_slots(std::byte* slab, std::size_t size_class, Object** link) {
    const std::size_t step = slot_bytes(size_class);
    for (std::size_t at = 0; at + step <= kSlabBytes; at += step) {
        if (auto* slot = reinterpret_cast<Object*>(slab + at); slot->kind == ObjectKind::free_slot) {
            *link = slot;
            link = &slot->next;
        }
    }
    return link;
}

// Pops a free slot; with none left, a new slab's slots become the free list.
Object* Heap::allocate_slot(std::size_t size_class) {
    if (!free_slots_[size_class]) {
        auto* slab = static_cast<std::byte*>(::operator new(kSlabBytes));
        slabs_[size_class].push_back(slab);
        const std::size_t step = slot_bytes(size_class);
        for (std::size_t at = 0; at + step <= kSlabBytes; at += step)
            reinterpret_cast<Object*>(slab + at)->kind = ObjectKind::free_slot;
        *thread_free_slots(slab, size_class, &free_slots_[size_class]) = nullptr;
    }
    Object* slot = free_slots_[size_class];
    free_slots_[size_class] = slot->next;
    slot->next = nullptr;
    return slot;
}

Object* Heap::allocate(std::size_t bytes, ObjectKind kind) {
    if (stats_.live_bytes + bytes > next_collection_ || (limit_ && stats_.live_bytes + bytes > limit_)) collect();
    if (limit_ && stats_.live_bytes + bytes > limit_)
        throw Fault(fmt::format("heap limit exceeded: {} bytes live, {} more requested, limit {}", stats_.live_bytes,
                                bytes, limit_));
    Object* object;
    if (bytes <= kMaxSmallBytes) {
        object = allocate_slot(size_class(bytes));
    } else {
        object = static_cast<Object*>(allocate_large(bytes));
        object->next = large_objects_;
        large_objects_ = object;
    }
    object->bytes = bytes;
    object->kind = kind;
    object->marked = false;
    ++stats_.allocations;
    stats_.allocated_bytes += bytes;
    if (kind == ObjectKind::string) {
        ++stats_.string_allocations;
        stats_.string_bytes += bytes;
    } else {
        ++stats_.array_allocations;
        stats_.array_bytes += bytes;
    }
    stats_.live_bytes += bytes;
    if (stats_.live_bytes > stats_.peak_bytes) stats_.peak_bytes = stats_.live_bytes;
    return object;
}

String* Heap::new_string(std::string_view text) {
    auto* s = static_cast<String*>(allocate(sizeof(String) + text.size(), ObjectKind::string));
    s->length = text.size();
    if (!text.empty()) std::memcpy(s->data(), text.data(), text.size());
    return s;
}

String* Heap::concat(const String& a, const String& b) {
    // a and b must stay reachable across the allocation: callers keep them on the value stack.
    auto* s = static_cast<String*>(allocate(sizeof(String) + a.length + b.length, ObjectKind::string));
    s->length = a.length + b.length;
    if (a.length) std::memcpy(s->data(), a.data(), a.length);
    if (b.length) std::memcpy(s->data() + a.length, b.data(), b.length);
    return s;
}

Array* Heap::new_array(std::size_t length) {
    constexpr std::size_t max_length = (std::size_t{1} << 40) / sizeof(Value);
    if (length > max_length) throw Fault(fmt::format("array length {} is too large", length));
    // Room for the unpacked layout either way (see Array).
    const bool packed = length >= Array::kMinPackedLength;
    auto* array = static_cast<Array*>(
        allocate(sizeof(Array) + length * sizeof(Value), packed ? ObjectKind::packed_array : ObjectKind::array));
    array->length = length;
    // nil is all zero bits, packed or not (value.hpp), so the elements are filled as bytes: for a large array
    // `rep stosb` writes whole cache lines without reading them first, where a store per field would read each
    // line in.
    std::memset(static_cast<void*>(array + 1), 0, length * (packed ? 1 : sizeof(Value)));
    return array;
}

void Array::unpack() noexcept {
    std::uint8_t* from = bytes();
    Value* to = values();
    for (std::size_t k = length; k-- > 0;) to[k] = unpack_value(from[k]);
    kind = ObjectKind::array;
}

void Heap::mark(const Value& v) {
    if (!v.is_object() || v.as.obj->marked) return;
    v.as.obj->marked = true;
    if (v.as.obj->kind == ObjectKind::array) gray_.push_back(v.as.obj);  // a packed array holds no objects
}

void Heap::collect() {
    const auto start = std::chrono::steady_clock::now();
    const auto visit = [this](const Value& v) { mark(v); };
    if (roots_) roots_(visit);
    for (const Value& v : pins_) mark(v);
    // Arrays are scanned from an explicit worklist, so deeply nested arrays cannot overflow the C++ stack.
    while (!gray_.empty()) {
        const auto* array = static_cast<const Array*>(gray_.back());
        gray_.pop_back();
        for (std::size_t k = 0; k < array->length; ++k) mark(array->values()[k]);
    }
    sweep();
    ++stats_.gc_cycles;
    next_collection_ = std::max<std::uint64_t>(kMinThreshold, stats_.live_bytes * 2);
    stats_.gc_time_ns += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
}

void Heap::release(Object* object) {
    ++stats_.frees;
    stats_.freed_bytes += object->bytes;
    stats_.live_bytes -= object->bytes;
}

void Heap::sweep() {
    Object** link = &large_objects_;
    while (Object* object = *link) {
        if (object->marked) {
            object->marked = false;
            link = &object->next;
        } else {
            *link = object->next;
            release(object);
            free_large(object);
        }
    }
    for (std::size_t c = 0; c < kSizeClasses; ++c) sweep_slabs(c);
}

// Frees the class's dead objects, returns slabs left empty, and rebuilds its free list in address order.
void Heap::sweep_slabs(std::size_t size_class) {
    std::vector<std::byte*>& slabs = slabs_[size_class];
    const std::size_t step = slot_bytes(size_class);
    Object** link = &free_slots_[size_class];
    std::size_t kept = 0;
    for (std::byte* slab : slabs) {
        bool any_live = false;
        for (std::size_t at = 0; at + step <= kSlabBytes; at += step) {
            auto* object = reinterpret_cast<Object*>(slab + at);
            if (object->kind == ObjectKind::free_slot) continue;
            if (object->marked) {
                object->marked = false;
                any_live = true;
            } else {
                release(object);
                object->kind = ObjectKind::free_slot;
            }
        }
        if (!any_live) {
            ::operator delete(slab);
            continue;
        }
        link = thread_free_slots(slab, size_class, link);
        slabs[kept++] = slab;
    }
    *link = nullptr;
    slabs.resize(kept);
}

void Heap::reset_stats() {
    const std::uint64_t live = stats_.live_bytes;
    stats_ = HeapStats{};
    stats_.live_bytes = live;
    stats_.peak_bytes = live;
}

} // namespace opscope
