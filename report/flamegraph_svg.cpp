// flamegraph_svg: static SVG flame graphs (flamegraph_svg.hpp): the sampled call stacks of one profile, and
// the differential graph of two (`opscope diff --format html`). Layout as flamegraph.pl draws it: the root
// `all` at the bottom, each frame as wide as its value (samples; the new profile's value when differential),
// children left to right by name. Coordinates are in a fixed 1200-unit wide viewBox; the report's script only
// changes them to zoom. Both graphs share the tree, the layout and the frame element; they differ in the
// tooltip, the data- attributes and the colour (by name, or by the change).
#include "figures.hpp"
#include "flamegraph_svg.hpp"
#include "html_support.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <vector>

namespace opscope::html {

namespace {

constexpr double kWidth = 1200;
constexpr double kPad = 10;
constexpr double kFrameHeight = 17;
constexpr double kCharWidth = 7;  // of the 12px monospace labels

struct Node {
    std::string name;
    std::string path;  // frames root first joined by ';' ("all" for the root)
    std::uint64_t value = 0;  // what the width shows: samples, or the new profile's value when differential
    std::uint64_t base = 0;   // differential: the base profile's value
    std::uint64_t time_ns = 0;
    std::map<std::uint32_t, std::uint64_t> lines;  // sampled line -> samples, when the stacks have lines
    std::vector<std::unique_ptr<Node>> children;

    Node& child(const std::string& frame) {
        for (auto& c : children)
            if (c->name == frame) return *c;
        auto node = std::make_unique<Node>();
        node->name = frame;
        node->path = path == "all" ? frame : path + ";" + frame;
        children.push_back(std::move(node));
        return *children.back();
    }
};

std::size_t depth_of(const Node& node) {
    std::size_t deepest = 0;
    for (const auto& c : node.children) deepest = std::max(deepest, depth_of(*c) + 1);
    return deepest;
}

// The label that fits `width` units: the whole name, a shortened one ending in "..", or none. Cut at a UTF-8
// character boundary.
std::string label(const std::string& name, double width) {
    const auto fits = static_cast<std::size_t>(std::max(0.0, (width - 6) / kCharWidth));
    if (fits < 3) return "";
    if (name.size() <= fits) return name;
    std::size_t cut = fits - 2;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    return name.substr(0, cut) + "..";
}

// flamegraph.pl's "hot" palette, chosen by the name's hash so a function keeps its colour; natives blue,
// the truncation marker grey.
std::string name_colour(const Node& node, const Profile& profile) {
    if (node.path == "all") return "rgb(200,200,200)";
    if (node.name == kTruncatedFrame) return "rgb(170,170,170)";
    if (profile.functions)
        for (const FunctionStats& f : profile.functions->entries)
            if (f.name == node.name && f.native) return "rgb(110,160,220)";
    std::uint32_t hash = 2166136261u;
    for (const char c : node.name) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
    const unsigned r = 205 + hash % 50, g = (hash >> 8) % 190, b = (hash >> 16) % 55;
    return fmt::format("rgb({},{},{})", r, g, b);
}

// flamegraph.pl's differential colours: red grew, blue shrank, grey unchanged; the stronger the relative
// change (|delta| over the larger of base and new) the deeper the hue, so a new frame is pure red.
std::string delta_colour(const Node& node) {
    if (node.base == node.value) return "rgb(225,225,225)";
    const double change = std::abs(static_cast<double>(node.value) - static_cast<double>(node.base)) /
                          static_cast<double>(std::max(node.base, node.value));
    const auto pale = static_cast<unsigned>(std::lround(220 * (1 - change)));
    return node.value > node.base ? fmt::format("rgb(255,{0},{0})", pale) : fmt::format("rgb({0},{0},255)", pale);
}

using report::digits;
using report::duration;

// The tooltip and data- attributes of a sampled frame; the width is its samples.
struct SampledFrames {
    const Profile& profile;
    bool with_time;

    std::string title(const Node& node, double percent) const {
        std::string title = fmt::format("{} (~{} samples, ~{:.2f}%", node.name, node.value, percent);
        if (with_time) title += fmt::format(", ~{}", duration(node.time_ns));
        title += ")";
        if (!node.lines.empty()) {
            title += "\nsampled lines:";
            for (const auto& [line, samples] : node.lines) title += fmt::format(" {} (~{})", line, samples);
        }
        return title;
    }
    std::string attributes(const Node& node) const {
        return with_time ? fmt::format(" data-time-ns=\"{}\"", node.time_ns) : std::string();
    }
    std::string colour(const Node& node) const { return name_colour(node, profile); }
};

// The tooltip and data- attributes of a differential frame: base, new and delta of the metric.
struct DifferentialFrames {
    std::string_view unit;

    std::string title(const Node& node, double percent) const {
        const double delta = static_cast<double>(node.value) - static_cast<double>(node.base);
        std::string change = node.base == 0 ? std::string("new")
                                            : fmt::format("{:+.2f}%", 100 * delta / static_cast<double>(node.base));
        return fmt::format("{} (new {} {}, {:.2f}% of new; base {}; delta {}, {})", node.name, digits(node.value), unit,
                           percent, digits(node.base), report::signed_digits(delta), change);
    }
    std::string attributes(const Node& node) const {
        return fmt::format(" data-base=\"{}\" data-delta=\"{:.0f}\"", node.base,
                           static_cast<double>(node.value) - static_cast<double>(node.base));
    }
    std::string colour(const Node& node) const { return delta_colour(node); }
};

// Frames: SampledFrames or DifferentialFrames. Frames of value 0 (stacks only the base has) are not drawn.
template <class Frames>
struct Writer {
    const Frames& frames;
    std::uint64_t total;
    double height;
    std::string out;

    double width_of(const Node& node) const {
        return total == 0 ? 0 : (kWidth - 2 * kPad) * static_cast<double>(node.value) / static_cast<double>(total);
    }

    void frame(const Node& node, std::size_t depth, double x) {
        const double width = width_of(node);
        const double y = height - kPad - static_cast<double>(depth + 1) * kFrameHeight;
        const double percent = total == 0 ? 0 : 100.0 * static_cast<double>(node.value) / static_cast<double>(total);
        out += fmt::format("<g class=\"frame\" data-frame=\"{}\" data-name=\"{}\" data-value=\"{}\" data-depth=\"{}\" "
                           "data-x=\"{:.3f}\" data-width=\"{:.3f}\"{}>",
                           escaped(node.path), escaped(node.name), node.value, depth, x, width, frames.attributes(node));
        out += fmt::format("<title>{}</title><rect x=\"{:.3f}\" y=\"{:.1f}\" width=\"{:.3f}\" height=\"{}\" "
                           "fill=\"{}\" rx=\"2\"/><text x=\"{:.3f}\" y=\"{:.1f}\">{}</text></g>\n",
                           escaped(frames.title(node, percent)), x, y, width, kFrameHeight - 1, frames.colour(node), x + 3,
                           y + 12, escaped(label(node.name, width)));
        double child_x = x;
        for (const auto& c : node.children) {
            if (c->value == 0) continue;
            frame(*c, depth + 1, child_x);
            child_x += width_of(*c);
        }
    }
};

// Children by name, as flamegraph.pl orders them.
void sort_children(Node& node) {
    std::sort(node.children.begin(), node.children.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
    for (auto& c : node.children) sort_children(*c);
}

// The <svg> around the frames, the root first; `attributes` are the graph's own data- attributes.
template <class Frames>
std::string svg(Node& root, const Frames& frames, const std::string& attributes) {
    sort_children(root);
    const double height = static_cast<double>(depth_of(root) + 1) * kFrameHeight + 2 * kPad;
    Writer<Frames> writer{frames, root.value, height, {}};
    writer.out = fmt::format("<svg id=\"flamegraph-svg\" viewBox=\"0 0 {} {}\" width=\"100%\" "
                             "preserveAspectRatio=\"xMinYMin meet\" role=\"img\"{} "
                             "data-frame-height=\"{}\" data-view-width=\"{}\" data-pad=\"{}\">\n",
                             kWidth, height, attributes, kFrameHeight, kWidth, kPad);
    writer.frame(root, 0, kPad);
    writer.out += "</svg>\n";
    return std::move(writer.out);
}

} // namespace

std::string flamegraph_svg(const Profile& profile) {
    Node root;
    root.name = "all";
    root.path = "all";
    bool with_time = !profile.call_stacks->entries.empty();
    for (const StackSample& stack : profile.call_stacks->entries) {
        if (!stack.time_ns) with_time = false;
        if (stack.samples == 0 || stack.frames.empty()) continue;
        const bool with_lines = stack.lines.size() == stack.frames.size();
        root.value += stack.samples;
        root.time_ns += stack.time_ns.value_or(0);
        Node* node = &root;
        for (std::size_t i = 0; i < stack.frames.size(); ++i) {
            node = &node->child(stack.frames[i]);
            node->value += stack.samples;
            node->time_ns += stack.time_ns.value_or(0);
            if (with_lines && stack.lines[i] != 0) node->lines[stack.lines[i]] += stack.samples;
        }
    }
    return svg(root, SampledFrames{profile, with_time}, fmt::format(" data-total-samples=\"{}\"", root.value));
}

std::string differential_flamegraph_svg(const std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>& stacks,
                                        std::string_view unit) {
    Node root;
    root.name = "all";
    root.path = "all";
    for (const auto& [stack, counts] : stacks) {
        root.base += counts.first;
        root.value += counts.second;
        Node* node = &root;
        for (std::size_t start = 0; start <= stack.size();) {
            const std::size_t end = std::min(stack.find(';', start), stack.size());
            node = &node->child(stack.substr(start, end - start));
            node->base += counts.first;
            node->value += counts.second;
            start = end + 1;
        }
    }
    return svg(root, DifferentialFrames{unit},
               fmt::format(" data-differential=\"true\" data-unit=\"{}\" data-total=\"{}\" data-base-total=\"{}\"",
                           escaped(unit), root.value, root.base));
}

} // namespace opscope::html
