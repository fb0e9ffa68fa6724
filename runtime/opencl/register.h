// Registers the OpenCL device ("opencl", "opencl:N", or a part of a device's name) with
// the device registry (runtime/device.h explains why built-in backends register through
// this hook).
#pragma once

namespace kiln::runtime {

void register_opencl_device();

}  // namespace kiln::runtime
