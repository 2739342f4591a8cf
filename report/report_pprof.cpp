// format_pprof: the profile as pprof's profile.proto (github.com/google/pprof proto/profile.proto), gzipped,
// written by a small protobuf encoder of our own and zlib. Field numbers are profile.proto's; ids of
// mappings, functions and locations run 1..N and string_table[0] is "", as Parca's and Pyroscope's
// validators require; sample type names have no '-' (Pyroscope).
// - Metric cpu: the sampled call stacks, leaf first, values [samples/count, cpu/nanoseconds] (statistical).
// - Metric instructions: one sample per executed instruction (function, offset), value instructions/count
//   (exact), labels opcode (string) and offset (number, unit "index"), at a location (function, line).
#include "export_support.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>
#include <vector>

namespace opscope {

namespace {

// Protocol buffers' wire format, the parts profile.proto uses: varints and length-delimited fields.
class ProtoWriter {
public:
    void varint(std::uint64_t value) {
        while (value >= 0x80) {
            bytes_ += static_cast<char>((value & 0x7f) | 0x80);
            value >>= 7;
        }
        bytes_ += static_cast<char>(value);
    }
    // A varint field (uint64, int64 of a non-negative value, bool); zero is the default and is left out.
    void field(std::uint32_t number, std::uint64_t value) {
        if (value == 0) return;
        varint(std::uint64_t{number} << 3);
        varint(value);
    }
    void bytes_field(std::uint32_t number, std::string_view bytes) {
        varint((std::uint64_t{number} << 3) | 2);
        varint(bytes.size());
        bytes_ += bytes;
    }
    void message(std::uint32_t number, const ProtoWriter& nested) { bytes_field(number, nested.bytes_); }
    // A packed repeated varint field (written even when empty would be left out).
    void packed(std::uint32_t number, const std::vector<std::uint64_t>& values) {
        if (values.empty()) return;
        ProtoWriter body;
        for (std::uint64_t v : values) body.varint(v);
        bytes_field(number, body.bytes_);
    }
    const std::string& bytes() const { return bytes_; }

private:
    std::string bytes_;
};

// profile.proto's field numbers.
namespace field {
enum Profile : std::uint32_t {
    sample_type = 1, sample = 2, mapping = 3, location = 4, function = 5, string_table = 6,
    time_nanos = 9, duration_nanos = 10, period_type = 11, period = 12, comment = 13, default_sample_type = 14
};
enum ValueType : std::uint32_t { type = 1, unit = 2 };
enum Sample : std::uint32_t { location_id = 1, value = 2, label = 3 };
enum Label : std::uint32_t { key = 1, str = 2, num = 3, num_unit = 4 };
enum Mapping : std::uint32_t { mapping_id = 1, filename = 5, has_functions = 7, has_filenames = 8, has_line_numbers = 9 };
enum Location : std::uint32_t { location_id_field = 1, location_mapping_id = 2, line = 4 };
enum Line : std::uint32_t { function_id = 1, line_number = 2 };
enum Function : std::uint32_t { function_id_field = 1, name = 2, system_name = 3, function_filename = 4, start_line = 5 };
} // namespace field

class StringTable {
public:
    StringTable() { index(""); }
    std::uint64_t index(const std::string& text) {
        const auto [it, added] = indices_.emplace(text, strings_.size());
        if (added) strings_.push_back(text);
        return it->second;
    }
    const std::vector<std::string>& strings() const { return strings_; }

private:
    std::map<std::string, std::uint64_t> indices_;
    std::vector<std::string> strings_;
};

struct Sample {
    std::vector<std::uint64_t> locations;  // leaf first
    std::vector<std::uint64_t> values;
    std::vector<std::pair<std::string, std::string>> string_labels;
    std::vector<std::pair<std::string, std::uint64_t>> number_labels;
};

// The profile being built: functions and locations get ids 1..N in the order of their keys (sorted, so the
// output is deterministic).
class PprofBuilder {
public:
    explicit PprofBuilder(const Profile& profile) : profile_(profile), functions_(profile) {}

    void add_location(const std::string& function, std::uint32_t line) {
        function_ids_.emplace(function, 0);
        location_ids_.emplace(std::pair(function, line), 0);
    }
    void number_ids() {
        std::uint64_t id = 0;
        for (auto& [name, function_id] : function_ids_) function_id = ++id;
        id = 0;
        for (auto& [key, location_id] : location_ids_) location_id = ++id;
    }
    std::uint64_t location(const std::string& function, std::uint32_t line) const {
        return location_ids_.at(std::pair(function, line));
    }

    std::string encode(const std::vector<std::pair<std::string, std::string>>& sample_types,
                       const std::pair<std::string, std::string>& period_type, std::uint64_t period,
                       const std::vector<Sample>& samples, const std::vector<std::string>& comments,
                       std::uint64_t time_nanos) {
        ProtoWriter out;
        for (const auto& [type, unit] : sample_types) out.message(field::sample_type, value_type(type, unit));
        for (const Sample& s : samples) {
            ProtoWriter sample;
            sample.packed(field::location_id, s.locations);
            sample.packed(field::value, s.values);
            for (const auto& [key, text] : s.string_labels) {
                ProtoWriter label;
                label.field(field::key, strings_.index(key));
                label.field(field::str, strings_.index(text));
                sample.message(field::label, label);
            }
            for (const auto& [key, number] : s.number_labels) {
                ProtoWriter label;
                label.field(field::key, strings_.index(key));
                label.field(field::num, number);
                // A unit: pprof drops a numeric label whose num and unit are both 0 (offset 0 would be lost).
                label.field(field::num_unit, strings_.index("index"));
                sample.message(field::label, label);
            }
            out.message(field::sample, sample);
        }
        ProtoWriter mapping;
        mapping.field(field::mapping_id, 1);
        mapping.field(field::filename, strings_.index(profile_.source_file.empty() ? "opscope" : profile_.source_file));
        mapping.field(field::has_functions, 1);
        mapping.field(field::has_filenames, 1);
        mapping.field(field::has_line_numbers, 1);
        out.message(field::mapping, mapping);
        for (const auto& [key, id] : location_ids_) {
            ProtoWriter location, line;
            location.field(field::location_id_field, id);
            location.field(field::location_mapping_id, 1);
            line.field(field::function_id, function_ids_.at(key.first));
            line.field(field::line_number, key.second);
            location.message(field::line, line);
            out.message(field::location, location);
        }
        for (const auto& [name, id] : function_ids_) {
            ProtoWriter function;
            function.field(field::function_id_field, id);
            function.field(field::name, strings_.index(name));
            function.field(field::system_name, strings_.index(name));
            const std::optional<std::string> file = functions_.file(name);
            function.field(field::function_filename, strings_.index(file ? *file : functions_.native(name) ? "<native>" : ""));
            function.field(field::start_line, functions_.first_line(name));
            out.message(field::function, function);
        }
        out.field(field::time_nanos, time_nanos);
        if (profile_.summary && profile_.summary->wall_time_ns) out.field(field::duration_nanos, *profile_.summary->wall_time_ns);
        out.message(field::period_type, value_type(period_type.first, period_type.second));
        out.field(field::period, period);
        for (const std::string& comment : comments) out.field(field::comment, strings_.index(comment));
        out.field(field::default_sample_type, strings_.index(sample_types.back().first));
        // Last: every string is interned by now.
        for (const std::string& s : strings_.strings()) out.bytes_field(field::string_table, s);
        return out.bytes();
    }

private:
    ProtoWriter value_type(const std::string& type, const std::string& unit) {
        ProtoWriter v;
        v.field(field::type, strings_.index(type));
        v.field(field::unit, strings_.index(unit));
        return v;
    }

    const Profile& profile_;
    exports::FunctionIndex functions_;
    StringTable strings_;
    std::map<std::string, std::uint64_t> function_ids_;
    std::map<std::pair<std::string, std::uint32_t>, std::uint64_t> location_ids_;
};

std::string gzipped(const std::string& bytes) {
    z_stream stream{};
    // windowBits 15 + 16: a gzip wrapper (header with no name and mtime 0, so the bytes are deterministic).
    if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("pprof: zlib could not start compressing");
    std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 32, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(bytes.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int result = deflate(&stream, Z_FINISH);
    const std::size_t written = stream.total_out;
    deflateEnd(&stream);
    if (result != Z_STREAM_END) throw std::runtime_error("pprof: zlib could not compress the profile");
    out.resize(written);
    return out;
}

// When the run began: the profile's start time, else now minus the wall time (the run just ended), else now.
std::uint64_t start_time(const Profile& profile, const PprofOptions& options) {
    if (profile.summary && profile.summary->start_unix_ns) return *profile.summary->start_unix_ns;
    const std::uint64_t now =
        options.now_unix_ns ? *options.now_unix_ns
                            : static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                             std::chrono::system_clock::now().time_since_epoch())
                                                             .count());
    const std::uint64_t wall = profile.summary && profile.summary->wall_time_ns ? *profile.summary->wall_time_ns : 0;
    return now > wall ? now - wall : now;
}

std::vector<std::string> common_comments(const Profile& profile) {
    std::vector<std::string> comments;
    comments.push_back(fmt::format("opscope profile{}{}",
                                   profile.source_file.empty() ? std::string() : " of " + profile.source_file,
                                   profile.policy.empty() ? std::string() : ", policy " + profile.policy));
    if (profile.partial) comments.push_back(exports::partial_note(profile));
    return comments;
}

std::string cpu_profile(const Profile& profile, const PprofOptions& options) {
    if (!profile.call_stacks)
        throw MissingGroupError("pprof --metric cpu", "the sampled call stacks (call_stacks)", profile.policy,
                                exports::kStacksRecordedBy);
    const auto& stacks = profile.call_stacks->entries;
    // Stacks carry times all or none; with no stack at all, a sampler that measured times says so (timing).
    const bool timed = std::all_of(stacks.begin(), stacks.end(), [](const StackSample& s) { return s.time_ns.has_value(); }) &&
                       (!stacks.empty() || profile.timing.has_value());

    PprofBuilder builder(profile);
    auto line_of = [](const StackSample& s, std::size_t i) { return s.lines.size() == s.frames.size() ? s.lines[i] : 0u; };
    for (const StackSample& s : stacks)
        for (std::size_t i = 0; i < s.frames.size(); ++i) builder.add_location(s.frames[i], line_of(s, i));
    builder.number_ids();

    std::vector<Sample> samples;
    for (const StackSample& s : stacks) {
        if (s.frames.empty()) continue;
        Sample sample;
        for (std::size_t i = s.frames.size(); i-- > 0;) sample.locations.push_back(builder.location(s.frames[i], line_of(s, i)));
        sample.values.push_back(s.samples);
        if (timed) sample.values.push_back(*s.time_ns);
        samples.push_back(std::move(sample));
    }

    std::vector<std::pair<std::string, std::string>> types = {{"samples", "count"}};
    if (timed) types.emplace_back("cpu", "nanoseconds");
    std::uint64_t period = 1;
    std::pair<std::string, std::string> period_type = {"samples", "count"};
    if (timed) {
        period_type = {"cpu", "nanoseconds"};
        const std::uint64_t hz = profile.timing && profile.timing->sample_rate_hz ? *profile.timing->sample_rate_hz : 0;
        period = hz ? 1'000'000'000 / hz : 0;
    }
    std::vector<std::string> comments = common_comments(profile);
    comments.push_back(fmt::format("samples{}: {} (sampled call stacks{})", timed ? " and cpu" : "",
                                   to_string(profile.call_stacks->accuracy),
                                   profile.timing ? ", " + profile.timing->method : std::string()));
    return gzipped(builder.encode(types, period_type, period, samples, comments, start_time(profile, options)));
}

std::string instructions_profile(const Profile& profile, const PprofOptions& options) {
    if (!profile.instructions)
        throw MissingGroupError("pprof --metric instructions", "the executed instructions (hotspots)", profile.policy,
                                exports::kHotspotsRecordedBy);
    PprofBuilder builder(profile);
    for (const InstructionStats& i : profile.instructions->entries) builder.add_location(i.function, i.line);
    builder.number_ids();
    std::vector<Sample> samples;
    for (const InstructionStats& i : profile.instructions->entries) {
        if (i.count == 0) continue;
        Sample sample;
        sample.locations.push_back(builder.location(i.function, i.line));
        sample.values.push_back(i.count);
        sample.string_labels.emplace_back("opcode", i.opcode);
        sample.number_labels.emplace_back("offset", i.offset);
        samples.push_back(std::move(sample));
    }
    std::vector<std::string> comments = common_comments(profile);
    comments.push_back(fmt::format("instructions: {} (every executed instruction counted), labelled with opcode and offset",
                                   to_string(profile.instructions->accuracy)));
    return gzipped(builder.encode({{"instructions", "count"}}, {"instructions", "count"}, 1, samples, comments,
                                  start_time(profile, options)));
}

} // namespace

std::string format_pprof(const Profile& profile, const PprofOptions& options) {
    return options.metric == PprofOptions::Metric::cpu ? cpu_profile(profile, options)
                                                       : instructions_profile(profile, options);
}

} // namespace opscope
