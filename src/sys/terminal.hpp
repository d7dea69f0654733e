// Terminal queries for output meant for a person: is an fd a terminal, and how wide is it.
#pragma once

#include <optional>

namespace mproc::sys {

// isatty(fd): false for a pipe, a file, a closed fd.
[[nodiscard]] bool is_terminal(int fd) noexcept;

// The terminal's width in columns from TIOCGWINSZ, or nullopt when fd is not a terminal or the
// terminal reports 0 columns (some serial consoles and ptys that were never sized).
[[nodiscard]] std::optional<int> terminal_columns(int fd) noexcept;

}  // namespace mproc::sys
