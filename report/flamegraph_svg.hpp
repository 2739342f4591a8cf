// Flame graphs as static inline SVG, for the HTML report (report_html.cpp: a profile's sampled call stacks)
// and the diff's page (diff_html.cpp: the differential graph of two profiles): readable without JavaScript, one `<g class="frame">` per (stack prefix) with its
// `<title>` as flamegraph.pl writes it. Private to report/.
#pragma once

#include "html_support.hpp"

#include <opscope/profile.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace opscope::html {

// The flame graph of call_stacks (which must be present): root `all` at the bottom, widths by samples,
// children sorted by name. DOM contract (docs/exports.md): `<svg id="flamegraph-svg" data-total-samples=N>`;
// per frame `<g class="frame" data-frame="main;fib" data-name="fib" data-value=SAMPLES data-depth=D
// data-x=X data-width=W>` (root: data-frame="all", depth 0), with `<title>`, `<rect>` and a `<text>` label
// shortened to fit. Tooltips give samples, share, sampled time when known, and the sampled lines when the
// stacks carry them.
std::string flamegraph_svg(const Profile& profile);

// The differential flame graph of `stacks` (frames root first joined by ';' -> base, new), as flamegraph.pl
// draws two-column folded input: widths by the new value, colour by the change (red grew, blue shrank, grey
// unchanged; deeper for a larger relative change); stacks whose new value is 0 are not drawn. Same element
// and layout as flamegraph_svg, and: `<svg ... data-differential="true" data-unit=UNIT data-total=NEW
// data-base-total=BASE>`, per frame `data-value` (new) `data-base` `data-delta` (new - base); the `<title>`
// gives new, its share, base and delta.
std::string differential_flamegraph_svg(const std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>& stacks,
                                        std::string_view unit);

} // namespace opscope::html
