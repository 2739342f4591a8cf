// The public API in one include: values and programs (assemble, compile, load bytecode, verify), the VM
// template and its limits and errors, the hook points, the ProfilerPolicy concept and Compose, the built-in
// policies, and the Profile with its reports. Each part is also its own <opscope/...> header.
//
//   opscope::Vm<opscope::NullProfiler> vm;       // or any profiler policy
//   vm.register_native("twice", 1, ...);          // before load
//   vm.load(opscope::assemble(text, "prog.opasm"));
//   opscope::Value result = vm.run();            // throws opscope::RuntimeError
#pragma once

#include <opscope/compiler.hpp>
#include <opscope/diff.hpp>
#include <opscope/errors.hpp>
#include <opscope/hooks.hpp>
#include <opscope/heap.hpp>
#include <opscope/interpreter.hpp>
#include <opscope/linked.hpp>
#include <opscope/loader.hpp>
#include <opscope/machine.hpp>
#include <opscope/opcodes.hpp>
#include <opscope/policies/counting.hpp>
#include <opscope/policies/full.hpp>
#include <opscope/policies/memory.hpp>
#include <opscope/policies/null.hpp>
#include <opscope/policies/sampler.hpp>
#include <opscope/policies/timeline.hpp>
#include <opscope/policies/timing.hpp>
#include <opscope/policy.hpp>
#include <opscope/profile.hpp>
#include <opscope/program.hpp>
#include <opscope/report.hpp>
#include <opscope/time_histogram.hpp>
#include <opscope/value.hpp>
#include <opscope/verifier.hpp>
