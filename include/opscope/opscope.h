/* opscope.h: the C API (C11; also valid C++). A VM whose profiler policy is chosen at run time, its
 * limits, programs loaded from memory or files, host functions (natives), runs with their errors and
 * backtraces, and the profile written in any report format. Implemented in capi/ over the C++ API and
 * shipped as the shared library libopscope.so (pkg-config: opscope), which exports these functions only.
 *
 * Conventions, for every function:
 * - Errors are a returned opscope_status, never an abort and never an exception; OPSCOPE_OK is 0. A failing
 *   call sets the calling thread's message (opscope_last_error) and, when it was given a VM, that VM's
 *   (opscope_vm_last_error). Successful calls leave both messages as they were.
 * - Byte strings have explicit lengths and may hold any byte (NUL included) unless a parameter says it is a
 *   NUL-terminated C string. Pointers the API returns are owned by the API; the comment on each says how
 *   long they stay valid. Pointers the caller passes are borrowed for the call only, unless a comment says
 *   otherwise (a native's user_data, an output callback's user_data).
 * - Outputs of unknown size use snprintf's protocol: the full size is stored in *size; the bytes are
 *   written only when they fit in `capacity` (then a NUL byte follows if there is room for it), otherwise
 *   the call returns OPSCOPE_ERROR_BUFFER_TOO_SMALL and writes nothing. buffer may be NULL when capacity is 0.
 * - Every enum ends with a _MAX_ENUM member (0x7FFFFFFF) that is none of its values: it makes each enum
 *   int-sized, and any int from 0 up a value the library may be given and refuses with
 *   OPSCOPE_ERROR_ARGUMENT, rather than undefined behaviour in C++.
 * - Threads: one VM is used by one thread at a time (any thread; not two at once). Distinct VMs and
 *   distinct profiles may be used by distinct threads concurrently. A timing or full VM samples with a
 *   timer signal (SIGPROF, or opscope_set_sampler_signal's) aimed at the thread that runs it, while it
 *   runs; the library installs its handler (SA_RESTART) when such a VM runs. A host using that signal too
 *   keeps it: signals not from the library's timers go to the handler installed before (README, "Embedding").
 */
#ifndef OPSCOPE_OPSCOPE_H
#define OPSCOPE_OPSCOPE_H

#include <stddef.h>
#include <stdint.h>

/* The version of the library this header belongs to (CMake's project version; a test keeps them equal). */
#define OPSCOPE_VERSION_MAJOR 0
#define OPSCOPE_VERSION_MINOR 1
#define OPSCOPE_VERSION_PATCH 0
#define OPSCOPE_VERSION_STRING "0.1.0"
#define OPSCOPE_VERSION_NUMBER (OPSCOPE_VERSION_MAJOR * 10000 + OPSCOPE_VERSION_MINOR * 100 + OPSCOPE_VERSION_PATCH)

#if defined(__GNUC__) || defined(__clang__)
#define OPSCOPE_API __attribute__((visibility("default")))
#else
#define OPSCOPE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* What went wrong. The values 1, 2, 3 and 4 are the opscope command's exit codes for the same kinds. */
typedef enum opscope_status {
    OPSCOPE_OK = 0,
    OPSCOPE_ERROR_RUNTIME = 1,           /* the program failed while running: message and backtrace */
    OPSCOPE_ERROR_ARGUMENT = 2,          /* a required pointer is NULL, an unknown enum value or format name, ... */
    OPSCOPE_ERROR_PROGRAM = 3,           /* the program was rejected: "file:line:col: error: ..." (or a byte offset) */
    OPSCOPE_ERROR_IO = 4,                /* a file could not be read or written */
    OPSCOPE_ERROR_BUFFER_TOO_SMALL = 5,  /* the output did not fit: *size holds the bytes needed */
    OPSCOPE_ERROR_MISSING_GROUP = 6,     /* the format needs data the VM's policy does not record */
    OPSCOPE_ERROR_STATE = 7,             /* not now: no program loaded, or a call a native may not make */
    OPSCOPE_ERROR_MEMORY = 8,            /* out of memory (in a run it is the program's error: RUNTIME) */
    OPSCOPE_ERROR_INTERNAL = 9,          /* an unexpected failure inside opscope (a bug: please report it) */
    OPSCOPE_STATUS_MAX_ENUM = 0x7FFFFFFF
} opscope_status;

/* The status's name ("OPSCOPE_ERROR_RUNTIME"; "unknown status" otherwise): a static string. */
OPSCOPE_API const char* opscope_status_name(opscope_status status);

/* The library's version as OPSCOPE_VERSION_STRING and OPSCOPE_VERSION_NUMBER give it (static string). */
OPSCOPE_API const char* opscope_version(void);
OPSCOPE_API uint32_t opscope_version_number(void);

/* The message of the last call that failed on this thread, "" if none did. Valid until the next failing
 * call on this thread. */
OPSCOPE_API const char* opscope_last_error(void);

/* ---- values ------------------------------------------------------------------------------------------ */

typedef enum opscope_type {
    OPSCOPE_NIL = 0,
    OPSCOPE_BOOL = 1,
    OPSCOPE_INT = 2,
    OPSCOPE_FLOAT = 3,
    OPSCOPE_STRING = 4,
    OPSCOPE_ARRAY = 5, /* seen by natives and in results as its length only; natives cannot return one */
    OPSCOPE_TYPE_MAX_ENUM = 0x7FFFFFFF
} opscope_type;

/* A value crossing the API: a tag and its payload. */
typedef struct opscope_value {
    opscope_type type;
    union {
        int boolean;       /* OPSCOPE_BOOL: 0 or 1 */
        int64_t integer;   /* OPSCOPE_INT */
        double floating;   /* OPSCOPE_FLOAT */
        struct {
            const char* data;  /* `length` bytes, not NUL-terminated; see where the value came from for how long */
            size_t length;
        } string;          /* OPSCOPE_STRING */
        size_t array_length; /* OPSCOPE_ARRAY */
    } as;
} opscope_value;

/* ---- VMs --------------------------------------------------------------------------------------------- */

typedef struct opscope_vm opscope_vm;

/* Which profiler runs with the VM (each is opscope::Vm<Policy> compiled into the library). */
typedef enum opscope_policy {
    OPSCOPE_POLICY_NULL = 0,      /* records nothing, costs nothing */
    OPSCOPE_POLICY_COUNTING = 1,  /* exact counts */
    OPSCOPE_POLICY_TIMING = 2,    /* counting + sampled times and call stacks */
    OPSCOPE_POLICY_FULL = 3,      /* timing + memory + the call timeline */
    OPSCOPE_POLICY_MAX_ENUM = 0x7FFFFFFF
} opscope_policy;

/* opscope::Limits: what one run may use. 0 means unlimited for fuel, heap_bytes and output_bytes. */
typedef struct opscope_limits {
    uint64_t fuel;            /* instructions per run */
    uint32_t max_call_depth;  /* frames, counting main */
    uint32_t stack_slots;     /* values for all frames' locals and operands */
    uint64_t heap_bytes;      /* live heap bytes after a collection */
    uint64_t output_bytes;    /* bytes `print` may write per run */
} opscope_limits;

/* The C++ defaults: unlimited fuel, heap and output; 100,000 frames; 4,194,304 stack slots. */
OPSCOPE_API opscope_limits opscope_limits_default(void);

typedef struct opscope_vm_options {
    opscope_policy policy;
    opscope_limits limits;
    double sample_hz;  /* timing and full: the sampler's rate in Hz; 0 = the default (500) */
} opscope_vm_options;

/* policy OPSCOPE_POLICY_NULL, opscope_limits_default(), sample_hz 0. */
OPSCOPE_API opscope_vm_options opscope_vm_options_default(void);

/* The signal timing and full VMs sample with, from their next run (default SIGPROF; e.g. SIGRTMIN + 3 for a
 * host that would rather keep SIGPROF to itself). OPSCOPE_ERROR_ARGUMENT for a signal that cannot be caught. */
OPSCOPE_API opscope_status opscope_set_sampler_signal(int signo);

/* Creates a VM (options NULL: opscope_vm_options_default()) into *vm; the caller owns it and destroys it
 * with opscope_vm_destroy. On failure *vm is NULL and opscope_last_error() says why. */
OPSCOPE_API opscope_status opscope_vm_create(const opscope_vm_options* options, opscope_vm** vm);

/* Destroys the VM and everything it owns (NULL: nothing). Not from within one of its natives. */
OPSCOPE_API void opscope_vm_destroy(opscope_vm* vm);

/* The message of the last call that failed on this VM, "" if none did. Owned by the VM; valid until the
 * next call on it. For OPSCOPE_ERROR_RUNTIME, the program's error message (the backtrace is apart). */
OPSCOPE_API const char* opscope_vm_last_error(const opscope_vm* vm);

/* Limits apply from the next run (and heap_bytes at once). */
OPSCOPE_API opscope_status opscope_vm_set_limits(opscope_vm* vm, const opscope_limits* limits);
OPSCOPE_API opscope_status opscope_vm_get_limits(const opscope_vm* vm, opscope_limits* limits);

/* Where `print` writes: write(user_data, bytes, size) for each piece of output (bytes valid for the call).
 * write NULL: standard output again (the default). user_data is the caller's, borrowed until the next
 * opscope_vm_set_output or opscope_vm_destroy. */
typedef void (*opscope_write_fn)(void* user_data, const char* bytes, size_t size);
OPSCOPE_API opscope_status opscope_vm_set_output(opscope_vm* vm, opscope_write_fn write, void* user_data);

/* ---- natives: host functions the program calls --------------------------------------------------------- */

typedef struct opscope_native_call opscope_native_call;

/* A native: receives `arg_count` arguments (its arity) and stores its result in *result (preset to nil).
 * Argument strings are the VM's, valid for the call only. A string result is copied when the native returns,
 * so it may point to the native's own storage. Returning anything but OPSCOPE_OK fails the program with a
 * runtime error "in native 'NAME': MESSAGE", MESSAGE being what opscope_native_fail set (or the status).
 * A native may call opscope_vm_start_profiling, _stop_profiling and _reset_profile on its VM (a region of
 * a run, as the CLI's profile_start() and profile_stop() do) and read it (limits, fuel used, messages);
 * loading or running it, registering natives, setting its limits or output and taking its profile from a
 * native are OPSCOPE_ERROR_STATE, and destroying it is ignored. A native must not longjmp out of the call. */
typedef opscope_status (*opscope_native_fn)(opscope_native_call* call, void* user_data, const opscope_value* args,
                                            size_t arg_count, opscope_value* result);

/* Registers (or replaces) the native `name` (NUL-terminated) taking `arity` arguments (>= 0), before the
 * program that calls it is loaded. user_data is the caller's, passed to every call; it must stay valid while
 * the VM may call the native (until the VM is destroyed or the native replaced). */
OPSCOPE_API opscope_status opscope_vm_register_native(opscope_vm* vm, const char* name, int arity,
                                                      opscope_native_fn function, void* user_data);

/* For a native: records `message` (NUL-terminated, copied) as the error of this call and returns
 * OPSCOPE_ERROR_RUNTIME, so a native can `return opscope_native_fail(call, "expected an int");`. */
OPSCOPE_API opscope_status opscope_native_fail(opscope_native_call* call, const char* message);

/* For a native: the VM running it. */
OPSCOPE_API opscope_vm* opscope_native_vm(opscope_native_call* call);

/* ---- programs and runs ------------------------------------------------------------------------------- */

typedef enum opscope_input {
    OPSCOPE_INPUT_SOURCE = 0,    /* .ops source text */
    OPSCOPE_INPUT_ASSEMBLY = 1,  /* .opasm text */
    OPSCOPE_INPUT_BYTECODE = 2,  /* .opc bytes */
    OPSCOPE_INPUT_MAX_ENUM = 0x7FFFFFFF
} opscope_input;

/* Compiles, assembles or decodes `size` bytes, verifies and loads the program (its globals reset; the
 * profile starts afresh). `name` (NUL-terminated; NULL: "<memory>") is the file name messages and
 * profiles give it. The registered natives are the ones the program may call. On failure (PROGRAM: the
 * message is "name:line:col: error: ..."; RUNTIME: its constants do not fit the heap limit) the program
 * loaded before, if any, stays loaded. */
OPSCOPE_API opscope_status opscope_vm_load(opscope_vm* vm, opscope_input input, const void* bytes, size_t size,
                                           const char* name);

/* Reads and loads a file (NUL-terminated path), its kind chosen by its extension (.ops, .opasm, .opc).
 * OPSCOPE_ERROR_IO when it cannot be read (or is over 16 MiB, or has another extension). */
OPSCOPE_API opscope_status opscope_vm_load_file(opscope_vm* vm, const char* path);

/* Runs main of the loaded program; its result into *result (may be NULL). A string result's bytes are owned
 * by the VM and valid until its next run or its destruction. OPSCOPE_ERROR_RUNTIME: the program failed (message:
 * opscope_vm_last_error, frames: opscope_vm_backtrace); the VM stays usable and keeps the profile of what
 * ran. OPSCOPE_ERROR_STATE: no program is loaded, or called from a native. */
OPSCOPE_API opscope_status opscope_vm_run(opscope_vm* vm, opscope_value* result);

/* Instructions the last run executed, when a fuel limit was set (else 0). */
OPSCOPE_API opscope_status opscope_vm_fuel_used(const opscope_vm* vm, uint64_t* fuel_used);

/* One frame of the last runtime error's backtrace, innermost first. */
typedef struct opscope_frame {
    const char* function;  /* NUL-terminated */
    uint32_t offset;       /* instruction offset within the function */
    uint32_t line;         /* source line; 0 when unknown */
    const char* file;      /* NUL-terminated; "" when unknown */
} opscope_frame;

/* The backtrace of the last run's runtime error (none after a run that succeeded): *count frames at
 * *frames, owned by the VM and valid until the next run, load or destroy of it. Either may be read alone. */
OPSCOPE_API opscope_status opscope_vm_backtrace(const opscope_vm* vm, const opscope_frame** frames, size_t* count);

/* ---- profiling --------------------------------------------------------------------------------------- */

/* The profile lifecycle (opscope::Vm's reset_profile, start_profiling, stop_profiling): between runs, or
 * from a native during one. Under OPSCOPE_POLICY_NULL they succeed and do nothing. */
OPSCOPE_API opscope_status opscope_vm_reset_profile(opscope_vm* vm);
OPSCOPE_API opscope_status opscope_vm_start_profiling(opscope_vm* vm);
OPSCOPE_API opscope_status opscope_vm_stop_profiling(opscope_vm* vm);

typedef struct opscope_profile opscope_profile;

/* What the policy has recorded so far, copied into a new profile (opscope::Vm::profile(), with the
 * program's source file, and marked partial with the error's message when the last run failed). The caller
 * owns it (opscope_profile_destroy); it does not change when the VM runs on and outlives the VM. */
OPSCOPE_API opscope_status opscope_vm_profile(opscope_vm* vm, opscope_profile** profile);

/* Continuous profiling: the profile of the interval since the last snapshot (or since the profile began: a
 * load, opscope_vm_reset_profile), and the next interval starts (opscope::Vm::snapshot). The intervals'
 * profiles merge into the whole run's, exact counts exactly. Callable from any thread, also while another runs
 * the VM: the running thread stops at its next safe point (within about a million instructions) only to cut
 * the interval, while this one waits. A failure is reported in opscope_last_error() only. The caller owns the
 * profile (opscope_profile_destroy). */
OPSCOPE_API opscope_status opscope_vm_snapshot(opscope_vm* vm, opscope_profile** profile);

/* Destroys a profile (NULL: nothing). */
OPSCOPE_API void opscope_profile_destroy(opscope_profile* profile);

/* opscope::ReportOptions, the choices some formats offer. */
typedef enum opscope_weight {
    OPSCOPE_WEIGHT_SAMPLES = 0,
    OPSCOPE_WEIGHT_TIME = 1,
    OPSCOPE_WEIGHT_MAX_ENUM = 0x7FFFFFFF
} opscope_weight;
typedef enum opscope_pprof_metric {
    OPSCOPE_PPROF_CPU = 0,
    OPSCOPE_PPROF_INSTRUCTIONS = 1,
    OPSCOPE_PPROF_METRIC_MAX_ENUM = 0x7FFFFFFF
} opscope_pprof_metric;
typedef struct opscope_report_options {
    size_t top;                   /* text, html: rows per ranked section (10) */
    double threshold_percent;     /* text: hotspots and lines below this share are left out (1.0) */
    uint64_t hot_loop_min;        /* text: loops with fewer iterations are left out (100) */
    opscope_weight folded_weight; /* folded: samples (default) or sampled nanoseconds */
    int folded_lines;             /* folded: frames carry (file:line) (1) */
    opscope_pprof_metric pprof_metric;  /* pprof: sampled stacks (default) or exact instructions */
    opscope_weight speedscope_weight;   /* speedscope: time (default) or samples */
} opscope_report_options;

/* The C++ defaults, given above in parentheses. */
OPSCOPE_API opscope_report_options opscope_report_options_default(void);

/* The report formats (opscope::report_formats()): index 0 .. count-1; a name is a static NUL-terminated
 * string ("text", "json", "folded", "speedscope", "chrome", "pprof", "callgrind", "html"), NULL past the
 * end. Binary formats (pprof: gzip) are bytes, not text. */
OPSCOPE_API size_t opscope_report_format_count(void);
OPSCOPE_API const char* opscope_report_format_name(size_t index);
OPSCOPE_API int opscope_report_format_is_binary(size_t index);

/* Writes the profile in `format` (a name above, NUL-terminated; options NULL: the defaults) into buffer,
 * with snprintf's protocol (see the top): call with capacity 0 for the size, then with a buffer that large.
 * A profile is fixed, so both calls give the same bytes (pprof included: its time comes from the profile,
 * or from when the profile was taken). OPSCOPE_ERROR_MISSING_GROUP: the policy did not record what the
 * format needs (folded needs timing or full). Errors are reported in opscope_last_error(). */
OPSCOPE_API opscope_status opscope_profile_write(const opscope_profile* profile, const char* format,
                                                 const opscope_report_options* options, char* buffer,
                                                 size_t capacity, size_t* size);

/* The same, into the file `path` (NUL-terminated), replacing it. */
OPSCOPE_API opscope_status opscope_profile_write_file(const opscope_profile* profile, const char* format,
                                                      const opscope_report_options* options, const char* path);

#ifdef __cplusplus
}
#endif

#endif /* OPSCOPE_OPSCOPE_H */
