// The house rules that a forgotten step would break silently: <opscope/opscope.hpp> includes every public
// header, what a host reads (the README, the examples) includes only public headers, and the README's copy of
// the C API example is the file the tests compile and run.
//
// OPSCOPE_SOURCE_DIR is a compile definition set by tests/CMakeLists.txt.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kSource = OPSCOPE_SOURCE_DIR;

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The header names of every `#include <...>` or `#include "..."` in `text`.
std::set<std::string> includes_in(const std::string& text) {
    static const std::regex include(R"re(#include\s*[<"]([^>"]+)[>"])re");
    std::set<std::string> found;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), include); it != std::sregex_iterator(); ++it)
        found.insert((*it)[1].str());
    return found;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_umbrella_header_includes_every_public_header) {
    const fs::path public_dir = kSource / "include";
    const std::set<std::string> umbrella = includes_in(read(public_dir / "opscope" / "opscope.hpp"));
    std::size_t headers = 0;
    for (const auto& entry : fs::recursive_directory_iterator(public_dir / "opscope")) {
        if (!entry.is_regular_file() || entry.path().extension() != ".hpp") continue;
        const std::string name = entry.path().lexically_relative(public_dir).generic_string();
        if (name == "opscope/opscope.hpp") continue;
        ++headers;
        BOOST_TEST(umbrella.count(name) == 1u, name << " is public but <opscope/opscope.hpp> does not include it");
    }
    BOOST_TEST(headers >= 20u);
}

BOOST_AUTO_TEST_CASE(the_readme_and_examples_include_only_public_headers) {
    std::vector<fs::path> files = {kSource / "README.md"};
    for (const auto& entry : fs::directory_iterator(kSource / "examples"))
        if (entry.path().extension() == ".cpp" || entry.path().extension() == ".c") files.push_back(entry.path());
    BOOST_TEST(files.size() >= 4u);
    for (const fs::path& file : files)
        for (const std::string& header : includes_in(read(file))) {
            // Standard and third-party headers have no folder of ours; ours must come from include/opscope/.
            const bool ours = header.starts_with("opscope/") || header.starts_with("vm/") ||
                              header.starts_with("policies/") || header.starts_with("report/") ||
                              header.find(".hpp") != std::string::npos;
            if (!ours) continue;
            BOOST_TEST((header.starts_with("opscope/") && fs::exists(kSource / "include" / header)),
                       file.filename().string() << " includes " << header << ", which is not a public header");
        }
}

// The README shows examples/embed.c whole, in the fenced block after `<!-- examples/embed.c -->`; the tests
// compile and run the file (tools/c_api_example.sh), so the copy must be the file.
BOOST_AUTO_TEST_CASE(the_readme_shows_the_c_example_as_it_is) {
    const std::string readme = read(kSource / "README.md");
    const std::string marker = "<!-- examples/embed.c -->\n```c\n";
    const std::size_t start = readme.find(marker);
    BOOST_REQUIRE_MESSAGE(start != std::string::npos, "README.md has no " << marker);
    const std::size_t body = start + marker.size();
    const std::size_t end = readme.find("\n```\n", body);
    BOOST_REQUIRE(end != std::string::npos);
    BOOST_TEST(readme.substr(body, end + 1 - body) == read(kSource / "examples" / "embed.c"),
               "README.md's copy of examples/embed.c differs from the file: copy the file into the README");
}
