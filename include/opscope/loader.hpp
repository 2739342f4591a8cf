// Reading a program from a file by its extension: .opasm (assembly), .opc (bytecode), .ops (source).
#pragma once

#include <opscope/compiler.hpp>
#include <opscope/program.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace opscope {

// The file could not be read (missing, a directory, unreadable, too large, unknown extension).
class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The largest file read_text_file, read_binary_file and read_program read: 16 MiB. Programs people write or
// generate are kilobytes to a few megabytes (the examples are under 4 KiB). Compiling the densest .ops source
// measured peaks at 46 bytes of memory per byte of input (README "Bad input"), so the limit keeps a hostile
// file under 1 GiB. A longer file, or a device that never ends, is an InputError
// "'FILE': larger than the limit of 16777216 bytes".
inline constexpr std::uint64_t kMaxInputFileBytes = std::uint64_t{16} << 20;
// The largest profile (JSON) the CLI reads back (export, merge, diff): 64 MiB. Profiles are written by
// opscope, and a Full profile's timeline alone is several megabytes, so a merge of a few is past 16 MiB;
// parsing takes about ten bytes of memory per byte, so the limit keeps a hostile file under 1 GiB.
inline constexpr std::uint64_t kMaxProfileFileBytes = std::uint64_t{64} << 20;

// `limit`: the most bytes read (a longer file is an InputError).
std::string read_text_file(const std::string& path, std::uint64_t limit = kMaxInputFileBytes);  // throws InputError
std::vector<std::uint8_t> read_binary_file(const std::string& path);  // throws InputError

// The program in `contents`, read from a file named `path`, whose extension picks the front end (assemble,
// decode_bytecode or compile_source). Throws InputError (unknown extension) or ProgramError.
Program load_program(std::string_view contents, const std::string& path,
                     const std::vector<NativeDeclaration>& natives = {});

// read_text_file, then load_program. `natives` are host functions the .ops compiler should accept.
Program read_program(const std::string& path, const std::vector<NativeDeclaration>& natives = {});

} // namespace opscope
