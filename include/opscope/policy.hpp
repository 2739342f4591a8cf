// The profiler-policy interface and composition.
//
// A policy is any class; everything it declares is optional and costs only if declared:
//  - hooks: the members listed in OPSCOPE_HOOKS (hooks.hpp), and the properties `static constexpr bool
//    samples_pc` / `samples_stack`;
//  - lifecycle: reset(), start(const Machine&), stop(const Machine&) (pause and resume recording, also
//    mid-run from a native), profile_into(Profile&, const Machine&) const, which adds what the policy
//    recorded to a Profile (Vm::profile() builds one from an empty Profile), `bool recording() const`, and
//    split(Profile&, const Machine&) for Vm::snapshot(): add the interval recorded since the last split
//    (or reset) to the Profile and go on recording the next, so that intervals add up to the whole. A
//    policy without split() is split by stop, profile_into, reset and start (recording stays paused if it
//    was: a policy without recording() is taken to be recording);
//  - `static constexpr std::string_view name` (the Profile's `policy`).
// ProfilerPolicy checks that whatever a policy declares under these names has the right signature, so a
// misspelt parameter list is a compile error rather than a hook that silently never runs.
//
// Compose<A, B, ...> is a policy that runs its parts in order (a Boost.Hana tuple): it declares a hook exactly
// when some part does, so composing costs nothing beyond the parts.
//
// The hooks' checks and Compose's forwarding members are generated from OPSCOPE_HOOKS; the lifecycle and the
// properties are written out below. They are few, they differ in shape (a const member, data members checked
// by type, properties combined with `||`), and Compose declares its lifecycle whatever its parts declare.
#pragma once

#include <opscope/hooks.hpp>
#include <opscope/machine.hpp>
#include <opscope/profile.hpp>

#include <boost/hana/at.hpp>
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
// And per hook, `hook_if_declares_on_X<P>`: ProfilerPolicy's clause "if P declares on_X, it is hooks::X". A
// concept of its own so that a compiler error names it (GCC prints the concepts it was checking, and for the
// failed disjunction only its spelling in the macro).
#define OPSCOPE_DECLARES_HOOK(hook, member, ...) \
    OPSCOPE_DECLARES(member)                     \
    template <class P>                           \
    concept hook_if_declares_##member = !declares_##member<P> || hooks::hook<P>;
OPSCOPE_HOOKS(OPSCOPE_DECLARES_HOOK)
#undef OPSCOPE_DECLARES_HOOK
OPSCOPE_DECLARES(reset)
OPSCOPE_DECLARES(start)
OPSCOPE_DECLARES(stop)
OPSCOPE_DECLARES(profile_into)
OPSCOPE_DECLARES(recording)
OPSCOPE_DECLARES(split)
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
concept reports_recording = requires(const P& p) {
    { p.recording() } -> std::same_as<bool>;
};
template <class P>
concept splittable = requires(P& p, Profile& out, const Machine& m) { p.split(out, m); };
template <class P>
concept named = requires {
    { P::name } -> std::convertible_to<std::string_view>;
};
} // namespace policy_detail

// Each clause reads: "if P declares this, it has this signature".
#define OPSCOPE_HOOK_CLAUSE(hook, member, ...) policy_detail::hook_if_declares_##member<P> &&
template <class P>
concept ProfilerPolicy =
    std::move_constructible<P> &&
    OPSCOPE_HOOKS(OPSCOPE_HOOK_CLAUSE)
    (!policy_detail::declares_samples_pc<P> || std::same_as<decltype(P::samples_pc), const bool>) &&
    (!policy_detail::declares_samples_stack<P> || std::same_as<decltype(P::samples_stack), const bool>) &&
    (!policy_detail::declares_reset<P> || policy_detail::resettable<P>) &&
    (!policy_detail::declares_start<P> || policy_detail::startable<P>) &&
    (!policy_detail::declares_stop<P> || policy_detail::stoppable<P>) &&
    (!policy_detail::declares_profile_into<P> || policy_detail::profiles<P>) &&
    (!policy_detail::declares_recording<P> || policy_detail::reports_recording<P>) &&
    (!policy_detail::declares_split<P> || policy_detail::splittable<P>) &&
    (!policy_detail::declares_name<P> || policy_detail::named<P>);
#undef OPSCOPE_HOOK_CLAUSE

// Nanoseconds from `since` to now on the steady clock (policies' recording intervals).
inline std::uint64_t nanoseconds_since(std::chrono::steady_clock::time_point since) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since).count());
}

namespace policy_detail {
// Vm::snapshot's step for one policy: its split(), or stop, profile_into, reset and start.
template <class P>
void split(P& policy, Profile& out, const Machine& m) {
    if constexpr (splittable<P>) {
        policy.split(out, m);
    } else {
        bool recording = true;
        if constexpr (reports_recording<P>) recording = policy.recording();
        if constexpr (stoppable<P>) if (recording) policy.stop(m);
        if constexpr (profiles<P>) policy.profile_into(out, m);
        if constexpr (resettable<P>) policy.reset();
        if constexpr (startable<P>) if (recording) policy.start(m);
    }
}
} // namespace policy_detail

// The policy's name for Profile::policy: its `name`, else "custom".
template <class P>
constexpr std::string_view policy_name() {
    if constexpr (policy_detail::named<P>) return P::name;
    else return "custom";
}

// A composition's hooks are inlined into the loop whatever the compiler's budget for it: a hook that became
// a call (InclusiveFullProfiler's on_return_fuel, once the loop grew) cost every return a call.
#if defined(__GNUC__) || defined(__clang__)
#define OPSCOPE_ALWAYS_INLINE __attribute__((always_inline))
#else
#define OPSCOPE_ALWAYS_INLINE
#endif

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

    // Each hook exists only if some part has it, and calls the parts that do, in order.
#define OPSCOPE_COMPOSE_HOOK(hook, member, parameters, arguments, meaning)                         \
    OPSCOPE_ALWAYS_INLINE void member parameters requires(hooks::hook<Parts> || ...) {             \
        for_parts([&](auto& part) OPSCOPE_ALWAYS_INLINE {                                          \
            if constexpr (hooks::hook<std::remove_cvref_t<decltype(part)>>) part.member arguments; \
        });                                                                                        \
    }
    OPSCOPE_HOOKS(OPSCOPE_COMPOSE_HOOK)
#undef OPSCOPE_COMPOSE_HOOK

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
    // Part by part, in order, as profile_into.
    void split(Profile& out, const Machine& m) {
        for_parts([&](auto& p) { policy_detail::split(p, out, m); });
    }

private:
    template <class F>
    OPSCOPE_ALWAYS_INLINE void for_parts(F&& f) {  // not hana::for_each: its call operator is not inlined
        [&]<std::size_t... I>(std::index_sequence<I...>) OPSCOPE_ALWAYS_INLINE {
            (f(boost::hana::at_c<I>(parts_)), ...);
        }(std::index_sequence_for<Parts...>{});
    }
    boost::hana::tuple<Parts...> parts_;
};

} // namespace opscope
