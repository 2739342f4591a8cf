// Profile: what a profiler measured, as plain data independent of the policy and of the VM's types. A
// policy's snapshot() produces one; reports (report.hpp) only ever read one; saved profiles merge.
//
// Conventions:
// - Every metric group is a std::optional: absent means "not measured", never zeros. Each group states
//   whether its counts are exact or statistical (`accuracy`); groups that can carry times say whether
//   they were measured, and how, in `time_accuracy` — when it is absent every entry's time is absent.
// - Lists are sets keyed by identity (opcode name; function + offset; line; caller + callee; ...). In
//   canonical form, which merge() and parse_json() return and snapshots should produce, each list is
//   sorted by its key with no duplicate keys (see canonicalize()). The one sequence is the timeline's
//   events: their order is the data, so canonical form keeps it.
// - Times are nanoseconds, sizes are bytes; lines are 1-based and 0 when unknown.
// - Fields added after the first release (the sample counts) have default member initializers, so
//   positional aggregate initializations written before them stay complete.
#pragma once

#include <opscope/time_histogram.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace opscope {

// Exact: every event was counted or timed. Statistical: estimated from samples.
enum class Accuracy : std::uint8_t { exact, statistical };
std::string_view to_string(Accuracy accuracy);  // "exact", "statistical"

struct Summary {
    Accuracy accuracy = Accuracy::exact;
    std::uint64_t total_instructions = 0;
    std::optional<std::uint64_t> unique_instructions;  // distinct (function, offset) executed
    std::optional<std::uint64_t> wall_time_ns;
    std::optional<std::uint64_t> max_call_depth;  // `main` alone = 1
    std::optional<std::uint64_t> start_unix_ns;   // when the run (or the first merged run) began, Unix time

    std::optional<double> instructions_per_second() const;  // needs a non-zero wall time
    bool operator==(const Summary&) const = default;
};

// How times were measured and what measuring cost.
struct TimingInfo {
    std::string method;                           // e.g. "rdtsc, 1 in 1024 instructions with jitter"
    std::uint64_t samples = 0;                    // measurements taken
    std::optional<std::uint64_t> overhead_ns;     // the profiler's own cost during the run, measured
    std::optional<std::uint64_t> sample_rate_hz;  // samples per second, when sampling at a set rate
    std::uint64_t truncated_stacks = 0;           // samples whose call stack was cut at the walk limit
    // Kish's effective sample size of the weighted samples, (sum of weights)^2 / (sum of squared weights):
    // a sampler whose samples stand for unequal slices of time (a faster rate at the start of a run) has
    // the precision of this many equal samples. Absent: the samples are equally weighted (use `samples`).
    std::optional<double> effective_samples = std::nullopt;

    bool operator==(const TimingInfo&) const = default;
};

struct OpcodeStats {
    std::string name;  // the mnemonic, never a number
    std::uint64_t count = 0;
    std::optional<std::uint64_t> time_ns;               // total time attributed to the opcode
    // Per-execution durations, for a policy that times executions one by one. The built-in sampler leaves
    // it empty: a timer sample says where time went, not how long one execution took.
    std::optional<TimeHistogram> time_distribution;
    std::optional<std::uint64_t> samples = std::nullopt;  // timer samples behind time_ns (see SampledShare)

    // time_ns / count, or the distribution's mean when there is no count.
    std::optional<double> mean_ns() const;
    bool operator==(const OpcodeStats&) const = default;
};
struct OpcodeGroup {
    Accuracy accuracy = Accuracy::exact;
    std::optional<Accuracy> time_accuracy;
    std::vector<OpcodeStats> entries;  // key: name
    bool operator==(const OpcodeGroup&) const = default;
};

// One executed instruction; the JSON `hotspots` are these ranked by count.
struct InstructionStats {
    std::string function;
    std::uint32_t offset = 0;
    std::uint32_t line = 0;
    std::string opcode;
    std::uint64_t count = 0;
    bool operator==(const InstructionStats&) const = default;
};
struct InstructionGroup {
    Accuracy accuracy = Accuracy::exact;
    std::vector<InstructionStats> entries;  // key: (function, offset)
    bool operator==(const InstructionGroup&) const = default;
};

struct LineStats {
    std::uint32_t line = 0;
    std::uint64_t count = 0;  // instructions executed on the line
    std::optional<std::uint64_t> time_ns;
    std::optional<std::string> source_text;  // the line's text, when the source is known
    std::optional<std::uint64_t> samples = std::nullopt;  // timer samples behind time_ns (see SampledShare)
    bool operator==(const LineStats&) const = default;
};
struct LineGroup {
    Accuracy accuracy = Accuracy::exact;
    std::optional<Accuracy> time_accuracy;
    std::vector<LineStats> entries;  // key: line
    bool operator==(const LineGroup&) const = default;
};

// A bytecode function, or a host function (`native`), whose self and total time are both the time spent
// in the native.
struct FunctionStats {
    std::string name;
    std::uint64_t calls = 0;
    std::optional<std::uint64_t> self_time_ns;   // excluding callees
    std::optional<std::uint64_t> total_time_ns;  // inclusive of callees
    bool native = false;
    std::optional<std::string> file;    // the source file it is defined in; absent for natives and when unknown
    std::optional<std::uint32_t> line;  // its first line; absent when unknown
    // Exact: instructions executed by its activations and their callees, an activation inside another of
    // the same function counted once (as callgrind does), so main's equals the total.
    std::optional<std::uint64_t> inclusive_instructions;
    std::optional<std::uint64_t> self_samples = std::nullopt;   // timer samples behind self_time_ns (see SampledShare)
    std::optional<std::uint64_t> total_samples = std::nullopt;  // timer samples behind total_time_ns
    bool operator==(const FunctionStats&) const = default;
};
struct FunctionGroup {
    Accuracy accuracy = Accuracy::exact;
    std::optional<Accuracy> time_accuracy;
    std::vector<FunctionStats> entries;  // key: name
    bool operator==(const FunctionGroup&) const = default;
};

struct FrameStats {
    Accuracy accuracy = Accuracy::exact;
    std::uint64_t pushed = 0;
    std::uint64_t popped = 0;
    std::uint64_t max_depth = 0;
    bool operator==(const FrameStats&) const = default;
};

// The operand stack.
struct StackStats {
    Accuracy accuracy = Accuracy::exact;
    std::uint64_t pushes = 0;
    std::uint64_t pops = 0;
    std::uint64_t max_depth = 0;
    bool operator==(const StackStats&) const = default;
};

// A conditional jump.
struct BranchStats {
    std::string function;
    std::uint32_t offset = 0;
    std::uint32_t line = 0;
    std::uint64_t executed = 0;
    std::uint64_t taken = 0;

    std::optional<double> taken_rate() const;  // taken / executed, in [0, 1]
    bool operator==(const BranchStats&) const = default;
};
struct BranchGroup {
    Accuracy accuracy = Accuracy::exact;
    std::vector<BranchStats> entries;  // key: (function, offset)
    bool operator==(const BranchGroup&) const = default;
};

// A loop: a backward jump at end_offset to start_offset; iterations = times the back edge was taken.
struct LoopStats {
    std::string function;
    std::uint32_t start_offset = 0;
    std::uint32_t end_offset = 0;
    std::uint32_t line = 0;
    std::uint64_t iterations = 0;
    std::optional<std::uint64_t> time_ns;
    std::optional<std::uint64_t> samples = std::nullopt;  // timer samples behind time_ns (see SampledShare)

    std::optional<double> time_per_iteration_ns() const;
    bool operator==(const LoopStats&) const = default;
};
struct LoopGroup {
    Accuracy accuracy = Accuracy::exact;
    std::optional<Accuracy> time_accuracy;
    std::vector<LoopStats> entries;  // key: (function, start_offset, end_offset)
    bool operator==(const LoopGroup&) const = default;
};

// caller -> callee; the caller is "" for the host's call of `main`.
// One `call` instruction of an edge: where it is, how often it ran, what its calls cost.
struct CallSite {
    std::uint32_t offset = 0;  // of the call instruction in the caller
    std::uint32_t line = 0;
    std::uint64_t calls = 0;
    std::optional<std::uint64_t> inclusive_instructions;  // exact: executed by the calls made here
    bool operator==(const CallSite&) const = default;
};
struct CallEdge {
    std::string caller;
    std::string callee;
    std::uint64_t calls = 0;
    std::optional<std::uint64_t> time_ns;  // inclusive time of the callee under this caller
    // Exact: what its calls executed, each call its own (a recursive edge can exceed the total, as callgrind's
    // calls= do); the sum of its sites'; the host's call of main (no site) has the total.
    std::optional<std::uint64_t> inclusive_instructions;
    std::vector<CallSite> sites;  // key: offset; empty when unknown (and for the host's call of main)
    std::optional<std::uint64_t> samples = std::nullopt;  // timer samples behind time_ns (see SampledShare)
    bool operator==(const CallEdge&) const = default;
};
struct CallGraph {
    Accuracy accuracy = Accuracy::exact;
    std::optional<Accuracy> time_accuracy;
    std::vector<CallEdge> entries;  // key: (caller, callee)
    bool operator==(const CallGraph&) const = default;
};

// `second` executed right after `first` (a bigram of the program's own instructions).
struct OpcodePair {
    std::string first;
    std::string second;
    std::uint64_t count = 0;
    bool operator==(const OpcodePair&) const = default;
};
struct OpcodePairGroup {
    Accuracy accuracy = Accuracy::exact;
    std::vector<OpcodePair> entries;  // key: (first, second)
    bool operator==(const OpcodePairGroup&) const = default;
};

struct TypeMemory {
    std::string type;  // "string", "array", ...
    std::uint64_t allocations = 0;
    std::uint64_t bytes = 0;
    bool operator==(const TypeMemory&) const = default;
};
struct MemoryStats {
    Accuracy accuracy = Accuracy::exact;
    std::uint64_t allocations = 0;
    std::uint64_t allocated_bytes = 0;
    std::uint64_t frees = 0;
    std::uint64_t freed_bytes = 0;  // reclaimed by the GC
    std::uint64_t peak_bytes = 0;
    std::uint64_t live_bytes = 0;   // at the end of the run
    std::uint64_t gc_cycles = 0;
    std::optional<std::uint64_t> gc_time_ns;
    std::vector<TypeMemory> by_type;  // key: type
    bool operator==(const MemoryStats&) const = default;
};

// Sampled call stacks, for flame graphs. A frame is a function name; a stack cut at the walk limit keeps
// its root and its top, with the frame kTruncatedFrame between them. Either every entry has a time or none
// has (canonical form drops the times of a group where some entry lacks one); times have the group's
// accuracy.
inline constexpr std::string_view kTruncatedFrame = "[truncated]";
struct StackSample {
    std::vector<std::string> frames;  // root (main) first, leaf last
    std::uint64_t samples = 0;
    std::optional<std::uint64_t> time_ns;
    // Per frame when known, else empty: the leaf's line is the sampled instruction's, a caller's its call's;
    // 0 for a native (its caller's line is the call's) and for kTruncatedFrame. Part of the key.
    std::vector<std::uint32_t> lines;
    bool operator==(const StackSample&) const = default;
};
struct StackSampleGroup {
    Accuracy accuracy = Accuracy::statistical;
    std::vector<StackSample> entries;  // key: (frames, lines)
    bool operator==(const StackSampleGroup&) const = default;
};

// A bounded ring buffer of call enters and exits: the newest `capacity` events of a run.
struct TimelineEvent {
    std::uint64_t time_ns = 0;  // since the run began
    enum class Kind : std::uint8_t { enter, exit } kind = Kind::enter;
    std::string function;
    std::uint32_t depth = 0;  // frames live after an enter / before an exit; main = 1
    // The first event recorded after a gap: the events between the previous one (in the sequence) and this
    // one were not recorded. True for the first event of each window (a run's or a recording's first event
    // included) and for the first of the exits recorded at a run's end when its window had closed. False
    // for the first kept event when the ring dropped older ones (`dropped` says so), unless it began a window.
    bool window_start = false;
    bool operator==(const TimelineEvent&) const = default;
};
std::string_view to_string(TimelineEvent::Kind kind);  // "enter", "exit"
struct Timeline {
    Accuracy time_accuracy = Accuracy::statistical;
    std::uint64_t capacity = 0;
    std::uint64_t recorded = 0;  // events recorded (all that happened while recording, but for skipped)
    std::uint64_t dropped = 0;   // recorded - events.size(): older events overwritten
    std::vector<TimelineEvent> events;  // oldest first; a sequence, not a set
    std::uint64_t window = 0;    // events recorded in a row between gaps; 0: every event (no gaps)
    std::uint64_t skipped = 0;   // events that happened while recording but fell in a gap
    // Set when the profile was built for a report that shows only the timeline's summary (text, HTML:
    // CallTimeline::set_events_in_profile(false)): `events` then holds the oldest and the newest kept event
    // only, and `dropped` still counts those the ring overwrote. The writers that read the events (JSON,
    // Chrome trace, speedscope) and merge refuse such a profile.
    bool events_left_out = false;
    std::uint64_t kept() const { return recorded - dropped; }  // events kept, also when left out
    bool operator==(const Timeline&) const = default;
};

struct Profile {
    std::string policy;       // "counting", "timing", "full", or a user policy's name
    std::string source_file;  // empty when unknown
    bool partial = false;     // the run ended in a runtime error; the data covers what ran
    std::string error;        // that error's message

    std::optional<Summary> summary;
    std::optional<TimingInfo> timing;
    std::optional<OpcodeGroup> opcodes;
    std::optional<InstructionGroup> instructions;
    std::optional<LineGroup> lines;
    std::optional<FunctionGroup> functions;
    std::optional<FrameStats> frames;
    std::optional<StackStats> stack;
    std::optional<BranchGroup> branches;
    std::optional<LoopGroup> loops;
    std::optional<CallGraph> call_graph;
    std::optional<OpcodePairGroup> opcode_pairs;
    std::optional<MemoryStats> memory;
    std::optional<StackSampleGroup> call_stacks;
    std::optional<Timeline> timeline;

    bool operator==(const Profile&) const = default;
};

// A sampled time as a share of the recorded wall time, with how sure it is. The share is the figure's time
// over the summary's wall time; its 95% interval is the Wilson score interval for a binomial proportion
// (it stays inside [0, 1] and keeps its coverage for small counts and shares near 0 or 1, where the normal
// approximation p ± 1.96·sqrt(p(1-p)/n) does not), taken with n = the effective sample size
// (TimingInfo::effective_samples): with weights independent of where a sample lands, the weighted share's
// variance is p(1-p)/n_eff. The time interval is the share interval times the wall time.
struct SampledShare {
    std::uint64_t samples = 0;  // behind the figure
    double share = 0;           // of the recorded wall time, in [0, 1]
    double low = 0, high = 0;   // its 95% interval
    double time_low_ns = 0, time_high_ns = 0;
    // Enough to mean anything: at least kMeaningfulSamples samples, and an interval no wider than the share
    // itself. Reports grey or hide the others.
    bool meaningful = false;
};
inline constexpr std::uint64_t kMeaningfulSamples = 10;
inline constexpr double kIntervalZ = 1.959963984540054;  // the standard normal's 97.5th percentile

// The Wilson score interval of a proportion `share` observed in `n` (possibly fractional, effective) trials,
// at the normal quantile z; [0, 1] when n is not positive.
std::pair<double, double> wilson_interval(double share, double n, double z = kIntervalZ);
// The profile's effective sample size: the timing's effective_samples, else its samples; empty without timing.
std::optional<double> effective_samples(const Profile& profile);
// The share and interval of a sampled time (`time_ns` of an entry that `samples` samples landed in); empty when
// either is unknown, or the profile has no timing or no non-zero wall time.
std::optional<SampledShare> sampled_share(const Profile& profile, std::optional<std::uint64_t> time_ns,
                                          std::optional<std::uint64_t> samples);

// The instruction total that percentages of instructions refer to: the summary's, else the sum of the
// opcode counts; empty when neither was measured.
std::optional<std::uint64_t> total_instructions(const Profile& profile);

// Sorts every list by its key and combines entries with equal keys (as merge() would); keeps the order of
// the timeline's events. Throws ProfileFormatError (report.hpp) as merge() does.
void canonicalize(Profile& profile);

// The profile of the runs one after another, in canonical form. Counts, times and histograms add; maxima
// (max depths, peak bytes) take the max; entries combine by key. A group or field is present only if it
// is present in every input (a value known for some runs only would understate the whole); accuracy is
// statistical if any input's is. Names (policy, timing method, source file) and errors are joined without
// repeats; `partial` is true if any input is. unique_instructions is recounted from the merged
// instructions. A sample rate survives only if equal in both; truncated stacks add; a native function
// stays native. Timelines are laid end to end: the second's events follow the first's, shifted by the
// first run's summary wall time when both runs know theirs, else by the first's last event time (a mix
// of the two gives no timeline); capacity takes the max, recorded and dropped add. Associative; merge of
// one profile is its canonical form, of none an empty Profile. A count or time whose sum would pass
// 2^64 - 1 is refused, never wrapped: ProfileFormatError (report.hpp) whose path() is the field's JSON
// Pointer ("/summary/total_instructions") or, for a list entry, the list's ("/opcodes"), with the entry's
// key and field in the message.
Profile merge(const Profile& first, const Profile& second);
Profile merge(std::span<const Profile> profiles);

} // namespace opscope
