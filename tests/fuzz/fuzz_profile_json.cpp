// fuzz_profile_json: the input as a profile JSON document. parse_json() may throw ProfileFormatError and
// nothing else; a profile it accepts is written as text and JSON, merged with itself, and reads back equal.
#include "fuzz_support.hpp"

using namespace opscope;

namespace {

// KNOWN-BUG FILTER skip_number_overflow (remove once parse_json turns nlohmann's out_of_range into a
// ProfileFormatError; reproducer: findings/fuzz_profile_json/number_overflow_1e400.json): a number whose
// exponent or digit count could overflow a double ("1e400", 400 digits) makes parse_json throw an exception
// it does not catch. Skips every input with an exponent of three or more digits or a run of 300 digits.
bool skip_number_overflow(std::string_view text) {
    std::size_t digits = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        digits = (c >= '0' && c <= '9') ? digits + 1 : 0;
        if (digits >= 300) return true;
        if ((c == 'e' || c == 'E') && i > 0 && text[i - 1] >= '0' && text[i - 1] <= '9') {
            std::size_t j = i + 1;
            if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
            std::size_t exponent_digits = 0;
            while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j, ++exponent_digits;
            if (exponent_digits >= 3) return true;
        }
    }
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (skip_number_overflow(fuzz::as_text(data, size))) return 0;
    Profile profile;
    try {
        profile = parse_json(fuzz::as_text(data, size));
    } catch (const ProfileFormatError&) {
        return 0;
    }

    (void)format_text(profile);
    const std::string json = format_json(profile);
    (void)merge(profile, profile);

    Profile again;
    try {
        again = parse_json(json);
    } catch (const ProfileFormatError& e) {
        fuzz::finding("format_json output does not parse", json + "\n" + e.what());
    }
    if (!(again == profile)) fuzz::finding("parse_json(format_json(p)) != p", json);
    return 0;
}
