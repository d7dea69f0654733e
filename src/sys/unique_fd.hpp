// The fd owner of src/sys: detail::UniqueFd (mproc/detail/unique_fd.hpp, public because handles
// passed to another process arrive as fds), and dup with O_CLOEXEC.
#pragma once

#include "mproc/detail/unique_fd.hpp"

namespace mproc::sys {

using UniqueFd = detail::UniqueFd;

// dup with O_CLOEXEC.
[[nodiscard]] UniqueFd dup_cloexec(int fd);

}  // namespace mproc::sys
