// Checkpoints made elsewhere: PyTorch's torch.save files (.pt / .pth / .bin, the zip
// format of torch >= 1.6), NumPy .npz archives and safetensors files, read by content, not
// by file name; and match_and_load, which puts a checkpoint's tensors into an nn::Module
// by name. Reading a checkpoint never runs code from it: the pickle inside a PyTorch file
// is read by a restricted unpickler that knows tensors, storages, OrderedDicts and plain
// values, and refuses every other global by name. Guide: docs/checkpoints.md. Tests:
// tests/tools/checkpoint_test.cpp, tests/tools/kiln_ckpt_test.cpp.
#pragma once

#include <kiln/io.h>
#include <kiln/nn.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

enum class CheckpointFormat { PyTorch, Npz, Safetensors };
// "pytorch", "npz", "safetensors".
std::string_view checkpoint_format_name(CheckpointFormat format);

struct CheckpointOptions {
  // Caps on what a zip entry (a storage, an .npy) may inflate to, one and all together: a
  // file declaring more is refused before anything is allocated.
  uint64_t max_entry_bytes = uint64_t{64} << 30;
  uint64_t max_total_bytes = uint64_t{256} << 30;
};

// A checkpoint's tensors. PyTorch files nest them: the mapping of tensors is found at the
// top, or under "state_dict", "model_state_dict", "state" -> "model" (Composer), "model",
// "module", ... (docs/checkpoints.md), and a "module." prefix on every name (from
// DataParallel) is dropped.
struct Checkpoint {
  CheckpointFormat format = CheckpointFormat::PyTorch;
  // Where the tensors were found, as dotted keys ("state.model"); empty at the top.
  std::string found_under;
  std::map<std::string, BufferPtr> tensors;
  // Names whose dtype in the file differs from the buffer's: torch.int16 ("i16") has no
  // kiln dtype and is widened to i32.
  std::map<std::string, std::string> file_dtypes;
};

// Reads a checkpoint, picking the format by content: a zip holding <archive>/data.pkl is a
// PyTorch checkpoint, a zip of .npy files an .npz, an 8-byte length and a JSON header a
// safetensors file. Anything else, and any malformed or unsafe file, is an IOError naming
// the file and the reason (DTypeError for a dtype kiln cannot hold).
Checkpoint read_checkpoint(const std::string& path, const CheckpointOptions& options = {});
// A checkpoint's tensors as constants, by name. (kiln::load_checkpoint, of kiln/optim.h,
// reads kiln's own training checkpoints: parameters with their optimizer state.)
std::map<std::string, Tensor> load_checkpoint_tensors(const std::string& path,
                                                      const CheckpointOptions& options = {},
                                                      Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// Loading a checkpoint into a module.

struct MatchOptions {
  // Prefixes removed from checkpoint names (the first that matches, per name).
  std::vector<std::string> strip_prefixes;
  // Also find one dotted prefix ("model.", "module.", "bert.") that, removed from the
  // checkpoint's names or added to them, makes the most names match the module's.
  bool auto_prefix = true;
  // Maps a checkpoint name (after the prefixes) to the module's name for it; nullopt
  // leaves the tensor out (it is then neither loaded nor reported).
  std::function<std::optional<std::string>(const std::string&)> rename;
  // Strict: any missing, unexpected or mismatched name is an error and nothing is loaded.
  // Not strict: what matches is loaded, the rest reported.
  bool strict = true;
};

struct LoadReport {
  struct Mismatch {
    std::string name;  // the module's
    Type expected, found;
  };
  std::string prefix_stripped, prefix_added;  // by auto_prefix
  std::vector<std::string> loaded;            // module names
  std::vector<std::string> missing;           // module names the checkpoint lacks
  std::vector<std::string> unexpected;        // checkpoint names the module lacks
  std::vector<Mismatch> wrong_shape;          // shapes differ (or dtypes that do not convert)
  std::vector<std::string> converted;         // "name: f16 -> f32"

  // Nothing missing, unexpected or mismatched.
  bool ok() const { return missing.empty() && unexpected.empty() && wrong_shape.empty(); }
  // A readable summary, one section per list.
  std::string str() const;
};

// Loads the checkpoint's tensors into the module's parameters and buffers of the same
// (matched) names. Floating-point tensors are converted to the module's dtype (f16, bf16,
// f64 -> f32...); other dtype differences are mismatches. Strict mode throws IOError
// holding report.str() when !report.ok().
LoadReport match_and_load(nn::Module& module, const std::map<std::string, Tensor>& checkpoint,
                          const MatchOptions& options = {});
LoadReport match_and_load(nn::Module& module, const std::string& path,
                          const MatchOptions& options = {});

}  // namespace kiln
