// Embedding opscope in a server: worker threads, each with its own VM (a VM is used by one thread at a
// time), handle requests by running a script; a profiler thread cuts a profile of every interval from all
// of them while they run (Vm::snapshot) and merges it, as a continuous-profiling agent would before sending
// it to its backend. Every request's instructions are in exactly one interval.
//
//   opscope_server_example [WORKERS] [REQUESTS_PER_WORKER] [INTERVAL_MS]      (defaults 4, 200, 20)
#include <opscope/opscope.hpp>
#include <opscope/policies/full.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

namespace {

// A request handler: some work, a call to the host that blocks (I/O), more work.
constexpr const char* kHandler = R"(
fn checksum(n) {
    let sum = 0;
    let i = 0;
    while (i < n) { sum = (sum * 31 + i) % 1000003; i = i + 1; }
    return sum;
}
let request = next_request();
let before = checksum(2000 + request % 7 * 500);
fetch(request);
return before + checksum(1000);
)";

struct Worker {
    opscope::Vm<opscope::FullProfiler> vm{opscope::Limits{.fuel = 100'000'000}};
    std::int64_t handled = 0;        // requests
    std::uint64_t instructions = 0;  // of the requests it handled: fuel_used() is exact
    std::thread thread;
};

} // namespace

int main(int argc, char** argv) {
    const int workers = argc > 1 ? std::atoi(argv[1]) : 4;
    const int requests = argc > 2 ? std::atoi(argv[2]) : 200;
    const auto interval = std::chrono::milliseconds(argc > 3 ? std::atoi(argv[3]) : 20);
    if (workers < 1 || requests < 1 || interval.count() < 1) {
        std::cerr << "usage: opscope_server_example [WORKERS] [REQUESTS_PER_WORKER] [INTERVAL_MS]\n";
        return 2;
    }

    std::vector<Worker> pool(static_cast<std::size_t>(workers));
    const opscope::Program handler =
        opscope::compile_source(kHandler, "handler.ops", {{"next_request", 0}, {"fetch", 1}});  // natives it calls
    for (Worker& w : pool) {
        w.vm.register_native("next_request", 0, [&w](opscope::Machine&, std::span<const opscope::Value>) {
            return opscope::Value::integer(w.handled);
        });
        w.vm.register_native("fetch", 1, [](opscope::Machine&, std::span<const opscope::Value>) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));  // the sampler's signal may interrupt it
            return opscope::Value::nil();
        });
        w.vm.load(handler);
    }

    // The profiler thread: every interval, one snapshot of each worker's VM, merged.
    std::vector<opscope::Profile> intervals;
    std::mutex stop_mutex;
    std::condition_variable stop_signal;
    bool stopping = false;
    std::thread profiler([&] {
        std::unique_lock lock(stop_mutex);
        while (!stop_signal.wait_for(lock, interval, [&] { return stopping; })) {
            std::vector<opscope::Profile> parts;
            for (Worker& w : pool) parts.push_back(w.vm.snapshot());  // safe while the worker runs
            intervals.push_back(opscope::merge(parts));
        }
    });

    for (Worker& w : pool) {
        w.thread = std::thread([&w, requests] {
            for (; w.handled < requests; ++w.handled) {
                w.vm.run();
                w.instructions += w.vm.fuel_used();
            }
        });
    }
    for (Worker& w : pool) w.thread.join();
    {
        const std::lock_guard lock(stop_mutex);
        stopping = true;
    }
    stop_signal.notify_one();
    profiler.join();
    std::vector<opscope::Profile> last;  // what ran since the profiler's last cut
    for (Worker& w : pool) last.push_back(w.vm.snapshot());
    intervals.push_back(opscope::merge(last));

    std::uint64_t handled = 0, in_intervals = 0, samples = 0;
    for (const Worker& w : pool) handled += w.instructions;
    for (const opscope::Profile& p : intervals) {
        in_intervals += p.summary->total_instructions;
        if (p.timing) samples += p.timing->samples;
    }
    std::cout << workers << " workers, " << workers * requests << " requests, " << intervals.size() << " intervals\n"
              << "instructions: " << handled << " run, " << in_intervals << " in the intervals\n"
              << "samples: " << samples << "\n";
    return handled == in_intervals ? 0 : 1;
}
