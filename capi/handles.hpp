// What the C API's opaque handles are (private: include/opscope/opscope.h only names them), and the one
// boundary every exported function passes through: `guarded` turns every exception into a status and a
// message, so nothing thrown crosses into C.
#pragma once

#include <opscope/opscope.h>

#include <opscope/interpreter.hpp>
#include <opscope/machine.hpp>
#include <opscope/profile.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

namespace opscope::capi {

// A caller's mistake the C++ API has no exception for (a NULL pointer, an unknown enum value or format).
class ArgumentError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A call at the wrong time (running with no program, loading from within a native).
class StateError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The policy-dependent part of a VM behind one interface: each policy's Vm<P> is compiled into the library
// once (vm_backends.cpp), and the C API chooses among them at run time.
class Backend {
public:
    virtual ~Backend() = default;
    virtual Machine& machine() = 0;
    virtual void load(Program program) = 0;
    virtual Value run() = 0;
    virtual Profile profile() const = 0;
    virtual Profile snapshot() = 0;  // from any thread
    virtual void reset_profile() = 0;
    virtual void start_profiling() = 0;
    virtual void stop_profiling() = 0;
};
std::unique_ptr<Backend> make_backend(opscope_policy policy, const Limits& limits, double sample_hz);

// `print`'s output handed to a C callback as it is written (unbuffered: the host sees each print at once).
class CallbackBuffer : public std::streambuf {
public:
    CallbackBuffer(opscope_write_fn write, void* user_data) : write_(write), user_data_(user_data) {}

protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* bytes, std::streamsize size) override;

private:
    opscope_write_fn write_;
    void* user_data_;
};

// The message a failing call leaves; assigning it may itself run out of memory, which leaves a fixed text.
class ErrorMessage {
public:
    void set(const char* message) noexcept;
    const char* get() const noexcept { return out_of_memory_ ? "out of memory" : text_.c_str(); }

private:
    std::string text_;
    bool out_of_memory_ = false;
};

} // namespace opscope::capi

struct opscope_vm {
    // set_output's buffer and stream, declared first so they outlive the machine that writes to them.
    std::unique_ptr<opscope::capi::CallbackBuffer> output_buffer;
    std::unique_ptr<std::ostream> output_stream;
    std::unique_ptr<opscope::capi::Backend> backend;
    opscope::capi::ErrorMessage last_error;
    int native_depth = 0;  // natives of this VM running now: they may not load, run or destroy it
    std::string result_text;                     // the last run's string result, which the caller may read
    std::optional<std::string> run_error;        // the last run's error message, for a partial profile
    std::vector<opscope::TraceFrame> backtrace;  // the last run's error's frames...
    std::vector<opscope_frame> frames;           // ...as the C API shows them (pointing into `backtrace`)
};

struct opscope_profile {
    opscope::Profile profile;
    std::uint64_t taken_unix_ns = 0;  // pprof's time when the profile has no start time: fixed, so writes repeat
};

struct opscope_native_call {
    opscope_vm* vm;
    std::string message;  // opscope_native_fail's
};

namespace opscope::capi {

// Records a failure: on this thread, and on the VM when there is one. Returns `status`.
opscope_status fail(opscope_vm* vm, opscope_status status, const char* message) noexcept;

// The status and message of the exception being handled (called from a catch block).
opscope_status fail_current(opscope_vm* vm) noexcept;

// Runs `body` (returning opscope_status) with every exception turned into a status and a message.
template <class Body>
opscope_status guarded(opscope_vm* vm, Body&& body) noexcept {
    try {
        return body();
    } catch (...) {
        return fail_current(vm);
    }
}

template <class T>
T& required(T* pointer, const char* what) {
    if (!pointer) throw ArgumentError(std::string(what) + " is NULL");
    return *pointer;
}

} // namespace opscope::capi
