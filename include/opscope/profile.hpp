// Profile: what a profiler measured, as plain data independent of the policy and of the VM's types. A
// policy's snapshot() produces one; reports (report.hpp) only ever read one; saved profiles merge.
//
// Conventions:
// - Every metric group is a std::optional: absent means "not measured", never zeros. Each group states
//   whether its counts are exact or statistical (`accuracy`); groups that can carry times say whether
//   they were measured, and how, in `time_accuracy` — when it is absent every entry's time is absent.
// - Lists are sets keyed by identity (opcode name; function + offset; line; caller + callee; ...). In
//   canonical form, which merge() and parse_json() return and snapshots should produce, each list is
//   sorted by its key with no duplicate keys (see canonicalize()).
// - Times are nanoseconds, sizes are bytes; lines are 1-based and 0 when unknown.
#pragma once

#include "opscope/time_histogram.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

    std::optional<double> instructions_per_second() const;  // needs a non-zero wall time
    bool operator==(const Summary&) const = default;
};

// How times were measured and what measuring cost.
struct TimingInfo {
    std::string method;                      // e.g. "rdtsc, 1 in 1024 instructions with jitter"
    std::uint64_t samples = 0;               // measurements taken
    std::optional<std::uint64_t> overhead_ns;  // the profiler's own cost during the run, measured

    bool operator==(const TimingInfo&) const = default;
};

struct OpcodeStats {
    std::string name;  // the mnemonic, never a number
    std::uint64_t count = 0;
    std::optional<std::uint64_t> time_ns;               // total time attributed to the opcode
    std::optional<TimeHistogram> time_distribution;     // per-instruction durations (samples)

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
    bool operator==(const LineStats&) const = default;
};
struct LineGroup {
    Accuracy accuracy = Accuracy::exact;
    std::optional<Accuracy> time_accuracy;
    std::vector<LineStats> entries;  // key: line
    bool operator==(const LineGroup&) const = default;
};

struct FunctionStats {
    std::string name;
    std::uint64_t calls = 0;
    std::optional<std::uint64_t> self_time_ns;   // excluding callees
    std::optional<std::uint64_t> total_time_ns;  // inclusive of callees
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
struct CallEdge {
    std::string caller;
    std::string callee;
    std::uint64_t calls = 0;
    std::optional<std::uint64_t> time_ns;  // inclusive time of the callee under this caller
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

    bool operator==(const Profile&) const = default;
};

// The instruction total that percentages of instructions refer to: the summary's, else the sum of the
// opcode counts; empty when neither was measured.
std::optional<std::uint64_t> total_instructions(const Profile& profile);

// Sorts every list by its key and combines entries with equal keys (as merge() would).
void canonicalize(Profile& profile);

// The profile of the runs one after another, in canonical form. Counts, times and histograms add; maxima
// (max depths, peak bytes) take the max; entries combine by key. A group or field is present only if it
// is present in every input (a value known for some runs only would understate the whole); accuracy is
// statistical if any input's is. Names (policy, timing method, source file) and errors are joined without
// repeats; `partial` is true if any input is. unique_instructions is recounted from the merged
// instructions. Associative; merge of one profile is its canonical form, of none an empty Profile.
Profile merge(const Profile& first, const Profile& second);
Profile merge(std::span<const Profile> profiles);

} // namespace opscope
