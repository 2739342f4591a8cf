// The export writers (folded stacks, pprof, callgrind), from hand-built Profiles that set the export fields
// (function files and first lines, per-frame stack lines, call sites with inclusive instructions, the start
// time) and from profiles without them: each output is read back here — folded lines parsed, pprof
// gunzipped with zlib and decoded by a small protobuf reader of this file, callgrind's records parsed — and
// checked against the profile. Missing groups and partial runs are checked for every format. The real
// readers (go tool pprof, pprof-format, callgrind_annotate, flamegraph.pl) are run by tools/readers.sh.
#include <opscope/profile.hpp>
#include <opscope/report.hpp>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include <zlib.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

using namespace opscope;

namespace {

// fib(3) from main: 2 call sites in fib (lines 3), one in main (line 5); a native `print` called by main.
Profile export_profile() {
    Profile p;
    p.policy = "full";
    p.source_file = "fib.ops";
    p.summary = Summary{Accuracy::exact, 1000, 7, 2'000'000, 4, 1'700'000'000'000'000'000};
    p.timing = TimingInfo{"timer signal ~500 Hz", 10, 1000, 500, 0};
    p.instructions = InstructionGroup{Accuracy::exact,
                                      {{"fib", 0, 2, "load", 400},
                                       {"fib", 2, 2, "jz", 200},
                                       {"fib", 4, 3, "call", 100},
                                       {"fib", 6, 3, "add", 280},
                                       {"main", 0, 5, "call", 10},
                                       {"main", 1, 5, "halt", 10}}};
    p.lines = LineGroup{Accuracy::exact, Accuracy::statistical,
                        {{2, 600, 12'000'000, "  if (n < 2) { return n; }"},
                         {3, 380, 8'000'000, "  return fib(n - 1) + fib(n - 2);"},
                         {5, 20, 0, "print(fib(3));"}}};
    p.functions = FunctionGroup{Accuracy::exact, Accuracy::statistical,
                                {{"fib", 4, 18'000'000, 19'000'000, false, "fib.ops", 1, 980},
                                 {"main", 1, 0, 20'000'000, false, "fib.ops", 1, 1000},
                                 {"print", 1, 1'000'000, 1'000'000, true, std::nullopt, std::nullopt, std::nullopt}}};
    p.call_graph = CallGraph{Accuracy::exact, Accuracy::statistical,
                             {{"", "main", 1, 20'000'000, 1000, {}},
                              {"fib", "fib", 3, 15'000'000, 700, {{4, 3, 3, 700}}},
                              {"main", "fib", 1, 19'000'000, 980, {{0, 5, 1, 980}}},
                              {"main", "print", 1, 1'000'000, 0, {{0, 5, 1, 0}}}}};
    p.call_stacks = StackSampleGroup{Accuracy::statistical,
                                     {{{"main", "fib"}, 4, 8'000'000, {5, 2}},
                                      {{"main", "fib", "fib"}, 5, 10'000'000, {5, 3, 2}},
                                      {{"main", "print"}, 1, 2'000'000, {5, 0}}}};
    return p;
}

// The same run as a policy that does not know the export fields would record it.
Profile bare_profile() {
    Profile p = export_profile();
    p.summary->start_unix_ns.reset();
    for (FunctionStats& f : p.functions->entries) f = FunctionStats{f.name, f.calls, f.self_time_ns, f.total_time_ns, f.native, {}, {}, {}};
    for (CallEdge& e : p.call_graph->entries) {
        e.inclusive_instructions.reset();
        e.sites.clear();
    }
    for (StackSample& s : p.call_stacks->entries) s.lines.clear();
    return p;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// Folded text parsed back: stack -> count, with every line checked against flamegraph.pl's pattern.
std::map<std::string, std::uint64_t> parse_folded(const std::string& text) {
    std::map<std::string, std::uint64_t> stacks;
    for (const std::string& line : lines_of(text)) {
        const std::size_t space = line.rfind(' ');
        BOOST_TEST_REQUIRE(space != std::string::npos, line);
        const std::string count = line.substr(space + 1);
        BOOST_TEST_REQUIRE(!count.empty());
        BOOST_TEST_REQUIRE(count.find_first_not_of("0123456789") == std::string::npos, line);
        BOOST_TEST(!stacks.contains(line.substr(0, space)), "one line per stack: " << line);
        stacks[line.substr(0, space)] = std::stoull(count);
    }
    return stacks;
}

// --- a protobuf reader, enough for profile.proto ---

struct ProtoField {
    std::uint64_t number = 0;  // a varint's value
    std::string bytes;         // a length-delimited field's bytes
};
using ProtoMessage = std::multimap<std::uint32_t, ProtoField>;

std::uint64_t read_varint(std::string_view data, std::size_t& at) {
    std::uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
        BOOST_TEST_REQUIRE(at < data.size());
        const auto byte = static_cast<std::uint8_t>(data[at++]);
        value |= std::uint64_t{byte & 0x7fu} << shift;
        if (!(byte & 0x80)) return value;
    }
}

ProtoMessage decode(std::string_view data) {
    ProtoMessage message;
    for (std::size_t at = 0; at < data.size();) {
        const std::uint64_t key = read_varint(data, at);
        ProtoField field;
        if ((key & 7) == 0) {
            field.number = read_varint(data, at);
        } else {
            BOOST_TEST_REQUIRE((key & 7) == 2u, "only varint and length-delimited fields are written");
            const std::uint64_t size = read_varint(data, at);
            BOOST_TEST_REQUIRE(at + size <= data.size());
            field.bytes = std::string(data.substr(at, size));
            at += size;
        }
        message.emplace(static_cast<std::uint32_t>(key >> 3), std::move(field));
    }
    return message;
}

std::vector<const ProtoField*> all(const ProtoMessage& m, std::uint32_t number) {
    std::vector<const ProtoField*> fields;
    for (auto [it, end] = m.equal_range(number); it != end; ++it) fields.push_back(&it->second);
    return fields;
}
std::uint64_t number(const ProtoMessage& m, std::uint32_t field) {
    const auto it = m.find(field);
    return it == m.end() ? 0 : it->second.number;
}
std::vector<std::uint64_t> packed(const ProtoMessage& m, std::uint32_t field) {
    std::vector<std::uint64_t> values;
    for (const ProtoField* f : all(m, field))
        for (std::size_t at = 0; at < f->bytes.size();) values.push_back(read_varint(f->bytes, at));
    return values;
}

std::string gunzip(const std::string& gz) {
    BOOST_TEST_REQUIRE(gz.size() > 18u);
    BOOST_TEST_REQUIRE((static_cast<unsigned char>(gz[0]) == 0x1f && static_cast<unsigned char>(gz[1]) == 0x8b));
    z_stream stream{};
    BOOST_TEST_REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
    std::string out(1 << 20, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    stream.avail_in = static_cast<uInt>(gz.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int result = inflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    inflateEnd(&stream);
    BOOST_TEST_REQUIRE(result == Z_STREAM_END);
    return out;
}

// A decoded pprof profile with its strings, functions and locations resolved.
struct Pprof {
    ProtoMessage root;
    std::vector<std::string> strings;
    std::vector<ProtoMessage> functions, locations, samples, mappings;

    explicit Pprof(const std::string& gz) : root(decode(gunzip(gz))) {
        for (const ProtoField* s : all(root, 6)) strings.push_back(s->bytes);
        for (const ProtoField* f : all(root, 5)) functions.push_back(decode(f->bytes));
        for (const ProtoField* f : all(root, 4)) locations.push_back(decode(f->bytes));
        for (const ProtoField* f : all(root, 2)) samples.push_back(decode(f->bytes));
        for (const ProtoField* f : all(root, 3)) mappings.push_back(decode(f->bytes));
    }
    const std::string& str(std::uint64_t index) const {
        BOOST_TEST_REQUIRE(index < strings.size());
        return strings[index];
    }
    std::vector<std::string> sample_types() const {
        std::vector<std::string> types;
        for (const ProtoField* f : all(root, 1)) {
            const ProtoMessage t = decode(f->bytes);
            types.push_back(str(number(t, 1)) + "/" + str(number(t, 2)));
        }
        return types;
    }
    // "function:line" of a location id.
    std::string frame(std::uint64_t location_id) const {
        BOOST_TEST_REQUIRE((location_id >= 1 && location_id <= locations.size()));
        const ProtoMessage& location = locations[location_id - 1];
        const std::vector<const ProtoField*> lines = all(location, 4);
        BOOST_TEST_REQUIRE(lines.size() == 1u);
        const ProtoMessage line = decode(lines[0]->bytes);
        const std::uint64_t function_id = number(line, 1);
        BOOST_TEST_REQUIRE((function_id >= 1 && function_id <= functions.size()));
        return str(number(functions[function_id - 1], 2)) + ":" + std::to_string(number(line, 2));
    }
    std::vector<std::string> comments() const {
        std::vector<std::string> out;
        for (std::uint64_t index : packed(root, 13)) out.push_back(str(index));
        for (const ProtoField* f : all(root, 13))
            if (f->bytes.empty()) out.push_back(str(f->number));  // written unpacked: one varint each
        return out;
    }
    // Parca's and Pyroscope's structural rules.
    void check_valid() const {
        BOOST_TEST_REQUIRE(!strings.empty());
        BOOST_TEST(strings[0].empty());
        for (std::size_t i = 0; i < functions.size(); ++i) BOOST_TEST(number(functions[i], 1) == i + 1);
        for (std::size_t i = 0; i < locations.size(); ++i) {
            BOOST_TEST(number(locations[i], 1) == i + 1);
            BOOST_TEST(number(locations[i], 2) == 1u);  // the one mapping
        }
        BOOST_TEST_REQUIRE(mappings.size() == 1u);
        BOOST_TEST(number(mappings[0], 1) == 1u);
        for (const std::string& type : sample_types()) BOOST_TEST(type.find('-') == std::string::npos);
        for (const ProtoMessage& s : samples) {
            BOOST_TEST(packed(s, 2).size() == sample_types().size());
            for (std::uint64_t id : packed(s, 1)) BOOST_TEST((id >= 1 && id <= locations.size()));
        }
    }
};

bool contains(const std::vector<std::string>& texts, std::string_view part) {
    for (const std::string& t : texts)
        if (t.find(part) != std::string::npos) return true;
    return false;
}

} // namespace

BOOST_AUTO_TEST_SUITE(folded)

BOOST_AUTO_TEST_CASE(stacks_with_lines_like_py_spy_sorted_and_summing_to_the_samples) {
    const std::string text = format_folded(export_profile());
    BOOST_TEST(text == "main (fib.ops:5);fib (fib.ops:2) 4\n"
                       "main (fib.ops:5);fib (fib.ops:3);fib (fib.ops:2) 5\n"
                       "main (fib.ops:5);print 1\n");
    const auto stacks = parse_folded(text);
    BOOST_TEST(std::accumulate(stacks.begin(), stacks.end(), std::uint64_t{0},
                               [](std::uint64_t sum, const auto& s) { return sum + s.second; }) == 10u);
}

BOOST_AUTO_TEST_CASE(no_lines_and_time_weight) {
    FoldedOptions options;
    options.lines = false;
    BOOST_TEST(format_folded(export_profile(), options) == "main;fib 4\nmain;fib;fib 5\nmain;print 1\n");
    options.weight = FoldedOptions::Weight::time;
    BOOST_TEST(format_folded(export_profile(), options) == "main;fib 8000000\nmain;fib;fib 10000000\nmain;print 2000000\n");
}

BOOST_AUTO_TEST_CASE(stacks_without_lines_fold_without_them) {
    BOOST_TEST(format_folded(bare_profile()) == "main;fib 4\nmain;fib;fib 5\nmain;print 1\n");
}

BOOST_AUTO_TEST_CASE(separators_in_names_are_replaced_and_zero_counts_left_out) {
    Profile p = bare_profile();
    p.call_stacks->entries = {{{"main", "a;b\nc"}, 2, {}, {}}, {{"main"}, 0, {}, {}}};
    BOOST_TEST(format_folded(p) == "main;a_b c 2\n");
}

BOOST_AUTO_TEST_CASE(missing_stacks_or_times_name_the_policies_that_record_them) {
    Profile p = export_profile();
    p.policy = "counting";
    p.call_stacks.reset();
    try {
        (void)format_folded(p);
        BOOST_FAIL("no error");
    } catch (const MissingGroupError& e) {
        const std::string message = e.what();
        BOOST_TEST(message.find("call_stacks") != std::string::npos, message);
        BOOST_TEST(message.find("'counting'") != std::string::npos, message);
        BOOST_TEST(message.find("--policy timing or full") != std::string::npos, message);
    }
    p = export_profile();
    p.call_stacks->entries[0].time_ns.reset();
    FoldedOptions by_time;
    by_time.weight = FoldedOptions::Weight::time;
    BOOST_CHECK_THROW((void)format_folded(p, by_time), MissingGroupError);
    BOOST_CHECK_NO_THROW((void)format_folded(p));
}

BOOST_AUTO_TEST_CASE(partial_run_is_a_zero_count_first_line) {
    Profile p = export_profile();
    p.partial = true;
    p.error = "division by zero;\nat fib";
    const std::vector<std::string> lines = lines_of(format_folded(p));
    BOOST_TEST_REQUIRE(lines.size() == 4u);
    BOOST_TEST(lines[0] == "[partial: the run stopped at a runtime error (division by zero_ at fib), the data covers what ran] 0");
    BOOST_TEST(parse_folded(format_folded(p)).size() == 4u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pprof)

BOOST_AUTO_TEST_CASE(cpu_profile_decodes_to_the_sampled_stacks_leaf_first) {
    const Pprof pprof(format_pprof(export_profile()));
    pprof.check_valid();
    BOOST_TEST(pprof.sample_types() == (std::vector<std::string>{"samples/count", "cpu/nanoseconds"}));
    BOOST_TEST(number(pprof.root, 9) == 1'700'000'000'000'000'000u);  // time_nanos: the start time
    BOOST_TEST(number(pprof.root, 10) == 2'000'000u);                 // duration_nanos: the wall time
    BOOST_TEST(number(pprof.root, 12) == 2'000'000u);                 // period: 1 s / 500 Hz
    BOOST_TEST(pprof.str(number(pprof.root, 14)) == "cpu");           // default_sample_type
    const ProtoMessage period_type = decode(pprof.root.find(11)->second.bytes);
    BOOST_TEST(pprof.str(number(period_type, 1)) + "/" + pprof.str(number(period_type, 2)) == "cpu/nanoseconds");

    std::map<std::string, std::vector<std::uint64_t>> stacks;  // leaf first
    for (const ProtoMessage& s : pprof.samples) {
        std::string stack;
        for (std::uint64_t id : packed(s, 1)) {
            if (!stack.empty()) stack += ' ';
            stack += pprof.frame(id);
        }
        stacks[stack] = packed(s, 2);
    }
    BOOST_TEST(stacks.size() == 3u);
    BOOST_TEST(stacks["fib:2 main:5"] == (std::vector<std::uint64_t>{4, 8'000'000}));
    BOOST_TEST(stacks["fib:2 fib:3 main:5"] == (std::vector<std::uint64_t>{5, 10'000'000}));
    BOOST_TEST(stacks["print:0 main:5"] == (std::vector<std::uint64_t>{1, 2'000'000}));

    // Functions: names sorted, file and start line; a native's file says so.
    BOOST_TEST_REQUIRE(pprof.functions.size() == 3u);
    BOOST_TEST(pprof.str(number(pprof.functions[0], 2)) == "fib");
    BOOST_TEST(pprof.str(number(pprof.functions[0], 3)) == "fib");
    BOOST_TEST(pprof.str(number(pprof.functions[0], 4)) == "fib.ops");
    BOOST_TEST(number(pprof.functions[0], 5) == 1u);
    BOOST_TEST(pprof.str(number(pprof.functions[2], 4)) == "<native>");
    // The mapping is symbolized: functions, file names and lines.
    BOOST_TEST(pprof.str(number(pprof.mappings[0], 5)) == "fib.ops");
    BOOST_TEST(number(pprof.mappings[0], 7) == 1u);
    BOOST_TEST(number(pprof.mappings[0], 8) == 1u);
    BOOST_TEST(number(pprof.mappings[0], 9) == 1u);
    const std::vector<std::string> comments = pprof.comments();
    BOOST_TEST(contains(comments, "policy full"));
    BOOST_TEST(contains(comments, "samples and cpu: statistical"));
    BOOST_TEST(!contains(comments, "partial"));
}

BOOST_AUTO_TEST_CASE(instruction_profile_has_exact_counts_with_opcode_and_offset_labels) {
    const Pprof pprof(format_pprof(export_profile(), {PprofOptions::Metric::instructions, {}}));
    pprof.check_valid();
    BOOST_TEST(pprof.sample_types() == std::vector<std::string>{"instructions/count"});
    BOOST_TEST(number(pprof.root, 12) == 1u);
    BOOST_TEST_REQUIRE(pprof.samples.size() == 6u);
    std::uint64_t total = 0;
    std::map<std::string, std::uint64_t> by_label;
    for (const ProtoMessage& s : pprof.samples) {
        BOOST_TEST(packed(s, 1).size() == 1u);
        total += packed(s, 2).at(0);
        std::string opcode;
        std::uint64_t offset = 0;
        for (const ProtoField* f : all(s, 3)) {
            const ProtoMessage label = decode(f->bytes);
            if (pprof.str(number(label, 1)) == "opcode") opcode = pprof.str(number(label, 2));
            if (pprof.str(number(label, 1)) == "offset") offset = number(label, 3);
        }
        by_label[pprof.frame(packed(s, 1)[0]) + " " + opcode + "@" + std::to_string(offset)] = packed(s, 2)[0];
    }
    BOOST_TEST(total == 1000u);  // the exact total
    BOOST_TEST(by_label["fib:3 add@6"] == 280u);
    BOOST_TEST(by_label["fib:2 load@0"] == 400u);
    BOOST_TEST(by_label["main:5 halt@1"] == 10u);
    BOOST_TEST(contains(pprof.comments(), "instructions: exact"));
}

BOOST_AUTO_TEST_CASE(deterministic_and_time_falls_back_to_now_minus_the_wall_time) {
    BOOST_TEST(format_pprof(export_profile()) == format_pprof(export_profile()));
    PprofOptions options;
    options.now_unix_ns = 5'000'000'000;
    const std::string bare = format_pprof(bare_profile(), options);
    BOOST_TEST(bare == format_pprof(bare_profile(), options));
    const Pprof pprof(bare);
    pprof.check_valid();
    BOOST_TEST(number(pprof.root, 9) == 5'000'000'000u - 2'000'000u);
    // Without lines, a location per function (line 0) and no start line.
    BOOST_TEST(pprof.locations.size() == 3u);
    BOOST_TEST(number(pprof.functions[0], 5) == 0u);
}

BOOST_AUTO_TEST_CASE(missing_groups_and_partial_runs) {
    Profile p = export_profile();
    p.call_stacks.reset();
    BOOST_CHECK_THROW((void)format_pprof(p), MissingGroupError);
    BOOST_CHECK_NO_THROW((void)format_pprof(p, {PprofOptions::Metric::instructions, {}}));
    p.instructions.reset();
    BOOST_CHECK_THROW((void)format_pprof(p, {PprofOptions::Metric::instructions, {}}), MissingGroupError);

    p = export_profile();
    p.partial = true;
    p.error = "out of fuel";
    for (PprofOptions::Metric metric : {PprofOptions::Metric::cpu, PprofOptions::Metric::instructions})
        BOOST_TEST(contains(Pprof(format_pprof(p, {metric, {}})).comments(), "partial: the run stopped at a runtime error (out of fuel)"));
}

BOOST_AUTO_TEST_CASE(stacks_without_times_have_samples_only) {
    Profile p = export_profile();
    for (StackSample& s : p.call_stacks->entries) s.time_ns.reset();
    const Pprof pprof(format_pprof(p));
    pprof.check_valid();
    BOOST_TEST(pprof.sample_types() == std::vector<std::string>{"samples/count"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(callgrind)

// Records of a callgrind file: per function (uncompressed "file:function"), its self cost lines and calls.
struct Callgrind {
    std::vector<std::string> header;
    std::map<std::string, std::map<std::uint64_t, std::vector<std::uint64_t>>> self;  // function -> line -> costs
    struct Call {
        std::string caller, callee;
        std::uint64_t count = 0, line = 0;
        std::vector<std::uint64_t> inclusive;
    };
    std::vector<Call> calls;
    std::vector<std::uint64_t> totals;
    std::vector<std::string> comments;
};

std::vector<std::uint64_t> numbers(const std::string& text) {
    std::vector<std::uint64_t> values;
    std::istringstream in(text);
    for (std::uint64_t v; in >> v;) values.push_back(v);
    return values;
}

Callgrind parse_callgrind(const std::string& text) {
    Callgrind out;
    std::map<std::string, std::string> names;  // "fn(1)" -> name
    auto name = [&names](const std::string& kind, const std::string& value) {
        const std::size_t close = value.find(')');
        BOOST_TEST_REQUIRE((value.starts_with("(") && close != std::string::npos), "compressed name: " << value);
        const std::string id = kind + value.substr(0, close + 1);
        if (close + 1 < value.size()) names[id] = value.substr(close + 2);
        BOOST_TEST_REQUIRE(names.contains(id), "name defined before use: " << value);
        return names[id];
    };
    bool in_header = true;
    std::string file, function, cfile, cfunction;
    std::optional<Callgrind::Call> pending;
    for (const std::string& line : lines_of(text)) {
        if (line.starts_with("#")) {
            out.comments.push_back(line);
            continue;
        }
        if (line.empty()) continue;
        if (in_header) {
            out.header.push_back(line);
            if (line.starts_with("events:")) in_header = false;
            continue;
        }
        if (line.starts_with("fl=")) file = name("fl", line.substr(3));
        else if (line.starts_with("fn=")) function = file + ":" + name("fn", line.substr(3));
        else if (line.starts_with("cfl=")) cfile = name("fl", line.substr(4));
        else if (line.starts_with("cfn=")) cfunction = name("fn", line.substr(4));
        else if (line.starts_with("calls=")) {
            const std::vector<std::uint64_t> v = numbers(line.substr(6));
            BOOST_TEST_REQUIRE(v.size() == 2u);
            pending = Callgrind::Call{function, (cfile.empty() ? file : cfile) + ":" + cfunction, v[0], 0, {}};
            cfile.clear();
        } else if (line.starts_with("totals:")) {
            out.totals = numbers(line.substr(7));
        } else {
            BOOST_TEST_REQUIRE(line.find_first_not_of("0123456789 ") == std::string::npos, "cost line: " << line);
            std::vector<std::uint64_t> v = numbers(line);
            const std::uint64_t position = v.front();
            v.erase(v.begin());
            if (pending) {
                pending->line = position;
                pending->inclusive = v;
                out.calls.push_back(*pending);
                pending.reset();
            } else {
                BOOST_TEST(!out.self[function].contains(position), "one cost line per line: " << line);
                out.self[function][position] = v;
            }
        }
    }
    return out;
}

BOOST_AUTO_TEST_CASE(exact_instructions_per_line_sampled_time_and_exact_calls) {
    const Profile profile = export_profile();
    const Callgrind cg = parse_callgrind(format_callgrind(profile));
    BOOST_TEST(cg.header.front() == "version: 1");
    BOOST_TEST(contains(cg.header, "desc: Ir: instructions executed per function and line, exact"));
    BOOST_TEST(contains(cg.header, "desc: Time: nanoseconds, statistical"));
    BOOST_TEST(cg.header.back() == "events: Ir Time");
    BOOST_TEST(cg.totals == (std::vector<std::uint64_t>{1000, 20'000'000}));

    // Ir per line == the lines group, Time per (function, line) == the stacks' leaves.
    std::map<std::uint64_t, std::uint64_t> per_line;
    for (const auto& [function, lines] : cg.self)
        for (const auto& [line, costs] : lines) per_line[line] += costs.at(0);
    for (const LineStats& l : profile.lines->entries) BOOST_TEST(per_line[l.line] == l.count, "line " << l.line);
    BOOST_TEST(cg.self.at("fib.ops:fib").at(2) == (std::vector<std::uint64_t>{600, 18'000'000}));
    BOOST_TEST(cg.self.at("fib.ops:fib").at(3) == (std::vector<std::uint64_t>{380, 0}));
    BOOST_TEST(cg.self.at("<native>:print").at(0) == (std::vector<std::uint64_t>{0, 2'000'000}));

    // One calls= per call site, exact count and inclusive instructions; the host's call of main has none.
    BOOST_TEST_REQUIRE(cg.calls.size() == 3u);
    BOOST_TEST(cg.calls[0].caller == "fib.ops:fib");
    BOOST_TEST(cg.calls[0].callee == "fib.ops:fib");
    BOOST_TEST(cg.calls[0].count == 3u);
    BOOST_TEST(cg.calls[0].line == 3u);
    BOOST_TEST(cg.calls[0].inclusive == (std::vector<std::uint64_t>{700, 15'000'000}));
    BOOST_TEST(cg.calls[1].caller == "fib.ops:main");
    BOOST_TEST(cg.calls[1].inclusive.at(0) == 980u);
    BOOST_TEST(cg.calls[2].callee == "<native>:print");
    // main's inclusive cost (self + its calls) is the program's total, as callgrind_annotate --inclusive adds it.
    std::uint64_t main_inclusive = 0;
    for (const auto& [line, costs] : cg.self.at("fib.ops:main")) main_inclusive += costs.at(0);
    for (const Callgrind::Call& c : cg.calls)
        if (c.caller == "fib.ops:main") main_inclusive += c.inclusive.at(0);
    BOOST_TEST(main_inclusive == 1000u);
}

BOOST_AUTO_TEST_CASE(without_call_sites_calls_are_left_out_and_said_so) {
    const Callgrind cg = parse_callgrind(format_callgrind(bare_profile()));
    BOOST_TEST(cg.calls.empty());
    BOOST_TEST(contains(cg.comments, "# calls= lines left out for main -> fib: no exact inclusive instructions"));
    BOOST_TEST(cg.totals.at(0) == 1000u);
    // Without stack lines, each line's time goes to the one function on it.
    BOOST_TEST(cg.self.at("fib.ops:fib").at(2) == (std::vector<std::uint64_t>{600, 12'000'000}));
    BOOST_TEST(cg.self.at("fib.ops:fib").at(3) == (std::vector<std::uint64_t>{380, 8'000'000}));
}

BOOST_AUTO_TEST_CASE(counting_profile_has_one_event_and_a_partial_run_says_so) {
    Profile p = bare_profile();
    p.policy = "counting";
    p.call_stacks.reset();
    p.lines->time_accuracy.reset();
    for (LineStats& l : p.lines->entries) l.time_ns.reset();
    p.partial = true;
    p.error = "stack overflow";
    const Callgrind cg = parse_callgrind(format_callgrind(p));
    BOOST_TEST(cg.header.back() == "events: Ir");
    BOOST_TEST(cg.totals == std::vector<std::uint64_t>{1000});
    BOOST_TEST(contains(cg.header, "desc: partial: the run stopped at a runtime error (stack overflow)"));
    p.instructions.reset();
    BOOST_CHECK_THROW((void)format_callgrind(p), MissingGroupError);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// --- speedscope and Chrome trace: the timeline, balanced across gaps ---

using TimelineKind = TimelineEvent::Kind;
TimelineEvent timeline_event(std::uint64_t t, TimelineKind kind, const std::string& function, std::uint32_t depth) {
    TimelineEvent e;
    e.time_ns = t;
    e.kind = kind;
    e.function = function;
    e.depth = depth;
    return e;
}

// A timeline whose ring buffer overwrote the start (main and the outer fib entered unseen) and with a gap
// (windows of 4): fib at depth 3 returns and another fib at depth 3 is entered and its exit recorded without
// its enter; then everything returns, main last.
Timeline gapped_timeline() {
    Timeline t;
    t.time_accuracy = Accuracy::statistical;
    t.capacity = 8;
    t.recorded = 12;
    t.dropped = 4;  // windows begin at every 4th recorded event: kept events 0 and 4
    t.window = 4;
    t.skipped = 6;
    t.events = {timeline_event(100, TimelineKind::enter, "fib", 3),   // main (1), fib (2) live, not recorded
                timeline_event(150, TimelineKind::exit, "fib", 3),
                timeline_event(160, TimelineKind::enter, "print", 3),
                timeline_event(170, TimelineKind::exit, "print", 3),
                // gap: fib (3) entered and fib (4) entered unseen
                timeline_event(300, TimelineKind::exit, "fib", 4),
                timeline_event(320, TimelineKind::exit, "fib", 3),  // its enter in the gap
                timeline_event(400, TimelineKind::exit, "fib", 2),
                timeline_event(500, TimelineKind::exit, "main", 1)};
    return t;
}

Profile timeline_profile() {
    Profile p = export_profile();
    p.timeline = gapped_timeline();
    p.memory = MemoryStats{Accuracy::exact, 3, 300, 1, 100, 250, 200, 1, 5000, {{"string", 3, 300}}};
    return p;
}

// Replays open/close events: every close matches the open on top, times never go back, nothing left open.
struct Replay {
    bool balanced = true;
    std::size_t opens = 0;
    std::map<std::string, std::uint64_t> self;  // time on top per name
};
template <class Events, class IsOpen, class Name, class Time>
Replay replay(const Events& events, IsOpen is_open, Name name, Time time) {
    Replay r;
    std::vector<std::string> stack;
    double last = -1;
    for (const auto& e : events) {
        const double t = time(e);
        if (t < last) r.balanced = false;
        if (!stack.empty() && last >= 0) r.self[stack.back()] += static_cast<std::uint64_t>(t - last + 0.5);
        last = t;
        if (is_open(e)) {
            stack.push_back(name(e));
            ++r.opens;
        } else {
            if (stack.empty() || stack.back() != name(e)) r.balanced = false;
            if (!stack.empty()) stack.pop_back();
        }
    }
    if (!stack.empty()) r.balanced = false;
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(speedscope)

BOOST_AUTO_TEST_CASE(sampled_profile_is_the_call_stacks_by_time_or_samples) {
    const nlohmann::json file = nlohmann::json::parse(format_speedscope(export_profile()));
    BOOST_TEST(file["$schema"] == "https://www.speedscope.app/file-format-schema.json");
    BOOST_TEST_REQUIRE(file["profiles"].size() == 1u);  // no timeline: no evented profile, and it says so
    BOOST_TEST(file["exporter"].get<std::string>().find("no evented profile") != std::string::npos);
    const nlohmann::json& sampled = file["profiles"][0];
    BOOST_TEST(sampled["type"] == "sampled");
    BOOST_TEST(sampled["unit"] == "nanoseconds");
    BOOST_TEST(sampled["name"].get<std::string>().find("statistical") != std::string::npos);
    BOOST_TEST(sampled["samples"].size() == sampled["weights"].size());
    // Self weight per function (by leaf) equals the call stacks'; frames carry file and line.
    const nlohmann::json& frames = file["shared"]["frames"];
    std::map<std::string, std::uint64_t> self;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < sampled["samples"].size(); ++i) {
        const nlohmann::json& stack = sampled["samples"][i];
        self[frames[stack.back().get<std::size_t>()]["name"]] += sampled["weights"][i].get<std::uint64_t>();
        total += sampled["weights"][i].get<std::uint64_t>();
    }
    BOOST_TEST((self == std::map<std::string, std::uint64_t>{{"fib", 18'000'000}, {"print", 2'000'000}}));
    BOOST_TEST(sampled["endValue"] == total);
    bool fib_line_3 = false;
    for (const nlohmann::json& f : frames) {
        if (f["name"] == "fib" && f["line"] == 3) fib_line_3 = f["file"] == "fib.ops";  // a caller's call line
        if (f["name"] == "print") BOOST_TEST(f["file"] == "<native>");
    }
    BOOST_TEST(fib_line_3);

    const nlohmann::json by_samples = nlohmann::json::parse(format_speedscope(export_profile(), {SpeedscopeOptions::Weight::samples}));
    BOOST_TEST(by_samples["profiles"][0]["unit"] == "none");
    BOOST_TEST(by_samples["profiles"][0]["endValue"] == 10u);
    // Without stack lines: one frame per function, at its first line.
    const nlohmann::json bare = nlohmann::json::parse(format_speedscope(bare_profile()));
    BOOST_TEST(bare["shared"]["frames"].size() == 3u);
}

BOOST_AUTO_TEST_CASE(evented_profile_is_balanced_across_the_dropped_start_and_gaps) {
    const std::string text = format_speedscope(timeline_profile());
    BOOST_TEST(text == format_speedscope(timeline_profile()));  // deterministic
    const nlohmann::json file = nlohmann::json::parse(text);
    BOOST_TEST_REQUIRE(file["profiles"].size() == 2u);
    const nlohmann::json& evented = file["profiles"][1];
    BOOST_TEST(evented["type"] == "evented");
    BOOST_TEST(evented["name"].get<std::string>().find("order exact") != std::string::npos);
    const nlohmann::json& frames = file["shared"]["frames"];
    const Replay r = replay(
        evented["events"], [](const nlohmann::json& e) { return e["type"] == "O"; },
        [&](const nlohmann::json& e) { return frames[e["frame"].get<std::size_t>()]["name"].get<std::string>(); },
        [](const nlohmann::json& e) { return e["at"].get<double>(); });
    BOOST_TEST(r.balanced);
    // main and fib (2) live since the start, fib (3) and print recorded, fib (3) and fib (4) of the gap.
    BOOST_TEST(r.opens == 6u);
    BOOST_TEST(evented["startValue"] == 100u);
    BOOST_TEST(evented["endValue"] == 500u);
    // main's only self time is after fib (2) returned; print ran 10 ns.
    BOOST_TEST(r.self.at("main") == 100u);
    BOOST_TEST(r.self.at("print") == 10u);
}

BOOST_AUTO_TEST_CASE(missing_stacks_and_partial_runs) {
    Profile p = timeline_profile();
    p.call_stacks.reset();
    p.policy = "counting";
    try {
        (void)format_speedscope(p);
        BOOST_FAIL("no MissingGroupError");
    } catch (const MissingGroupError& e) {
        BOOST_TEST(std::string(e.what()).find("--policy timing or full") != std::string::npos, e.what());
    }
    Profile untimed = export_profile();
    for (StackSample& s : untimed.call_stacks->entries) s.time_ns.reset();
    BOOST_CHECK_THROW((void)format_speedscope(untimed), MissingGroupError);
    BOOST_CHECK_NO_THROW((void)format_speedscope(untimed, {SpeedscopeOptions::Weight::samples}));

    Profile partial = timeline_profile();
    partial.partial = true;
    partial.error = "out of fuel";
    const nlohmann::json file = nlohmann::json::parse(format_speedscope(partial));
    BOOST_TEST(file["name"].get<std::string>().find("partial: the run stopped at a runtime error (out of fuel)") != std::string::npos);
    for (const nlohmann::json& profile : file["profiles"]) BOOST_TEST(profile["name"].get<std::string>().find("partial") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(chrome)

BOOST_AUTO_TEST_CASE(balanced_slices_gaps_heap_and_what_is_exact) {
    const std::string text = format_chrome_trace(timeline_profile());
    BOOST_TEST(text == format_chrome_trace(timeline_profile()));  // deterministic
    const nlohmann::json trace = nlohmann::json::parse(text);
    const nlohmann::json& events = trace["traceEvents"];
    std::vector<nlohmann::json> slices;
    std::size_t gaps = 0, counters = 0, not_recorded = 0;
    for (const nlohmann::json& e : events) {
        if (e["ph"] == "B" || e["ph"] == "E") slices.push_back(e);
        if (e["ph"] == "B" && e["cat"] == "call,enter-not-recorded") ++not_recorded;
        if (e["ph"] == "i") {
            ++gaps;
            BOOST_TEST(e["name"].get<std::string>().starts_with("[gap: "));
        }
        if (e["ph"] == "C") {
            ++counters;
            BOOST_TEST(e["args"]["live_bytes"] == 200u);
        }
    }
    const Replay r = replay(
        slices, [](const nlohmann::json& e) { return e["ph"] == "B"; }, [](const nlohmann::json& e) { return e["name"].get<std::string>(); },
        [](const nlohmann::json& e) { return e["ts"].get<double>() * 1000.0; });
    BOOST_TEST(r.balanced);
    BOOST_TEST(r.opens == 6u);
    BOOST_TEST(not_recorded == 4u);  // main, fib (2) before the kept events; fib (3), fib (4) in the gap
    BOOST_TEST(counters == 1u);
    // The dropped start (4 events, exact) and the gap the depths show (fib at 4 exits after print at 3 returned).
    BOOST_TEST(gaps == 2u);
    BOOST_TEST(events[2]["name"] == "[gap: 4 older events not recorded (overwritten in the ring buffer)]");
    const nlohmann::json& other = trace["otherData"];
    BOOST_TEST(other["policy"] == "full");
    BOOST_TEST(other["enter_events"] == 2u);
    BOOST_TEST(other["enters_not_recorded"] == 4u);
    BOOST_TEST(other["dropped"] == 4u);
    BOOST_TEST(other["skipped"] == 6u);
    BOOST_TEST(other["partial"] == false);
    BOOST_TEST(other["gaps"].size() == 2u);
    BOOST_TEST(other["statistical"].get<std::string>().find("event times") != std::string::npos);
    BOOST_TEST(other["exact"].get<std::string>().find("order") != std::string::npos);
    BOOST_TEST(other["memory"]["over_time"].get<std::string>().find("not recorded") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unbroken_timeline_has_no_gaps_and_one_slice_per_enter) {
    Profile p = export_profile();
    Timeline t;
    t.capacity = 64;
    t.recorded = 6;
    t.events = {timeline_event(0, TimelineKind::enter, "main", 1), timeline_event(10, TimelineKind::enter, "fib", 2),
                timeline_event(20, TimelineKind::enter, "fib", 3), timeline_event(30, TimelineKind::exit, "fib", 3),
                timeline_event(40, TimelineKind::exit, "fib", 2), timeline_event(50, TimelineKind::exit, "main", 1)};
    p.timeline = t;
    const nlohmann::json trace = nlohmann::json::parse(format_chrome_trace(p));
    std::size_t begins = 0, ends = 0, gaps = 0;
    for (const nlohmann::json& e : trace["traceEvents"]) {
        begins += e["ph"] == "B";
        ends += e["ph"] == "E";
        gaps += e["ph"] == "i";
        if (e["ph"] == "B") BOOST_TEST(e["cat"] == "call");
    }
    BOOST_TEST(begins == 3u);
    BOOST_TEST(ends == 3u);
    BOOST_TEST(gaps == 0u);
    BOOST_TEST(trace["otherData"]["heap_counter"].get<std::string>().starts_with("absent"));
    BOOST_TEST(trace["traceEvents"][0]["args"]["name"] == "opscope fib.ops");
}

BOOST_AUTO_TEST_CASE(a_window_start_without_depth_evidence_is_a_gap_and_nothing_is_inferred) {
    // fib's second call begins a window after a gap the depths cannot show: the profile marks it.
    Profile p = export_profile();
    Timeline t;
    t.capacity = 64;
    t.recorded = 4;
    t.window = 2;
    t.skipped = 8;
    t.events = {timeline_event(10, TimelineKind::enter, "fib", 2), timeline_event(20, TimelineKind::exit, "fib", 2),
                timeline_event(90, TimelineKind::enter, "fib", 2), timeline_event(95, TimelineKind::exit, "fib", 2)};
    t.events[0].window_start = t.events[2].window_start = true;
    p.timeline = t;
    nlohmann::json trace = nlohmann::json::parse(format_chrome_trace(p));
    BOOST_TEST_REQUIRE(trace["otherData"]["gaps"].size() == 1u);
    BOOST_TEST(trace["otherData"]["gaps"][0]["before_event"] == 2u);
    BOOST_TEST(trace["otherData"]["gaps"][0]["evidence"].get<std::string>().starts_with("window start"));
    // Unmarked, the same events show no gap: a window's length is not counted off the events.
    p.timeline->events[2].window_start = false;
    trace = nlohmann::json::parse(format_chrome_trace(p));
    BOOST_TEST(trace["otherData"]["gaps"].size() == 0u);
}

BOOST_AUTO_TEST_CASE(needs_the_timeline_and_says_when_partial) {
    Profile p = export_profile();
    p.policy = "timing";
    try {
        (void)format_chrome_trace(p);
        BOOST_FAIL("no MissingGroupError");
    } catch (const MissingGroupError& e) {
        BOOST_TEST(std::string(e.what()).find("policy 'timing'") != std::string::npos, e.what());
        BOOST_TEST(std::string(e.what()).find("--policy full") != std::string::npos, e.what());
    }
    Profile partial = timeline_profile();
    partial.partial = true;
    partial.error = "division by zero";
    const nlohmann::json trace = nlohmann::json::parse(format_chrome_trace(partial));
    BOOST_TEST(trace["otherData"]["partial"] == true);
    BOOST_TEST(trace["otherData"]["partial_note"].get<std::string>().find("division by zero") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(formats)

BOOST_AUTO_TEST_CASE(exports_are_report_formats_with_their_options) {
    ReportOptions options;
    options.folded.lines = false;
    BOOST_TEST_REQUIRE(find_report_format("folded") != nullptr);
    BOOST_TEST(find_report_format("folded")->write(export_profile(), options) == format_folded(export_profile(), options.folded));
    BOOST_TEST_REQUIRE(find_report_format("pprof") != nullptr);
    BOOST_TEST(find_report_format("pprof")->binary);
    options.pprof.metric = PprofOptions::Metric::instructions;
    BOOST_TEST(find_report_format("pprof")->write(export_profile(), options) == format_pprof(export_profile(), options.pprof));
    BOOST_TEST_REQUIRE(find_report_format("callgrind") != nullptr);
    BOOST_TEST(find_report_format("callgrind")->write(export_profile(), options) == format_callgrind(export_profile()));
    BOOST_TEST(!find_report_format("json")->binary);
}

// The JSON exports are written as they are made (report/json_writer): the pieces a format's stream gives are
// its text, that text is what nlohmann's compact dump makes of the same document (escapes, U+FFFD, floats),
// and no piece holds thousands of events.
BOOST_AUTO_TEST_CASE(json_exports_stream_the_text_nlohmanns_dump_gives) {
    Profile p = timeline_profile();
    p.call_stacks->entries[0].frames.back() = "quote\" back\\ tab\t bell\x07 \xc3\xa9 bad\xff";
    const std::vector<TimelineEvent> some = p.timeline->events;
    for (std::uint64_t copy = 1; copy < 400; ++copy)
        for (TimelineEvent e : some) {
            e.time_ns += copy * 1000;
            if (copy == 7) e.function = "caf\xc3\xa9 \"q\" \xfe";
            p.timeline->events.push_back(e);
        }
    p.timeline->recorded = p.timeline->events.size();
    ReportOptions options;
    for (const char* name : {"speedscope", "chrome"}) {
        BOOST_TEST_CONTEXT(name) {
            const ReportFormat* format = find_report_format(name);
            BOOST_TEST_REQUIRE(format != nullptr);
            BOOST_TEST_REQUIRE(format->stream != nullptr);
            std::string streamed;
            std::size_t pieces = 0, largest = 0;
            format->stream(p, options, [&](std::string_view piece) {
                streamed += piece;
                ++pieces;
                largest = std::max(largest, piece.size());
            });
            const std::string text = format->write(p, options);
            BOOST_TEST(streamed == text);
            BOOST_TEST(text.size() > 64u * 1024);
            BOOST_TEST(largest <= 16u * 1024);
            BOOST_TEST(pieces >= 5u);
            const auto doc = nlohmann::ordered_json::parse(text);
            BOOST_TEST(text == doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
            BOOST_TEST(text.find("caf\xc3\xa9 \\\"q\\\" \xef\xbf\xbd") != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// The CLI: --format for the exports, `opscope export` and `opscope merge`, exit codes.
BOOST_AUTO_TEST_SUITE(exports_cli)

namespace fs = std::filesystem;

using namespace opscope::test;

BOOST_AUTO_TEST_CASE(a_format_the_policy_cannot_feed_exits_2_naming_the_policy) {
    const Result r = cli("profile --policy counting --format folded " + example("hello.opasm"));
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err.find("--policy timing or full") != std::string::npos, r.err);
    BOOST_TEST(r.out.empty());  // refused before the run
    // Binary output needs -o: refused before the run (the program prints nothing).
    // The timeline only full records: refused under counting and timing before the run.
    for (const std::string policy : {"counting", "timing"}) {
        const Result chrome = cli("profile --policy " + policy + " --format chrome " + example("hello.opasm"));
        BOOST_TEST(chrome.exit_code == 2);
        BOOST_TEST(chrome.err.find("--policy full") != std::string::npos, chrome.err);
        BOOST_TEST(chrome.out.empty());
    }
    const Result binary = cli("profile --format pprof " + example("hello.opasm"));
    BOOST_TEST(binary.exit_code == 2);
    BOOST_TEST(binary.out.empty());
    BOOST_TEST(binary.err.find("-o") != std::string::npos, binary.err);
}

BOOST_AUTO_TEST_CASE(export_and_merge_write_any_format_from_saved_profiles) {
    // timing, not full: full's timeline would make the JSON megabytes, slow to parse in the sanitizer build.
    const fs::path program = scratch() / "fib.ops", json = scratch() / "fib.json";
    std::ofstream(program) << "fn fib(n) {\n    if (n < 2) { return n; }\n    return fib(n - 1) + fib(n - 2);\n}\nprint(fib(20));\n";
    BOOST_TEST_REQUIRE(cli("profile --policy timing --sample-rate 20000 --format json -o " + json.string() + " " + program.string()).exit_code == 0);
    const Profile profile = parse_json(read_file(json));

    Result r = cli("export " + json.string() + " --format folded --weight samples");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out == format_folded(profile));
    r = cli("export " + json.string() + " --format folded --no-lines --weight time");
    BOOST_TEST(r.out == format_folded(profile, {FoldedOptions::Weight::time, false}));
    r = cli("export " + json.string() + " --format callgrind");
    BOOST_TEST(r.out == format_callgrind(profile));
    // One --weight, each format's own default: folded counts samples, speedscope weighs by time.
    r = cli("export " + json.string() + " --format speedscope");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out == format_speedscope(profile));
    r = cli("export " + json.string() + " --format speedscope --weight samples");
    BOOST_TEST(r.out == format_speedscope(profile, {SpeedscopeOptions::Weight::samples}));
    // Chrome's trace needs full's timeline: a fib(10) keeps it small.
    const fs::path small = write_file("fib10.ops", "fn fib(n) {\n    if (n < 2) { return n; }\n    return fib(n - 1) + "
                                                   "fib(n - 2);\n}\nprint(fib(10));\n");
    const fs::path full_json = scratch() / "fib10.json";
    BOOST_TEST_REQUIRE(cli("profile --policy full --format json -o " + full_json.string() + " " + small.string()).exit_code == 0);
    r = cli("export " + full_json.string() + " --format chrome");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out == format_chrome_trace(parse_json(read_file(full_json))));
    const fs::path pb = scratch() / "fib.pb.gz";
    r = cli("export " + json.string() + " --format pprof --metric instructions -o " + pb.string());
    BOOST_TEST(r.exit_code == 0, r.err);
    // The same samples as the library's writer (time_nanos differs: the profile has no start time yet).
    const Pprof written(read_file(pb)), library(format_pprof(profile, {PprofOptions::Metric::instructions, {}}));
    written.check_valid();
    BOOST_TEST(all(written.root, 2).size() == all(library.root, 2).size());
    std::uint64_t total = 0;
    for (const ProtoMessage& sample : written.samples) total += packed(sample, 2).at(0);
    BOOST_TEST(total == profile.summary->total_instructions);

    // merge: the library's merge, then the writer.
    const fs::path merged = scratch() / "merged.json";
    r = cli("merge " + json.string() + " " + json.string() + " -o " + merged.string());
    BOOST_TEST(r.exit_code == 0, r.err);
    const Profile twice = parse_json(read_file(merged));
    BOOST_TEST((twice == merge(profile, profile)));
    BOOST_TEST(twice.summary->total_instructions == 2 * profile.summary->total_instructions);
    r = cli("merge " + json.string() + " " + json.string() + " --format callgrind");
    BOOST_TEST(r.out == format_callgrind(merge(profile, profile)));

    // Not a profile: an input error (4); no such option value: a usage error (2).
    const fs::path bogus = scratch() / "bogus.json";
    std::ofstream(bogus) << "{\"format\": \"something else\"}";
    BOOST_TEST(cli("export " + bogus.string() + " --format folded").exit_code == 4);
    BOOST_TEST(cli("export " + json.string() + " --format pprof --metric wall -o " + pb.string()).exit_code == 2);
}

// Inclusive instructions cost two hooks per call: recorded on request (--inclusive) and for callgrind, whose
// calls= lines are inclusive costs; never by counting or full alone, and never by timing (no counts).
BOOST_AUTO_TEST_CASE(inclusive_instructions_on_request_and_for_callgrind) {
    const fs::path program = scratch() / "add3.ops", plain = scratch() / "plain.json", with = scratch() / "with.json",
                   cg = scratch() / "add3.callgrind";
    write_file(program, "fn add3(a, b, c) { return a + b + c; }\n"
                        "let s = 0;\nlet i = 0;\nwhile (i < 1000) { s = add3(s, i, 1); i = i + 1; }\nprint(s);\n");
    BOOST_TEST_REQUIRE(cli("profile --policy counting --format json -o " + plain.string() + " " + program.string()).exit_code == 0);
    BOOST_TEST_REQUIRE(cli("profile --policy counting --inclusive --format json -o " + with.string() + " " + program.string()).exit_code == 0);
    const nlohmann::json a = nlohmann::json::parse(read_file(plain)), b = nlohmann::json::parse(read_file(with));
    BOOST_TEST(a["summary"]["total_instructions"] == b["summary"]["total_instructions"]);
    for (const nlohmann::json& f : a["functions"]) BOOST_TEST(f["inclusive_instructions"].is_null(), f.dump());
    std::map<std::string, std::uint64_t> inclusive;
    for (const nlohmann::json& f : b["functions"]) inclusive[f["name"]] = f["inclusive_instructions"].get<std::uint64_t>();
    BOOST_TEST(inclusive.at("main") == b["summary"]["total_instructions"].get<std::uint64_t>());
    BOOST_TEST(inclusive.at("add3") % 1000 == 0u);  // 1,000 calls of one straight-line body
    BOOST_TEST(inclusive.at("add3") > 0u);

    // Asked for by the format: the default policy (full) writes calls= lines with the exact inclusive cost.
    BOOST_TEST_REQUIRE(cli("profile --format callgrind -o " + cg.string() + " " + program.string()).exit_code == 0);
    const std::string text = read_file(cg);
    const std::size_t calls = text.find("calls=1000 ");
    BOOST_TEST_REQUIRE(calls != std::string::npos, text);
    const std::size_t cost = text.find('\n', calls) + 1;
    const std::string cost_line = text.substr(cost, text.find('\n', cost) - cost);  // "LINE INCLUSIVE [TIME]"
    BOOST_TEST(cost_line.substr(cost_line.find(' ') + 1).starts_with(std::to_string(inclusive.at("add3")) + ' '), cost_line);

    const Result timing = cli("profile --policy timing --inclusive " + program.string());
    BOOST_TEST(timing.exit_code == 2);
    BOOST_TEST(timing.err.find("--inclusive counts instructions") != std::string::npos, timing.err);
}

BOOST_AUTO_TEST_CASE(a_partial_run_exports_what_ran_and_says_so) {
    const fs::path cg = scratch() / "partial.callgrind", folded = scratch() / "partial.folded";
    Result r = cli("profile --policy counting --fuel 5000 --format callgrind -o " + cg.string() + " " + example("fib.opasm"));
    BOOST_TEST(r.exit_code == 1);  // the runtime error's code, the report written all the same
    BOOST_TEST(read_file(cg).find("desc: partial: the run stopped at a runtime error") != std::string::npos);
    r = cli("profile --policy full --fuel 500000 --format folded -o " + folded.string() + " " + example("fib.opasm"));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(read_file(folded).starts_with("[partial: the run stopped at a runtime error"));
    const fs::path trace = scratch() / "partial.trace.json", speedscope = scratch() / "partial.speedscope.json";
    r = cli("profile --policy full --fuel 500000 --format chrome -o " + trace.string() + " " + example("fib.opasm"));
    BOOST_TEST(r.exit_code == 1);
    const nlohmann::json other = nlohmann::json::parse(read_file(trace))["otherData"];
    BOOST_TEST(other["partial"] == true);
    BOOST_TEST(other["partial_note"].get<std::string>().starts_with("partial: the run stopped at a runtime error"));
    r = cli("profile --policy full --fuel 500000 --format speedscope -o " + speedscope.string() + " " + example("fib.opasm"));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(nlohmann::json::parse(read_file(speedscope))["name"].get<std::string>().find("[partial: the run stopped") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
