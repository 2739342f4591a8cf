// The flame graph of a profile's sampled call stacks as static inline SVG, for the HTML report
// (report_html.cpp): readable without JavaScript, one `<g class="frame">` per (stack prefix) with its
// `<title>` as flamegraph.pl writes it. Private to report/.
#pragma once

#include "html_support.hpp"

#include <opscope/profile.hpp>

#include <string>

namespace opscope::html {

// The flame graph of call_stacks (which must be present): root `all` at the bottom, widths by samples,
// children sorted by name. DOM contract (docs/exports.md): `<svg id="flamegraph-svg" data-total-samples=N>`;
// per frame `<g class="frame" data-frame="main;fib" data-name="fib" data-value=SAMPLES data-depth=D
// data-x=X data-width=W>` (root: data-frame="all", depth 0), with `<title>`, `<rect>` and a `<text>` label
// shortened to fit. Tooltips give samples, share, sampled time when known, and the sampled lines when the
// stacks carry them.
std::string flamegraph_svg(const Profile& profile);

} // namespace opscope::html
