// Reading programs from files, choosing the front end by extension.
#include <opscope/loader.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace opscope {

namespace {
std::ifstream open(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    return in;
}

bool ends_with(const std::string& s, std::string_view suffix) { return s.size() >= suffix.size() && s.ends_with(suffix); }
} // namespace

std::string read_text_file(const std::string& path) {
    std::ifstream in = open(path);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw InputError(fmt::format("cannot read '{}'", path));
    return text.str();
}

std::vector<std::uint8_t> read_binary_file(const std::string& path) {
    std::ifstream in = open(path);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw InputError(fmt::format("cannot read '{}'", path));
    return bytes;
}

Program read_program(const std::string& path, const std::vector<NativeDeclaration>& natives) {
    if (ends_with(path, ".opasm")) return assemble(read_text_file(path), path);
    if (ends_with(path, ".opc")) return decode_bytecode(read_binary_file(path), path);
    if (ends_with(path, ".ops")) return compile_source(read_text_file(path), path, natives);
    throw InputError(fmt::format("'{}': unknown file type (expected .ops, .opasm or .opc)", path));
}

} // namespace opscope
