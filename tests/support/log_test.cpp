// kiln's log: level names, KILN_LOG (an unknown value warns once and keeps warn), the level
// filter, and the callback that receives messages.
#include "support/log.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/runtime/scoped_env.h"

namespace kiln::test {
namespace {

using support::LogLevel;

// Captures what the log writes while alive, and restores the level after.
class LogCapture {
 public:
  LogCapture() : level_(support::log_level()) {
    support::set_log_callback([this](LogLevel l, std::string_view m) { lines.emplace_back(l, m); });
  }
  ~LogCapture() {
    support::set_log_callback(nullptr);
    support::set_log_level(level_);
  }
  std::vector<std::pair<LogLevel, std::string>> lines;

 private:
  LogLevel level_;
};

TEST(Log, ParsesLevelNames) {
  EXPECT_EQ(support::parse_log_level("trace"), LogLevel::Trace);
  EXPECT_EQ(support::parse_log_level("debug"), LogLevel::Debug);
  EXPECT_EQ(support::parse_log_level("info"), LogLevel::Info);
  EXPECT_EQ(support::parse_log_level("warn"), LogLevel::Warn);
  EXPECT_EQ(support::parse_log_level("warning"), LogLevel::Warn);
  EXPECT_EQ(support::parse_log_level("error"), LogLevel::Error);
  EXPECT_EQ(support::parse_log_level("off"), LogLevel::Off);
  EXPECT_EQ(support::parse_log_level("DEBUG"), LogLevel::Debug);
  EXPECT_EQ(support::parse_log_level("verbose"), std::nullopt);
  EXPECT_EQ(support::parse_log_level(""), std::nullopt);
  for (LogLevel l : {LogLevel::Trace, LogLevel::Debug, LogLevel::Info, LogLevel::Warn,
                     LogLevel::Error, LogLevel::Off})
    EXPECT_EQ(support::parse_log_level(support::log_level_name(l)), l);
}

TEST(Log, LevelComesFromKilnLog) {
  LogCapture capture;
  {
    ScopedEnv env("KILN_LOG", nullptr);
    support::configure_log_from_env();
    EXPECT_EQ(support::log_level(), LogLevel::Warn);
  }
  {
    ScopedEnv env("KILN_LOG", "debug");
    support::configure_log_from_env();
    EXPECT_EQ(support::log_level(), LogLevel::Debug);
    EXPECT_TRUE(support::log_enabled(LogLevel::Debug));
    EXPECT_FALSE(support::log_enabled(LogLevel::Trace));
  }
  {
    ScopedEnv env("KILN_LOG", "off");
    support::configure_log_from_env();
    EXPECT_FALSE(support::log_enabled(LogLevel::Error));
  }
  EXPECT_TRUE(capture.lines.empty());
}

TEST(Log, UnknownKilnLogWarnsOnceAndKeepsTheDefault) {
  LogCapture capture;
  ScopedEnv env("KILN_LOG", "loud");
  support::configure_log_from_env();
  EXPECT_EQ(support::log_level(), LogLevel::Warn);
  ASSERT_EQ(capture.lines.size(), 1u);
  EXPECT_EQ(capture.lines[0].first, LogLevel::Warn);
  EXPECT_NE(capture.lines[0].second.find("KILN_LOG='loud'"), std::string::npos);
  EXPECT_NE(capture.lines[0].second.find("trace, debug, info, warn, error or off"),
            std::string::npos);
}

TEST(Log, MessagesBelowTheLevelAreDropped) {
  LogCapture capture;
  support::set_log_level(LogLevel::Info);
  support::log_debug("hidden");
  support::log_info("shown");
  support::log_error("also shown");
  support::log_message(LogLevel::Off, "never");
  ASSERT_EQ(capture.lines.size(), 2u);
  EXPECT_EQ(capture.lines[0], std::make_pair(LogLevel::Info, std::string("shown")));
  EXPECT_EQ(capture.lines[1], std::make_pair(LogLevel::Error, std::string("also shown")));
  support::set_log_level(LogLevel::Off);
  support::log_error("silenced");
  EXPECT_EQ(capture.lines.size(), 2u);
}

TEST(Log, MessagesAreNotFormatStrings) {
  LogCapture capture;
  support::set_log_level(LogLevel::Info);
  support::log_info("braces {} and {:x} stay as written");
  ASSERT_EQ(capture.lines.size(), 1u);
  EXPECT_EQ(capture.lines[0].second, "braces {} and {:x} stay as written");
}

}  // namespace
}  // namespace kiln::test
