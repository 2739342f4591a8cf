// Statistics that say how sure they are: the Wilson interval, the sampled shares built on it (sample counts,
// the effective sample size, the "too few to mean anything" rule), their merge and JSON round trip, and how
// the text and HTML reports show them. The sampler's own figures (enough samples in a short run, intervals
// that contain known shares) are tested in test_timing.cpp.
#include <opscope/profile.hpp>
#include <opscope/report.hpp>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace {

using namespace opscope;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One second of wall time, 1000 samples of equal weight: `add` in 500 of them (half the time), `mul` in 3,
// `sub` in 12 (enough samples, but an interval wider than its 1.2% share), `nop` in none.
Profile sampled_profile() {
    Profile p;
    p.policy = "timing";
    p.summary = Summary{Accuracy::exact, 1000, {}, 1'000'000'000, {}, {}};
    p.timing = TimingInfo{"timer signal", 1000, {}, 500, 0, 1000.0};
    p.opcodes = OpcodeGroup{Accuracy::exact, Accuracy::statistical, {}};
    p.opcodes->entries = {OpcodeStats{"add", 600, 500'000'000, {}, 500}, OpcodeStats{"mul", 200, 3'000'000, {}, 3},
                          OpcodeStats{"nop", 100, 0, {}, 0}, OpcodeStats{"sub", 100, 12'000'000, {}, 12}};
    p.functions = FunctionGroup{Accuracy::exact, Accuracy::statistical, {}};
    FunctionStats main;
    main.name = "main";
    main.calls = 1;
    main.self_time_ns = 515'000'000;
    main.total_time_ns = 1'000'000'000;
    main.self_samples = 515;
    main.total_samples = 1000;
    p.functions->entries = {main};
    canonicalize(p);
    return p;
}

const OpcodeStats& opcode(const Profile& p, const std::string& name) {
    for (const OpcodeStats& e : p.opcodes->entries)
        if (e.name == name) return e;
    BOOST_FAIL("no opcode " << name);
    return p.opcodes->entries.front();
}

} // namespace

BOOST_AUTO_TEST_SUITE(sampled_shares)

BOOST_AUTO_TEST_CASE(wilson_interval_matches_the_textbook_values) {
    // 5 of 10: [0.2366, 0.7634]; 0 of 10: [0, 0.2775] (the normal approximation would give [0, 0]).
    const auto [low, high] = wilson_interval(0.5, 10);
    BOOST_TEST(low == 0.2366, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(high == 0.7634, boost::test_tools::tolerance(1e-3));
    const auto [none_low, none_high] = wilson_interval(0.0, 10);
    BOOST_TEST(none_low == 0.0);
    BOOST_TEST(none_high == 0.2775, boost::test_tools::tolerance(1e-3));
    // Wider with fewer samples, and nothing known without any.
    BOOST_TEST(wilson_interval(0.5, 100).second - wilson_interval(0.5, 100).first < high - low);
    BOOST_TEST((wilson_interval(0.3, 0) == std::pair(0.0, 1.0)));
}

BOOST_AUTO_TEST_CASE(shares_and_intervals_follow_the_samples) {
    const Profile p = sampled_profile();
    const auto add = sampled_share(p, opcode(p, "add").time_ns, opcode(p, "add").samples);
    BOOST_REQUIRE(add);
    BOOST_TEST(add->samples == 500u);
    BOOST_TEST(add->share == 0.5);
    BOOST_TEST(add->low == 0.4691, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(add->high == 0.5309, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(add->time_low_ns == add->low * 1e9);
    BOOST_TEST(add->meaningful);
    // Too few samples; enough samples but an interval wider than the share; none at all.
    BOOST_TEST(!sampled_share(p, opcode(p, "mul").time_ns, opcode(p, "mul").samples)->meaningful);
    const auto sub = sampled_share(p, opcode(p, "sub").time_ns, opcode(p, "sub").samples);
    BOOST_TEST(sub->samples >= kMeaningfulSamples);
    BOOST_TEST(sub->high - sub->low > sub->share);
    BOOST_TEST(!sub->meaningful);
    BOOST_TEST(!sampled_share(p, opcode(p, "nop").time_ns, opcode(p, "nop").samples)->meaningful);
    // Without a sample count (a profile written before them) there is no interval to give.
    BOOST_TEST(!sampled_share(p, opcode(p, "add").time_ns, std::nullopt));
    // A smaller effective sample size (unequal weights) widens the interval.
    Profile weighted = p;
    weighted.timing->effective_samples = 250;
    const auto wide = sampled_share(weighted, opcode(p, "add").time_ns, opcode(p, "add").samples);
    BOOST_TEST(wide->high - wide->low > 1.9 * (add->high - add->low));
    // Without effective_samples, the samples are the effective size.
    weighted.timing->effective_samples.reset();
    BOOST_TEST(*effective_samples(weighted) == 1000.0);
}

BOOST_AUTO_TEST_CASE(merge_adds_samples_and_recomputes_the_effective_size) {
    Profile first = sampled_profile(), second = sampled_profile();
    second.summary->wall_time_ns = 3'000'000'000;  // the same samples over three times the time
    for (OpcodeStats& e : second.opcodes->entries) *e.time_ns *= 3;
    const Profile merged = merge(first, second);
    BOOST_TEST(*opcode(merged, "add").samples == 1000u);
    BOOST_TEST(*merged.functions->entries[0].total_samples == 2000u);
    // (T1 + T2)^2 / (T1^2 / n1 + T2^2 / n2) = 16 / (1/1000 + 9/1000) = 1600, not 2000: the second run's samples
    // each stand for three times as much time.
    BOOST_TEST(*merged.timing->effective_samples == 1600.0, boost::test_tools::tolerance(1e-9));
    // Runs of equal weights merge to equal weights: the effective size stays the sample count.
    first.timing->effective_samples.reset();
    second.timing->effective_samples.reset();
    BOOST_TEST(!merge(first, second).timing->effective_samples);
    BOOST_TEST(*effective_samples(merge(first, second)) == 2000.0);
}

BOOST_AUTO_TEST_CASE(json_round_trips_samples_and_reads_files_without_them) {
    const Profile p = sampled_profile();
    const std::string json = format_json(p);
    BOOST_TEST((parse_json(json) == p));
    auto doc = nlohmann::json::parse(json);
    BOOST_TEST(doc["timing"]["effective_samples"] == 1000.0);
    BOOST_TEST(doc["opcodes"][0]["samples"] == 500);
    const auto& estimate = doc["opcodes"][0]["time_estimate"];
    BOOST_TEST(estimate["percent"] == 50.0);
    BOOST_TEST(estimate["percent_low"].get<double>() == 46.91, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(estimate["time_high_ns"].get<std::uint64_t>() > 530'000'000u);
    BOOST_TEST(estimate["meaningful"] == true);
    BOOST_TEST(doc["functions"][0]["total_time_estimate"]["samples"] == 1000);
    // The sampler no longer makes up per-execution percentiles.
    BOOST_TEST(doc["opcodes"][0]["p50_ns"].is_null());
    // A document written before the sample counts: read, without them.
    doc["timing"].erase("effective_samples");
    for (auto& e : doc["opcodes"]) e.erase("samples"), e.erase("time_estimate");
    for (auto& e : doc["functions"]) e.erase("self_samples"), e.erase("total_samples");
    const Profile old = parse_json(doc.dump());
    BOOST_TEST(!old.timing->effective_samples);
    BOOST_TEST(!opcode(old, "add").samples);
    BOOST_TEST(*opcode(old, "add").time_ns == 500'000'000u);
    // Sample counts of a group whose times are not measured are refused, like its times.
    auto untimed = nlohmann::json::parse(json);
    untimed["metrics"]["opcode_times"] = nullptr;
    for (auto& e : untimed["opcodes"]) e.erase("time_ns");
    BOOST_CHECK_THROW(parse_json(untimed.dump()), ProfileFormatError);
}

BOOST_AUTO_TEST_CASE(text_report_shows_intervals_and_hides_figures_of_too_few_samples) {
    // Runs of blanks as one, so the checks do not depend on column widths.
    std::string text;
    for (const char c : format_text(sampled_profile()))
        if (c != ' ' || text.empty() || text.back() != ' ') text += c;
    BOOST_TEST(contains(text, "opcode count % time time % samples mean"), text);
    BOOST_TEST(contains(text, "add 600 60.0% ~500 ms ~50.0% \u00b13.1 500 ~833 us"), text);
    // mul: 3 samples, sub: an interval wider than its share, nop: none: the samples shown, the figures not.
    BOOST_TEST(contains(text, "mul 200 20.0% - - 3 -"), text);
    BOOST_TEST(contains(text, "sub 100 10.0% - - 12 -"), text);
    BOOST_TEST(contains(text, "nop 100 10.0% - - 0 -"), text);
    BOOST_TEST(contains(text, "main 1 ~515 ms ~51.5% \u00b13.1 515 ~1.00 s ~100.0% \u00b10.4 1,000"), text);
    BOOST_TEST(!contains(text, "~0 ns"), text);  // no natives sampled: no "time in natives ~0 ns" either
    BOOST_TEST(!contains(text, "p50"));  // no per-execution distributions: no percentile columns
    BOOST_TEST(contains(text, "fewer than 10 samples"));
    BOOST_TEST(contains(text, "1,000 samples, 1000 effective"));
}

BOOST_AUTO_TEST_CASE(html_report_shows_intervals_and_greys_figures_of_too_few_samples) {
    const std::string page = format_html(sampled_profile());
    BOOST_TEST(contains(page, "data-samples=\"500\" data-share-low=\"0.469"));
    BOOST_TEST(contains(page, "50.0% \u00b13.1 &#183; 500 samples"));
    BOOST_TEST(contains(page, "<td class=\"num stat few\" data-sort=\"3000000\" data-samples=\"3\""));
    BOOST_TEST(!contains(page, "<td class=\"num stat few\" data-sort=\"500000000\""));
    BOOST_TEST(contains(page, "id=\"intervals\""));
    BOOST_TEST(!contains(page, "<th>p50</th>"));
}

BOOST_AUTO_TEST_SUITE_END()
