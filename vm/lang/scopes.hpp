// LocalScopes: the block-scoped local variables of the function being compiled. A local's slot is its
// index among the locals live at its declaration, so slots are reused once a block ends; the function's
// nlocals is the most ever live at once. Names view the source, which outlives the compile.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace opscope::lang {

class LocalScopes {
public:
    void reset() {
        names_.clear();
        scope_starts_.clear();
        max_slots_ = 0;
    }
    void enter() { scope_starts_.push_back(names_.size()); }
    void leave() {
        names_.resize(scope_starts_.back());
        scope_starts_.pop_back();
    }
    // No block is open: in `main`, a `let` here declares a global.
    bool at_top_level() const { return scope_starts_.empty(); }

    // The slot of the innermost local named `name`.
    std::optional<std::int32_t> find(std::string_view name) const {
        for (std::size_t i = names_.size(); i-- > 0;)
            if (names_[i] == name) return static_cast<std::int32_t>(i);
        return std::nullopt;
    }
    bool declared_in_innermost(std::string_view name) const {
        const std::size_t start = scope_starts_.empty() ? 0 : scope_starts_.back();
        return std::find(names_.begin() + static_cast<std::ptrdiff_t>(start), names_.end(), name) != names_.end();
    }
    // Declares `name` in the innermost scope; returns its slot.
    std::int32_t declare(std::string_view name) {
        names_.push_back(name);
        max_slots_ = std::max(max_slots_, static_cast<std::uint32_t>(names_.size()));
        return static_cast<std::int32_t>(names_.size() - 1);
    }
    std::uint32_t max_slots() const { return max_slots_; }

private:
    std::vector<std::string_view> names_;        // live locals; index = slot
    std::vector<std::size_t> scope_starts_;  // index into names_ where each open scope begins
    std::uint32_t max_slots_ = 0;
};

} // namespace opscope::lang
