// The public API in one include: values, programs (assemble, compile, load bytecode), the VM template
// and the built-in profiler policies.
//
//   opscope::Vm<opscope::NullProfiler> vm;       // or any profiler policy
//   vm.register_native("twice", 1, ...);          // before load
//   vm.load(opscope::assemble(text, "prog.opasm"));
//   opscope::Value result = vm.run();            // throws opscope::RuntimeError
#pragma once

#include "vm/compiler.hpp"
#include "vm/errors.hpp"
#include "vm/interpreter.hpp"
#include "vm/loader.hpp"
#include "vm/machine.hpp"
#include "vm/program.hpp"
#include "vm/value.hpp"
#include "policies/null.hpp"
