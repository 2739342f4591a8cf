// A user-defined profiler policy, composed with a built-in one. CallTimer times every bytecode function
// exactly (self and inclusive) by reading a clock at each call and return; CountingProfiler gives the
// counts. The policy is any class: it declares the hooks it needs (opscope/hooks.hpp), optionally the
// lifecycle (reset/start/stop, profile_into) and a name; opscope::ProfilerPolicy checks their signatures.
#include <opscope/opscope.hpp>
#include <opscope/report.hpp>

#include <opscope/policies/counting.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <string_view>
#include <vector>

// Two clock reads per call: cheap for functions that do real work, heavy for tiny ones (TimingProfiler
// samples instead). It declares no start/stop, so it never pauses; a new program starts it afresh.
class CallTimer {
public:
    static constexpr std::string_view name = "call-timer";
    void on_load(const opscope::Machine& m) {  // a new program: size the table, off the hot path
        totals_.assign(m.linked().functions().size(), Total{});
    }
    void on_call(const opscope::LinkedFunction*, std::size_t, const opscope::LinkedFunction& callee, std::size_t) {
        ++totals_[callee.index].active;
        open_.push_back(Open{callee.index, Clock::now(), {}});
    }
    void on_return(const opscope::LinkedFunction&, std::size_t) { close(Clock::now()); }
    void on_run_end(const opscope::Machine&) { while (!open_.empty()) close(Clock::now()); }  // `halt`, faults
    void reset() { for (Total& t : totals_) t.self = t.inclusive = {}; }
    void profile_into(opscope::Profile& out, const opscope::Machine& m) const {  // into CountingProfiler's list
        if (!out.functions) return;
        out.functions->time_accuracy = opscope::Accuracy::exact;
        for (opscope::FunctionStats& e : out.functions->entries)
            if (const int i = m.program().find_function(e.name); i >= 0) {  // natives have no time here
                e.self_time_ns = static_cast<std::uint64_t>(totals_[static_cast<std::size_t>(i)].self.count());
                e.total_time_ns = static_cast<std::uint64_t>(totals_[static_cast<std::size_t>(i)].inclusive.count());
            }
    }
private:
    using Clock = std::chrono::steady_clock;
    struct Open { std::uint32_t function; Clock::time_point start; std::chrono::nanoseconds callees; };
    struct Total { std::chrono::nanoseconds self{}, inclusive{}; std::uint32_t active = 0; };  // by function
    void close(Clock::time_point now) {  // ends the top frame's call
        const Open call = open_.back();
        open_.pop_back();
        const std::chrono::nanoseconds elapsed = now - call.start;
        if (!open_.empty()) open_.back().callees += elapsed;
        totals_[call.function].self += elapsed - call.callees;
        if (--totals_[call.function].active == 0) totals_[call.function].inclusive += elapsed;  // outermost only
    }
    std::vector<Open> open_;     // the live frames' calls, main first
    std::vector<Total> totals_;
};

static_assert(opscope::ProfilerPolicy<CallTimer>);

int main() {
    const char* source = R"(
fn work(n) {
    let s = 0;
    for (let i = 0; i < n; i = i + 1) { s = s + i; }
    return s;
}
fn fib(n) {
    if (n < 2) { return n; }
    return fib(n - 1) + fib(n - 2);
}
print(work(100000) + fib(15));
)";
    using Profiler = opscope::Compose<opscope::CountingProfiler, CallTimer>;
    opscope::Vm<Profiler> vm;
    try {
        vm.load(opscope::compile_source(source, "timed.ops"));
        vm.run();  // prints 4999950610
    } catch (const opscope::ProgramError& e) {
        std::cerr << e.what() << '\n';
        return 3;
    } catch (const opscope::RuntimeError& e) {
        std::cerr << e.format() << '\n';
        return 1;
    }
    const opscope::Profile profile = vm.profile();
    std::cout << opscope::format_text(profile);

    // The custom data, read back from the Profile: per function, calls (counting) and times (CallTimer).
    // Every nanosecond of main is some function's self time, so the self times add up to main's inclusive.
    std::cout << "\nCallTimer:\n";
    for (const opscope::FunctionStats& f : profile.functions->entries)
        std::cout << f.name << " calls=" << f.calls << " self_ns=" << f.self_time_ns.value_or(0)
                  << " inclusive_ns=" << f.total_time_ns.value_or(0) << '\n';
}
