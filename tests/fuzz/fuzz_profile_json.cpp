// fuzz_profile_json: the input as a profile JSON document. parse_json() may throw ProfileFormatError and
// nothing else; a profile it accepts is written as text and JSON, merged with itself (which may refuse
// counts past 2^64 - 1 with a ProfileFormatError, nothing else), and reads back equal.
#include "fuzz_support.hpp"

using namespace opscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Profile profile;
    try {
        profile = parse_json(fuzz::as_text(data, size));
    } catch (const ProfileFormatError&) {
        return 0;
    }

    (void)format_text(profile);
    const std::string json = format_json(profile);
    try {
        (void)merge(profile, profile);
    } catch (const ProfileFormatError&) {  // a count or time doubled past 2^64 - 1 is refused, not wrapped
    }

    Profile again;
    try {
        again = parse_json(json);
    } catch (const ProfileFormatError& e) {
        fuzz::finding("format_json output does not parse", json + "\n" + e.what());
    }
    if (!(again == profile)) fuzz::finding("parse_json(format_json(p)) != p", json);
    return 0;
}
