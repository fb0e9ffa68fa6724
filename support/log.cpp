// The "kiln" spdlog logger: stderr plus an optional callback, level from KILN_LOG.
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cctype>
#include <cstdlib>
#include <mutex>
#include <string>

#include "support/log_spdlog.h"

namespace kiln::support {

namespace {

constexpr LogLevel kDefaultLevel = LogLevel::Warn;

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::Trace: return spdlog::level::trace;
    case LogLevel::Debug: return spdlog::level::debug;
    case LogLevel::Info: return spdlog::level::info;
    case LogLevel::Warn: return spdlog::level::warn;
    case LogLevel::Error: return spdlog::level::err;
    case LogLevel::Off: return spdlog::level::off;
  }
  return spdlog::level::warn;
}

LogLevel from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return LogLevel::Trace;
    case spdlog::level::debug: return LogLevel::Debug;
    case spdlog::level::info: return LogLevel::Info;
    case spdlog::level::warn: return LogLevel::Warn;
    case spdlog::level::err:
    case spdlog::level::critical: return LogLevel::Error;
    default: return LogLevel::Off;
  }
}

// Forwards formatted messages to the application's callback, if one is set.
class CallbackSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void set(std::function<void(LogLevel, std::string_view)> callback) {
    std::lock_guard lock(mutex_);
    callback_ = std::move(callback);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (callback_)
      callback_(from_spdlog(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  std::function<void(LogLevel, std::string_view)> callback_;
};

struct Logger {
  std::shared_ptr<CallbackSink> callback = std::make_shared<CallbackSink>();
  std::shared_ptr<spdlog::logger> logger;

  Logger() {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("[kiln] [%l] %v");
    logger = std::make_shared<spdlog::logger>("kiln", spdlog::sinks_init_list{console, callback});
    if (!spdlog::get("kiln")) spdlog::register_logger(logger);
    apply_env();
  }

  void apply_env() {
    logger->set_level(to_spdlog(kDefaultLevel));
    const char* env = std::getenv("KILN_LOG");
    if (!env || !*env) return;
    if (auto level = parse_log_level(env)) {
      logger->set_level(to_spdlog(*level));
      return;
    }
    logger->warn(
        "KILN_LOG='{}' is not a log level (use trace, debug, info, warn, error or off); "
        "keeping the default, warn",
        env);
  }
};

Logger& instance() {
  static Logger l;
  return l;
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  std::string s;
  for (char c : text) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "trace") return LogLevel::Trace;
  if (s == "debug") return LogLevel::Debug;
  if (s == "info") return LogLevel::Info;
  if (s == "warn" || s == "warning") return LogLevel::Warn;
  if (s == "error") return LogLevel::Error;
  if (s == "off") return LogLevel::Off;
  return std::nullopt;
}

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Trace: return "trace";
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
    case LogLevel::Off: return "off";
  }
  return "warn";
}

spdlog::logger& log() { return *instance().logger; }

LogLevel log_level() { return from_spdlog(log().level()); }
void set_log_level(LogLevel level) { log().set_level(to_spdlog(level)); }
void configure_log_from_env() { instance().apply_env(); }
bool log_enabled(LogLevel level) {
  return level != LogLevel::Off && log().should_log(to_spdlog(level));
}

void log_message(LogLevel level, std::string_view message) {
  if (level == LogLevel::Off) return;
  log().log(to_spdlog(level), "{}", message);
}

void set_log_callback(std::function<void(LogLevel, std::string_view)> callback) {
  instance().callback->set(std::move(callback));
}

}  // namespace kiln::support
