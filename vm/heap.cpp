// Mark-sweep collection. An allocation collects first when the heap would grow past twice the bytes that
// were live after the previous collection (at least 1 MiB), or past the host's limit; so memory stays
// bounded by a constant factor of what the program really keeps alive.
#include "heap.hpp"
#include "errors.hpp"

#include <fmt/format.h>

#include <cstring>
#include <new>

namespace opscope {

Heap::~Heap() {
    while (objects_) {
        Object* next = objects_->next;
        ::operator delete(objects_);
        objects_ = next;
    }
}

Object* Heap::allocate(std::size_t bytes, ObjectKind kind) {
    if (stats_.live_bytes + bytes > next_collection_ || (limit_ && stats_.live_bytes + bytes > limit_)) collect();
    if (limit_ && stats_.live_bytes + bytes > limit_)
        throw Fault(fmt::format("heap limit exceeded: {} bytes live, {} more requested, limit {}", stats_.live_bytes,
                                bytes, limit_));
    auto* object = static_cast<Object*>(::operator new(bytes));
    object->next = objects_;
    object->bytes = bytes;
    object->kind = kind;
    object->marked = false;
    objects_ = object;
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
    auto* array = static_cast<Array*>(allocate(sizeof(Array) + length * sizeof(Value), ObjectKind::array));
    array->length = length;
    Value* elements = array->elements();
    for (std::size_t k = 0; k < length; ++k) elements[k] = Value::nil();
    return array;
}

void Heap::mark(const Value& v) {
    if (!v.is_object() || v.as.obj->marked) return;
    v.as.obj->marked = true;
    if (v.as.obj->kind == ObjectKind::array) gray_.push_back(v.as.obj);
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
        for (std::size_t k = 0; k < array->length; ++k) mark(array->elements()[k]);
    }
    sweep();
    ++stats_.gc_cycles;
    next_collection_ = std::max<std::uint64_t>(kMinThreshold, stats_.live_bytes * 2);
    stats_.gc_time_ns += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
}

void Heap::sweep() {
    Object** link = &objects_;
    while (Object* object = *link) {
        if (object->marked) {
            object->marked = false;
            link = &object->next;
        } else {
            *link = object->next;
            ++stats_.frees;
            stats_.freed_bytes += object->bytes;
            stats_.live_bytes -= object->bytes;
            ::operator delete(object);
        }
    }
}

void Heap::reset_stats() {
    const std::uint64_t live = stats_.live_bytes;
    stats_ = HeapStats{};
    stats_.live_bytes = live;
    stats_.peak_bytes = live;
}

} // namespace opscope
