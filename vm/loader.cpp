// Reading programs from files, choosing the front end by extension.
#include <opscope/loader.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <sys/stat.h>

namespace opscope {

namespace {
// The whole file, at most `limit` bytes. A directory is refused by name (opening one succeeds on Linux
// and reading it fails, or reads nothing), and reading stops past the limit, so a device or pipe that never
// ends costs no more than a file of the limit's size.
std::string read_file(const std::string& path, std::uint64_t limit) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) info.st_mode = 0;
    if (S_ISDIR(info.st_mode))
        throw InputError(fmt::format("'{}': is a directory", path));
    const auto too_large = [&] {
        return InputError(fmt::format("'{}': larger than the limit of {} bytes", path, limit));
    };
    // A regular file's size is known: refused unread when too large, else reserved so the string never grows.
    std::string bytes;
    if (S_ISREG(info.st_mode)) {
        if (static_cast<std::uint64_t>(info.st_size) > limit) throw too_large();
        bytes.reserve(static_cast<std::size_t>(info.st_size) + 1);
    }
    char chunk[1 << 16];
    while (in) {
        in.read(chunk, sizeof chunk);
        bytes.append(chunk, static_cast<std::size_t>(in.gcount()));
        if (bytes.size() > limit) throw too_large();
    }
    if (in.bad()) throw InputError(fmt::format("cannot read '{}'", path));
    return bytes;
}
} // namespace

std::string read_text_file(const std::string& path, std::uint64_t limit) { return read_file(path, limit); }

std::vector<std::uint8_t> read_binary_file(const std::string& path) {
    const std::string bytes = read_file(path, kMaxInputFileBytes);
    return {bytes.begin(), bytes.end()};
}

namespace {
using FrontEnd = Program (*)(std::string_view, const std::string&, const std::vector<NativeDeclaration>&);

Program load_assembly(std::string_view text, const std::string& file, const std::vector<NativeDeclaration>&) {
    return assemble(text, file);
}
Program load_bytecode(std::string_view bytes, const std::string& file, const std::vector<NativeDeclaration>&) {
    return decode_bytecode({bytes.begin(), bytes.end()}, file);
}

// The front end for `path`'s extension.
FrontEnd front_end(const std::string& path) {
    if (path.ends_with(".opasm")) return load_assembly;
    if (path.ends_with(".opc")) return load_bytecode;
    if (path.ends_with(".ops")) return compile_source;
    throw InputError(fmt::format("'{}': unknown file type (expected .ops, .opasm or .opc)", path));
}
} // namespace

Program load_program(std::string_view contents, const std::string& path, const std::vector<NativeDeclaration>& natives) {
    return front_end(path)(contents, path, natives);
}

Program read_program(const std::string& path, const std::vector<NativeDeclaration>& natives) {
    const FrontEnd load = front_end(path);  // an unknown extension is refused before the file is opened
    return load(read_file(path, kMaxInputFileBytes), path, natives);
}

} // namespace opscope
