// The writers' canonical copy of a profile (format_text, format_json): everything canonicalized, but the
// timeline's events left out. They are a sequence, canonical already (canonicalize() leaves them as they are),
// and the one list that grows with the run, thousands of events under Full, so the writers read them from the
// profile they were given instead of copying them. Private to report/.
#pragma once

#include <opscope/profile.hpp>

namespace opscope::report {

// `profile` canonicalized, with its timeline (if any) holding no events.
Profile canonical_copy_without_events(const Profile& profile);

} // namespace opscope::report
