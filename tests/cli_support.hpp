// Running the `opscope` CLI (and other programs) from a test, as a separate process, with its output
// captured; a scratch directory per test process. OPSCOPE_CLI and OPSCOPE_SOURCE_DIR are compile definitions
// set by tests/CMakeLists.txt.
#pragma once

#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>  // program_invocation_short_name
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace opscope::test {

namespace fs = std::filesystem;

// A scratch directory for this process, removed at exit.
inline const fs::path& scratch() {
    struct Dir {
        fs::path path =
            fs::temp_directory_path() / (std::string("opscope_") + program_invocation_short_name + "_" + std::to_string(::getpid()));
        Dir() { fs::create_directories(path); }
        ~Dir() {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    };
    static const Dir dir;
    return dir.path;
}

inline std::string quote(const std::string& s) {
    std::string out = "'";
    for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline fs::path write_file(const std::string& name, const std::string& content) {
    const fs::path path = scratch() / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

struct Result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs `program` with `arguments` (already quoted as needed) through the shell.
inline Result run_program(const std::string& program, const std::string& arguments) {
    const fs::path out = scratch() / "stdout.txt";
    const fs::path err = scratch() / "stderr.txt";
    const std::string command =
        quote(program) + " " + arguments + " >" + quote(out.string()) + " 2>" + quote(err.string()) + " </dev/null";
    const int status = std::system(command.c_str());
    Result r;
    r.exit_code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
}

inline Result cli(const std::string& arguments) {
    BOOST_TEST_REQUIRE(std::string(OPSCOPE_CLI) != "", "the opscope CLI was not built (OPSCOPE_BUILD_CLI=OFF)");
    return run_program(OPSCOPE_CLI, arguments);
}

inline std::string example(const std::string& name) { return std::string(OPSCOPE_SOURCE_DIR) + "/examples/" + name; }

} // namespace opscope::test
