// An enum's names written once, as a table of {value, name} pairs that
// name_of and value_of read both ways (a switch for the name and a loop for
// the parse would each repeat every value).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ctldb {

template <typename Enum>
struct EnumName {
    Enum value;
    const char* name;
};

/// The name of `value` in `table`, or `fallback` for a value the table lacks.
template <typename Enum, std::size_t N>
constexpr const char* name_of(const EnumName<Enum> (&table)[N], Enum value, const char* fallback) {
    for (const auto& entry : table) {
        if (entry.value == value) return entry.name;
    }
    return fallback;
}

/// The value named `name` in `table` (exact match), if any.
template <typename Enum, std::size_t N>
constexpr std::optional<Enum> value_of(const EnumName<Enum> (&table)[N], std::string_view name) {
    for (const auto& entry : table) {
        if (name == entry.name) return entry.value;
    }
    return std::nullopt;
}

}  // namespace ctldb
