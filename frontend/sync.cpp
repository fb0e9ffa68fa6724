// The public host syncs (eval, printing) and device selection. Each sync is recorded with
// its call site before anything runs, so strict mode can refuse it.
#include <sstream>

#include "frontend/evaluate.h"
#include "frontend/format.h"

#if __has_include("ir/printer.h")
#include "ir/printer.h"
#endif

namespace kiln {

namespace {
thread_local std::shared_ptr<runtime::Device> t_device;
}  // namespace

std::shared_ptr<runtime::Device> current_device() {
  return t_device ? t_device : runtime::default_device();
}

DeviceGuard::DeviceGuard(std::shared_ptr<runtime::Device> device) : previous_(t_device) {
  if (!device) throw DeviceError("DeviceGuard: the device is null; pass a device to use");
  t_device = std::move(device);
}

DeviceGuard::~DeviceGuard() { t_device = std::move(previous_); }

void eval(const std::vector<Tensor>& tensors, Loc loc) {
  runtime::record_host_sync(loc, "eval");
  frontend::evaluate(tensors, current_device());
}

void eval(const std::shared_ptr<runtime::Device>& device, const std::vector<Tensor>& tensors,
          Loc loc) {
  if (!device) throw DeviceError("eval: the device is null; pass a device to run on");
  runtime::record_host_sync(loc, "eval");
  frontend::evaluate(tensors, device);
}

std::string to_string(const Tensor& x, Loc loc) {
  runtime::record_host_sync(loc, "print");
  frontend::evaluate({x}, current_device());
  return frontend::format_values(*x.node()->buffer);
}

std::ostream& operator<<(std::ostream& os, TensorAt x) { return os << to_string(x.tensor, x.loc); }

ir::Graph graph_of(const std::vector<Tensor>& tensors) {
  std::vector<ir::NodePtr> roots;
  for (const Tensor& t : tensors) roots.push_back(t.node());
  return frontend::extract_graph(roots, /*skip_evaluated=*/false).graph;
}

std::string print_ir(const std::vector<Tensor>& tensors) {
#if __has_include("ir/printer.h")
  return ir::print_graph(graph_of(tensors));
#else
  (void)tensors;
  throw UnsupportedError("print_ir: this build has no IR printer");
#endif
}

}  // namespace kiln
