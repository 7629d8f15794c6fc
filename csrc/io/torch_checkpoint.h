// PyTorch checkpoints (.pt, .pth, .bin, .ckpt written by torch.save): read weights-only.
//
// The file is a zip archive (zip_archive.h) holding `<prefix>/data.pkl`, a pickle of the
// state_dict read by the allow-list machine of torch_pickle.h (nothing in the file is ever
// imported or run), and one record `<prefix>/data/<key>` per storage. The tensors are the
// str-keyed tensor values of the pickle's top dict (or, when that holds no tensors, of its
// `state_dict` entry, as Lightning's .ckpt files nest it); other values are skipped.
//
// Validation (each fault an E_FILE_FORMAT naming the file and the fault; E_FILE when the
// file system refuses):
//  - the zip rules of zip_archive.h; exactly one `<prefix>/data.pkl`, one folder deep; its
//    crc32 and every loaded storage record's crc32 match; `<prefix>/byteorder`, when
//    present, says "little";
//  - a file that is not a zip is refused, and the legacy torch.save format (a bare pickle)
//    is refused by name with the way to re-save it;
//  - a persistent id is ('storage', torch.<T>Storage, key, location, numel) and names an
//    existing record of exactly numel * itemsize bytes; a key used twice has one type and numel;
//  - a tensor has non-negative sizes and strides whose product does not overflow, and every
//    element it addresses lies inside its storage; an expanded view (more elements than its
//    storage) of over 16M elements is refused, so a small file cannot ask for huge memory.
//
// Loading maps the file once. A tensor whose elements are the contiguous, aligned bytes of its
// record in a dtype vlv holds is a view of the mapping (copy-on-write, as for safetensors);
// any other view (transposed, strided, expanded) is materialised as a contiguous copy, and
// Short / Char storages widen to i32 (as safetensors' I16 / I8 do).
// Tied tensors (the same storage, offset, sizes and strides under several names, e.g.
// `lm_head.weight` and `embed_tokens.weight`) are each returned, and `aliases` maps every name
// after the first to the first (in the pickle's order).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace vlv::io {

struct TorchTensorEntry {
  std::string name;
  std::string dtype;  // as safetensors names it: "F32", "BF16", "I16", ...
  Shape shape;
  std::vector<int64_t> stride;
  int64_t storage_offset = 0;  // in elements
  std::string storage;         // the record's key
  uint64_t storage_bytes = 0;
  std::string alias_of;  // the first earlier name viewing the same elements the same way, or ""
};

struct TorchCheckpointInfo {
  std::vector<TorchTensorEntry> tensors;  // in the pickle's order
  uint64_t file_bytes = 0;
  uint64_t storage_bytes = 0;  // the distinct storages' bytes
};

// Validates the archive and the pickle; reads no storage bytes (their crc32 is not checked).
TorchCheckpointInfo inspect_torch_checkpoint(const std::string& path);

struct TorchLoaded {
  std::vector<std::pair<std::string, Tensor>> tensors;       // in the pickle's order
  std::vector<std::pair<std::string, std::string>> aliases;  // name -> the first name it ties to
};

// Loads every tensor; floating tensors are converted to `dtype` when it is given.
TorchLoaded load_torch_checkpoint(const std::string& path, std::optional<DType> dtype = {});

// True for the names torch.save files go by: *.pt, *.pth, *.bin, *.ckpt.
bool is_torch_checkpoint_name(const std::string& path);
// In a folder: pytorch_model.bin or diffusion_pytorch_model.bin when the folder has no
// *.safetensors file, else "".
std::string find_torch_checkpoint(const std::string& folder);

}  // namespace vlv::io
