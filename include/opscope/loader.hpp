// Reading a program from a file by its extension: .opasm (assembly), .opc (bytecode), .ops (source).
#pragma once

#include <opscope/compiler.hpp>
#include <opscope/program.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace opscope {

// The file could not be read (missing, unreadable, unknown extension).
class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string read_text_file(const std::string& path);               // throws InputError
std::vector<std::uint8_t> read_binary_file(const std::string& path);  // throws InputError

// Throws InputError or ProgramError. `natives` are host functions the .ops compiler should accept.
Program read_program(const std::string& path, const std::vector<NativeDeclaration>& natives = {});

} // namespace opscope
