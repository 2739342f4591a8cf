// The `opscope` command-line tool: run, profile, export, merge, diff, asm, disasm, compile.
//
// Exit codes (also in README): 0 success, 1 runtime error in the program (diff: a --fail-if rule tripped), 2 usage error,
// 3 bad program (assembly, compile, bytecode or verification errors), 4 input/output error.
#include <opscope/opscope.hpp>
#include <opscope/report.hpp>

#include <opscope/policies/counting.hpp>
#include <opscope/policies/full.hpp>
#include <opscope/policies/timing.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <unistd.h>
#include <mutex>
#include <new>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

enum ExitCode : int { ok = 0, runtime_error = 1, usage_error = 2, bad_program = 3, io_error = 4 };

// The largest --max-depth and --stack-slots (also in README): 2^24 frames (384 MiB of frames) and 2^28
// slots (4 GiB of values). Larger values are usage errors; within them, stacks the host cannot allocate are
// a runtime error (exit 1).
constexpr std::uint64_t kMaxDepthOption = std::uint64_t{1} << 24;
constexpr std::uint64_t kMaxStackSlotsOption = std::uint64_t{1} << 28;

struct LimitOptions {
    std::uint64_t fuel = 0;
    std::uint64_t max_call_depth = opscope::Limits{}.max_call_depth;  // 64 bits, so a huge value is refused, not cut
    std::uint64_t stack_slots = opscope::Limits{}.stack_slots;
    std::uint64_t heap_bytes = 0;
    std::uint64_t output_bytes = 0;

    void add_to(CLI::App& command) {
        command.add_option("--fuel", fuel,
                           "Instructions the run may execute (0 = unlimited). Charged a straight-line run at a time "
                           "(through the next jump, branch, call, return or halt) before the run starts: a run that "
                           "does not fit what is left stops the program there, so it may stop up to one run's "
                           "length short of N. A program of N instructions runs with --fuel N, fails with N-1");
        command.add_option("--max-depth", max_call_depth, "Maximum call depth, counting main")
            ->check(CLI::Range(std::uint64_t{1}, kMaxDepthOption));
        command.add_option("--stack-slots", stack_slots, "Value-stack size in slots")
            ->check(CLI::Range(std::uint64_t{1}, kMaxStackSlotsOption));
        command.add_option("--heap-bytes", heap_bytes, "Maximum live heap bytes (0 = unlimited)");
        command.add_option("--max-output", output_bytes, "Maximum bytes the program may print (0 = unlimited)");
    }
    opscope::Limits limits() const {
        return {fuel, static_cast<std::uint32_t>(max_call_depth), static_cast<std::uint32_t>(stack_slots), heap_bytes,
                output_bytes};
    }
};

// Writes all of `bytes` to the open descriptor `fd`; false with errno set on failure (EFBIG past `ulimit -f`:
// main ignores SIGXFSZ so that the write fails instead of the signal killing the process).
bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

[[noreturn]] void write_failed(const std::string& path, int error) {
    throw opscope::InputError(fmt::format("cannot write '{}': {}", path, std::strerror(error)));
}

// Writes what `produce` puts to its sink into the open descriptor `fd`, in order; the errno of the first
// failed write, or 0. The pieces after a failure are not written. An exception from `produce` goes through.
int write_pieces(int fd, const std::function<void(const opscope::ReportSink&)>& produce) {
    int error = 0;
    produce([&](std::string_view piece) {
        if (error == 0 && !write_all(fd, piece)) error = errno ? errno : EIO;
    });
    return error;
}

// Every -o goes through here: the file ends up with all that `produce` puts to its sink, or is left as it was.
// A regular file (or a new one) is written to a temporary in the same directory, then renamed over `path`; on
// any failure (or an exception from `produce`) the temporary is removed, so no half-written report or bytecode
// is left. A device or pipe (-o /dev/stdout, /dev/full) cannot be replaced: it is written in place, and a
// failed write is still an error.
// The file -o names: a link's target (replaced, not the link), else the path itself.
std::string write_target(const std::string& path) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode)) {
        std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr), &std::free);
        if (resolved) return resolved.get();
    }
    return path;
}

// mkstemp's template for the temporary that is renamed over `target`: in its directory, hidden.
std::string temporary_template(const std::string& target) {
    const std::size_t slash = target.rfind('/');
    return (slash == std::string::npos ? std::string() : target.substr(0, slash + 1)) + ".opscope-" +
           (slash == std::string::npos ? target : target.substr(slash + 1)) + ".XXXXXX";
}

// Fails as write_file_with would (a directory; a directory that is missing or cannot take the temporary), for
// a command to call before a run that may take minutes rather than after it.
void check_writable(const std::string& path) {
    const std::string target = write_target(path);
    struct stat info {};
    if (::stat(target.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
        if (S_ISDIR(info.st_mode)) write_failed(path, EISDIR);
        return;  // a device or a pipe, opened when written (opening a pipe now could wait for its reader)
    }
    std::string temporary = temporary_template(target);
    const int fd = ::mkstemp(temporary.data());
    if (fd < 0) write_failed(path, errno);
    ::close(fd);
    ::unlink(temporary.c_str());
}

void write_file_with(const std::string& path, const std::function<void(const opscope::ReportSink&)>& produce) {
    const std::string target = write_target(path);
    struct stat info {};
    const bool exists = ::stat(target.c_str(), &info) == 0;
    if (exists && !S_ISREG(info.st_mode)) {
        if (S_ISDIR(info.st_mode)) write_failed(path, EISDIR);
        const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) write_failed(path, errno);
        int error = 0;
        try {
            error = write_pieces(fd, produce);
        } catch (...) {
            ::close(fd);
            throw;
        }
        if (::close(fd) != 0 && error == 0) write_failed(path, errno);
        if (error != 0) write_failed(path, error);
        return;
    }
    std::string temporary = temporary_template(target);
    const int fd = ::mkstemp(temporary.data());
    if (fd < 0) write_failed(path, errno);
    // mkstemp makes the file 0600: give it the mode the file had, or a new file's (0666 less the umask).
    const mode_t mask = ::umask(0);
    ::umask(mask);
    int error = ::fchmod(fd, exists ? info.st_mode & 07777 : 0666 & ~mask) == 0 ? 0 : errno;
    if (error == 0) {
        try {
            error = write_pieces(fd, produce);
        } catch (...) {
            ::close(fd);
            ::unlink(temporary.c_str());
            throw;
        }
    }
    if (::close(fd) != 0 && error == 0) error = errno;
    if (error == 0 && ::rename(temporary.c_str(), target.c_str()) != 0) error = errno;
    if (error != 0) {
        ::unlink(temporary.c_str());
        write_failed(path, error);
    }
}

void write_file(const std::string& path, std::string_view bytes) {
    write_file_with(path, [bytes](const opscope::ReportSink& sink) { sink(bytes); });
}

// The report to `sink`: a piece at a time where the format streams (JSON), else whole.
void put_report(const opscope::ReportFormat& format, const opscope::Profile& profile,
                const opscope::ReportOptions& options, const opscope::ReportSink& sink) {
    if (format.stream) format.stream(profile, options, sink);
    else sink(format.write(profile, options));
}

void write_report_file(const std::string& path, const opscope::ReportFormat& format, const opscope::Profile& profile,
                       const opscope::ReportOptions& options) {
    write_file_with(path, [&](const opscope::ReportSink& sink) { put_report(format, profile, options, sink); });
}

// To standard output, after `before` (nothing is printed when the writer throws before its first piece).
void write_report_out(const opscope::ReportFormat& format, const opscope::Profile& profile,
                      const opscope::ReportOptions& options, std::string_view before = "") {
    bool first = true;
    put_report(format, profile, options, [&](std::string_view piece) {
        if (std::exchange(first, false)) std::cout << before;
        std::cout << piece;
    });
    std::cout.flush();
}

// Natives every program run by the CLI may call: profile_start() and profile_stop() bracket the region to
// profile (under `run` they do nothing). Both return nil.
const std::vector<opscope::NativeDeclaration> kCliNatives = {{"profile_start", 0}, {"profile_stop", 0}};

template <class Vm>
void register_cli_natives(Vm& vm) {
    if constexpr (requires { vm.start_profiling(); vm.stop_profiling(); }) {
        vm.register_native("profile_start", 0, [&vm](opscope::Machine&, std::span<const opscope::Value>) {
            vm.start_profiling();
            return opscope::Value::nil();
        });
        vm.register_native("profile_stop", 0, [&vm](opscope::Machine&, std::span<const opscope::Value>) {
            vm.stop_profiling();
            return opscope::Value::nil();
        });
    } else {
        const auto nothing = [](opscope::Machine&, std::span<const opscope::Value>) { return opscope::Value::nil(); };
        vm.register_native("profile_start", 0, nothing);
        vm.register_native("profile_stop", 0, nothing);
    }
}

// Verifies against the natives `run` provides. The program is moved in, not copied: it can be hundreds of
// megabytes (README, "Bad input").
opscope::Program verified(opscope::Program program) {
    opscope::Vm<> vm;
    register_cli_natives(vm);
    vm.load(std::move(program));
    return vm.program();
}

int run(const std::string& file, const LimitOptions& limits, bool print_result) {
    opscope::Vm<> vm(limits.limits());
    register_cli_natives(vm);
    vm.load(opscope::read_program(file, kCliNatives));
    try {
        const opscope::Value result = vm.run();
        if (print_result) std::cout << "result: " << opscope::to_display(result) << '\n';
    } catch (const opscope::RuntimeError& e) {
        std::cout.flush();
        std::cerr << e.format() << '\n';
        return runtime_error;
    }
    return ok;
}

struct ProfileOptions {
    std::string policy = "full";
    std::string format = "text";
    std::string output;
    std::chrono::nanoseconds every{0};  // --every: one report per interval, into out_dir
    std::string out_dir;
    double sample_rate = opscope::TimeSampler::kDefaultHz;
    bool fast_start = false;  // the first 50 ms at 5 kHz (timing, full)
    bool print_result = false;
    bool inclusive = false;  // exact inclusive instructions (counting, full): two hooks per call
    opscope::ReportOptions report;
};

// The largest source file whose text goes into a report (a `.source` directive may name any file).
constexpr std::uintmax_t kMaxSourceTextBytes = std::uintmax_t{64} << 20;

// Fills in each line's text from the file the program's line numbers refer to: its source_file, which is
// what backtraces name (a `.source` path in assembly with `.line`, the `.ops` file compiled, the `.opasm`
// file itself otherwise), read as named, so relative to the working directory. Only a regular file of at
// most kMaxSourceTextBytes is read; otherwise, and when the program names no file, lines have no text.
void attach_source_lines(opscope::Profile& profile, const std::string& source_file) {
    if (!profile.lines || source_file.empty()) return;
    std::error_code error;
    const std::filesystem::path path(source_file);
    if (!std::filesystem::is_regular_file(path, error)) return;
    const std::uintmax_t size = std::filesystem::file_size(path, error);
    if (error || size > kMaxSourceTextBytes) return;
    std::string text;
    try {
        text = opscope::read_text_file(source_file);
    } catch (const opscope::InputError&) {
        return;  // unreadable: the report goes without text rather than fail after the run
    }
    std::vector<std::string> lines;
    std::istringstream stream(std::string(opscope::without_byte_order_mark(text)));  // line 1 as the front ends read it
    for (std::string line; std::getline(stream, line);) {
        if (line.ends_with('\r')) line.pop_back();  // CRLF: the line as the assembler and lexer read it
        lines.push_back(std::move(line));
    }
    for (opscope::LineStats& l : profile.lines->entries)
        if (l.line >= 1 && l.line <= lines.size()) l.source_text = lines[l.line - 1];
}

// --every's argument: a positive number with its unit (ms, s, m; also us), e.g. 500ms, 0.2s, 10s; at least 1 ms.
std::chrono::nanoseconds parse_duration(const std::string& text) {
    static const std::pair<std::string_view, double> units[] = {{"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}};
    const std::size_t digits = text.find_first_not_of("0123456789.");
    const std::string number = text.substr(0, digits), unit = digits == std::string::npos ? "" : text.substr(digits);
    double scale = 0;
    for (const auto& [name, ns] : units)
        if (unit == name) scale = ns;
    char* end = nullptr;
    const double value = number.empty() ? 0 : std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size() || scale == 0)
        throw CLI::ValidationError(fmt::format("'{}' is not a duration: give a number and a unit (us, ms, s, m), e.g. 500ms, 0.2s, 10s", text));
    const double ns = value * scale;
    if (!(ns >= 1e6) || ns > 1e15)
        throw CLI::ValidationError(fmt::format("--every {}: the interval must be between 1ms and 11 days", text));
    return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

// `profile --every`: the interval profiles, each written as one file in --out-dir named by sequence and start
// time (UTC), e.g. opscope-000003-20261202T101530.250Z.pb.gz: while the program runs, a thread takes a
// snapshot every interval (Vm::snapshot: the VM stops at its next safe point only to cut the interval) and
// writes it; the last interval is written after the run. The files merge into the whole run's profile.
class IntervalFiles {
public:
    IntervalFiles(const ProfileOptions& options) : options_(options), format_(*opscope::find_report_format(options.format)) {
        std::error_code error;
        std::filesystem::create_directories(options.out_dir, error);
        if (error || !std::filesystem::is_directory(options.out_dir))
            throw opscope::InputError(fmt::format("cannot create the directory '{}': {}", options.out_dir,
                                                  error ? error.message() : "a file of that name exists"));
    }
    // On the snapshot thread, then once more on the main thread after the run (never both at once).
    void write(opscope::Profile profile, const std::string& source_file) {
        profile.source_file = source_file;
        attach_source_lines(profile, source_file);
        ++written_;
        const std::uint64_t start = profile.summary && profile.summary->start_unix_ns ? *profile.summary->start_unix_ns : unix_now_ns();
        const std::time_t seconds = static_cast<std::time_t>(start / 1000000000u);
        std::tm utc{};
        gmtime_r(&seconds, &utc);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &utc);
        const std::string name = fmt::format("opscope-{:06}-{}.{:03}Z{}", written_, stamp, start / 1000000u % 1000u, format_.file_suffix);
        write_report_file((std::filesystem::path(options_.out_dir) / name).string(), format_, profile, options_.report);
    }
    std::uint64_t written() const { return written_; }

private:
    static std::uint64_t unix_now_ns() {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    }
    const ProfileOptions& options_;
    const opscope::ReportFormat& format_;
    std::uint64_t written_ = 0;
};

// Takes and writes a snapshot of `vm` every interval until stopped; the first write error stops it (kept for
// the main thread to report after the run).
template <class Policy>
std::jthread interval_thread(opscope::Vm<Policy>& vm, IntervalFiles& files, std::chrono::nanoseconds every,
                             std::string& write_error) {
    return std::jthread([&vm, &files, every, &write_error](std::stop_token stop) {
        std::mutex mutex;
        std::condition_variable_any wake;
        auto deadline = std::chrono::steady_clock::now() + every;
        std::unique_lock lock(mutex);
        while (!wake.wait_until(lock, stop, deadline, [] { return false; }) && !stop.stop_requested()) {
            try {
                opscope::Profile interval = vm.snapshot();
                // A snapshot before the run began (the main thread not yet in run(): a busy machine, a short
                // interval) holds nothing: no instruction ran and nothing was sampled, and a format that needs
                // the sampled stacks would refuse it. Not an interval of the run: no file; the next one starts
                // here. (Every CLI policy counts, so the summary is there; while the program runs, an interval
                // ends at a safe point, so instructions ran in it.)
                const bool nothing_ran = interval.summary && interval.summary->total_instructions == 0 &&
                                         (!interval.timing || interval.timing->samples == 0);
                if (!nothing_ran) files.write(std::move(interval), vm.program().source_file);
            } catch (const std::exception& e) {
                write_error = e.what();
                return;
            }
            // A fixed schedule; an interval whose write overran its successor is skipped, not crowded.
            const auto now = std::chrono::steady_clock::now();
            do deadline += every;
            while (deadline <= now);
        }
    });
}

// Runs the program under the policy, then writes the report (also after a runtime error: partial); with
// --every, one report per interval instead.
template <class Policy>
int profile_with(Policy policy, const std::string& file, const LimitOptions& limits, const ProfileOptions& options) {
    const opscope::ReportFormat& format = *opscope::find_report_format(options.format);
    opscope::Vm<Policy> vm(limits.limits(), std::move(policy));
    // A report that shows only the timeline's summary does not pay for its thousands of events.
    if constexpr (requires { vm.profiler().timeline(); })
        vm.profiler().timeline().set_events_in_profile(format.reads_timeline_events);
    register_cli_natives(vm);
    vm.load(opscope::read_program(file, kCliNatives));
    std::optional<IntervalFiles> intervals;
    std::string write_error;
    std::jthread snapshots;
    if (options.every.count()) {
        intervals.emplace(options);
        snapshots = interval_thread(vm, *intervals, options.every, write_error);
    }
    int code = ok;
    std::string error;
    try {
        const opscope::Value result = vm.run();
        if (options.print_result) std::cout << "result: " << opscope::to_display(result) << '\n';
    } catch (const opscope::RuntimeError& e) {
        std::cout.flush();
        std::cerr << e.format() << '\n';
        error = e.what();
        code = runtime_error;
    }
    if (intervals) {
        snapshots.request_stop();
        snapshots.join();
        if (write_error.empty()) {
            opscope::Profile last = vm.snapshot();
            last.partial = code != ok;
            last.error = error;
            intervals->write(std::move(last), vm.program().source_file);
            std::cerr << fmt::format("opscope: {} interval profile{} in {}\n", intervals->written(),
                                     intervals->written() == 1 ? "" : "s", options.out_dir);
            return code;
        }
        std::cerr << "opscope: error: " << write_error << '\n';
        return code == ok ? io_error : code;
    }
    opscope::Profile profile = vm.profile();
    profile.source_file = vm.program().source_file;  // as backtraces name it
    profile.partial = code != ok;
    profile.error = error;
    attach_source_lines(profile, profile.source_file);
    if (options.output.empty()) {
        std::cout.flush();
        write_report_out(format, profile, options.report, "\n");
    } else {
        write_report_file(options.output, format, profile, options.report);
    }
    return code;
}

int profile(const std::string& file, const LimitOptions& limits, const ProfileOptions& options) {
    if (options.every.count() && options.out_dir.empty()) throw CLI::ValidationError("--every needs --out-dir DIR");
    if (!options.out_dir.empty() && !options.every.count()) throw CLI::ValidationError("--out-dir needs --every DURATION");
    if (options.every.count() && !options.output.empty())
        throw CLI::ValidationError("--every writes one file per interval into --out-dir: -o does not go with it");
    // Bytes (pprof's gzip) cannot follow the program's output on standard output: refused before the run.
    if (opscope::find_report_format(options.format)->binary && options.output.empty() && !options.every.count())
        throw CLI::ValidationError(fmt::format("--format {} writes binary data: give -o FILE", options.format));
    // A format that needs the sampled stacks is refused before running under counting, which records the
    // hotspots but no stacks: the writer, given an empty profile of that shape, throws MissingGroupError.
    // Likewise a format that needs the timeline (chrome) under counting or timing, which record none.
    if (options.policy == "counting" || options.policy == "timing") {
        opscope::Profile shape;
        shape.policy = options.policy;
        shape.instructions.emplace();
        if (options.policy == "timing") shape.call_stacks.emplace();
        (void)opscope::find_report_format(options.format)->write(shape, options.report);
    }
    if (!options.output.empty()) check_writable(options.output);  // before the run, not after it
    // callgrind's calls= lines are inclusive costs: asking for the format asks for them.
    const bool inclusive = options.inclusive || (options.format == "callgrind" && options.policy != "timing");
    if (inclusive && options.policy == "timing")
        throw CLI::ValidationError("--inclusive counts instructions: give --policy counting or full");
    if (options.policy == "counting")
        return inclusive ? profile_with(opscope::InclusiveCountingProfiler{}, file, limits, options)
                         : profile_with(opscope::CountingProfiler{}, file, limits, options);
    const std::uint64_t fast_start = options.fast_start ? opscope::TimeSampler::kFastStartNs : 0;
    if (options.policy == "timing")
        return profile_with(opscope::TimingProfiler{options.sample_rate, fast_start}, file, limits, options);
    const std::size_t timeline = opscope::CallTimeline::kDefaultCapacity;
    return inclusive ? profile_with(opscope::InclusiveFullProfiler{options.sample_rate, timeline, fast_start}, file, limits, options)
                     : profile_with(opscope::FullProfiler{options.sample_rate, timeline, fast_start}, file, limits, options);
}

// --format and the export options, shared by profile, export and merge.
void add_format_options(CLI::App& command, std::string& format, opscope::ReportOptions& report) {
    std::vector<std::string> format_names;
    for (const opscope::ReportFormat& f : opscope::report_formats()) format_names.emplace_back(f.name);
    command.add_option("--format", format, "Report format")->check(CLI::IsMember(format_names))->capture_default_str();
    // A string option, not a transformer to the enum: CLI11 prints an enum's values in --help and in its errors,
    // and a std::uint8_t enum prints as a raw byte (a NUL for cpu).
    command.add_option_function<std::string>("--metric", [&report](const std::string& metric) {
            report.pprof.metric = metric == "instructions" ? opscope::PprofOptions::Metric::instructions
                                                           : opscope::PprofOptions::Metric::cpu;
        }, "pprof: cpu (sampled stacks) or instructions (exact counts); default: cpu")
        ->check(CLI::IsMember({"cpu", "instructions"}));
    // One --weight for both formats, with each format's own default (folded: samples, speedscope: time).
    command.add_option_function<std::string>("--weight", [&report](const std::string& weight) {
            const bool by_time = weight == "time";
            report.folded.weight = by_time ? opscope::FoldedOptions::Weight::time : opscope::FoldedOptions::Weight::samples;
            report.speedscope.weight = by_time ? opscope::SpeedscopeOptions::Weight::time : opscope::SpeedscopeOptions::Weight::samples;
        }, "folded, speedscope: count samples or sampled nanoseconds (time); default: samples for folded, time for speedscope")
        ->check(CLI::IsMember({"samples", "time"}));
    command.add_flag_callback("--no-lines", [&report] { report.folded.lines = false; },
                              "folded: frames without their (file:line)");
}

// Writes a report of a saved or merged profile to OUTPUT, or standard output (binary only when it is not a
// terminal).
void write_report(const opscope::Profile& profile, const std::string& format_name, const opscope::ReportOptions& options,
                  const std::string& output) {
    const opscope::ReportFormat& format = *opscope::find_report_format(format_name);
    if (format.binary && output.empty() && isatty(STDOUT_FILENO))
        throw CLI::ValidationError(fmt::format("--format {} writes binary data: give -o FILE or redirect the output", format.name));
    if (output.empty()) write_report_out(format, profile, options);
    else write_report_file(output, format, profile, options);
}

opscope::Profile read_profile(const std::string& path) {
    try {
        return opscope::parse_json(opscope::read_text_file(path, opscope::kMaxProfileFileBytes));
    } catch (const opscope::ProfileFormatError& e) {
        throw opscope::InputError(fmt::format("'{}' is not an opscope profile: {}{}", path,
                                              e.path().empty() ? std::string() : "at " + e.path() + ": ", e.what()));
    }
}

// opscope export PROFILE.json: a saved profile in any format.
struct ExportOptions {
    std::vector<std::string> inputs;
    std::string format = "json";
    std::string output;
    opscope::ReportOptions report;
};

int export_profile(const ExportOptions& options) {
    write_report(read_profile(options.inputs.front()), options.format, options.report, options.output);
    return ok;
}

// opscope merge A.json B.json ...: the profiles of the runs one after another (opscope::merge), in any format.
int merge_profiles(const ExportOptions& options) {
    std::vector<opscope::Profile> profiles;
    for (const std::string& input : options.inputs) profiles.push_back(read_profile(input));
    opscope::Profile merged;
    try {
        merged = opscope::merge(profiles);
    } catch (const opscope::ProfileFormatError& e) {
        throw opscope::InputError(fmt::format("cannot merge: {}", e.what()));
    }
    write_report(merged, options.format, options.report, options.output);
    return ok;
}

// opscope diff BASE.json NEW.json: every group joined by key (opscope::diff), written as text, JSON,
// differential folded stacks or an HTML page; --fail-if rules exit 1 when one trips (printing which, to standard error).
struct DiffCommandOptions {
    std::string base, next;
    std::string format = "text";
    std::string metric = "instructions";
    std::string output;
    std::string fail_if;
    opscope::DiffOptions report;
};

void add_diff_command(CLI::App& app, CLI::App*& command, DiffCommandOptions& options) {
    command = app.add_subcommand("diff", "Compare two saved profiles (JSON) key by key; --fail-if gates a change");
    command->add_option("BASE", options.base, "The base profile (--format json)")->required();
    command->add_option("NEW", options.next, "The new profile (--format json)")->required();
    command->add_option("--format", options.format,
                        "text, json, folded (flamegraph.pl's differential input) or html (a differential flame graph and "
                        "per-line deltas, self-contained)")
        ->check(CLI::IsMember({"text", "json", "folded", "html"}))
        ->capture_default_str();
    command->add_option("--metric", options.metric, "instructions and calls (exact), samples and time (statistical)")
        ->check(CLI::IsMember({"instructions", "calls", "samples", "time"}))
        ->capture_default_str();
    command->add_option("--top", options.report.top, "text and html: rows per group")->check(CLI::PositiveNumber)->capture_default_str();
    command->add_option("--threshold", options.report.threshold_percent,
                        "Leave out rows whose |delta| is below this percent of the group's base total")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    command->add_option("--fail-if", options.fail_if,
                        "Exit 1 when a rule trips: '[GROUP:KEY ]METRIC(>|<)(+|-)N[%]', comma separated, "
                        "e.g. 'instructions>+2%'");
    command->add_option("-o,--output", options.output, "Write here (default: standard output)");
}

int diff_profiles(const DiffCommandOptions& options) {
    std::vector<opscope::DiffRule> rules;
    if (!options.fail_if.empty()) {
        try {
            rules = opscope::parse_fail_if(options.fail_if);
        } catch (const opscope::DiffRuleError& e) {
            throw CLI::ValidationError(fmt::format("{} (in '{}')", e.what(), options.fail_if));
        }
    }
    const opscope::Profile base = read_profile(options.base), next = read_profile(options.next);
    const opscope::ProfileDiff diff = opscope::diff(base, next);
    opscope::DiffOptions report = options.report;
    report.metric = *opscope::parse_diff_metric(options.metric);
    std::string text;
    try {
        if (options.format == "json") text = opscope::format_diff_json(diff, report);
        else if (options.format == "folded") text = opscope::format_diff_folded(base, next, report.metric);
        else if (options.format == "html") text = opscope::format_diff_html(base, next, report);
        else text = opscope::format_diff_text(diff, report);
    } catch (const std::invalid_argument& e) {
        throw CLI::ValidationError(e.what());
    }
    if (options.output.empty()) {
        std::cout << text;
        std::cout.flush();
    } else {
        write_file(options.output, text);
    }
    std::vector<opscope::TrippedRule> tripped;
    try {
        tripped = opscope::evaluate_fail_if(diff, rules);
    } catch (const opscope::DiffRuleError& e) {
        throw CLI::ValidationError(e.what());
    }
    for (const opscope::TrippedRule& t : tripped) std::cerr << "opscope: --fail-if tripped: " << t.message << '\n';
    return tripped.empty() ? ok : runtime_error;
}

} // namespace

int cli_main(int argc, char** argv) {
    CLI::App app{"opscope: a stack-based bytecode VM with zero-cost profiling policies"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "opscope 0.1.0");

    std::string file, output;
    LimitOptions limits;
    bool print_result = false, assembly = false, no_verify = false;

    CLI::App* run_cmd = app.add_subcommand("run", "Run a program (.ops, .opasm or .opc)");
    run_cmd->add_option("FILE", file, "Program file")->required();
    run_cmd->add_flag("--print-result", print_result, "Print main's result value after the program's output");
    limits.add_to(*run_cmd);

    ProfileOptions profile_options;
    CLI::App* profile_cmd = app.add_subcommand("profile", "Run a program under a profiler policy and report");
    profile_cmd->add_option("FILE", file, "Program file")->required();
    profile_cmd->add_option("--policy", profile_options.policy, "counting (exact counts), timing (+ sampled times), full (+ memory, timeline)")
        ->check(CLI::IsMember({"counting", "timing", "full"}))
        ->capture_default_str();
    add_format_options(*profile_cmd, profile_options.format, profile_options.report);
    profile_cmd->add_option("-o,--output", profile_options.output, "Write the report here (default: after the program's output)");
    profile_cmd->add_option("--top", profile_options.report.top, "Rows per ranked section")->check(CLI::PositiveNumber)
        ->capture_default_str();
    profile_cmd->add_option("--threshold", profile_options.report.threshold_percent,
                            "Hotspots and lines below this percent of instructions are left out")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    profile_cmd->add_option("--hot-loop-min", profile_options.report.hot_loop_min, "Loops with fewer iterations are left out")
        ->capture_default_str();
    profile_cmd->add_flag("--fast-start", profile_options.fast_start,
                          "timing, full: sample the first 50 ms at 5 kHz, so that a short run gets some 250 samples "
                          "(where a timer signal costs tens of microseconds, +25% on a 50 ms run)");
    profile_cmd->add_option("--sample-rate", profile_options.sample_rate, "Timer samples per second (timing, full)")
        ->check(CLI::Range(1.0, 100000.0))
        ->capture_default_str();
    profile_cmd->add_flag("--print-result", profile_options.print_result, "Print main's result value after the program's output");
    profile_cmd->add_flag("--inclusive", profile_options.inclusive,
                          "Also count exact inclusive instructions per function, call edge and call site (counting, "
                          "full; on by itself for --format callgrind): two hooks per call, about +9% on call-heavy code");
    profile_cmd->add_option_function<std::string>("--every", [&profile_options](const std::string& text) {
            profile_options.every = parse_duration(text);
        }, "Continuous profiling: a profile of each interval of this length (500ms, 0.2s, 10s, 2m), taken while the "
           "program runs, one file each in --out-dir, named by sequence and start time (UTC), in JSON unless --format "
           "says otherwise; the JSON files merge into the whole run")
        ->type_name("DURATION");
    profile_cmd->add_option("--out-dir", profile_options.out_dir, "With --every: the directory for the interval files "
                                                                 "(created if missing)")
        ->type_name("DIR");
    limits.add_to(*profile_cmd);

    ExportOptions export_options, merge_options;
    CLI::App* export_cmd = app.add_subcommand("export", "Write a saved profile (JSON) in another format");
    export_cmd->add_option("PROFILE", export_options.inputs, "Profile written by --format json")->required()->expected(1);
    add_format_options(*export_cmd, export_options.format, export_options.report);
    export_cmd->add_option("-o,--output", export_options.output, "Write here (default: standard output)");
    CLI::App* merge_cmd = app.add_subcommand("merge", "Merge saved profiles (JSON) of runs one after another");
    merge_cmd->add_option("PROFILES", merge_options.inputs, "Profiles written by --format json")->required();
    add_format_options(*merge_cmd, merge_options.format, merge_options.report);
    merge_cmd->add_option("-o,--output", merge_options.output, "Write here (default: standard output)");

    DiffCommandOptions diff_options;
    CLI::App* diff_cmd = nullptr;
    add_diff_command(app, diff_cmd, diff_options);

    CLI::App* asm_cmd = app.add_subcommand("asm", "Assemble .opasm into bytecode (.opc)");
    asm_cmd->add_option("FILE", file, "Assembly file")->required();
    asm_cmd->add_option("-o,--output", output, "Output bytecode file")->required();
    asm_cmd->add_flag("--no-verify", no_verify, "Skip verification (for programs calling host natives)");

    CLI::App* disasm_cmd = app.add_subcommand("disasm", "Print the assembly of a program (.opc, .opasm or .ops)");
    disasm_cmd->add_option("FILE", file, "Program file")->required();
    disasm_cmd->add_option("-o,--output", output, "Write the assembly here instead of standard output");

    CLI::App* compile_cmd = app.add_subcommand("compile", "Compile .ops source to bytecode or assembly");
    compile_cmd->add_option("FILE", file, "Source file")->required();
    compile_cmd->add_option("-o,--output", output, "Output file (bytecode, or assembly with -S)");
    compile_cmd->add_flag("-S", assembly, "Emit assembly (with .line debug info) instead of bytecode");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? ok : usage_error;
    }

    try {
        if (*run_cmd) return run(file, limits, print_result);
        if (*profile_cmd) {
            // Interval files are for merging and for backends: JSON unless asked otherwise (text does not merge).
            if (profile_options.every.count() && profile_cmd->get_option("--format")->count() == 0) profile_options.format = "json";
            return profile(file, limits, profile_options);
        }
        if (*export_cmd) return export_profile(export_options);
        if (*merge_cmd) return merge_profiles(merge_options);
        if (*diff_cmd) return diff_profiles(diff_options);
        if (*asm_cmd) {
            opscope::Program program = opscope::assemble(opscope::read_text_file(file), file);
            if (!no_verify) program = verified(std::move(program));
            const auto bytes = opscope::encode_bytecode(program);
            write_file(output, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
        } else if (*disasm_cmd) {
            const std::string text = opscope::disassemble(opscope::read_program(file, kCliNatives));
            if (output.empty()) std::cout << text;
            else write_file(output, text);
        } else if (*compile_cmd) {
            if (!file.ends_with(".ops")) throw opscope::InputError(fmt::format("'{}' is not a .ops source file", file));
            const opscope::Program program = verified(opscope::read_program(file, kCliNatives));
            if (assembly) {
                const std::string text = opscope::disassemble(program);
                if (output.empty()) std::cout << text;
                else write_file(output, text);
            } else {
                if (output.empty()) throw CLI::RequiredError("-o (or -S)");
                const auto bytes = opscope::encode_bytecode(program);
                write_file(output, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
            }
        }
    } catch (const opscope::ProgramError& e) {
        std::cout.flush();
        std::cerr << e.what() << '\n';
        return bad_program;
    } catch (const opscope::RuntimeError& e) {  // load() out of memory (run()'s errors are caught there)
        std::cout.flush();
        std::cerr << e.format() << '\n';
        return runtime_error;
    } catch (const opscope::InputError& e) {
        std::cerr << "opscope: error: " << e.what() << '\n';
        return io_error;
    } catch (const CLI::Error& e) {
        std::cerr << "opscope: error: " << e.what() << '\n';
        return usage_error;
    } catch (const opscope::MissingGroupError& e) {  // the format needs what the policy did not record
        std::cout.flush();
        std::cerr << "opscope: error: " << e.what() << '\n';
        return usage_error;
    } catch (const std::bad_alloc&) {  // memory refused outside a run (compiling, reporting): not an abort
        std::cout.flush();
        std::cerr << "opscope: error: out of memory (the input is too large for the memory available)\n";
        return runtime_error;
    }
    return ok;
}

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    std::signal(SIGXFSZ, SIG_IGN);  // past `ulimit -f`, a write fails with EFBIG (handled) instead of killing us
    const int code = cli_main(argc, argv);
    // A listing, report or program output that did not reach standard output (a full disk, /dev/full) is an
    // I/O error, not a success; an earlier error's exit code is kept.
    errno = 0;
    std::cout.flush();
    if (!std::cout) {
        const int error = errno;
        std::cerr << "opscope: error: cannot write to standard output" << (error ? std::string(": ") + std::strerror(error) : "")
                  << '\n';
        return code == ok ? io_error : code;
    }
    return code;
}
