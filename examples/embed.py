"""Embedding opscope from Python through its C API (ctypes on libopscope.so, nothing to compile): a
counting VM runs a program that calls a Python function, then the profile's JSON gives the hottest line.
Run by the tests; its output is the README's. The library is $OPSCOPE_LIBRARY, else the one the system's
linker finds (after `cmake --install`)."""
import ctypes
import ctypes.util
import json
import os
import sys

lib = ctypes.CDLL(os.environ.get("OPSCOPE_LIBRARY") or ctypes.util.find_library("opscope") or "libopscope.so.0")

OK, BUFFER_TOO_SMALL = 0, 5          # opscope_status
POLICY_COUNTING = 1                  # opscope_policy
INPUT_SOURCE = 0                     # opscope_input
NIL, BOOL, INT, FLOAT, STRING = range(5)  # opscope_type


class Limits(ctypes.Structure):
    _fields_ = [("fuel", ctypes.c_uint64), ("max_call_depth", ctypes.c_uint32), ("stack_slots", ctypes.c_uint32),
                ("heap_bytes", ctypes.c_uint64), ("output_bytes", ctypes.c_uint64)]


class VmOptions(ctypes.Structure):
    _fields_ = [("policy", ctypes.c_int), ("limits", Limits), ("sample_hz", ctypes.c_double)]


class String(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_size_t)]


class Payload(ctypes.Union):
    _fields_ = [("boolean", ctypes.c_int), ("integer", ctypes.c_int64), ("floating", ctypes.c_double),
                ("string", String), ("array_length", ctypes.c_size_t)]


class Value(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("as_", Payload)]


Native = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(Value), ctypes.c_size_t,
                          ctypes.POINTER(Value))
lib.opscope_vm_options_default.restype = VmOptions
lib.opscope_vm_create.argtypes = [ctypes.POINTER(VmOptions), ctypes.POINTER(ctypes.c_void_p)]
lib.opscope_vm_destroy.argtypes = [ctypes.c_void_p]
lib.opscope_vm_last_error.argtypes = [ctypes.c_void_p]
lib.opscope_vm_last_error.restype = ctypes.c_char_p
lib.opscope_last_error.restype = ctypes.c_char_p
lib.opscope_vm_register_native.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, Native, ctypes.c_void_p]
lib.opscope_native_fail.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.opscope_vm_load.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
lib.opscope_vm_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(Value)]
lib.opscope_vm_profile.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
lib.opscope_profile_destroy.argtypes = [ctypes.c_void_p]
lib.opscope_profile_write.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_char_p,
                                      ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]

PROGRAM = """\
let total = 0;
for (let i = 0; i < 1000; i = i + 1) {
    total = total + weight(i);
}
return total;
"""


@Native
def weight(call, user_data, args, count, result):
    """weight(i): i mod 7, computed in Python. Exceptions cannot cross C: they become the program's error."""
    try:
        if args[0].type != INT:
            return lib.opscope_native_fail(call, b"expected an int")
        result[0].type = INT
        result[0].as_.integer = args[0].as_.integer % 7
        return OK
    except Exception as error:  # noqa: BLE001 - any Python error fails the program, with its message
        return lib.opscope_native_fail(call, str(error).encode())


def check(status, vm=None):
    if status != OK:
        message = lib.opscope_vm_last_error(vm) if vm else lib.opscope_last_error()
        sys.exit(f"opscope: {message.decode()}")


def profile_json(vm):
    """The profile's JSON: asks for its size, then writes it (a taken profile is fixed, so both agree)."""
    profile = ctypes.c_void_p()
    check(lib.opscope_vm_profile(vm, ctypes.byref(profile)), vm)
    try:
        size = ctypes.c_size_t()
        if lib.opscope_profile_write(profile, b"json", None, None, 0, ctypes.byref(size)) != BUFFER_TOO_SMALL:
            check(1)
        buffer = ctypes.create_string_buffer(size.value + 1)
        check(lib.opscope_profile_write(profile, b"json", None, buffer, len(buffer), ctypes.byref(size)))
        return json.loads(buffer.raw[:size.value])
    finally:
        lib.opscope_profile_destroy(profile)


def main():
    options = lib.opscope_vm_options_default()
    options.policy = POLICY_COUNTING
    options.limits.fuel = 1_000_000
    vm = ctypes.c_void_p()
    check(lib.opscope_vm_create(ctypes.byref(options), ctypes.byref(vm)))
    try:
        check(lib.opscope_vm_register_native(vm, b"weight", 1, weight, None), vm)
        source = PROGRAM.encode()
        check(lib.opscope_vm_load(vm, INPUT_SOURCE, source, len(source), b"weights.ops"), vm)
        result = Value()
        check(lib.opscope_vm_run(vm, ctypes.byref(result)), vm)
        print(f"result: {result.as_.integer}")
        hottest = max(profile_json(vm)["lines"], key=lambda line: line["count"])
        text = PROGRAM.splitlines()[hottest["line"] - 1].strip()
        print(f"hottest line: {hottest['line']} ({hottest['count']} instructions): {text}")
    finally:
        lib.opscope_vm_destroy(vm)


main()
