// json::Writer and its output (json_writer.hpp).
#include "json_writer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace opscope::json {

void ChunkedOutput::flush() {
    if (at_ != chunk_.data()) sink_(std::string_view(chunk_.data(), static_cast<std::size_t>(at_ - chunk_.data())));
    at_ = chunk_.data();
}

void ChunkedOutput::grow(std::size_t bound) {
    flush();
    if (chunk_.size() < bound) {  // a value longer than a chunk
        chunk_.resize(bound);
        at_ = chunk_.data();
    }
}

std::string quoted(std::string_view text) {
    using Json = nlohmann::ordered_json;
    return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

void write_quoted(ChunkedOutput& out, std::string_view text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x80;
    });
    if (!plain) {
        out.write(quoted(text));
        return;
    }
    char*& at = out.reserve(2 * text.size() + 2);
    *at++ = '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') *at++ = '\\';
        *at++ = c;
    }
    *at++ = '"';
}

Writer& Writer::key(std::string_view name) {
    element();
    write_quoted(out_, name);
    out_.write(pretty_ ? ": " : ":");
    after_key_ = true;
    return *this;
}

Writer& Writer::value(std::string_view v) {
    element();
    write_quoted(out_, v);
    return *this;
}

Writer& Writer::value(double v) {
    if (!std::isfinite(v)) return raw("null");
    element();
    // nlohmann's own formatting of the shortest digits, so the text stays dump()'s.
    char*& at = out_.reserve(64);
    at = nlohmann::detail::to_chars(at, at + 64, v);
    return *this;
}

void Writer::element() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (open_.empty()) return;
    const bool first = open_.back()++ == 0;
    if (!pretty_) {
        if (!first) out_.write(",");
        return;
    }
    out_.write(first ? "\n" : ",\n");
    indent(open_.size());
}

Writer& Writer::open(char bracket) {
    element();
    out_.write(std::string_view(&bracket, 1));
    open_.push_back(0);
    return *this;
}

Writer& Writer::close(char bracket) {
    const bool empty = open_.back() == 0;
    open_.pop_back();
    if (pretty_ && !empty) {
        out_.write("\n");
        indent(open_.size());
    }
    out_.write(std::string_view(&bracket, 1));
    return *this;
}

void Writer::indent(std::size_t levels) {
    char*& at = out_.reserve(2 * levels);
    at = std::fill_n(at, 2 * levels, ' ');
}

} // namespace opscope::json
