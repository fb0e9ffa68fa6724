// Registers the CPU device ("cpu") with the device registry (runtime/device.h explains why
// built-in backends register through this hook).
#pragma once

namespace kiln::runtime {

void register_cpu_device();

}  // namespace kiln::runtime
