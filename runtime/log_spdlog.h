// The spdlog logger behind runtime/log.h, for library code that wants spdlog's formatting
// (log().debug("compiled {} in {:.2f} ms", name, ms)). Not for public headers: users of
// kiln must not need spdlog.
#pragma once

#include <spdlog/spdlog.h>

#include "runtime/log.h"

namespace kiln::runtime {

// The logger named "kiln", created on first use with the level from KILN_LOG.
spdlog::logger& log();

}  // namespace kiln::runtime
