// What every fuzz target shares: the rule that bad input may only end in a kiln::Error,
// and a scratch directory for the readers that take a path. A target defines
// LLVMFuzzerTestOneInput and runs its reader through run_input(); see fuzz/README.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>

#include "ir/error.h"

namespace kiln::fuzz {

// Reports a finding and aborts, so that libFuzzer saves the input that caused it.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "kiln fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// KILN_FUZZ_VERBOSE=1 prints why each input was refused: for checking that seeds are valid
// (build-fuzz/fuzz/fuzz_npy fuzz/corpus/npy/*) and for reading a finding.
inline bool verbose() {
  static const bool on = std::getenv("KILN_FUZZ_VERBOSE") != nullptr;
  return on;
}

// Runs `read` on one input. A kiln::Error with a message is how a reader refuses bad
// input; any other exception (std::bad_alloc, std::out_of_range, a JSON library's own
// error...) escaped a check the reader should have made, and is a finding.
inline void run_input(const std::function<void()>& read) {
  try {
    read();
  } catch (const kiln::ParseError& e) {
    // The message starts with the position, which lies inside the text.
    std::string position = std::to_string(e.line()) + ":" + std::to_string(e.column()) + ": ";
    if (e.line() < 1 || e.column() < 1 ||
        std::string_view(e.what()).substr(0, position.size()) != position)
      finding(std::string("malformed ParseError: ") + e.what());
    if (verbose()) std::fprintf(stderr, "refused: %s\n", e.what());
  } catch (const kiln::Error& e) {
    if (std::string_view(e.what()).empty()) finding("a kiln::Error with an empty message");
    if (verbose()) std::fprintf(stderr, "refused: %s\n", e.what());
  } catch (const std::exception& e) {
    finding(std::string("exception other than kiln::Error: ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    finding("a thrown value that is not a std::exception");
  }
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline std::span<const std::byte> as_bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

// A directory of this process's own (under $TMPDIR, else /tmp), removed at exit: the
// readers that only take a path read the input from a file in it.
const std::string& scratch_dir();

// Writes `bytes` to scratch_dir()/name and returns the path.
std::string write_scratch(const std::string& name, std::string_view bytes);

// Removes scratch_dir()/name if it exists.
void remove_scratch(const std::string& name);

}  // namespace kiln::fuzz
