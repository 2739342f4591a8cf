// Machine: loading programs (verify, link, constants), run set-up and tear-down, and every slow path of the
// interpreter. Nothing here runs per instruction; the hot loop is in interpreter.hpp, the linker in linker.cpp.
#include <opscope/machine.hpp>
#include <opscope/verifier.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

namespace opscope {

Machine::Machine(Limits limits, LinkOptions link_options)
    : limits_(limits), out_(&std::cout), link_options_(link_options) {
    heap_.set_limit(limits_.heap_bytes);  // from the start: a program's constants count against it as it loads
    heap_.set_roots([this](const Heap::RootVisitor& visit) {
        for (const Value* v = stack_base_; v < sp_; ++v) visit(*v);
        for (const Value& v : constants_) visit(v);
        for (const Value& v : loading_constants_) visit(v);
        for (const Value& v : globals_) visit(v);
    });
    register_native("clock", 0, [](Machine&, std::span<const Value>) {
        const auto now = std::chrono::steady_clock::now().time_since_epoch();
        return Value::integer(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
    });
    register_native("sqrt", 1, [](Machine&, std::span<const Value> args) {
        if (!args[0].is_number())
            throw Fault(fmt::format("type error: 'sqrt' needs a number, got {}", type_name(args[0].type)));
        return Value::floating(std::sqrt(args[0].to_double()));
    });
}

Machine::~Machine() = default;

void Machine::entered_twice(std::thread::id holder) {
    if (holder == std::this_thread::get_id())
        throw std::logic_error("opscope: this VM is already running on this thread; a native cannot run or load the VM "
                               "that is calling it");
    throw std::logic_error("opscope: this VM is being run by another thread; a VM is used by one thread at a time");
}

void Machine::register_native(std::string name, int arity, NativeFunction function) {
    if (arity < 0) throw std::invalid_argument(fmt::format("native '{}': negative arity {}", name, arity));
    for (Native& n : natives_)
        if (n.name == name) {
            n = Native{std::move(name), arity, std::move(function)};
            return;
        }
    natives_.push_back(Native{std::move(name), arity, std::move(function)});
}

std::optional<std::int32_t> Machine::native_index(std::string_view name) const {
    for (std::size_t n = 0; n < natives_.size(); ++n)
        if (natives_[n].name == name) return static_cast<std::int32_t>(n);
    return std::nullopt;
}

void Machine::load(Program program) {
    verify(program, [this](std::string_view name) -> std::optional<int> {
        const std::optional<std::int32_t> index = native_index(name);
        return index ? std::optional<int>(natives_[static_cast<std::size_t>(*index)].arity) : std::nullopt;
    });
    // The new program is built beside the loaded one and swapped in whole by moves that cannot throw, so a
    // load that fails leaves the loaded program (if any) as it was, and its policy's tables still match it.
    const auto native_index_of = [this](std::string_view name) { return native_index(name); };
    LinkedProgram linked;
    std::vector<Value> globals;
    try {
        linked = link(program, native_index_of, link_options_);  // refers to `program`'s functions, which move with it
        globals.assign(program.globals.size(), Value::undefined());
        loading_constants_.reserve(program.constants.size());  // a root while it fills: creating one may collect
        for (const Constant& c : program.constants) {
            loading_constants_.push_back(std::visit(
                [this](const auto& k) -> Value {
                    using K = std::decay_t<decltype(k)>;
                    if constexpr (std::is_same_v<K, Nil>) return Value::nil();
                    else if constexpr (std::is_same_v<K, bool>) return Value::boolean(k);
                    else if constexpr (std::is_same_v<K, std::int64_t>) return Value::integer(k);
                    else if constexpr (std::is_same_v<K, double>) return Value::floating(k);
                    else return make_string(k);
                },
                c));
        }
    } catch (const std::exception& e) {
        loading_constants_.clear();
        const bool out_of_memory = dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
        throw RuntimeError(fmt::format("cannot load the program: {}", out_of_memory ? "out of memory" : e.what()), {});
    }
    main_index_ = program.find_function("main");
    program_ = std::move(program);
    linked_ = std::move(linked);
    constants_.swap(loading_constants_);
    loading_constants_.clear();
    globals_ = std::move(globals);
}

std::size_t Machine::depth_reached() const {
    if (!frame_) return 0;
    const Frame* f = frame_ + 1;
    while (f < frames_end_ && f->function) ++f;
    return static_cast<std::size_t>(f - frames_base_);
}

void Machine::forget_depth_reached() const {
    if (!frame_) return;
    for (Frame* f = frame_ + 1; f < frames_end_ && f->function; ++f) f->function = nullptr;
}

std::span<const Frame> Machine::live_frames() const {
    if (!frame_ || run_end_ == RunEnd::returned) return {};
    return {frames_base_, static_cast<std::size_t>(frame_ - frames_base_) + 1};
}

void Machine::set_limits(const Limits& limits) {
    limits_ = limits;
    heap_.set_limit(limits_.heap_bytes);
}

void Machine::set_global(std::string_view name, Value value) {
    for (std::size_t k = 0; k < program_.globals.size(); ++k)
        if (program_.globals[k] == name) {
            globals_[k] = value;
            return;
        }
    throw std::invalid_argument(fmt::format("the program has no global '{}'", name));
}

std::optional<Value> Machine::global(std::string_view name) const {
    for (std::size_t k = 0; k < program_.globals.size(); ++k)
        if (program_.globals[k] == name && globals_[k].type != Type::undefined) return globals_[k];
    return std::nullopt;
}

namespace {

constexpr std::size_t kPage = 4096;

// The first address at or after `allocation` whose offset in its page is `page_offset` (a multiple of 64,
// so aligned for T; the allocation has a page to spare).
template <class T>
T* at_page_offset(T* allocation, std::size_t page_offset) {
    static_assert(64 % alignof(T) == 0);
    const auto start = reinterpret_cast<std::uintptr_t>(allocation);
    std::uintptr_t placed = start - start % kPage + page_offset;
    if (placed < start) placed += kPage;
    return reinterpret_cast<T*>(reinterpret_cast<char*>(allocation) + (placed - start));
}

} // namespace

// Where in its page each stack starts. A load whose address shares its low 12 bits with an earlier store
// still in flight waits for that store (4K aliasing), and the loop loads this object's limits (stack_end_,
// frames_end_, call_limit_ and return_floor_, side by side) at every call, just after storing the new
// frame and its arguments. Stacks that start at a page's first bytes put those stores wherever this object's
// address makes them: a Counting VM allocated 0x330 into its page ran fib 2.5-12% slower than the Null VM
// beside it, and 0-2% slower at most other offsets. So the value stack starts 128 bytes past the limits' page offset and the
// frame stack half a page past that: a call stack reaches the limits' offset only after ~4 KB of values or
// ~2 KB of frames, and the two stacks' tops share page offsets only when one is 2 KB deeper.
std::pair<std::size_t, std::size_t> Machine::stack_page_offsets() const {
    const std::size_t limits = reinterpret_cast<std::uintptr_t>(&stack_end_) % kPage / 64 * 64;
    const std::size_t values = (limits + 128) % kPage;
    return {values, (values + kPage / 2) % kPage};
}

void Machine::allocate_stacks() {
    // Both are allocated before either is replaced, so a failure leaves the machine as it was; it is a
    // RuntimeError (limits too large for this host), never a bad_alloc escaping run().
    const std::uint32_t frames = std::max<std::uint32_t>(limits_.max_call_depth, 1);
    const auto [values_offset, frames_offset] = stack_page_offsets();
    const bool new_stack = allocated_stack_slots_ != limits_.stack_slots || !stack_;
    const bool new_frames = allocated_frames_ != frames || !frames_;
    std::unique_ptr<Value[]> stack;
    if (new_stack) {
        // Slack past stack_end_ for the largest frame the verifier allows: a call computes base + frame_slots
        // before comparing it with stack_end_, and the slack keeps that pointer inside the allocation. It is
        // never written, so (Value being trivially constructible) its pages are never touched.
        constexpr std::size_t kSlack = std::size_t{kMaxLocals} + kMaxStack;
        static_assert(std::is_trivially_default_constructible_v<Value>, "the slack must cost no writes");
        stack.reset(new (std::nothrow) Value[std::size_t{limits_.stack_slots} + kSlack + kPage / sizeof(Value)]);
        if (!stack)
            throw RuntimeError(fmt::format("out of memory: cannot allocate a stack of {} slots ({} bytes)",
                                           limits_.stack_slots, std::uint64_t{limits_.stack_slots} * sizeof(Value)),
                               {});
    }
    std::unique_ptr<Frame[], FreeFrames> frame_stack;
    if (new_frames) {
        // Null functions (see depth_reached()), from calloc: fresh pages arrive zeroed, so the 100,000 frames
        // of the default limit cost nothing until calls reach them (value-initialising them took ~1 ms a run).
        frame_stack.reset(static_cast<Frame*>(std::calloc(std::size_t{frames} + kPage / sizeof(Frame) + 1, sizeof(Frame))));
        if (!frame_stack)
            throw RuntimeError(fmt::format("out of memory: cannot allocate {} call frames ({} bytes)", frames,
                                           std::uint64_t{frames} * sizeof(Frame)),
                               {});
    }
    if (new_stack) {
        stack_ = std::move(stack);
        stack_base_ = at_page_offset(stack_.get(), values_offset);
        stack_end_ = stack_base_ + limits_.stack_slots;
        allocated_stack_slots_ = limits_.stack_slots;
    }
    if (new_frames) {
        frames_ = std::move(frame_stack);
        frames_base_ = at_page_offset(frames_.get(), frames_offset);
        frames_end_ = frames_base_ + frames;
        allocated_frames_ = frames;
        trap_calls(calls_trapped());  // the limits move with the frames
    }
}

// The flag is set first and cleared last, and the slow paths run a hook only while it is set: a signal
// handler's trap_calls(true) that lands inside a clear (this thread, between two of its stores) then leaves
// either every check trapping with the flag set, or the flag clear and no hook running until the next set,
// never calls heard without their returns.
void Machine::trap_calls(bool on) const noexcept {
    if (on) calls_trapped_.store(true, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    call_limit_.store(on ? frames_base_ : frames_end_, std::memory_order_relaxed);
    return_floor_.store(on ? frames_end_ : frames_base_, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (!on) calls_trapped_.store(false, std::memory_order_relaxed);
}

void Machine::begin_run() {
    fuel_used_ = 0;  // also when the run fails before it starts
    if (main_index_ < 0) throw RuntimeError("no program is loaded", {});
    enter_run();
    try {
        set_up_run();
    } catch (...) {
        leave_run();
        throw;
    }
}

void Machine::set_up_run() {
    allocate_stacks();
    sp_ = stack_base_;
    heap_.set_limit(limits_.heap_bytes);
    heap_.reset_peak();  // peak_bytes: the most live at once during this run
    const LinkedFunction& main = linked_.functions()[static_cast<std::size_t>(main_index_)];
    if (main.frame_slots > limits_.stack_slots)
        throw RuntimeError(fmt::format("stack overflow: 'main' needs {} stack slots, the limit is {}", main.frame_slots,
                                       limits_.stack_slots),
                           {});
    frame_ = frames_base_;
    frame_->function = &main;
    frame_->base = stack_base_;
    frame_->pc = main.code.data();
    for (std::uint32_t k = 0; k < main.nlocals; ++k) *sp_++ = Value::nil();
    fuel_ = fuel_budget();
    fuel_reserve_ = 0;
    output_written_ = 0;
    run_end_ = RunEnd::running;
    transfer_source_ = nullptr;
    if (main.entry_cost > fuel_) {  // main's first run does not fit: nothing runs
        run_end_ = RunEnd::out_of_fuel;
        sp_ = stack_base_;
        throw RuntimeError(out_of_fuel_message(main.entry_cost),
                           {TraceFrame{"main", 0, main.source->position(0).line, program_.source_file}});
    }
    fuel_ -= main.entry_cost;
    fuel_reserve_ = std::max<std::int64_t>(fuel_ - safe_point_interval_, 0);
    fuel_ -= fuel_reserve_;
}

std::int64_t Machine::exact_fuel_register() const {
    // The top frame's run was charged whole when control landed on it; its pc is the instruction running (a
    // native's call, a faulting instruction), so the rest of the run has not. At a landing none of it has;
    // out of fuel the charge was given back, and a `halt` or `ret` ends its run.
    if (landing_cost_) return fuel_ + landing_cost_;
    if (!frame_ || run_end_ == RunEnd::out_of_fuel) return fuel_;
    return fuel_ + static_cast<std::int64_t>(frame_->pc->run_cost) - 1;
}

std::int64_t Machine::refuel(const Instr* transfer_source, std::uint32_t run_cost) {
    if (fuel_ + fuel_reserve_ < 0) out_of_fuel(transfer_source, run_cost);
    // fuel_ + added is at least 0 (the reserve covers the shortfall) and at most the interval.
    const std::int64_t added = std::min(fuel_reserve_, static_cast<std::int64_t>(safe_point_interval_) - fuel_);
    fuel_ += added;
    fuel_reserve_ -= added;
    transfer_source_ = transfer_source;
    landing_cost_ = run_cost;  // until serve_safe_point: the fuel_refill hook runs at the landing too
    return added;
}

void Machine::set_safe_point_interval(std::uint32_t instructions) {
    if (instructions == 0) throw std::invalid_argument("the safe-point interval must be at least one instruction");
    safe_point_interval_ = instructions;
}

// --- tasks from other threads ---------------------------------------------------------------------------

void Machine::enter_run() {
    const std::lock_guard lock(run_lock_);
    running_ = true;
}

void Machine::leave_run() {
    const std::lock_guard lock(run_lock_);
    if (posted_) run_posted_task();  // between runs now: it need not wait for the next run's safe point
    running_ = false;
    task_done_.notify_all();
}

void Machine::serve_posted_task() {
    const std::lock_guard lock(run_lock_);
    if (!posted_) return;
    run_posted_task();
    task_done_.notify_all();
}

// Under run_lock_. What the task throws is its poster's, not the run's.
void Machine::run_posted_task() {
    try {
        (*posted_->task)();
    } catch (...) {
        posted_->error = std::current_exception();
    }
    posted_->done = true;
    posted_ = nullptr;
    safe_point_posted_.store(false, std::memory_order_relaxed);
}

void Machine::run_at_safe_point(const std::function<void()>& task) {
    std::unique_lock lock(run_lock_);
    // Idle, or from a native on the VM's thread (Entry's owner: the thread in run() while running_).
    if (!running_ || owner_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
        task();
        return;
    }
    task_done_.wait(lock, [&] { return posted_ == nullptr || !running_; });  // another thread's goes first
    if (!running_) {
        task();
        return;
    }
    PostedTask request{&task};
    posted_ = &request;
    safe_point_posted_.store(true, std::memory_order_relaxed);
    task_done_.wait(lock, [&] { return request.done; });
    if (request.error) std::rethrow_exception(request.error);
}

std::int64_t Machine::fuel_budget() const {
    return limits_.fuel ? static_cast<std::int64_t>(std::min<std::uint64_t>(limits_.fuel, INT64_MAX))
                        : std::numeric_limits<std::int64_t>::max();
}

void Machine::end_run() {
    if (run_end_ == RunEnd::running) run_end_ = RunEnd::fault;
    fuel_used_ = 0;
    if (limits_.fuel) {
        fuel_used_ = static_cast<std::uint64_t>(fuel_budget() - fuel_ - fuel_reserve_);  // out_of_fuel gave back its charge
        // A fault stops its run part way: the instructions after the faulting one were charged, never run.
        if (run_end_ == RunEnd::fault && frame_) fuel_used_ -= frame_->pc->run_cost - 1;
    }
    sp_ = stack_base_;
    frame_ = nullptr;
    fuel_reserve_ = 0;
    landing_cost_ = 0;
    leave_run();
}

void Machine::fail(const std::exception& e) {
    std::string message = e.what();
    if (dynamic_cast<const std::bad_alloc*>(&e)) message = "out of memory";
    std::vector<TraceFrame> backtrace;
    const std::ptrdiff_t depth = frame_ ? frame_ - frames_base_ + 1 : 0;
    for (std::ptrdiff_t k = depth; k-- > 0;) {
        const Frame* f = frames_base_ + k;
        const LinkedFunction& fn = *f->function;
        const std::size_t offset = fn.offset_of(f->pc);
        backtrace.push_back(TraceFrame{fn.source->name, static_cast<std::uint32_t>(offset),
                                       fn.source->position(offset).line, program_.source_file});
    }
    end_run();
    throw RuntimeError(std::move(message), std::move(backtrace));
}

// --- slow paths ---------------------------------------------------------------------------------------

namespace {
// The user opcodes arithmetic() and compare() must give a meaning to (eq and ne compare any two values
// inline, through values_equal).
constexpr bool is_binary_arithmetic(Op op) {
    return !info(op).internal && info(op).category == Category::arithmetic && info(op).pops == 2;
}
constexpr bool is_ordering(Op op) {
    return !info(op).internal && info(op).category == Category::compare && info(op).pops == 2 && op != Op::eq &&
           op != Op::ne;
}

[[noreturn]] void type_error(Op op, std::string_view needs, const Value& a, const Value* b = nullptr) {
    if (b)
        throw Fault(fmt::format("type error: '{}' needs {}, got {} and {}", mnemonic(op), needs, type_name(a.type),
                                type_name(b->type)));
    throw Fault(fmt::format("type error: '{}' needs {}, got {}", mnemonic(op), needs, type_name(a.type)));
}
} // namespace

void Machine::arithmetic(Op op, Value& a, const Value& b) {
    if (a.is_int() && b.is_int()) {
        // The interpreter handles every other int case inline.
        if (b.as.i == 0) throw Fault("division by zero");
        if (b.as.i == -1) {
            a.as.i = op == Op::div ? static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(a.as.i)) : 0;
            return;
        }
        a.as.i = op == Op::div ? a.as.i / b.as.i : a.as.i % b.as.i;
        return;
    }
    if (a.is_number() && b.is_number()) {
        const double x = a.to_double(), y = b.to_double();
        a = Value::floating(visit_op(op, [&]<Op kOp>() -> double {
            if constexpr (kOp == Op::add) return x + y;
            else if constexpr (kOp == Op::sub) return x - y;
            else if constexpr (kOp == Op::mul) return x * y;
            else if constexpr (kOp == Op::div) return x / y;
            else if constexpr (kOp == Op::mod) return std::fmod(x, y);
            else {
                static_assert(!is_binary_arithmetic(kOp), "a binary arithmetic opcode needs its float meaning here");
                throw std::logic_error(fmt::format("arithmetic() called for '{}'", mnemonic(kOp)));
            }
        }));
        return;
    }
    if (op == Op::add && a.is_string() && b.is_string()) {
        a = Value::string(heap_.concat(*a.as_string(), *b.as_string()));  // both operands are still on the stack
        return;
    }
    type_error(op, op == Op::add ? "two numbers or two strings" : "two numbers", a, &b);
}

void Machine::negate(Value& a) {
    if (!a.is_float()) type_error(Op::neg, "a number", a);
    a.as.f = -a.as.f;
}

bool Machine::compare(Op op, const Value& a, const Value& b) {
    int order;
    if (a.is_number() && b.is_number()) {
        order = compare_numbers(a, b);
        if (order == 2) return false;  // NaN: unordered
    } else if (a.is_string() && b.is_string()) {
        const int c = a.as_string()->view().compare(b.as_string()->view());
        order = (c > 0) - (c < 0);
    } else {
        type_error(op, "two numbers or two strings", a, &b);
    }
    return visit_op(op, [&]<Op kOp>() -> bool {
        if constexpr (kOp == Op::lt) return order < 0;
        else if constexpr (kOp == Op::le) return order <= 0;
        else if constexpr (kOp == Op::gt) return order > 0;
        else if constexpr (kOp == Op::ge) return order >= 0;
        else {
            static_assert(!is_ordering(kOp), "an ordering comparison needs its meaning here");
            throw std::logic_error(fmt::format("compare() called for '{}'", mnemonic(kOp)));
        }
    });
}

void Machine::undefined_global(std::int32_t index) {
    throw Fault(fmt::format("undefined global '{}' (read before it was stored)",
                            program_.globals[static_cast<std::size_t>(index)]));
}

Value Machine::new_array(const Value& length) {
    if (!length.is_int()) type_error(Op::newarray, "an int length", length);
    if (length.as.i < 0) throw Fault(fmt::format("negative array length {}", length.as.i));
    return Value::array(heap_.new_array(static_cast<std::size_t>(length.as.i)));
}

namespace {
std::size_t checked_index(Op op, const Value& array, const Value& index) {
    if (!array.is_array()) type_error(op, "an array", array);
    if (!index.is_int()) type_error(op, "an int index", index);
    const std::size_t length = array.as_array()->length;
    if (index.as.i < 0 || static_cast<std::uint64_t>(index.as.i) >= length)
        throw Fault(fmt::format("index {} out of range for array of length {}", index.as.i, length));
    return static_cast<std::size_t>(index.as.i);
}
} // namespace

Value Machine::array_get(const Value& array, const Value& index) {
    const std::size_t k = checked_index(Op::aget, array, index);  // before touching the array
    return array.as_array()->get(k);
}

void Machine::array_set(const Value& array, const Value& index, const Value& value) {
    const std::size_t k = checked_index(Op::aset, array, index);
    array.as_array()->set(k, value);
}

Value Machine::length(const Value& v) {
    if (v.is_array()) return Value::integer(static_cast<std::int64_t>(v.as_array()->length));
    if (v.is_string()) return Value::integer(static_cast<std::int64_t>(v.as_string()->length));
    type_error(Op::len, "an array or a string", v);
}

void Machine::print(const Value& v) {
    // Under an output limit the text is built no longer than what may still be written, so one `print` of a
    // huge shared array costs at most the budget left, not kMaxDisplayChars per instruction.
    const std::uint64_t left = limits_.output_bytes ? limits_.output_bytes - output_written_ : UINT64_MAX;
    std::string text;
    append_display(text, v, static_cast<std::size_t>(std::min<std::uint64_t>(kMaxDisplayChars, left)));
    text += '\n';
    if (text.size() > left)
        throw Fault(fmt::format("output limit: print would pass the limit of {} bytes ({} written)", limits_.output_bytes,
                                output_written_));
    output_written_ += text.size();
    out_->write(text.data(), static_cast<std::streamsize>(text.size()));
}

Value Machine::call_native(std::int32_t index, Value* args) {
    const Native& native = natives_[static_cast<std::size_t>(index)];
    try {
        return native.function(*this, std::span<const Value>(args, static_cast<std::size_t>(native.arity)));
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        throw Fault(fmt::format("in native '{}': {}", native.name, e.what()));
    }
}

void Machine::call_overflow(const Frame* frame, const LinkedFunction& callee) {
    if (frame + 1 == frames_end_)
        throw Fault(fmt::format("call depth limit exceeded: calling '{}' would make {} frames (limit {})",
                                callee.source->name, frames_end_ - frames_base_ + 1, limits_.max_call_depth));
    throw Fault(fmt::format("stack overflow: calling '{}' needs {} more stack slots (limit {} slots)",
                            callee.source->name, callee.frame_slots, limits_.stack_slots));
}

void Machine::out_of_fuel(const Instr* transfer_source, std::uint32_t run_cost) {
    run_end_ = RunEnd::out_of_fuel;
    transfer_source_ = transfer_source;
    fuel_ += run_cost;  // the run was charged but never started
    throw Fault(out_of_fuel_message(run_cost));
}

// Fuel is charged a whole straight-line run at a time, so a run can stop with fuel left over: the message
// says what ran and why the next run may not, rather than claim the limit was reached.
std::string Machine::out_of_fuel_message(std::uint32_t run_cost) const {
    const auto executed = static_cast<std::uint64_t>(fuel_budget() - fuel_ - fuel_reserve_);
    return fmt::format("fuel exhausted after {} of {} instructions: the next straight-line run of {} "
                       "instruction{} does not fit in the {} left",
                       executed, limits_.fuel, run_cost, run_cost == 1 ? "" : "s", limits_.fuel - executed);
}

} // namespace opscope
