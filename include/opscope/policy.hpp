// The profiler-policy interface and composition.
//
// A policy is any class; everything it declares is optional and costs only if declared:
//  - hooks (vm/hooks.hpp): on_run_begin, on_run_end, on_instruction, on_call, on_return, on_halt, on_native,
//    on_branch, on_block_entry, on_counted_branch, and `static constexpr bool samples_pc` / `samples_stack`;
//  - lifecycle: reset(), start(const Machine&), stop(const Machine&) (pause and resume recording, also
//    mid-run from a native), and profile_into(Profile&, const Machine&) const, which adds what the policy
//    recorded to a Profile (Vm::profile() builds one from an empty Profile);
//  - `static constexpr std::string_view name` (the Profile's `policy`).
// ProfilerPolicy checks that whatever a policy declares under these names has the right signature, so a
// misspelt parameter list is a compile error rather than a hook that silently never runs.
//
// Compose<A, B, ...> is a policy that runs its parts in order (a Boost.Hana tuple): it declares a hook exactly
// when some part does, so composing costs nothing beyond the parts.
#pragma once

#include <opscope/hooks.hpp>
#include <opscope/machine.hpp>
#include <opscope/profile.hpp>

#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace opscope {

namespace policy_detail {
// `declares_X<P>`: P has a (single, non-template) member named X. Overloaded names are not checked.
#define OPSCOPE_DECLARES(member) \
    template <class P>           \
    concept declares_##member = requires { &P::member; };
OPSCOPE_DECLARES(on_run_begin)
OPSCOPE_DECLARES(on_run_end)
OPSCOPE_DECLARES(on_instruction)
OPSCOPE_DECLARES(on_call)
OPSCOPE_DECLARES(on_return)
OPSCOPE_DECLARES(on_halt)
OPSCOPE_DECLARES(on_native)
OPSCOPE_DECLARES(on_branch)
OPSCOPE_DECLARES(on_block_entry)
OPSCOPE_DECLARES(on_counted_branch)
OPSCOPE_DECLARES(reset)
OPSCOPE_DECLARES(start)
OPSCOPE_DECLARES(stop)
OPSCOPE_DECLARES(profile_into)
OPSCOPE_DECLARES(name)
OPSCOPE_DECLARES(samples_pc)
OPSCOPE_DECLARES(samples_stack)
#undef OPSCOPE_DECLARES

template <class P>
concept resettable = requires(P& p) { p.reset(); };
template <class P>
concept startable = requires(P& p, const Machine& m) { p.start(m); };
template <class P>
concept stoppable = requires(P& p, const Machine& m) { p.stop(m); };
template <class P>
concept profiles = requires(const P& p, Profile& out, const Machine& m) { p.profile_into(out, m); };
template <class P>
concept named = requires {
    { P::name } -> std::convertible_to<std::string_view>;
};
} // namespace policy_detail

// Each clause reads: "if P declares this, it has this signature".
template <class P>
concept ProfilerPolicy =
    std::move_constructible<P> &&
    (!policy_detail::declares_on_run_begin<P> || hooks::run_begin<P>) &&
    (!policy_detail::declares_on_run_end<P> || hooks::run_end<P>) &&
    (!policy_detail::declares_on_instruction<P> || hooks::instruction<P>) &&
    (!policy_detail::declares_on_call<P> || hooks::call<P>) &&
    (!policy_detail::declares_on_return<P> || hooks::return_<P>) &&
    (!policy_detail::declares_on_halt<P> || hooks::halt<P>) &&
    (!policy_detail::declares_on_native<P> || hooks::native<P>) &&
    (!policy_detail::declares_on_branch<P> || hooks::branch<P>) &&
    (!policy_detail::declares_on_block_entry<P> || hooks::block_entry<P>) &&
    (!policy_detail::declares_on_counted_branch<P> || hooks::counted_branch<P>) &&
    (!policy_detail::declares_samples_pc<P> || std::same_as<decltype(P::samples_pc), const bool>) &&
    (!policy_detail::declares_samples_stack<P> || std::same_as<decltype(P::samples_stack), const bool>) &&
    (!policy_detail::declares_reset<P> || policy_detail::resettable<P>) &&
    (!policy_detail::declares_start<P> || policy_detail::startable<P>) &&
    (!policy_detail::declares_stop<P> || policy_detail::stoppable<P>) &&
    (!policy_detail::declares_profile_into<P> || policy_detail::profiles<P>) &&
    (!policy_detail::declares_name<P> || policy_detail::named<P>);

// Nanoseconds from `since` to now on the steady clock (policies' recording intervals).
inline std::uint64_t nanoseconds_since(std::chrono::steady_clock::time_point since) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since).count());
}

// The policy's name for Profile::policy: its `name`, else "custom".
template <class P>
constexpr std::string_view policy_name() {
    if constexpr (policy_detail::named<P>) return P::name;
    else return "custom";
}

template <ProfilerPolicy... Parts>
class Compose {
public:
    Compose() = default;
    explicit Compose(Parts... parts) : parts_(std::move(parts)...) {}

    // The parts, in order (hana::at_c<N>(compose.parts())).
    boost::hana::tuple<Parts...>& parts() { return parts_; }
    const boost::hana::tuple<Parts...>& parts() const { return parts_; }

    static constexpr bool samples_pc = (hooks::samples_pc<Parts> || ...);
    static constexpr bool samples_stack = (hooks::samples_stack<Parts> || ...);

    // Each hook exists only if some part has it, and calls the parts that do.
    void on_run_begin(const Machine& m) requires(hooks::run_begin<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::run_begin<std::remove_cvref_t<decltype(p)>>) p.on_run_begin(m); });
    }
    void on_run_end(const Machine& m) requires(hooks::run_end<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::run_end<std::remove_cvref_t<decltype(p)>>) p.on_run_end(m); });
    }
    void on_instruction(const LinkedFunction& f, std::size_t offset, Op op) requires(hooks::instruction<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::instruction<std::remove_cvref_t<decltype(p)>>) p.on_instruction(f, offset, op); });
    }
    void on_call(const LinkedFunction* caller, std::size_t offset, const LinkedFunction& callee, std::size_t depth)
        requires(hooks::call<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::call<std::remove_cvref_t<decltype(p)>>) p.on_call(caller, offset, callee, depth); });
    }
    void on_return(const LinkedFunction& f, std::size_t depth) requires(hooks::return_<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::return_<std::remove_cvref_t<decltype(p)>>) p.on_return(f, depth); });
    }
    void on_halt(std::size_t depth) requires(hooks::halt<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::halt<std::remove_cvref_t<decltype(p)>>) p.on_halt(depth); });
    }
    void on_native(const Native& n) requires(hooks::native<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::native<std::remove_cvref_t<decltype(p)>>) p.on_native(n); });
    }
    void on_branch(const LinkedFunction& f, const Instr* at, bool taken) requires(hooks::branch<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::branch<std::remove_cvref_t<decltype(p)>>) p.on_branch(f, at, taken); });
    }
    void on_block_entry(const Instr* leader) requires(hooks::block_entry<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::block_entry<std::remove_cvref_t<decltype(p)>>) p.on_block_entry(leader); });
    }

    void on_counted_branch(const Instr* at, bool taken) requires(hooks::counted_branch<Parts> || ...) {
        for_parts([&](auto& p) { if constexpr (hooks::counted_branch<std::remove_cvref_t<decltype(p)>>) p.on_counted_branch(at, taken); });
    }

    void reset() {
        for_parts([](auto& p) { if constexpr (policy_detail::resettable<std::remove_cvref_t<decltype(p)>>) p.reset(); });
    }
    void start(const Machine& m) {
        for_parts([&](auto& p) { if constexpr (policy_detail::startable<std::remove_cvref_t<decltype(p)>>) p.start(m); });
    }
    void stop(const Machine& m) {
        for_parts([&](auto& p) { if constexpr (policy_detail::stoppable<std::remove_cvref_t<decltype(p)>>) p.stop(m); });
    }
    // Parts add to the profile in order, so a later part can fill in fields of entries an earlier one made.
    void profile_into(Profile& out, const Machine& m) const {
        boost::hana::for_each(parts_, [&](const auto& p) {
            if constexpr (policy_detail::profiles<std::remove_cvref_t<decltype(p)>>) p.profile_into(out, m);
        });
    }

private:
    template <class F>
    void for_parts(F&& f) {
        boost::hana::for_each(parts_, [&](auto& p) { f(p); });
    }
    boost::hana::tuple<Parts...> parts_;
};

} // namespace opscope
