// kiln-ckpt: inspects a checkpoint file (PyTorch .pt / .pth / .bin, .npz, safetensors;
// kiln/checkpoint.h reads it, picking the format by content).
//
//   kiln-ckpt info FILE   the format, each tensor's name, dtype, shape and size in bytes,
//                         and the total parameter count
//
// Exit status: 0 on success, 1 when the file cannot be read (the message says why: not a
// checkpoint, malformed, truncated, a pickle that names a forbidden global...), 2 for a bad
// command line. Tests: tests/tools/kiln_ckpt_test.cpp.
#include <kiln/checkpoint.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iomanip>
#include <iostream>

namespace {

void print_info(const std::string& path, std::ostream& out) {
  kiln::Checkpoint ckpt = kiln::read_checkpoint(path);
  out << "file: " << path << "\n";
  out << "format: " << kiln::checkpoint_format_name(ckpt.format) << "\n";
  if (!ckpt.found_under.empty()) out << "tensors found under: " << ckpt.found_under << "\n";
  size_t name_width = 4, shape_width = 5;
  for (const auto& [name, buffer] : ckpt.tensors) {
    name_width = std::max(name_width, name.size());
    shape_width = std::max(shape_width, kiln::shape_str(buffer->shape()).size());
  }
  out << std::left << std::setw(static_cast<int>(name_width)) << "name"
      << "  " << std::setw(5) << "dtype"
      << "  " << std::setw(static_cast<int>(shape_width)) << "shape"
      << "  bytes\n";
  int64_t parameters = 0;
  uint64_t bytes = 0;
  for (const auto& [name, buffer] : ckpt.tensors) {
    std::string dtype(kiln::dtype_name(buffer->dtype()));
    auto file_dtype = ckpt.file_dtypes.find(name);
    out << std::setw(static_cast<int>(name_width)) << name << "  " << std::setw(5) << dtype << "  "
        << std::setw(static_cast<int>(shape_width)) << kiln::shape_str(buffer->shape()) << "  "
        << buffer->nbytes();
    if (file_dtype != ckpt.file_dtypes.end()) out << "  (" << file_dtype->second << " in the file)";
    out << "\n";
    parameters += buffer->type().numel();
    bytes += buffer->nbytes();
  }
  out << "total: " << ckpt.tensors.size() << " tensor" << (ckpt.tensors.size() == 1 ? "" : "s")
      << ", " << parameters << " parameters, " << bytes << " bytes\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kiln-ckpt: inspect a checkpoint (PyTorch .pt/.pth/.bin, .npz, safetensors)"};
  app.require_subcommand(1);
  std::string file;
  CLI::App* info = app.add_subcommand("info",
                                      "print the format and each tensor's name, dtype, "
                                      "shape and size");
  info->add_option("file", file, "checkpoint file")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is a success
  }
  try {
    print_info(file, std::cout);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "kiln-ckpt: error: " << e.what() << "\n";
    return 1;
  }
}
