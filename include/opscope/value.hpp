// Values: a 16-byte tagged union. Strings and arrays live on the garbage-collected Heap (heap.hpp).
//
// `Value` is default-constructible without initialisation, so the VM's value stack can be allocated
// without touching every slot. Use the `Value::integer(...)` style factories.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace opscope {

// 64 bits wide so that a value is written and read as two whole 8-byte words (see Value::copy_from).
enum class Type : std::uint64_t {
    nil,
    boolean,
    integer,
    floating,
    string,
    array,
    undefined,  // internal: a global never stored; never visible to programs
};

std::string_view type_name(Type t);

struct Object;
struct String;
struct Array;

struct Value {
    union {
        std::int64_t i;  // also a bool's 0 or 1: narrower members would mean partial-word stores
        double f;
        Object* obj;
    } as;
    Type type;

    Value() = default;
    // Copies are two 8-byte moves, never one 16-byte vector move, and every field write is a whole 8-byte
    // word: results are written as two 8-byte stores, and a load spanning several stores cannot be
    // store-forwarded (a stall of over 10 cycles per instruction in the interpreter). The empty asm keeps
    // the compiler from re-merging the halves. (One exception, in the interpreter's aset_llc: a program
    // constant, written when the program was loaded, is copied into an array as one 16-byte move; loads of
    // either half of a 16-byte store forward.)
    Value(const Value& other) noexcept { copy_from(other); }
    Value& operator=(const Value& other) noexcept {
        copy_from(other);
        return *this;
    }

    static Value nil() { Value v; v.as.i = 0; v.type = Type::nil; return v; }
    static Value boolean(bool b) { Value v; v.as.i = b; v.type = Type::boolean; return v; }
    static Value integer(std::int64_t i) { Value v; v.as.i = i; v.type = Type::integer; return v; }
    static Value floating(double f) { Value v; v.as.f = f; v.type = Type::floating; return v; }
    static Value string(String* s);
    static Value array(Array* a);
    static Value undefined() { Value v; v.as.i = 0; v.type = Type::undefined; return v; }

    bool as_bool() const { return as.i != 0; }
    bool is_nil() const { return type == Type::nil; }
    bool is_int() const { return type == Type::integer; }
    bool is_float() const { return type == Type::floating; }
    bool is_number() const { return type == Type::integer || type == Type::floating; }
    bool is_string() const { return type == Type::string; }
    bool is_array() const { return type == Type::array; }
    bool is_object() const { return type == Type::string || type == Type::array; }

    String* as_string() const;
    Array* as_array() const;
    double to_double() const { return type == Type::integer ? static_cast<double>(as.i) : as.f; }

private:
    void copy_from(const Value& other) noexcept {
        std::uint64_t payload, tag;
        std::memcpy(&payload, &other.as, 8);
        std::memcpy(&tag, reinterpret_cast<const char*>(&other) + 8, 8);
#if defined(__GNUC__) || defined(__clang__)
#if defined(__clang__)
        // clang++ 14 (-O1 and up) mis-allocates an empty asm's tied ("+r") operands in the interpreter: a
        // comparison's bool, fed straight from a setcc, was dropped and the stale register stored instead
        // (`2 < 1` printed nil, or true). An untied move through a register is allocated correctly.
        asm("mov %1, %0" : "=r"(payload) : "r"(payload));
        asm("mov %1, %0" : "=r"(tag) : "r"(tag));
#else
        asm("" : "+r"(payload), "+r"(tag));
#endif
#endif
        std::memcpy(&as, &payload, 8);
        std::memcpy(reinterpret_cast<char*>(this) + 8, &tag, 8);
    }
};
static_assert(sizeof(Value) == 16);
// nil is all zero bits: Heap::new_array fills an array of nils with memset.
static_assert(static_cast<std::uint64_t>(Type::nil) == 0);

// Falsy: nil, false, 0, 0.0 (and -0.0). Everything else is truthy.
inline bool truthy(const Value& v) {
    switch (v.type) {
    case Type::nil: return false;
    case Type::boolean: return v.as_bool();
    case Type::integer: return v.as.i != 0;
    case Type::floating: return v.as.f != 0.0;
    case Type::string:
    case Type::array:
    case Type::undefined: return true;
    }
    return true;
}

// --- heap objects -------------------------------------------------------------------------------------
enum class ObjectKind : std::uint8_t {
    string,
    array,         // an Array of Values
    packed_array,  // an Array of nils and booleans, a byte each (see Array)
    free_slot,     // the heap's: a small-object slot not in use
};

struct Object {
    Object* next;        // the heap's: its list of large objects, or a free slot's successor
    std::size_t bytes;   // allocation size, for accounting
    ObjectKind kind;
    bool marked;
};

// Immutable byte string; the characters follow the header.
struct String : Object {
    std::size_t length;
    char* data() { return reinterpret_cast<char*>(this + 1); }
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }
    std::string_view view() const { return {data(), length}; }
};

// Fixed-length array; the elements follow the header, in one of two layouts. An array of nils at least
// kMinPackedLength long starts packed (ObjectKind::packed_array): a byte per element while every element is
// nil or a boolean, so a sieve's flags take 16 times less memory to write and read, and the collector has
// nothing to scan in them. The first store of anything else unpacks it to a Value per element, in place:
// the allocation always has the unpacked layout's size, so unpacking never allocates or collects, and the
// heap's accounting and limit do not depend on the layout.
struct Array : Object {
    static constexpr std::size_t kMinPackedLength = 64;
    std::size_t length;

    bool packed() const { return kind == ObjectKind::packed_array; }
    Value* values() { return reinterpret_cast<Value*>(this + 1); }  // unpacked only
    const Value* values() const { return reinterpret_cast<const Value*>(this + 1); }
    std::uint8_t* bytes() { return reinterpret_cast<std::uint8_t*>(this + 1); }  // packed only
    const std::uint8_t* bytes() const { return reinterpret_cast<const std::uint8_t*>(this + 1); }

    // A packed element's byte: its type << 1 | its truth (nil 0, false 2, true 3).
    static bool packable(const Value& v) { return v.type == Type::nil || v.type == Type::boolean; }
    static std::uint8_t pack(const Value& v) { return v.type == Type::nil ? 0 : static_cast<std::uint8_t>(2 | (v.as.i != 0)); }
    static bool packed_truth(std::uint8_t b) { return (b & 1) != 0; }
    static Value unpack_value(std::uint8_t b) {
        Value v;
        v.as.i = b & 1;
        v.type = static_cast<Type>(b >> 1);
        return v;
    }

    // Always inlined: they are the interpreter's array handlers, which g++ would otherwise call out of line.
    [[gnu::always_inline]] Value get(std::size_t k) const {
        if (packed()) return unpack_value(bytes()[k]);
        return values()[k];
    }
    [[gnu::always_inline]] void set(std::size_t k, const Value& v) {
        if (packed()) {
            if (packable(v)) {
                bytes()[k] = pack(v);
                return;
            }
            unpack();
        }
        values()[k] = v;
    }
    // Packed to unpacked, in place: from the last element down, each byte is read before its Value (at 16
    // times its offset, so past every byte not yet read) is written.
    [[gnu::cold]] void unpack() noexcept;
};
static_assert(sizeof(Array) % alignof(Value) == 0);
static_assert(static_cast<std::uint64_t>(Type::boolean) == 1);  // Array::pack's byte holds a type in one bit

inline Value Value::string(String* s) { Value v; v.as.obj = s; v.type = Type::string; return v; }
inline Value Value::array(Array* a) { Value v; v.as.obj = a; v.type = Type::array; return v; }
inline String* Value::as_string() const { return static_cast<String*>(as.obj); }
inline Array* Value::as_array() const { return static_cast<Array*>(as.obj); }

// --- operations shared by the interpreter, natives and tests -------------------------------------------

// eq/ne: numbers compare numerically (int vs float exactly), strings by content, arrays by identity.
bool values_equal(const Value& a, const Value& b);

// Three-way exact comparison of two numbers (int/float mixed without precision loss).
// Returns -1, 0, 1, or 2 when unordered (a NaN is involved).
int compare_numbers(const Value& a, const Value& b);

// How `print` writes a value: ints in decimal, floats shortest round-trip with ".0" when integral,
// strings raw, nil/true/false, arrays as "[1, 2, 3]" (nested arrays recursively; an array inside itself
// prints "[...]"). An array's text is bounded: once `max_chars` characters of it are written, the rest of
// every open array becomes the marker "...(truncated)" and the open brackets are closed, as in
// "[[1, 2], [3, ...(truncated)]]". The text is then at most about 2 * max_chars whatever the arrays hold
// (an array shared many times over prints once per occurrence). A value that is not an array, a string
// included, is written whole: it is already in the heap, under the heap's limit.
inline constexpr std::size_t kMaxDisplayChars = 1'000'000;
inline constexpr std::string_view kDisplayTruncated = "...(truncated)";
void append_display(std::string& out, const Value& v, std::size_t max_chars = kMaxDisplayChars);
std::string to_display(const Value& v, std::size_t max_chars = kMaxDisplayChars);

// Shortest round-trip text of a double, with ".0" appended when it would otherwise read as an integer.
std::string format_float(double d);

} // namespace opscope
