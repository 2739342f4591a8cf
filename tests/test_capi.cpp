// The C API (include/opscope/opscope.h, capi/): every function, its errors as statuses and messages, the
// buffer-size protocol, natives of every value type, and exports byte for byte those of the C++ writers for
// the same profile. Linked statically from the objects libopscope.so is made of; the library's exported
// symbols are checked against the header here too (OPSCOPE_C_LIBRARY).
#include <boost/test/unit_test.hpp>

#include <csignal>

#include "capi/handles.hpp"

#include <opscope/opscope.h>
#include <opscope/policies/sampler.hpp>
#include <opscope/opscope.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <atomic>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

namespace {

// A VM destroyed at the end of the test.
struct VmDeleter {
    void operator()(opscope_vm* vm) const { opscope_vm_destroy(vm); }
};
using VmPtr = std::unique_ptr<opscope_vm, VmDeleter>;
struct ProfileDeleter {
    void operator()(opscope_profile* p) const { opscope_profile_destroy(p); }
};
using ProfilePtr = std::unique_ptr<opscope_profile, ProfileDeleter>;

VmPtr make_vm(opscope_policy policy = OPSCOPE_POLICY_NULL, std::uint64_t fuel = 0) {
    opscope_vm_options options = opscope_vm_options_default();
    options.policy = policy;
    options.limits.fuel = fuel;
    opscope_vm* vm = nullptr;
    BOOST_REQUIRE_EQUAL(opscope_vm_create(&options, &vm), OPSCOPE_OK);
    BOOST_REQUIRE(vm);
    return VmPtr(vm);
}

opscope_status load_source(opscope_vm* vm, std::string_view source, const char* name = "test.ops") {
    return opscope_vm_load(vm, OPSCOPE_INPUT_SOURCE, source.data(), source.size(), name);
}

ProfilePtr take_profile(opscope_vm* vm) {
    opscope_profile* profile = nullptr;
    BOOST_REQUIRE_EQUAL(opscope_vm_profile(vm, &profile), OPSCOPE_OK);
    return ProfilePtr(profile);
}

// opscope_profile_write's two calls: the size, then the bytes.
std::string written(const opscope_profile* profile, const char* format, const opscope_report_options* options = nullptr) {
    std::size_t size = 0;
    const opscope_status first = opscope_profile_write(profile, format, options, nullptr, 0, &size);
    BOOST_REQUIRE_MESSAGE(first == OPSCOPE_ERROR_BUFFER_TOO_SMALL, format << ": " << opscope_last_error());
    std::string bytes(size, '\0');
    std::size_t again = 0;
    BOOST_REQUIRE_EQUAL(opscope_profile_write(profile, format, options, bytes.data(), bytes.size(), &again), OPSCOPE_OK);
    BOOST_REQUIRE_EQUAL(again, size);
    return bytes;
}

std::string text_of(const opscope_value& v) { return std::string(v.as.string.data, v.as.string.length); }

constexpr std::string_view kLoop = R"(fn work(n) {
    let total = 0;
    for (let i = 0; i < n; i = i + 1) {
        total = total + i;
    }
    return total;
}
return work(1000);
)";

} // namespace

BOOST_AUTO_TEST_CASE(version_macros_match_the_project_and_the_functions) {
    BOOST_TEST(std::string(OPSCOPE_VERSION_STRING) == OPSCOPE_PROJECT_VERSION);
    BOOST_TEST(std::string(opscope_version()) == OPSCOPE_VERSION_STRING);
    BOOST_TEST(opscope_version_number() == static_cast<std::uint32_t>(OPSCOPE_VERSION_MAJOR * 10000 +
                                                                      OPSCOPE_VERSION_MINOR * 100 + OPSCOPE_VERSION_PATCH));
    const std::string dotted = std::to_string(OPSCOPE_VERSION_MAJOR) + "." + std::to_string(OPSCOPE_VERSION_MINOR) +
                               "." + std::to_string(OPSCOPE_VERSION_PATCH);
    BOOST_TEST(dotted == OPSCOPE_VERSION_STRING);
}

BOOST_AUTO_TEST_CASE(every_status_has_its_name) {
    BOOST_TEST(std::string(opscope_status_name(OPSCOPE_OK)) == "OPSCOPE_OK");
    BOOST_TEST(std::string(opscope_status_name(OPSCOPE_ERROR_RUNTIME)) == "OPSCOPE_ERROR_RUNTIME");
    for (int s = OPSCOPE_OK; s <= OPSCOPE_ERROR_INTERNAL; ++s)
        BOOST_TEST(std::string(opscope_status_name(static_cast<opscope_status>(s))).starts_with("OPSCOPE_"));
    BOOST_TEST(std::string(opscope_status_name(static_cast<opscope_status>(99))) == "unknown status");
}

// What the header declares (OPSCOPE_API functions) is what libopscope.so exports, and nothing more.
BOOST_AUTO_TEST_CASE(the_shared_library_exports_exactly_the_header) {
    std::ifstream header(std::string(OPSCOPE_SOURCE_DIR) + "/include/opscope/opscope.h");
    const std::string text{std::istreambuf_iterator<char>(header), std::istreambuf_iterator<char>()};
    std::set<std::string> declared;
    static const std::regex api(R"(OPSCOPE_API[^;(]*\b(opscope_\w+)\s*\()");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), api); it != std::sregex_iterator(); ++it)
        declared.insert((*it)[1].str());
    BOOST_TEST(declared.size() >= 30u);

    const std::string command = "nm -D --defined-only '" + std::string(OPSCOPE_C_LIBRARY) + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    BOOST_REQUIRE(pipe);
    std::set<std::string> exported;
    char line[4096];
    while (std::fgets(line, sizeof line, pipe)) {
        std::istringstream fields(line);
        std::string address, kind, name;
        fields >> address >> kind >> name;
        if (kind == "A") continue;  // version nodes
        exported.insert(name);
    }
    BOOST_REQUIRE_EQUAL(::pclose(pipe), 0);
    BOOST_TEST(exported == declared, "exported but not declared, or declared but not exported");
    for (const std::string& name : exported)
        BOOST_TEST(declared.count(name) == 1u, name << " is exported but not in opscope.h");
    for (const std::string& name : declared)
        BOOST_TEST(exported.count(name) == 1u, name << " is in opscope.h but not exported");
}

BOOST_AUTO_TEST_CASE(create_and_destroy) {
    opscope_vm* vm = reinterpret_cast<opscope_vm*>(&vm);
    BOOST_TEST(opscope_vm_create(nullptr, &vm) == OPSCOPE_OK);  // NULL options: the null policy
    BOOST_REQUIRE(vm);
    const VmPtr owned(vm);
    opscope_limits limits{};
    BOOST_TEST(opscope_vm_get_limits(vm, &limits) == OPSCOPE_OK);
    const opscope::Limits defaults;
    BOOST_TEST(limits.fuel == defaults.fuel);
    BOOST_TEST(limits.max_call_depth == defaults.max_call_depth);
    BOOST_TEST(limits.stack_slots == defaults.stack_slots);
    BOOST_TEST(limits.heap_bytes == defaults.heap_bytes);
    BOOST_TEST(limits.output_bytes == defaults.output_bytes);
    BOOST_TEST(std::string(opscope_vm_last_error(vm)).empty());

    opscope_vm_options bad = opscope_vm_options_default();
    bad.policy = static_cast<opscope_policy>(7);
    opscope_vm* none = reinterpret_cast<opscope_vm*>(&bad);
    BOOST_TEST(opscope_vm_create(&bad, &none) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(!none);
    BOOST_TEST(std::string(opscope_last_error()).starts_with("unknown policy 7"));
    bad = opscope_vm_options_default();
    bad.sample_hz = -1;
    BOOST_TEST(opscope_vm_create(&bad, &none) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(std::string(opscope_last_error()).find("sample_hz") != std::string::npos);
    BOOST_TEST(opscope_vm_create(nullptr, nullptr) == OPSCOPE_ERROR_ARGUMENT);

    opscope_vm_destroy(nullptr);
    opscope_profile_destroy(nullptr);
    BOOST_TEST(std::string(opscope_vm_last_error(nullptr)).empty());
}

BOOST_AUTO_TEST_CASE(the_sampler_signal_can_be_moved) {
    BOOST_TEST(opscope_set_sampler_signal(SIGKILL) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(std::string(opscope_last_error()).find("cannot be caught") != std::string::npos);
    BOOST_TEST(opscope_set_sampler_signal(SIGRTMIN + 3) == OPSCOPE_OK);
    BOOST_TEST(opscope::sampler_signal_number() == SIGRTMIN + 3);
    BOOST_TEST(opscope_set_sampler_signal(SIGPROF) == OPSCOPE_OK);
}

BOOST_AUTO_TEST_CASE(the_last_error_is_per_thread_and_per_vm) {
    const VmPtr a = make_vm(), b = make_vm();
    BOOST_TEST(load_source(a.get(), "let = 1;", "a.ops") == OPSCOPE_ERROR_PROGRAM);
    BOOST_TEST(std::string(opscope_vm_last_error(a.get())).starts_with("a.ops:1:5: error:"));
    BOOST_TEST(std::string(opscope_vm_last_error(b.get())).empty());
    BOOST_TEST(std::string(opscope_last_error()).starts_with("a.ops:1:5: error:"));
    std::thread other([] { opscope_vm_create(nullptr, nullptr); });
    other.join();
    BOOST_TEST(std::string(opscope_last_error()).starts_with("a.ops:1:5: error:"));  // not the other thread's
    BOOST_TEST(load_source(a.get(), kLoop) == OPSCOPE_OK);  // success leaves the message
    BOOST_TEST(std::string(opscope_vm_last_error(a.get())).starts_with("a.ops:1:5: error:"));
}

BOOST_AUTO_TEST_CASE(limits_set_and_get) {
    const VmPtr vm = make_vm();
    opscope_limits limits = opscope_limits_default();
    limits.fuel = 10;
    limits.max_call_depth = 5;
    limits.stack_slots = 1000;
    limits.heap_bytes = 1 << 20;
    limits.output_bytes = 7;
    BOOST_TEST(opscope_vm_set_limits(vm.get(), &limits) == OPSCOPE_OK);
    opscope_limits back{};
    BOOST_TEST(opscope_vm_get_limits(vm.get(), &back) == OPSCOPE_OK);
    BOOST_TEST(std::memcmp(&back, &limits, sizeof limits) == 0);
    BOOST_TEST(opscope_vm_set_limits(vm.get(), nullptr) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())) == "limits is NULL");
    BOOST_TEST(opscope_vm_get_limits(nullptr, &back) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_vm_set_limits(nullptr, &limits) == OPSCOPE_ERROR_ARGUMENT);
}

BOOST_AUTO_TEST_CASE(load_source_assembly_and_bytecode_from_memory) {
    const VmPtr vm = make_vm();
    opscope_value result{};
    // Lengths are explicit: the bytes after `size` are not read.
    const std::string source = "return 6 * 7;\ngarbage that does not compile";
    BOOST_TEST(opscope_vm_load(vm.get(), OPSCOPE_INPUT_SOURCE, source.data(), 14, nullptr) == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), &result) == OPSCOPE_OK);
    BOOST_TEST(result.type == OPSCOPE_INT);
    BOOST_TEST(result.as.integer == 42);

    const std::string assembly = ".func main 0 0\n    push 5\n    ret\n.end\n";
    BOOST_TEST(opscope_vm_load(vm.get(), OPSCOPE_INPUT_ASSEMBLY, assembly.data(), assembly.size(), "a.opasm") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), &result) == OPSCOPE_OK);
    BOOST_TEST(result.as.integer == 5);

    const std::vector<std::uint8_t> bytecode =
        opscope::encode_bytecode(opscope::assemble(".func main 0 0\n    push 2.5\n    ret\n.end\n", "b.opasm"));
    BOOST_TEST(opscope_vm_load(vm.get(), OPSCOPE_INPUT_BYTECODE, bytecode.data(), bytecode.size(), "b.opc") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), &result) == OPSCOPE_OK);
    BOOST_TEST(result.type == OPSCOPE_FLOAT);
    BOOST_TEST(result.as.floating == 2.5);

    // Bad input of each kind: a status and a message with the place; the program loaded before stays.
    BOOST_TEST(load_source(vm.get(), "let x = ;\n", "bad.ops") == OPSCOPE_ERROR_PROGRAM);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())).starts_with("bad.ops:1:9: error: "));
    BOOST_TEST(opscope_vm_load(vm.get(), OPSCOPE_INPUT_ASSEMBLY, "bogus\n", 6, "bad.opasm") == OPSCOPE_ERROR_PROGRAM);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())).starts_with("bad.opasm:1:1: error: "));
    BOOST_TEST(opscope_vm_load(vm.get(), OPSCOPE_INPUT_BYTECODE, "xx", 2, "bad.opc") == OPSCOPE_ERROR_PROGRAM);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())).starts_with("bad.opc: error: byte offset 0"));
    BOOST_TEST(opscope_vm_run(vm.get(), &result) == OPSCOPE_OK);
    BOOST_TEST(result.as.floating == 2.5);

    BOOST_TEST(opscope_vm_load(vm.get(), static_cast<opscope_input>(9), "x", 1, nullptr) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())).starts_with("unknown input kind 9"));
    BOOST_TEST(opscope_vm_load(vm.get(), OPSCOPE_INPUT_SOURCE, nullptr, 3, nullptr) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_vm_load(vm.get(), OPSCOPE_INPUT_SOURCE, nullptr, 0, nullptr) == OPSCOPE_OK);  // empty source
    BOOST_TEST(opscope_vm_load(nullptr, OPSCOPE_INPUT_SOURCE, "", 0, nullptr) == OPSCOPE_ERROR_ARGUMENT);
}

BOOST_AUTO_TEST_CASE(load_file_by_extension) {
    const VmPtr vm = make_vm();
    std::string printed;
    BOOST_TEST(opscope_vm_set_output(vm.get(), [](void* out, const char* bytes, std::size_t size) {
        static_cast<std::string*>(out)->append(bytes, size);
    }, &printed) == OPSCOPE_OK);
    const std::string hello = std::string(OPSCOPE_SOURCE_DIR) + "/examples/hello.ops";
    BOOST_TEST(opscope_vm_load_file(vm.get(), hello.c_str()) == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    BOOST_TEST(printed == "hello, opscope\n[0, 1, 4, 9, 16]\n");

    BOOST_TEST(opscope_vm_load_file(vm.get(), "missing.ops") == OPSCOPE_ERROR_IO);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())) == "cannot open 'missing.ops': No such file or directory");
    BOOST_TEST(opscope_vm_load_file(vm.get(), "file.txt") == OPSCOPE_ERROR_IO);
    BOOST_TEST(opscope_vm_load_file(vm.get(), nullptr) == OPSCOPE_ERROR_ARGUMENT);

    // Output back to standard output: the string is no longer written to.
    BOOST_TEST(opscope_vm_set_output(vm.get(), nullptr, nullptr) == OPSCOPE_OK);
    BOOST_TEST(load_source(vm.get(), "return 1;") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    BOOST_TEST(printed == "hello, opscope\n[0, 1, 4, 9, 16]\n");
}

BOOST_AUTO_TEST_CASE(runtime_errors_give_a_message_and_a_backtrace) {
    const VmPtr vm = make_vm();
    const opscope_frame* frames = nullptr;
    std::size_t count = 99;
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_STATE);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())) == "no program is loaded");

    BOOST_REQUIRE(load_source(vm.get(), "fn inner(x) {\n    return x / 0;\n}\nfn outer() { return inner(1); }\nreturn outer();\n",
                              "fault.ops") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_RUNTIME);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())) == "division by zero");
    BOOST_TEST(opscope_vm_backtrace(vm.get(), &frames, &count) == OPSCOPE_OK);
    BOOST_REQUIRE_EQUAL(count, 3u);
    BOOST_TEST(std::string(frames[0].function) == "inner");
    BOOST_TEST(frames[0].line == 2u);
    BOOST_TEST(std::string(frames[0].file) == "fault.ops");
    BOOST_TEST(std::string(frames[1].function) == "outer");
    BOOST_TEST(std::string(frames[2].function) == "main");
    BOOST_TEST(frames[2].line == 5u);

    // The VM stays usable; a run that succeeds has no backtrace.
    BOOST_REQUIRE(load_source(vm.get(), "return 1;") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_backtrace(vm.get(), &frames, &count) == OPSCOPE_OK);
    BOOST_TEST(count == 0u);
    BOOST_TEST(opscope_vm_backtrace(vm.get(), nullptr, &count) == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_backtrace(nullptr, &frames, &count) == OPSCOPE_ERROR_ARGUMENT);
}

BOOST_AUTO_TEST_CASE(the_fuel_limit_stops_a_run) {
    const VmPtr vm = make_vm(OPSCOPE_POLICY_NULL, 1000);
    BOOST_REQUIRE(load_source(vm.get(), "while (true) {}\n") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_RUNTIME);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())).starts_with("fuel exhausted after "));
    std::uint64_t used = 0;
    BOOST_TEST(opscope_vm_fuel_used(vm.get(), &used) == OPSCOPE_OK);
    BOOST_TEST(used > 0u);
    BOOST_TEST(used <= 1000u);
    BOOST_TEST(opscope_vm_fuel_used(vm.get(), nullptr) == OPSCOPE_ERROR_ARGUMENT);
}

namespace {

// echo(x): records what it was given and returns it (strings copied from the native's own buffer).
struct EchoLog {
    std::vector<opscope_type> types;
    std::vector<std::string> texts;
    std::string returned;  // the native's storage for a string result
};

opscope_status echo(opscope_native_call*, void* user_data, const opscope_value* args, std::size_t count,
                    opscope_value* result) {
    auto& log = *static_cast<EchoLog*>(user_data);
    BOOST_TEST(count == 1u);
    BOOST_TEST(result->type == OPSCOPE_NIL);
    log.types.push_back(args[0].type);
    switch (args[0].type) {
    case OPSCOPE_NIL: log.texts.push_back("nil"); break;
    case OPSCOPE_BOOL: log.texts.push_back(args[0].as.boolean ? "true" : "false"); break;
    case OPSCOPE_INT: log.texts.push_back(std::to_string(args[0].as.integer)); break;
    case OPSCOPE_FLOAT: log.texts.push_back(opscope::format_float(args[0].as.floating)); break;
    case OPSCOPE_STRING: log.texts.push_back(text_of(args[0])); break;
    case OPSCOPE_ARRAY: log.texts.push_back("array of " + std::to_string(args[0].as.array_length)); return OPSCOPE_OK;
    case OPSCOPE_TYPE_MAX_ENUM: return OPSCOPE_ERROR_INTERNAL;
    }
    *result = args[0];
    if (args[0].type == OPSCOPE_STRING) {
        log.returned = text_of(args[0]) + "!";
        result->as.string.data = log.returned.data();
        result->as.string.length = log.returned.size();
    }
    return OPSCOPE_OK;
}

} // namespace

BOOST_AUTO_TEST_CASE(natives_pass_and_return_every_value_type) {
    const VmPtr vm = make_vm();
    EchoLog log;
    BOOST_REQUIRE(opscope_vm_register_native(vm.get(), "echo", 1, echo, &log) == OPSCOPE_OK);
    BOOST_REQUIRE(load_source(vm.get(), R"(let a = array(3);
print(echo(nil));
print(echo(true));
print(echo(-7));
print(echo(2.5));
print(echo(echo(a)));
return echo("x" + "y");
)") == OPSCOPE_OK);
    std::string printed;
    opscope_vm_set_output(vm.get(), [](void* out, const char* bytes, std::size_t size) {
        static_cast<std::string*>(out)->append(bytes, size);
    }, &printed);
    opscope_value result{};
    BOOST_REQUIRE_MESSAGE(opscope_vm_run(vm.get(), &result) == OPSCOPE_OK, opscope_vm_last_error(vm.get()));
    BOOST_TEST(printed == "nil\ntrue\n-7\n2.5\nnil\n");
    const std::vector<opscope_type> types = {OPSCOPE_NIL, OPSCOPE_BOOL, OPSCOPE_INT, OPSCOPE_FLOAT,
                                             OPSCOPE_ARRAY, OPSCOPE_NIL, OPSCOPE_STRING};
    BOOST_TEST(log.types == types, boost::test_tools::per_element());
    BOOST_TEST(log.texts.back() == "xy");
    BOOST_TEST(log.texts[4] == "array of 3");
    // The string result was the native's buffer, copied: the VM's copy outlives it.
    BOOST_TEST(result.type == OPSCOPE_STRING);
    log.returned.assign("overwritten");
    BOOST_TEST(text_of(result) == "xy!");

    // Arrays come back as their length.
    BOOST_REQUIRE(load_source(vm.get(), "return array(4);") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), &result) == OPSCOPE_OK);
    BOOST_TEST(result.type == OPSCOPE_ARRAY);
    BOOST_TEST(result.as.array_length == 4u);

    BOOST_TEST(opscope_vm_register_native(vm.get(), "bad", -1, echo, nullptr) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_vm_register_native(vm.get(), nullptr, 1, echo, nullptr) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_vm_register_native(vm.get(), "none", 1, nullptr, nullptr) == OPSCOPE_ERROR_ARGUMENT);
}

BOOST_AUTO_TEST_CASE(a_native_error_is_a_runtime_error_with_its_message) {
    const VmPtr vm = make_vm();
    const auto failing = [](opscope_native_call* call, void*, const opscope_value* args, std::size_t,
                            opscope_value*) -> opscope_status {
        if (args[0].type == OPSCOPE_INT) return opscope_native_fail(call, "expected a string");
        if (args[0].type == OPSCOPE_STRING) return OPSCOPE_ERROR_IO;  // no message: the status says it
        return OPSCOPE_OK;
    };
    const auto returns_array = [](opscope_native_call*, void*, const opscope_value*, std::size_t,
                                  opscope_value* result) -> opscope_status {
        result->type = OPSCOPE_ARRAY;
        return OPSCOPE_OK;
    };
    BOOST_REQUIRE(opscope_vm_register_native(vm.get(), "check", 1, failing, nullptr) == OPSCOPE_OK);
    BOOST_REQUIRE(opscope_vm_register_native(vm.get(), "give_array", 0, returns_array, nullptr) == OPSCOPE_OK);
    const opscope_frame* frames = nullptr;
    std::size_t count = 0;

    BOOST_REQUIRE(load_source(vm.get(), "fn f() { return check(1); }\nreturn f();\n", "native.ops") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_RUNTIME);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())) == "in native 'check': expected a string");
    BOOST_TEST(opscope_vm_backtrace(vm.get(), &frames, &count) == OPSCOPE_OK);
    BOOST_REQUIRE_EQUAL(count, 2u);
    BOOST_TEST(std::string(frames[0].function) == "f");
    BOOST_TEST(frames[0].line == 1u);

    BOOST_REQUIRE(load_source(vm.get(), "return check(\"s\");") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_RUNTIME);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())) == "in native 'check': failed with OPSCOPE_ERROR_IO");

    BOOST_REQUIRE(load_source(vm.get(), "return give_array();") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_RUNTIME);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())).starts_with("in native 'give_array': returned an array"));

    BOOST_TEST(opscope_native_fail(nullptr, "x") == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_native_vm(nullptr) == nullptr);
}

// A C++ host's native that throws: the exception never crosses the C boundary.
BOOST_AUTO_TEST_CASE(exceptions_from_a_native_stay_inside) {
    const VmPtr vm = make_vm();
    const auto throwing = [](opscope_native_call*, void*, const opscope_value* args, std::size_t,
                             opscope_value*) -> opscope_status {
        if (args[0].as.integer == 0) throw std::bad_alloc();
        throw std::runtime_error("thrown by the host");
    };
    BOOST_REQUIRE(opscope_vm_register_native(vm.get(), "throws", 1, throwing, nullptr) == OPSCOPE_OK);
    BOOST_REQUIRE(load_source(vm.get(), "return throws(0);") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_RUNTIME);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())) == "out of memory");
    BOOST_REQUIRE(load_source(vm.get(), "return throws(1);") == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_RUNTIME);
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())) == "in native 'throws': thrown by the host");
    BOOST_TEST(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_RUNTIME);  // and the VM is not left "in a native"
    BOOST_REQUIRE(load_source(vm.get(), "return 3;") == OPSCOPE_OK);
}

namespace {

// A native that tries every call on its own VM: the lifecycle calls work, the rest are refused.
opscope_status meddle(opscope_native_call* call, void* user_data, const opscope_value*, std::size_t, opscope_value*) {
    auto& statuses = *static_cast<std::vector<opscope_status>*>(user_data);
    opscope_vm* vm = opscope_native_vm(call);
    opscope_limits limits = opscope_limits_default();
    opscope_profile* profile = nullptr;
    statuses = {
        opscope_vm_stop_profiling(vm),
        opscope_vm_start_profiling(vm),
        opscope_vm_reset_profile(vm),
        opscope_vm_get_limits(vm, &limits),
        opscope_vm_run(vm, nullptr),
        opscope_vm_load(vm, OPSCOPE_INPUT_SOURCE, "", 0, nullptr),
        opscope_vm_load_file(vm, "x.ops"),
        opscope_vm_register_native(vm, "meddle", 0, meddle, nullptr),
        opscope_vm_set_limits(vm, &limits),
        opscope_vm_set_output(vm, nullptr, nullptr),
        opscope_vm_profile(vm, &profile),
    };
    opscope_vm_destroy(vm);  // ignored
    return OPSCOPE_OK;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_native_may_not_pull_the_vm_from_under_itself) {
    const VmPtr vm = make_vm(OPSCOPE_POLICY_COUNTING);
    std::vector<opscope_status> statuses;
    BOOST_REQUIRE(opscope_vm_register_native(vm.get(), "meddle", 0, meddle, &statuses) == OPSCOPE_OK);
    BOOST_REQUIRE(load_source(vm.get(), "meddle();\nreturn 1;\n") == OPSCOPE_OK);
    opscope_value result{};
    BOOST_REQUIRE(opscope_vm_run(vm.get(), &result) == OPSCOPE_OK);
    BOOST_TEST(result.as.integer == 1);
    const std::vector<opscope_status> expected = {
        OPSCOPE_OK, OPSCOPE_OK, OPSCOPE_OK, OPSCOPE_OK, OPSCOPE_ERROR_STATE, OPSCOPE_ERROR_STATE,
        OPSCOPE_ERROR_STATE, OPSCOPE_ERROR_STATE, OPSCOPE_ERROR_STATE, OPSCOPE_ERROR_STATE, OPSCOPE_ERROR_STATE};
    BOOST_TEST(statuses == expected, boost::test_tools::per_element());
    BOOST_TEST(std::string(opscope_vm_last_error(vm.get())) == "taking the profile from within one of the VM's natives");
}

BOOST_AUTO_TEST_CASE(the_buffer_size_protocol) {
    const VmPtr vm = make_vm(OPSCOPE_POLICY_COUNTING);
    BOOST_REQUIRE(load_source(vm.get(), kLoop) == OPSCOPE_OK);
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    const ProfilePtr profile = take_profile(vm.get());

    std::size_t size = 0;
    BOOST_TEST(opscope_profile_write(profile.get(), "json", nullptr, nullptr, 0, &size) == OPSCOPE_ERROR_BUFFER_TOO_SMALL);
    BOOST_TEST(size > 100u);
    BOOST_TEST(std::string(opscope_last_error()).find("bytes, the buffer 0") != std::string::npos);
    const std::size_t needed = size;

    // One byte short: nothing written, the size again.
    std::string buffer(needed + 8, '#');
    size = 0;
    BOOST_TEST(opscope_profile_write(profile.get(), "json", nullptr, buffer.data(), needed - 1, &size) ==
               OPSCOPE_ERROR_BUFFER_TOO_SMALL);
    BOOST_TEST(size == needed);
    BOOST_TEST(buffer == std::string(needed + 8, '#'));

    // Exactly the size: the bytes, no NUL after them.
    BOOST_TEST(opscope_profile_write(profile.get(), "json", nullptr, buffer.data(), needed, &size) == OPSCOPE_OK);
    BOOST_TEST(size == needed);
    BOOST_TEST(buffer[needed] == '#');
    BOOST_TEST(buffer.substr(0, 2) == "{\n");

    // Room for one more: a NUL follows.
    BOOST_TEST(opscope_profile_write(profile.get(), "json", nullptr, buffer.data(), needed + 1, &size) == OPSCOPE_OK);
    BOOST_TEST(buffer[needed] == '\0');
    BOOST_TEST(buffer[needed + 1] == '#');

    BOOST_TEST(opscope_profile_write(profile.get(), "json", nullptr, nullptr, 5, &size) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_profile_write(profile.get(), "json", nullptr, buffer.data(), 5, nullptr) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_profile_write(nullptr, "json", nullptr, buffer.data(), 5, &size) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_profile_write(profile.get(), nullptr, nullptr, buffer.data(), 5, &size) == OPSCOPE_ERROR_ARGUMENT);
}

BOOST_AUTO_TEST_CASE(the_formats_are_report_formats) {
    const auto formats = opscope::report_formats();
    BOOST_REQUIRE_EQUAL(opscope_report_format_count(), formats.size());
    for (std::size_t i = 0; i < formats.size(); ++i) {
        BOOST_TEST(std::string(opscope_report_format_name(i)) == formats[i].name);
        BOOST_TEST((opscope_report_format_is_binary(i) != 0) == formats[i].binary);
    }
    BOOST_TEST(opscope_report_format_name(formats.size()) == nullptr);
    BOOST_TEST(opscope_report_format_is_binary(formats.size()) == 0);

    const VmPtr vm = make_vm(OPSCOPE_POLICY_COUNTING);
    const ProfilePtr profile = take_profile(vm.get());
    std::size_t size = 0;
    BOOST_TEST(opscope_profile_write(profile.get(), "yaml", nullptr, nullptr, 0, &size) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(std::string(opscope_last_error()).starts_with("unknown format 'yaml' (expected one of text, json, "));
    opscope_report_options options = opscope_report_options_default();
    options.folded_weight = static_cast<opscope_weight>(3);
    BOOST_TEST(opscope_profile_write(profile.get(), "json", &options, nullptr, 0, &size) == OPSCOPE_ERROR_ARGUMENT);
}

// The defaults of the C options are the C++ ones.
BOOST_AUTO_TEST_CASE(report_options_default_to_the_cpp_defaults) {
    const opscope_report_options c = opscope_report_options_default();
    const opscope::ReportOptions cpp;
    BOOST_TEST(c.top == cpp.top);
    BOOST_TEST(c.threshold_percent == cpp.threshold_percent);
    BOOST_TEST(c.hot_loop_min == cpp.hot_loop_min);
    BOOST_TEST(c.folded_weight == OPSCOPE_WEIGHT_SAMPLES);
    BOOST_TEST(c.folded_lines == 1);
    BOOST_TEST(c.pprof_metric == OPSCOPE_PPROF_CPU);
    BOOST_TEST(c.speedscope_weight == OPSCOPE_WEIGHT_TIME);
}

// Every format, through the C API, is the C++ writer's output for the same profile; a format the policy
// cannot feed is OPSCOPE_ERROR_MISSING_GROUP with the writer's message.
BOOST_AUTO_TEST_CASE(exports_are_the_cpp_writers_bytes) {
    for (const opscope_policy policy : {OPSCOPE_POLICY_NULL, OPSCOPE_POLICY_COUNTING, OPSCOPE_POLICY_FULL}) {
        opscope_vm_options options = opscope_vm_options_default();
        options.policy = policy;
        options.sample_hz = 5000;  // samples even for a short run
        opscope_vm* raw = nullptr;
        BOOST_REQUIRE(opscope_vm_create(&options, &raw) == OPSCOPE_OK);
        const VmPtr vm(raw);
        // Few calls (the timeline stays small), a long loop (the sampler has time to sample).
        BOOST_REQUIRE(load_source(vm.get(), R"(fn fib(n) {
    if (n < 2) { return n; }
    return fib(n - 1) + fib(n - 2);
}
fn spin(n) {
    let total = 0;
    for (let i = 0; i < n; i = i + 1) { total = total + i; }
    return total;
}
return fib(10) + spin(300000);
)", "fib.ops") == OPSCOPE_OK);
        BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
        const ProfilePtr profile = take_profile(vm.get());
        BOOST_TEST(profile->profile.source_file == "fib.ops");
        BOOST_TEST(!profile->profile.partial);

        for (const bool lines : {true, false}) {
            opscope_report_options c_options = opscope_report_options_default();
            c_options.folded_lines = lines;
            c_options.top = 3;
            opscope::ReportOptions cpp_options;
            cpp_options.folded.lines = lines;
            cpp_options.top = 3;
            cpp_options.pprof.now_unix_ns = profile->taken_unix_ns;
            for (const opscope::ReportFormat& format : opscope::report_formats()) {
                const std::string name(format.name);
                std::string expected;
                try {
                    expected = format.write(profile->profile, cpp_options);
                } catch (const opscope::MissingGroupError& e) {
                    std::size_t size = 0;
                    BOOST_TEST(opscope_profile_write(profile.get(), name.c_str(), &c_options, nullptr, 0, &size) ==
                               OPSCOPE_ERROR_MISSING_GROUP, name);
                    BOOST_TEST(std::string(opscope_last_error()) == e.what());
                    continue;
                }
                BOOST_TEST(written(profile.get(), name.c_str(), &c_options) == expected, name << " under " << policy);
            }
        }
        // json and folded are the ones a host reads back: json always, folded under full.
        BOOST_TEST(written(profile.get(), "json") == opscope::format_json(profile->profile));
        if (policy == OPSCOPE_POLICY_FULL)
            BOOST_TEST(written(profile.get(), "folded") == opscope::format_folded(profile->profile));
    }
}

// The C API's counting profile is the C++ API's, for the same program: the exact groups agree.
BOOST_AUTO_TEST_CASE(the_profile_is_the_cpp_vms) {
    const VmPtr vm = make_vm(OPSCOPE_POLICY_COUNTING);
    BOOST_REQUIRE(load_source(vm.get(), kLoop, "loop.ops") == OPSCOPE_OK);
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    const ProfilePtr profile = take_profile(vm.get());

    opscope::Vm<opscope::CountingProfiler> cpp;
    cpp.load(opscope::compile_source(kLoop, "loop.ops"));
    cpp.run();
    const opscope::Profile expected = cpp.profile();
    BOOST_TEST(profile->profile.policy == "counting");
    BOOST_REQUIRE(profile->profile.lines);
    BOOST_TEST((profile->profile.lines == expected.lines));
    BOOST_TEST((profile->profile.opcodes == expected.opcodes));
    BOOST_TEST((profile->profile.instructions == expected.instructions));
    BOOST_TEST((profile->profile.call_graph == expected.call_graph));
}

BOOST_AUTO_TEST_CASE(the_profile_lifecycle) {
    const VmPtr vm = make_vm(OPSCOPE_POLICY_COUNTING);
    BOOST_REQUIRE(load_source(vm.get(), kLoop) == OPSCOPE_OK);
    const auto total = [&] {
        const ProfilePtr profile = take_profile(vm.get());
        return profile->profile.summary ? profile->profile.summary->total_instructions : 0;
    };
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    const std::uint64_t one_run = total();
    BOOST_TEST(one_run > 1000u);
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    BOOST_TEST(total() == 2 * one_run);
    BOOST_TEST(opscope_vm_reset_profile(vm.get()) == OPSCOPE_OK);
    BOOST_TEST(total() == 0u);
    BOOST_TEST(opscope_vm_stop_profiling(vm.get()) == OPSCOPE_OK);
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    BOOST_TEST(total() == 0u);
    BOOST_TEST(opscope_vm_start_profiling(vm.get()) == OPSCOPE_OK);
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    BOOST_TEST(total() == one_run);

    // A profile is a copy: it stays as taken while the VM runs on, and outlives the VM.
    const ProfilePtr kept = take_profile(vm.get());
    const std::string before = written(kept.get(), "json");
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    BOOST_TEST(written(kept.get(), "json") == before);

    // After a failed run the profile is partial and says why.
    BOOST_REQUIRE(load_source(vm.get(), "let x = 1;\nreturn x / 0;\n") == OPSCOPE_OK);
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_ERROR_RUNTIME);
    const ProfilePtr partial = take_profile(vm.get());
    BOOST_TEST(partial->profile.partial);
    BOOST_TEST(partial->profile.error == "division by zero");

    // The null policy records nothing: the lifecycle calls do nothing and succeed.
    const VmPtr null_vm = make_vm();
    BOOST_TEST(opscope_vm_reset_profile(null_vm.get()) == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_start_profiling(null_vm.get()) == OPSCOPE_OK);
    BOOST_TEST(opscope_vm_stop_profiling(null_vm.get()) == OPSCOPE_OK);
    BOOST_TEST(take_profile(null_vm.get())->profile.policy == "null");
    BOOST_TEST(opscope_vm_reset_profile(nullptr) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_vm_start_profiling(nullptr) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_vm_stop_profiling(nullptr) == OPSCOPE_ERROR_ARGUMENT);
    opscope_profile* none = nullptr;
    BOOST_TEST(opscope_vm_profile(nullptr, &none) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_vm_profile(null_vm.get(), nullptr) == OPSCOPE_ERROR_ARGUMENT);
}

// Snapshots from another thread while the VM runs: the intervals add up to the whole run.
BOOST_AUTO_TEST_CASE(snapshots_from_another_thread_add_up_to_the_run) {
    for (const opscope_policy policy : {OPSCOPE_POLICY_COUNTING, OPSCOPE_POLICY_FULL}) {
        const VmPtr vm = make_vm(policy);
        const std::string program = std::string(kLoop).replace(std::string(kLoop).find("work(1000)"), 10, "work(300000)");
        BOOST_REQUIRE(load_source(vm.get(), program) == OPSCOPE_OK);
        std::vector<opscope::Profile> intervals;
        std::atomic<bool> ready{false}, done{false};
        std::thread other([&] {
            ready.store(true);
            while (!done.load()) {
                opscope_profile* p = nullptr;
                BOOST_REQUIRE_EQUAL(opscope_vm_snapshot(vm.get(), &p), OPSCOPE_OK);
                intervals.push_back(ProfilePtr(p)->profile);
            }
        });
        while (!ready.load()) std::this_thread::yield();
        BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
        done.store(true);
        other.join();
        opscope_profile* last = nullptr;
        BOOST_REQUIRE_EQUAL(opscope_vm_snapshot(vm.get(), &last), OPSCOPE_OK);
        intervals.push_back(ProfilePtr(last)->profile);
        BOOST_TEST(intervals.size() >= 2u);
        // The whole run, again, on a VM that takes no snapshots.
        const VmPtr whole = make_vm(policy);
        BOOST_REQUIRE(load_source(whole.get(), program) == OPSCOPE_OK);
        BOOST_REQUIRE(opscope_vm_run(whole.get(), nullptr) == OPSCOPE_OK);
        const opscope::Profile expected = take_profile(whole.get())->profile;
        const opscope::Profile merged = opscope::merge(intervals);
        BOOST_TEST(merged.summary->total_instructions == expected.summary->total_instructions);
        // Exact counts (full's sampled times differ from run to run).
        const auto line_counts = [](const opscope::Profile& p) {
            std::vector<std::pair<std::uint32_t, std::uint64_t>> counts;
            for (const opscope::LineStats& l : p.lines->entries) counts.emplace_back(l.line, l.count);
            return counts;
        };
        const auto call_counts = [](const opscope::Profile& p) {
            std::vector<std::tuple<std::string, std::string, std::uint64_t>> counts;
            for (const opscope::CallEdge& e : p.call_graph->entries) counts.emplace_back(e.caller, e.callee, e.calls);
            return counts;
        };
        BOOST_TEST((line_counts(merged) == line_counts(expected)));
        BOOST_TEST((call_counts(merged) == call_counts(expected)));
    }
    opscope_profile* none = nullptr;
    BOOST_TEST(opscope_vm_snapshot(nullptr, &none) == OPSCOPE_ERROR_ARGUMENT);
}

BOOST_AUTO_TEST_CASE(a_format_the_policy_cannot_feed_is_missing_group) {
    const VmPtr vm = make_vm(OPSCOPE_POLICY_COUNTING);
    BOOST_REQUIRE(load_source(vm.get(), kLoop) == OPSCOPE_OK);
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    const ProfilePtr profile = take_profile(vm.get());
    std::size_t size = 0;
    BOOST_TEST(opscope_profile_write(profile.get(), "folded", nullptr, nullptr, 0, &size) == OPSCOPE_ERROR_MISSING_GROUP);
    BOOST_TEST(std::string(opscope_last_error()).find("timing") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(write_a_profile_to_a_file) {
    const VmPtr vm = make_vm(OPSCOPE_POLICY_COUNTING);
    BOOST_REQUIRE(load_source(vm.get(), kLoop) == OPSCOPE_OK);
    BOOST_REQUIRE(opscope_vm_run(vm.get(), nullptr) == OPSCOPE_OK);
    const ProfilePtr profile = take_profile(vm.get());
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("opscope_capi_" + std::to_string(::getpid()) + ".callgrind");
    BOOST_REQUIRE(opscope_profile_write_file(profile.get(), "callgrind", nullptr, path.c_str()) == OPSCOPE_OK);
    std::ifstream in(path, std::ios::binary);
    const std::string contents{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::filesystem::remove(path);
    BOOST_TEST(contents == written(profile.get(), "callgrind"));

    BOOST_TEST(opscope_profile_write_file(profile.get(), "json", nullptr, "/nonexistent/dir/p.json") == OPSCOPE_ERROR_IO);
    BOOST_TEST(std::string(opscope_last_error()) == "cannot write '/nonexistent/dir/p.json': No such file or directory");
    BOOST_TEST(opscope_profile_write_file(profile.get(), "json", nullptr, nullptr) == OPSCOPE_ERROR_ARGUMENT);
    BOOST_TEST(opscope_profile_write_file(profile.get(), "folded", nullptr, path.c_str()) == OPSCOPE_ERROR_MISSING_GROUP);
}
