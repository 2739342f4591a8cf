// flamegraph_svg: the sampled call stacks as a static SVG flame graph (flamegraph_svg.hpp). Layout as
// flamegraph.pl draws it: the root `all` at the bottom, each frame as wide as its samples, children left to
// right by name. Coordinates are in a fixed 1200-unit wide viewBox; the report's script only changes them
// to zoom.
#include "figures.hpp"
#include "flamegraph_svg.hpp"
#include "html_support.hpp"

#include <fmt/format.h>

#include <algorithm>
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
    std::uint64_t samples = 0;
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
std::string colour(const Node& node, const Profile& profile) {
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

using report::duration;

struct Writer {
    const Profile& profile;
    std::uint64_t total;
    bool with_time;
    double height;
    std::string out;

    void frame(const Node& node, std::size_t depth, double x) {
        const double width = total == 0 ? 0 : (kWidth - 2 * kPad) * static_cast<double>(node.samples) /
                                                   static_cast<double>(total);
        const double y = height - kPad - static_cast<double>(depth + 1) * kFrameHeight;
        const double percent = total == 0 ? 0 : 100.0 * static_cast<double>(node.samples) / static_cast<double>(total);
        std::string title = fmt::format("{} (~{} samples, ~{:.2f}%", node.name, node.samples, percent);
        if (with_time) title += fmt::format(", ~{}", duration(node.time_ns));
        title += ")";
        if (!node.lines.empty()) {
            title += "\nsampled lines:";
            for (const auto& [line, samples] : node.lines) title += fmt::format(" {} (~{})", line, samples);
        }
        out += fmt::format("<g class=\"frame\" data-frame=\"{}\" data-name=\"{}\" data-value=\"{}\" data-depth=\"{}\" "
                           "data-x=\"{:.3f}\" data-width=\"{:.3f}\"{}>",
                           escaped(node.path), escaped(node.name), node.samples, depth, x, width,
                           with_time ? fmt::format(" data-time-ns=\"{}\"", node.time_ns) : std::string());
        out += fmt::format("<title>{}</title><rect x=\"{:.3f}\" y=\"{:.1f}\" width=\"{:.3f}\" height=\"{}\" "
                           "fill=\"{}\" rx=\"2\"/><text x=\"{:.3f}\" y=\"{:.1f}\">{}</text></g>\n",
                           escaped(title), x, y, width, kFrameHeight - 1, colour(node, profile), x + 3,
                           y + 12, escaped(label(node.name, width)));
        double child_x = x;
        for (const auto& c : node.children) {
            frame(*c, depth + 1, child_x);
            child_x += total == 0 ? 0 : (kWidth - 2 * kPad) * static_cast<double>(c->samples) /
                                            static_cast<double>(total);
        }
    }
};

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
        root.samples += stack.samples;
        root.time_ns += stack.time_ns.value_or(0);
        Node* node = &root;
        for (std::size_t i = 0; i < stack.frames.size(); ++i) {
            node = &node->child(stack.frames[i]);
            node->samples += stack.samples;
            node->time_ns += stack.time_ns.value_or(0);
            if (with_lines && stack.lines[i] != 0) node->lines[stack.lines[i]] += stack.samples;
        }
    }
    // Children by name, as flamegraph.pl orders them.
    auto sort = [](auto& self, Node& node) -> void {
        std::sort(node.children.begin(), node.children.end(),
                  [](const auto& a, const auto& b) { return a->name < b->name; });
        for (auto& c : node.children) self(self, *c);
    };
    sort(sort, root);

    const double height = static_cast<double>(depth_of(root) + 1) * kFrameHeight + 2 * kPad;
    Writer writer{profile, root.samples, with_time, height, {}};
    writer.out = fmt::format("<svg id=\"flamegraph-svg\" viewBox=\"0 0 {} {}\" width=\"100%\" "
                             "preserveAspectRatio=\"xMinYMin meet\" role=\"img\" data-total-samples=\"{}\" "
                             "data-frame-height=\"{}\" data-view-width=\"{}\" data-pad=\"{}\">\n",
                             kWidth, height, root.samples, kFrameHeight, kWidth, kPad);
    writer.frame(root, 0, kPad);
    writer.out += "</svg>\n";
    return std::move(writer.out);
}

} // namespace opscope::html
