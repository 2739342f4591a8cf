// JSON written as it is made, for the writers of JSON formats (report_json.cpp, report_chrome.cpp,
// report_speedscope.cpp, diff_format.cpp): the text nlohmann's dump() gives the same document (pretty: dump(2); compact:
// dump(-1); ensure_ascii off, invalid UTF-8 replaced by U+FFFD), byte for byte, with no document in memory.
// Building an ordered_json document first (a node per value, a vector per object, then a dump that writes a
// character at a time through a virtual call, into one string of the whole text) took more instructions and
// page faults than everything else a cold `opscope profile --format json` does after the run (BENCHMARKS.md
// section 8). Private to report/.
#pragma once

#include <opscope/report.hpp>

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opscope::json {

// Text for a ReportSink, in pieces of at most about kChunk bytes (more only for one value longer than that):
// the report never sits in memory whole. A Full profile's JSON is ~0.4 MB, ~100 pages whose first touch costs
// ~10 us each on the guests of BENCHMARKS.md (section 8); one chunk reused is 4 pages.
class ChunkedOutput {
public:
    static constexpr std::size_t kChunk = 16 * 1024;
    explicit ChunkedOutput(const ReportSink& sink) : sink_(sink), chunk_(kChunk, '\0'), at_(chunk_.data()) {}
    // The write position, with room for `bound` more bytes (flushing first if needed); advance it past what
    // is written.
    char*& reserve(std::size_t bound) {
        if (static_cast<std::size_t>(chunk_.data() + chunk_.size() - at_) < bound) grow(bound);
        return at_;
    }
    void write(std::string_view text) {
        char*& at = reserve(text.size());
        std::memcpy(at, text.data(), text.size());
        at += text.size();
    }
    void flush();

private:
    void grow(std::size_t bound);

    const ReportSink& sink_;
    std::string chunk_;
    char* at_;
};

// Copies a string literal (its size known when compiling, so the copy is a few moves, not a call) to `at`.
template <std::size_t N>
void put_literal(char*& at, const char (&text)[N]) {
    std::memcpy(at, text, N - 1);
    at += N - 1;
}

// `text` as dump() quotes it, escapes and U+FFFD (for invalid UTF-8) included. Printable ASCII, nearly every
// string in a profile, is copied; anything else goes through nlohmann's own escaping.
std::string quoted(std::string_view text);
void write_quoted(ChunkedOutput& out, std::string_view text);

class Writer {
public:
    enum class Style { pretty, compact };  // dump(2) or dump(-1)
    Writer(ChunkedOutput& out, Style style) : out_(out), pretty_(style == Style::pretty) {}

    Writer& begin_object() { return open('{'); }
    Writer& end_object() { return close('}'); }
    Writer& begin_array() { return open('['); }
    Writer& end_array() { return close(']'); }
    Writer& key(std::string_view name);
    template <class T>
    Writer& field(std::string_view name, const T& v) {
        key(name);
        return value(v);
    }

    Writer& value(std::nullptr_t) { return raw("null"); }
    Writer& value(bool v) { return raw(v ? "true" : "false"); }
    Writer& value(std::string_view v);
    Writer& value(const std::string& v) { return value(std::string_view(v)); }
    Writer& value(const char* v) { return value(std::string_view(v)); }  // not bool
    template <std::integral T>
    Writer& value(T v) {
        element();
        char*& at = out_.reserve(20);
        at = std::to_chars(at, at + 20, v).ptr;
        return *this;
    }
    Writer& value(double v);  // shortest digits as dump() writes them ("1.0", "1e-05"); NaN and infinities: null
    template <class T>
    Writer& value(const std::optional<T>& v) {
        return v ? value(*v) : value(nullptr);
    }
    template <class T>
    Writer& value(const std::vector<T>& list) {
        begin_array();
        for (const T& v : list) value(v);
        return end_array();
    }
    // A value that a function writes (exactly one: an object, an array, a scalar or null).
    template <class Write>
        requires std::invocable<const Write&, Writer&>
    Writer& value(const Write& write) {
        write(*this);
        return *this;
    }
    // After the document's value: its closing newline (dump() has none; the files have one), and the last piece.
    void end_document() {
        out_.write("\n");
        out_.flush();
    }
    // Text already in the document's form at this place (e.g. an array written straight to the output).
    Writer& raw(std::string_view text) {
        element();
        out_.write(text);
        return *this;
    }

private:
    void element();  // before a value: its separator and indentation, unless a key has just put it in place
    Writer& open(char bracket);
    Writer& close(char bracket);
    void indent(std::size_t levels);

    ChunkedOutput& out_;
    bool pretty_;
    std::vector<std::size_t> open_;  // per open object or array, the values written in it so far
    bool after_key_ = false;
};

// What a streaming writer (`write(sink)`) puts to its sink, as one string: the format_* form of a write_*.
template <class Write>
std::string collected(const Write& write) {
    std::string text;
    write([&text](std::string_view piece) { text += piece; });
    return text;
}

} // namespace opscope::json
