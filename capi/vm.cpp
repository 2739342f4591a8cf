// The C API's VM functions: create and destroy, limits, output, natives, loading, running and the profile
// lifecycle. Each is one `guarded` call over the C++ API (handles.hpp).
#include "capi/handles.hpp"

#include <opscope/compiler.hpp>
#include <opscope/errors.hpp>
#include <opscope/loader.hpp>
#include <opscope/program.hpp>
#include <opscope/policies/sampler.hpp>

#include <array>
#include <cstdint>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace opscope;
using capi::ArgumentError;
using capi::guarded;
using capi::required;
using capi::StateError;

namespace opscope::capi {

CallbackBuffer::int_type CallbackBuffer::overflow(int_type c) {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char byte = traits_type::to_char_type(c);
    write_(user_data_, &byte, 1);
    return c;
}

std::streamsize CallbackBuffer::xsputn(const char* bytes, std::streamsize size) {
    write_(user_data_, bytes, static_cast<std::size_t>(size));
    return size;
}

} // namespace opscope::capi

namespace {

Limits to_limits(const opscope_limits& l) {
    return Limits{.fuel = l.fuel, .max_call_depth = l.max_call_depth, .stack_slots = l.stack_slots,
                  .heap_bytes = l.heap_bytes, .output_bytes = l.output_bytes};
}

opscope_limits to_c(const Limits& l) {
    return opscope_limits{l.fuel, l.max_call_depth, l.stack_slots, l.heap_bytes, l.output_bytes};
}

// Calls that would pull the program or the VM from under a running native.
void not_from_a_native(const opscope_vm& vm, const char* what) {
    if (vm.native_depth > 0) throw StateError(std::string(what) + " from within one of the VM's natives");
}

// A value as C sees it; strings and arrays point into the VM's heap, so the view lasts while the value lives.
opscope_value to_c(const Value& v) {
    opscope_value out{};
    switch (v.type) {
    case Type::nil:
    case Type::undefined: out.type = OPSCOPE_NIL; break;
    case Type::boolean: out.type = OPSCOPE_BOOL; out.as.boolean = v.as_bool() ? 1 : 0; break;
    case Type::integer: out.type = OPSCOPE_INT; out.as.integer = v.as.i; break;
    case Type::floating: out.type = OPSCOPE_FLOAT; out.as.floating = v.as.f; break;
    case Type::string:
        out.type = OPSCOPE_STRING;
        out.as.string.data = v.as_string()->data();
        out.as.string.length = v.as_string()->length;
        break;
    case Type::array: out.type = OPSCOPE_ARRAY; out.as.array_length = v.as_array()->length; break;
    }
    return out;
}

// A native's result as a VM value; a string is copied onto the VM's heap.
Value from_native(Machine& machine, const opscope_value& v) {
    switch (v.type) {
    case OPSCOPE_NIL: return Value::nil();
    case OPSCOPE_BOOL: return Value::boolean(v.as.boolean != 0);
    case OPSCOPE_INT: return Value::integer(v.as.integer);
    case OPSCOPE_FLOAT: return Value::floating(v.as.floating);
    case OPSCOPE_STRING:
        if (!v.as.string.data && v.as.string.length) throw Fault("returned a string with NULL data");
        return machine.make_string(std::string_view(v.as.string.data ? v.as.string.data : "", v.as.string.length));
    case OPSCOPE_ARRAY: throw Fault("returned an array: natives of the C API return nil, bools, ints, floats or strings");
    case OPSCOPE_TYPE_MAX_ENUM: break;
    }
    throw Fault("returned a value of unknown type " + std::to_string(static_cast<int>(v.type)));
}

// The C function behind a registered native. Its arguments are converted without allocating for the
// arities people write (up to 8).
NativeFunction bind_native(opscope_vm* vm, opscope_native_fn function, void* user_data) {
    return [vm, function, user_data](Machine& machine, std::span<const Value> args) -> Value {
        std::array<opscope_value, 8> small;
        std::vector<opscope_value> large;
        opscope_value* c_args = small.data();
        if (args.size() > small.size()) {
            large.resize(args.size());
            c_args = large.data();
        }
        for (std::size_t i = 0; i < args.size(); ++i) c_args[i] = to_c(args[i]);
        opscope_native_call call{vm, {}};
        opscope_value result{};
        result.type = OPSCOPE_NIL;
        struct Depth {  // a native that throws (a C++ host's) still leaves the VM's count right
            int& depth;
            explicit Depth(int& d) : depth(d) { ++depth; }
            ~Depth() { --depth; }
        } depth(vm->native_depth);
        const opscope_status status = function(&call, user_data, c_args, args.size(), &result);
        if (status != OPSCOPE_OK)
            throw Fault(call.message.empty() ? std::string("failed with ") + opscope_status_name(status) : call.message);
        return from_native(machine, result);
    };
}

std::vector<NativeDeclaration> declared_natives(const Machine& machine) {
    std::vector<NativeDeclaration> out;
    for (const Native& native : machine.natives()) out.push_back({native.name, native.arity});
    return out;
}

Program read_input(opscope_input input, std::string_view bytes, const std::string& name,
                   const std::vector<NativeDeclaration>& natives) {
    switch (input) {
    case OPSCOPE_INPUT_SOURCE: return compile_source(bytes, name, natives);
    case OPSCOPE_INPUT_ASSEMBLY: return assemble(bytes, name);
    case OPSCOPE_INPUT_BYTECODE: return decode_bytecode(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), name);
    case OPSCOPE_INPUT_MAX_ENUM: break;
    }
    throw ArgumentError("unknown input kind " + std::to_string(static_cast<int>(input)) +
                        " (expected OPSCOPE_INPUT_SOURCE, _ASSEMBLY or _BYTECODE)");
}

} // namespace

extern "C" {

opscope_limits opscope_limits_default(void) { return to_c(Limits{}); }

opscope_vm_options opscope_vm_options_default(void) {
    return opscope_vm_options{OPSCOPE_POLICY_NULL, opscope_limits_default(), 0.0};
}

opscope_status opscope_set_sampler_signal(int signo) {
    return guarded(nullptr, [&] {
        set_sampler_signal(signo);
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_create(const opscope_vm_options* options, opscope_vm** vm) {
    if (vm) *vm = nullptr;
    return guarded(nullptr, [&] {
        opscope_vm*& out = required(vm, "vm (the result pointer)");
        const opscope_vm_options chosen = options ? *options : opscope_vm_options_default();
        auto created = std::make_unique<opscope_vm>();
        created->backend = capi::make_backend(chosen.policy, to_limits(chosen.limits), chosen.sample_hz);
        out = created.release();
        return OPSCOPE_OK;
    });
}

void opscope_vm_destroy(opscope_vm* vm) {
    if (vm && vm->native_depth == 0) delete vm;
}

const char* opscope_vm_last_error(const opscope_vm* vm) { return vm ? vm->last_error.get() : ""; }

opscope_status opscope_vm_set_limits(opscope_vm* vm, const opscope_limits* limits) {
    return guarded(vm, [&] {
        required(vm, "vm");
        not_from_a_native(*vm, "setting limits");
        vm->backend->machine().set_limits(to_limits(required(limits, "limits")));
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_get_limits(const opscope_vm* vm, opscope_limits* limits) {
    return guarded(const_cast<opscope_vm*>(vm), [&] {
        required(limits, "limits") = to_c(required(vm, "vm").backend->machine().limits());
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_set_output(opscope_vm* vm, opscope_write_fn write, void* user_data) {
    return guarded(vm, [&] {
        required(vm, "vm");
        not_from_a_native(*vm, "setting the output");
        Machine& machine = vm->backend->machine();
        if (!write) {
            machine.set_output(std::cout);
            vm->output_stream.reset();
            vm->output_buffer.reset();
            return OPSCOPE_OK;
        }
        auto buffer = std::make_unique<capi::CallbackBuffer>(write, user_data);
        auto stream = std::make_unique<std::ostream>(buffer.get());
        machine.set_output(*stream);
        vm->output_stream = std::move(stream);
        vm->output_buffer = std::move(buffer);
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_register_native(opscope_vm* vm, const char* name, int arity, opscope_native_fn function,
                                          void* user_data) {
    return guarded(vm, [&] {
        required(vm, "vm");
        not_from_a_native(*vm, "registering a native");
        required(name, "name");
        required(function, "function");
        vm->backend->machine().register_native(name, arity, bind_native(vm, function, user_data));
        return OPSCOPE_OK;
    });
}

opscope_status opscope_native_fail(opscope_native_call* call, const char* message) {
    return guarded(nullptr, [&] {
        required(call, "call").message = message && *message ? message : "failed";
        return OPSCOPE_ERROR_RUNTIME;
    });
}

opscope_vm* opscope_native_vm(opscope_native_call* call) { return call ? call->vm : nullptr; }

opscope_status opscope_vm_load(opscope_vm* vm, opscope_input input, const void* bytes, std::size_t size,
                               const char* name) {
    return guarded(vm, [&] {
        required(vm, "vm");
        not_from_a_native(*vm, "loading a program");
        if (!bytes && size) throw ArgumentError("bytes is NULL");
        const std::string_view text(bytes ? static_cast<const char*>(bytes) : "", size);
        Machine& machine = vm->backend->machine();
        vm->backend->load(read_input(input, text, name ? name : "<memory>", declared_natives(machine)));
        vm->run_error.reset();
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_load_file(opscope_vm* vm, const char* path) {
    return guarded(vm, [&] {
        required(vm, "vm");
        not_from_a_native(*vm, "loading a program");
        required(path, "path");
        const Machine& machine = vm->backend->machine();
        vm->backend->load(read_program(path, declared_natives(machine)));
        vm->run_error.reset();
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_run(opscope_vm* vm, opscope_value* result) {
    return guarded(vm, [&] {
        required(vm, "vm");
        not_from_a_native(*vm, "running the program");
        if (!vm->backend->machine().loaded()) throw StateError("no program is loaded");
        vm->frames.clear();
        vm->backtrace.clear();
        vm->result_text.clear();
        vm->run_error.reset();
        try {
            const Value value = vm->backend->run();
            if (result) {
                *result = to_c(value);
                if (value.is_string()) {  // the heap's copy may move or go at the next run: the VM keeps its own
                    vm->result_text.assign(result->as.string.data, result->as.string.length);
                    result->as.string.data = vm->result_text.data();
                }
            }
        } catch (const RuntimeError& e) {
            vm->run_error = e.message();
            vm->backtrace = e.backtrace();
            for (const TraceFrame& frame : vm->backtrace)
                vm->frames.push_back(opscope_frame{frame.function.c_str(), frame.offset, frame.line, frame.file.c_str()});
            throw;
        }
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_fuel_used(const opscope_vm* vm, uint64_t* fuel_used) {
    return guarded(const_cast<opscope_vm*>(vm), [&] {
        required(fuel_used, "fuel_used") = required(vm, "vm").backend->machine().fuel_used();
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_backtrace(const opscope_vm* vm, const opscope_frame** frames, std::size_t* count) {
    return guarded(const_cast<opscope_vm*>(vm), [&] {
        required(vm, "vm");
        if (frames) *frames = vm->frames.data();
        if (count) *count = vm->frames.size();
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_reset_profile(opscope_vm* vm) {
    return guarded(vm, [&] {
        required(vm, "vm").backend->reset_profile();
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_start_profiling(opscope_vm* vm) {
    return guarded(vm, [&] {
        required(vm, "vm").backend->start_profiling();
        return OPSCOPE_OK;
    });
}

opscope_status opscope_vm_stop_profiling(opscope_vm* vm) {
    return guarded(vm, [&] {
        required(vm, "vm").backend->stop_profiling();
        return OPSCOPE_OK;
    });
}

} // extern "C"
