// kiln's log: one spdlog logger named "kiln" behind a small interface, so that headers users
// include never need spdlog's. The level comes from KILN_LOG (trace, debug, info, warn,
// error, off; default warn). Library code that wants spdlog's formatting includes
// support/log_spdlog.h instead. Tests: tests/support/log_test.cpp.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

namespace kiln::support {

enum class LogLevel { Trace, Debug, Info, Warn, Error, Off };

// "trace", "debug", "info", "warn" (or "warning"), "error", "off", any case; nullopt for
// anything else.
std::optional<LogLevel> parse_log_level(std::string_view text);
std::string_view log_level_name(LogLevel level);

LogLevel log_level();
void set_log_level(LogLevel level);
// Re-reads KILN_LOG (it is read once, at the first use of the log). An unknown value logs
// a warning naming it and keeps the default level, warn.
void configure_log_from_env();
// Whether a message at `level` would be written; test it before building a costly message.
bool log_enabled(LogLevel level);

void log_message(LogLevel level, std::string_view message);
inline void log_trace(std::string_view m) { log_message(LogLevel::Trace, m); }
inline void log_debug(std::string_view m) { log_message(LogLevel::Debug, m); }
inline void log_info(std::string_view m) { log_message(LogLevel::Info, m); }
inline void log_warn(std::string_view m) { log_message(LogLevel::Warn, m); }
inline void log_error(std::string_view m) { log_message(LogLevel::Error, m); }

// Also hands every message that passes the level to `callback` (an application's own log,
// or a test); nullptr removes it.
void set_log_callback(std::function<void(LogLevel, std::string_view)> callback);

}  // namespace kiln::support
