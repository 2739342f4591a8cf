// The C API's error boundary: statuses, their names, the per-thread and per-VM messages, and the mapping
// from each exception the C++ API throws to a status.
#include "capi/handles.hpp"

#include <opscope/errors.hpp>
#include <opscope/loader.hpp>
#include <opscope/report.hpp>

#include <exception>
#include <new>

namespace opscope::capi {

namespace {
thread_local ErrorMessage thread_error;
} // namespace

void ErrorMessage::set(const char* message) noexcept {
    try {
        text_ = message;
        out_of_memory_ = false;
    } catch (...) {
        out_of_memory_ = true;
    }
}

opscope_status fail(opscope_vm* vm, opscope_status status, const char* message) noexcept {
    thread_error.set(message);
    if (vm) vm->last_error.set(message);
    return status;
}

opscope_status fail_current(opscope_vm* vm) noexcept {
    // Most derived first: InputError and the others are runtime_errors too.
    try {
        throw;
    } catch (const ProgramError& e) {
        return fail(vm, OPSCOPE_ERROR_PROGRAM, e.what());
    } catch (const RuntimeError& e) {
        return fail(vm, OPSCOPE_ERROR_RUNTIME, e.message().c_str());
    } catch (const InputError& e) {
        return fail(vm, OPSCOPE_ERROR_IO, e.what());
    } catch (const MissingGroupError& e) {
        return fail(vm, OPSCOPE_ERROR_MISSING_GROUP, e.what());
    } catch (const ArgumentError& e) {
        return fail(vm, OPSCOPE_ERROR_ARGUMENT, e.what());
    } catch (const std::invalid_argument& e) {  // the C++ API's own checks (a negative arity)
        return fail(vm, OPSCOPE_ERROR_ARGUMENT, e.what());
    } catch (const StateError& e) {
        return fail(vm, OPSCOPE_ERROR_STATE, e.what());
    } catch (const std::bad_alloc&) {
        return fail(vm, OPSCOPE_ERROR_MEMORY, "out of memory");
    } catch (const std::exception& e) {
        return fail(vm, OPSCOPE_ERROR_INTERNAL, e.what());
    } catch (...) {
        return fail(vm, OPSCOPE_ERROR_INTERNAL, "an unknown exception");
    }
}

} // namespace opscope::capi

extern "C" {

const char* opscope_status_name(opscope_status status) {
    switch (status) {
    case OPSCOPE_OK: return "OPSCOPE_OK";
    case OPSCOPE_ERROR_RUNTIME: return "OPSCOPE_ERROR_RUNTIME";
    case OPSCOPE_ERROR_ARGUMENT: return "OPSCOPE_ERROR_ARGUMENT";
    case OPSCOPE_ERROR_PROGRAM: return "OPSCOPE_ERROR_PROGRAM";
    case OPSCOPE_ERROR_IO: return "OPSCOPE_ERROR_IO";
    case OPSCOPE_ERROR_BUFFER_TOO_SMALL: return "OPSCOPE_ERROR_BUFFER_TOO_SMALL";
    case OPSCOPE_ERROR_MISSING_GROUP: return "OPSCOPE_ERROR_MISSING_GROUP";
    case OPSCOPE_ERROR_STATE: return "OPSCOPE_ERROR_STATE";
    case OPSCOPE_ERROR_MEMORY: return "OPSCOPE_ERROR_MEMORY";
    case OPSCOPE_ERROR_INTERNAL: return "OPSCOPE_ERROR_INTERNAL";
    case OPSCOPE_STATUS_MAX_ENUM: break;
    }
    return "unknown status";
}

const char* opscope_version(void) { return OPSCOPE_VERSION_STRING; }

uint32_t opscope_version_number(void) { return OPSCOPE_VERSION_NUMBER; }

const char* opscope_last_error(void) { return opscope::capi::thread_error.get(); }

} // extern "C"
