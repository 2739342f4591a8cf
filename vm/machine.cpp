// Machine: loading and linking programs, run set-up and tear-down, and every slow path of the interpreter.
// Nothing here runs per instruction; the hot loop is in interpreter.hpp.
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

namespace opscope {

Machine::Machine(Limits limits, bool fuse, bool mark_leaders)
    : limits_(limits), out_(&std::cout), fuse_(fuse), mark_leaders_(mark_leaders) {
    heap_.set_roots([this](const Heap::RootVisitor& visit) {
        for (const Value* v = stack_.get(); v < sp_; ++v) visit(*v);
        for (const Value& v : constants_) visit(v);
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

void Machine::register_native(std::string name, int arity, NativeFunction function) {
    if (arity < 0) throw std::invalid_argument(fmt::format("native '{}': negative arity {}", name, arity));
    for (Native& n : natives_)
        if (n.name == name) {
            n = Native{std::move(name), arity, std::move(function)};
            return;
        }
    natives_.push_back(Native{std::move(name), arity, std::move(function)});
}

void Machine::load(Program program) {
    verify(program, [this](std::string_view name) -> std::optional<int> {
        for (const Native& n : natives_)
            if (n.name == name) return n.arity;
        return std::nullopt;
    });
    functions_.clear();
    constants_.clear();
    globals_.clear();
    program_ = std::move(program);
    ++load_generation_;
    link();
}

// Rewrites the verified Program into the interpreter's form: relative jumps, resolved calls, small ints
// inlined (push_int), natives called directly (call_native), and each run's fuel cost.
void Machine::link() {
    for (const Constant& c : program_.constants) {
        constants_.push_back(std::visit(
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
    globals_.assign(program_.globals.size(), Value::undefined());
    main_index_ = program_.find_function("main");

    functions_.resize(program_.functions.size());
    instruction_count_ = 0;
    std::size_t total = 0;
    for (const Function& f : program_.functions) total += f.code.size();
    code_.assign(total, Instr{});
    taken_rules_.assign(mark_leaders_ ? total : 0, TakenRule::not_a_branch);
    block_starts_.assign(mark_leaders_ ? total : 0, BlockStart::none);
    derivations_.clear();
    for (std::size_t f = 0; f < program_.functions.size(); ++f) {
        const Function& source = program_.functions[f];
        LinkedFunction& linked = functions_[f];
        linked.source = &source;
        linked.index = static_cast<std::uint32_t>(f);
        linked.nargs = source.nargs;
        linked.nlocals = source.nlocals;
        linked.frame_slots = source.nlocals + source.max_stack;
        linked.first_instruction = instruction_count_;
        linked.code = std::span<Instr>(code_).subspan(instruction_count_, source.code.size());
        instruction_count_ += static_cast<std::uint32_t>(source.code.size());
        for (std::size_t k = 0; k < source.code.size(); ++k) {
            const Instruction& in = source.code[k];
            Op op = in.op;
            std::int32_t operand = in.operand;
            switch (in.op) {
            case Op::push: {
                const Constant& c = program_.constants[static_cast<std::size_t>(operand)];
                if (const auto* i = std::get_if<std::int64_t>(&c);
                    i && *i >= std::numeric_limits<std::int32_t>::min() && *i <= std::numeric_limits<std::int32_t>::max()) {
                    op = Op::push_int;
                    operand = static_cast<std::int32_t>(*i);
                }
                break;
            }
            case Op::jmp:
            case Op::jz:
            case Op::jnz: operand = in.operand - static_cast<std::int32_t>(k); break;
            case Op::call: {
                const std::string& name = program_.call_targets[static_cast<std::size_t>(operand)];
                if (const int index = program_.find_function(name); index >= 0) {
                    operand = index;
                } else {
                    op = Op::call_native;
                    for (std::size_t n = 0; n < natives_.size(); ++n)
                        if (natives_[n].name == name) operand = static_cast<std::int32_t>(n);
                }
                break;
            }
            default: break;
            }
            linked.code[k].op = static_cast<std::uint32_t>(op) & 0xFFu;
            linked.code[k].operand = operand;
        }
        // A run ends at each control transfer; fuel is charged per run when control lands on its start.
        std::uint32_t cost = 0;
        for (std::size_t k = linked.code.size(); k-- > 0;) {
            const Op op = op_of(linked.code[k]);
            cost = (is_jump(op) || op == Op::call || op == Op::ret || op == Op::halt) ? 1 : cost + 1;
            linked.code[k].run_cost = cost & 0x7FFFFFu;  // the verifier bounds function size
        }
        linked.entry_cost = linked.code.empty() ? 0 : linked.code[0].run_cost;
        // Counted branches are rewritten before fusion, which then leaves them alone (they are not jz/jnz).
        if (mark_leaders_) assign_taken_rules(linked, source);
        if (fuse_) fuse(linked, source);
        if (mark_leaders_) mark_leaders(linked, source);
    }
}

namespace {

// How many jumps and branches target each instruction of a function.
std::vector<std::uint32_t> jumps_into(const Function& source) {
    std::vector<std::uint32_t> jumps_in(source.code.size(), 0);
    for (const Instruction& in : source.code)
        if (is_jump(in.op)) ++jumps_in[static_cast<std::size_t>(in.operand)];
    return jumps_in;
}

// Which sides of the branch at k only it enters: its target, when nothing else jumps there, it is not the
// function's entry and the instruction before it does not fall (or return) into it; its fall-through, when
// nothing jumps there. (Taken rules and block derivations both rest on this.)
struct PrivateSides {
    bool target, fallthrough;
};
PrivateSides private_sides(const Function& source, const std::vector<std::uint32_t>& jumps_in, std::size_t k) {
    const auto target = static_cast<std::size_t>(source.code[k].operand);
    return {target != k + 1 && target > 0 && jumps_in[target] == 1 && ends_flow(source.code[target - 1].op),
            k + 1 < source.code.size() && target != k + 1 && jumps_in[k + 1] == 0};
}

} // namespace

// A block is entered only at its leader and, once entered, runs to its end unless the program stops
// inside it. Leaders: offset 0, jump targets, and whatever follows a jump, branch, `ret` or `halt`. Calls do
// not end blocks (returns come back into the middle of one): policies reconcile the frames left live when
// a run stops (RunEnd, live_frames()). No fused sequence spans a leader (fusion needs unentered tails, and
// every fused branch ends its sequence). Only counted leaders are marked; derived ones (BlockStart) run
// their plain body.
void Machine::mark_leaders(LinkedFunction& function, const Function& source) {
    const std::size_t size = source.code.size();
    std::vector<bool> leader(size, false);
    if (size) leader[0] = true;
    for (std::size_t k = 0; k < size; ++k) {
        const Op op = source.code[k].op;
        if (is_jump(op)) leader[static_cast<std::size_t>(source.code[k].operand)] = true;
        if ((is_jump(op) || op == Op::ret || op == Op::halt) && k + 1 < size) leader[k + 1] = true;
    }
    std::vector<std::size_t> block_of(size);  // the leader of each instruction's block
    for (std::size_t k = 0; k < size; ++k) block_of[k] = leader[k] ? k : block_of[k - 1];

    // How each block's entries could be derived. (1) Entered only by `jmp`s and a fall-through from a plain
    // instruction (not a call: a return into the block may run out of fuel there): the sum of their
    // completions. (2) One side of a branch, each side entered by that branch alone: the branch's executions
    // less the other side's entries (both sides include entries fuel stopped on landing).
    const std::vector<std::uint32_t> jumps_in = jumps_into(source);
    std::vector<bool> only_jmps_in(size, true);
    for (const Instruction& in : source.code)
        if (is_branch(in.op)) only_jmps_in[static_cast<std::size_t>(in.operand)] = false;
    std::vector<std::optional<BlockDerivation>> way(size);
    for (std::size_t b = 1; b < size; ++b) {
        const Op before = source.code[b - 1].op;
        if (!leader[b] || !only_jmps_in[b] || is_branch(before) || before == Op::call) continue;
        way[b].emplace();
        if (!ends_flow(before)) way[b]->sources.push_back(static_cast<std::uint32_t>(b - 1));
    }
    for (std::size_t k = 0; k < size; ++k)
        if (const auto target = static_cast<std::size_t>(source.code[k].operand); source.code[k].op == Op::jmp && way[target])
            way[target]->sources.push_back(static_cast<std::uint32_t>(k));
    for (auto& w : way)
        if (w && w->sources.empty()) w.reset();  // unreachable: leave it counted (at zero)
    for (std::size_t x = 0; x < size; ++x) {
        if (!is_branch(source.code[x].op)) continue;
        if (const PrivateSides sides = private_sides(source, jumps_in, x); sides.target && sides.fallthrough) {
            const auto target = static_cast<std::uint32_t>(source.code[x].operand);
            const auto next = static_cast<std::uint32_t>(x + 1);
            way[next] = BlockDerivation{{static_cast<std::uint32_t>(x)}, target};
            way[target] = BlockDerivation{{static_cast<std::uint32_t>(x)}, next};
        }
    }
    // A derivation reads counted blocks only (so none waits on another): a block is derived unless it feeds,
    // or is fed by, one derived already (or itself).
    std::vector<bool> derived(size, false), feeds_derived(size, false);
    for (std::size_t b = 1; b < size; ++b) {
        if (!way[b] || feeds_derived[b]) continue;
        std::vector<std::size_t> reads;
        for (const std::uint32_t s : way[b]->sources) reads.push_back(block_of[s]);
        if (way[b]->minus != BlockDerivation::kNone) reads.push_back(way[b]->minus);
        if (std::any_of(reads.begin(), reads.end(), [&](std::size_t r) { return r == b || derived[r]; })) continue;
        derived[b] = true;
        for (const std::size_t r : reads) feeds_derived[r] = true;
    }
    const auto id_of = [&](std::uint32_t offset) { return function.first_instruction + offset; };
    for (std::size_t k = 0; k < size; ++k) {
        if (!leader[k]) continue;
        const std::uint32_t id = id_of(static_cast<std::uint32_t>(k));
        block_starts_[id] = derived[k] ? BlockStart::derived : BlockStart::counted;
        if (derived[k]) {
            BlockDerivation& d = *way[k];
            for (std::uint32_t& s : d.sources) s = id_of(s);
            if (d.minus != BlockDerivation::kNone) d.minus = id_of(d.minus);
            derivations_[id] = std::move(d);
        } else {
            function.code[k].op = (function.code[k].op + kLeaderOpBase) & 0xFFu;
        }
    }
}

// How each branch's taken count follows from block entries (TakenRule): from a side only it enters
// (private_sides). A branch the block counts cannot give becomes jz_counted/jnz_counted: the only branches
// that report to the policy, so no other branch pays a check.
void Machine::assign_taken_rules(LinkedFunction& function, const Function& source) {
    const std::vector<std::uint32_t> jumps_in = jumps_into(source);
    for (std::size_t k = 0; k < source.code.size(); ++k) {
        const Op op = source.code[k].op;
        if (!is_branch(op)) continue;
        const PrivateSides sides = private_sides(source, jumps_in, k);
        TakenRule& rule = taken_rules_[function.first_instruction + k];
        rule = sides.target        ? TakenRule::target_entries
               : sides.fallthrough ? TakenRule::executed_minus_fallthrough
                                   : TakenRule::counted;
        if (rule == TakenRule::counted)
            function.code[k].op = static_cast<std::uint32_t>(op == Op::jz ? Op::jz_counted : Op::jnz_counted) & 0xFFu;
    }
}

std::size_t Machine::depth_reached() const {
    if (!frame_) return 0;
    const Frame* f = frame_ + 1;
    while (f < frames_end_ && f->function) ++f;
    return static_cast<std::size_t>(f - frames_.get());
}

void Machine::forget_depth_reached() const {
    if (!frame_) return;
    for (Frame* f = frames_.get() + (frame_ - frames_.get()) + 1; f < frames_end_ && f->function; ++f) f->function = nullptr;
}

std::span<const Frame> Machine::live_frames() const {
    if (!frame_ || run_end_ == RunEnd::returned) return {};
    return {frames_.get(), static_cast<std::size_t>(frame_ - frames_.get()) + 1};
}

const LinkedFunction* Machine::function_of(const Instr* pc) const {
    for (const LinkedFunction& f : functions_)
        if (!f.code.empty() && pc >= f.code.data() && pc < f.code.data() + f.code.size()) return &f;
    return nullptr;
}

namespace {
struct CompareFusion {
    Op compare, jz, jnz, ll_jz, ll_jnz, lk_jz, lk_jnz;
};
constexpr CompareFusion kCompareFusions[] = {
#define OPSCOPE_ROW(c) {Op::c, Op::c##_jz, Op::c##_jnz, Op::c##_ll_jz, Op::c##_ll_jnz, Op::c##_lk_jz, Op::c##_lk_jnz},
    OPSCOPE_ROW(lt) OPSCOPE_ROW(le) OPSCOPE_ROW(gt) OPSCOPE_ROW(ge) OPSCOPE_ROW(eq) OPSCOPE_ROW(ne)
#undef OPSCOPE_ROW
};
struct ArithmeticFusion {
    Op op, ll, lk, k, lls, lks, l;  // == op: no such form
};
constexpr ArithmeticFusion kArithmeticFusions[] = {
    {Op::add, Op::add_ll, Op::add_lk, Op::add_k, Op::add_lls, Op::add_lks, Op::add_l},
    {Op::sub, Op::sub_ll, Op::sub_lk, Op::sub_k, Op::sub_lls, Op::sub_lks, Op::sub_l},
    {Op::mul, Op::mul_ll, Op::mul_lk, Op::mul_k, Op::mul_lls, Op::mul_lks, Op::mul_l},
    {Op::div, Op::div, Op::div, Op::div_k, Op::div, Op::div, Op::div},
    {Op::mod, Op::mod, Op::mod, Op::mod_k, Op::mod, Op::mod, Op::mod},
};
} // namespace

// Rewrites the first opcode of common sequences into a fused form (see opcodes.hpp). Only sequences that
// no jump enters after their first instruction qualify, so every path still executes whole sequences.
void Machine::fuse(LinkedFunction& function, const Function& source) const {
    const std::size_t size = function.code.size();
    std::vector<bool> entered(size, false);
    for (const Instruction& in : source.code)
        if (is_jump(in.op)) entered[static_cast<std::size_t>(in.operand)] = true;
    const auto op_at = [&](std::size_t k) { return k < size ? static_cast<Op>(function.code[k].op) : Op::halt; };
    const auto straight = [&](std::size_t k, std::size_t n) {  // k+1 .. k+n-1 exist and are not jump targets
        if (k + n > size) return false;
        for (std::size_t j = k + 1; j < k + n; ++j)
            if (entered[j]) return false;
        return true;
    };
    const auto set = [&](std::size_t k, Op op) { function.code[k].op = static_cast<std::uint32_t>(op) & 0xFFu; };

    // The longest fused form starting at k: {its op, the instructions it covers} ({op, 1}: none).
    const auto choose = [&](std::size_t k) -> std::pair<Op, std::size_t> {
        const Op first = op_at(k), second = op_at(k + 1), third = op_at(k + 2), fourth = op_at(k + 3);
        Op chosen = first;
        std::size_t length = 1;
        if (first == Op::load && (second == Op::load || second == Op::push_int)) {
            const bool local_pair = second == Op::load;
            for (const CompareFusion& f : kCompareFusions)
                if (third == f.compare && is_branch(fourth) && straight(k, 4)) {
                    const bool on_zero = fourth == Op::jz;
                    chosen = local_pair ? (on_zero ? f.ll_jz : f.ll_jnz) : (on_zero ? f.lk_jz : f.lk_jnz);
                    length = 4;
                }
            for (const ArithmeticFusion& f : kArithmeticFusions) {
                if (length != 1 || third != f.op || (local_pair ? f.ll : f.lk) == f.op) continue;
                if (fourth == Op::store && straight(k, 4)) {
                    chosen = local_pair ? f.lls : f.lks;
                    length = 4;
                } else if (straight(k, 3)) {
                    chosen = local_pair ? f.ll : f.lk;
                    length = 3;
                }
            }
            if (length == 1 && local_pair && third == Op::aget && is_branch(fourth) && straight(k, 4)) {
                chosen = fourth == Op::jz ? Op::aget_ll_jz : Op::aget_ll_jnz;
                length = 4;
            } else if (length == 1 && local_pair && third == Op::aget && straight(k, 3)) {
                chosen = Op::aget_ll;
                length = 3;
            } else if (length == 1 && local_pair && (third == Op::push || third == Op::load) && fourth == Op::aset &&
                       straight(k, 4)) {
                chosen = third == Op::push ? Op::aset_llc : Op::aset_lll;
                length = 4;
            }
        } else if (first == Op::load && second == Op::ret && straight(k, 2)) {
            chosen = Op::ret_local;
            length = 2;
        } else if (first == Op::load && straight(k, 2)) {
            for (const ArithmeticFusion& f : kArithmeticFusions)
                if (second == f.op && f.l != f.op) {
                    chosen = f.l;
                    length = 2;
                }
        } else if (first == Op::push_int && straight(k, 2)) {
            const std::int32_t constant = function.code[k].operand;
            for (const ArithmeticFusion& f : kArithmeticFusions)
                if (second == f.op && ((f.op != Op::div && f.op != Op::mod) || (constant != 0 && constant != -1))) {
                    chosen = f.k;
                    length = 2;
                }
        } else if (is_branch(second) && straight(k, 2)) {
            for (const CompareFusion& f : kCompareFusions)
                if (first == f.compare) {
                    chosen = second == Op::jz ? f.jz : f.jnz;
                    length = 2;
                }
        }
        return {chosen, length};
    };
    for (std::size_t k = 0; k < size;) {
        auto [op, length] = choose(k);
        // Two pushes in a row (call arguments), unless the second starts a longer form of its own.
        const Op first = op_at(k), second = op_at(k + 1);
        if (length == 1 && first == Op::load && (second == Op::load || second == Op::push_int) && straight(k, 2) &&
            choose(k + 1).second == 1) {
            op = second == Op::load ? Op::load_ll : Op::load_lk;
            length = 2;
        }
        set(k, op);
        k += length;
    }
}

void Machine::set_limits(const Limits& limits) { limits_ = limits; }

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

void Machine::allocate_stacks() {
    if (allocated_stack_slots_ != limits_.stack_slots || !stack_) {
        stack_.reset(new Value[limits_.stack_slots]);
        stack_end_ = stack_.get() + limits_.stack_slots;
        allocated_stack_slots_ = limits_.stack_slots;
    }
    const std::uint32_t frames = std::max<std::uint32_t>(limits_.max_call_depth, 1);
    if (allocated_frames_ != frames || !frames_) {
        // Null functions (see depth_reached()), from calloc: fresh pages arrive zeroed, so the 100,000 frames
        // of the default limit cost nothing until calls reach them (value-initialising them took ~1 ms a run).
        frames_.reset(static_cast<Frame*>(std::calloc(frames, sizeof(Frame))));
        if (!frames_) throw std::bad_alloc();
        frames_end_ = frames_.get() + frames;
        allocated_frames_ = frames;
    }
}

void Machine::begin_run() {
    if (main_index_ < 0) throw RuntimeError("no program is loaded", {});
    allocate_stacks();
    sp_ = stack_.get();
    heap_.set_limit(limits_.heap_bytes);
    heap_.reset_peak();  // peak_bytes: the most live at once during this run
    const LinkedFunction& main = functions_[static_cast<std::size_t>(main_index_)];
    if (main.frame_slots > limits_.stack_slots)
        throw RuntimeError(fmt::format("stack overflow: 'main' needs {} stack slots, the limit is {}", main.frame_slots,
                                       limits_.stack_slots),
                           {});
    frame_ = frames_.get();
    frame_->function = &main;
    frame_->base = stack_.get();
    frame_->pc = main.code.data();
    for (std::uint32_t k = 0; k < main.nlocals; ++k) *sp_++ = Value::nil();
    fuel_ = fuel_budget();
    fuel_used_ = 0;
    run_end_ = RunEnd::running;
    transfer_source_ = nullptr;
    if ((fuel_ -= frame_->pc->run_cost) < 0) {
        run_end_ = RunEnd::out_of_fuel;
        fuel_used_ = limits_.fuel;
        sp_ = stack_.get();
        throw RuntimeError(fmt::format("fuel exhausted: the limit of {} instructions was reached", limits_.fuel),
                           {TraceFrame{"main", 0, main.source->position(0).line, program_.source_file}});
    }
}

std::int64_t Machine::fuel_budget() const {
    return limits_.fuel ? static_cast<std::int64_t>(std::min<std::uint64_t>(limits_.fuel, INT64_MAX))
                        : std::numeric_limits<std::int64_t>::max();
}

void Machine::end_run() {
    if (run_end_ == RunEnd::running) run_end_ = RunEnd::fault;
    fuel_used_ = limits_.fuel ? static_cast<std::uint64_t>(fuel_budget() - std::max<std::int64_t>(fuel_, 0)) : 0;
    sp_ = stack_.get();
    frame_ = nullptr;
}

void Machine::fail(const std::exception& e) {
    std::string message = e.what();
    if (dynamic_cast<const std::bad_alloc*>(&e)) message = "out of memory";
    std::vector<TraceFrame> backtrace;
    const std::ptrdiff_t depth = frame_ ? frame_ - frames_.get() + 1 : 0;
    for (std::ptrdiff_t k = depth; k-- > 0;) {
        const Frame* f = frames_.get() + k;
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
        double r = 0;
        switch (op) {
        case Op::add: r = x + y; break;
        case Op::sub: r = x - y; break;
        case Op::mul: r = x * y; break;
        case Op::div: r = x / y; break;
        case Op::mod: r = std::fmod(x, y); break;
        default: break;
        }
        a = Value::floating(r);
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
    switch (op) {
    case Op::lt: return order < 0;
    case Op::le: return order <= 0;
    case Op::gt: return order > 0;
    default: return order >= 0;
    }
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
    return array.as_array()->elements()[k];
}

void Machine::array_set(const Value& array, const Value& index, const Value& value) {
    const std::size_t k = checked_index(Op::aset, array, index);
    array.as_array()->elements()[k] = value;
}

Value Machine::length(const Value& v) {
    if (v.is_array()) return Value::integer(static_cast<std::int64_t>(v.as_array()->length));
    if (v.is_string()) return Value::integer(static_cast<std::int64_t>(v.as_string()->length));
    type_error(Op::len, "an array or a string", v);
}

void Machine::print(const Value& v) {
    std::string text;
    append_display(text, v);
    text += '\n';
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
                                callee.source->name, frames_end_ - frames_.get() + 1, limits_.max_call_depth));
    throw Fault(fmt::format("stack overflow: calling '{}' needs {} more stack slots (limit {} slots)",
                            callee.source->name, callee.frame_slots, limits_.stack_slots));
}

void Machine::out_of_fuel(const Instr* transfer_source) {
    run_end_ = RunEnd::out_of_fuel;
    transfer_source_ = transfer_source;
    throw Fault(fmt::format("fuel exhausted: the limit of {} instructions was reached", limits_.fuel));
}

} // namespace opscope
