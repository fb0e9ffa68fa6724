// The spdlog logger behind support/log.h, for library code that wants spdlog's formatting
// (log().debug("compiled {} in {:.2f} ms", name, ms)). Not for public headers: users of
// kiln must not need spdlog.
#pragma once

#include <spdlog/spdlog.h>

#include "support/log.h"

namespace kiln::support {

// The logger named "kiln", created on first use with the level from KILN_LOG.
spdlog::logger& log();

}  // namespace kiln::support
