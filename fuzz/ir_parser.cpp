// Fuzz target: the IR text parser (ir/parser.h). Any text either parses or throws a
// ParseError with its position. A graph that parses must also round-trip, as ir/printer.h
// promises: print -> parse -> print gives the same text.
#include "fuzz_target.h"
#include "ir/parser.h"
#include "ir/printer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = kiln::fuzz::as_text(data, size);
  kiln::fuzz::run_input([&] { kiln::ir::parse_type(text); });
  kiln::fuzz::run_input([&] {
    std::string printed = kiln::ir::print_graph(kiln::ir::parse_graph(text));
    std::string again;
    try {
      again = kiln::ir::print_graph(kiln::ir::parse_graph(printed));
    } catch (const kiln::Error& e) {
      kiln::fuzz::finding(std::string("the printed graph does not parse: ") + e.what() + "\n" +
                          printed);
    }
    if (again != printed)
      kiln::fuzz::finding("print -> parse -> print changed the text:\n" + printed + "\n---\n" +
                          again);
  });
  return 0;
}
