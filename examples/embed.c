/* Embedding opscope from C (C11): a counting VM with a fuel limit, a host function, a program from memory,
 * its result, a native's error with the backtrace, and the profile's text report read into a buffer of the
 * size the API asks for. Built and run by the tests (gcc and clang, -std=c11 -pedantic -Werror); its
 * output is the README's. */
#include <opscope/opscope.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* twice(n): the host's function. Anything but an int fails the program with this native's message. */
static opscope_status twice(opscope_native_call* call, void* user_data, const opscope_value* args, size_t count,
                            opscope_value* result) {
    (void)user_data;
    (void)count; /* always the arity registered: 1 */
    if (args[0].type != OPSCOPE_INT) return opscope_native_fail(call, "expected an int");
    result->type = OPSCOPE_INT;
    result->as.integer = args[0].as.integer * 2;
    return OPSCOPE_OK;
}

static const char program[] =
    "fn sum_of_doubles(n) {\n"
    "    let total = 0;\n"
    "    for (let i = 0; i < n; i = i + 1) {\n"
    "        total = total + twice(i);\n"
    "    }\n"
    "    return total;\n"
    "}\n"
    "return sum_of_doubles(100);\n";

static const char faulty[] = "fn f(x) { return twice(x); }\nreturn f(\"two\");\n";

/* Prints the VM's last error and its backtrace, if it has one. */
static void print_error(const opscope_vm* vm, opscope_status status) {
    const opscope_frame* frames = NULL;
    size_t count = 0;
    printf("%s: %s\n", opscope_status_name(status), opscope_vm_last_error(vm));
    if (status == OPSCOPE_ERROR_RUNTIME && opscope_vm_backtrace(vm, &frames, &count) == OPSCOPE_OK) {
        size_t i;
        for (i = 0; i < count; ++i) printf("  at %s+%u (line %u)\n", frames[i].function, (unsigned)frames[i].offset,
                   (unsigned)frames[i].line);
    }
}

int main(void) {
    opscope_vm_options options = opscope_vm_options_default();
    opscope_vm* vm = NULL;
    opscope_value result;
    opscope_profile* profile = NULL;
    opscope_status status;
    size_t size = 0;
    char* report;

    options.policy = OPSCOPE_POLICY_COUNTING;
    options.limits.fuel = 1000000;
    if (opscope_vm_create(&options, &vm) != OPSCOPE_OK) {
        fprintf(stderr, "opscope: %s\n", opscope_last_error());
        return 1;
    }
    /* Natives first: the compiler accepts calls to the natives registered when the program is loaded. */
    if (opscope_vm_register_native(vm, "twice", 1, twice, NULL) != OPSCOPE_OK ||
        opscope_vm_load(vm, OPSCOPE_INPUT_SOURCE, program, sizeof program - 1, "sum.ops") != OPSCOPE_OK ||
        (status = opscope_vm_run(vm, &result)) != OPSCOPE_OK) {
        fprintf(stderr, "opscope: %s\n", opscope_vm_last_error(vm));
        opscope_vm_destroy(vm);
        return 1;
    }
    printf("result: %lld\n", (long long)result.as.integer);

    /* The profile is fixed once taken: asking for the size, then writing, gives the same bytes. */
    if (opscope_vm_profile(vm, &profile) != OPSCOPE_OK ||
        opscope_profile_write(profile, "text", NULL, NULL, 0, &size) != OPSCOPE_ERROR_BUFFER_TOO_SMALL ||
        (report = malloc(size + 1)) == NULL) {
        fprintf(stderr, "opscope: %s\n", opscope_last_error());
        opscope_profile_destroy(profile);
        opscope_vm_destroy(vm);
        return 1;
    }
    if (opscope_profile_write(profile, "text", NULL, report, size + 1, &size) == OPSCOPE_OK)
        printf("%.*s\n", (int)strcspn(report, "\n"), report); /* the report's title line */
    free(report);
    opscope_profile_destroy(profile);

    /* Errors are statuses with a message: a program that does not compile, then one that fails in twice. */
    print_error(vm, opscope_vm_load(vm, OPSCOPE_INPUT_SOURCE, "let = 1;", 8, "bad.ops"));
    status = opscope_vm_load(vm, OPSCOPE_INPUT_SOURCE, faulty, sizeof faulty - 1, "faulty.ops");
    if (status == OPSCOPE_OK) status = opscope_vm_run(vm, NULL);
    print_error(vm, status);

    opscope_vm_destroy(vm);
    return 0;
}
