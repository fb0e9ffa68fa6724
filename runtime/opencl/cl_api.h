// The OpenCL C API as the OpenCL device uses it: the headers, owning handles for the
// reference-counted objects, and the error check that turns a status code into the right
// kiln::Error (DeviceError, with out-of-memory codes said as such). Internal to
// runtime/opencl/.
#pragma once

// OpenCL 1.2 is the oldest API the device uses; newer entry points are not called.
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <string>
#include <utility>

namespace kiln::runtime::opencl {

// CL_SUCCESS, CL_OUT_OF_RESOURCES, ...: the name of a status code.
std::string cl_status_name(cl_int status);

// Whether `status` says the device (or the host) ran out of memory.
bool is_out_of_memory(cl_int status);

// Throws DeviceError "<what> failed: <name> (<code>)" unless status is CL_SUCCESS; out of
// memory codes get a message saying so and what to do.
void check(cl_int status, const std::string& what);

// An owning handle of a retained OpenCL object (cl_mem, cl_kernel, ...).
template <class T, cl_int (*Release)(T)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T object) : object_(object) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  ~Handle() { reset(); }

  T get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }
  void reset() {
    if (object_) Release(object_);
    object_ = nullptr;
  }

 private:
  T object_ = nullptr;
};

using MemHandle = Handle<cl_mem, clReleaseMemObject>;
using KernelHandle = Handle<cl_kernel, clReleaseKernel>;
using ProgramHandle = Handle<cl_program, clReleaseProgram>;
using QueueHandle = Handle<cl_command_queue, clReleaseCommandQueue>;
using ContextHandle = Handle<cl_context, clReleaseContext>;

}  // namespace kiln::runtime::opencl
