// safetensors: read through a validated header and an mmap, write atomically.
//
// Format: 8-byte little-endian header length N, N bytes of JSON
// ({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}),
// then the data section (offsets are relative to its start).
//
// Validation (every fault is ErrorCode::FileFormat, the message names the file and the
// fault; a missing or unreadable file is ErrorCode::File):
//  - the file holds at least 8 bytes; N <= 100,000,000 and N <= file size - 8;
//  - the header is strict JSON (valid UTF-8, no duplicate keys, depth-limited) and an object,
//    optionally padded with whitespace;
//  - `__metadata__`, if present, is an object of string -> string;
//  - each tensor entry has exactly dtype / shape / data_offsets; dtype is one of F64 F32 F16
//    BF16 I64 I32 I16 I8 U8 BOOL U16 U32 U64 (any other dtype, including the F8/F4/C64 kinds
//    vlv has no use for, is an E_FILE_FORMAT naming the dtype: one code for "this file is
//    unusable", so callers need not tell a format fault from an unsupported type);
//    shape entries are non-negative integers whose product times the element size does not
//    overflow and equals end - begin; begin <= end;
//  - like the reference crate (huggingface/safetensors, Metadata::validate and
//    read_metadata), the spans sorted by offset tile the data section exactly: the first
//    starts at 0, each starts where the previous ends (no overlap, no hole), and the last
//    ends at the end of the file (no trailing bytes, no truncation).
//
// Loading maps the file once (MAP_PRIVATE: copy-on-write, so an in-place op on a loaded
// tensor never touches the file) and returns views sharing one Storage whose release unmaps.
// A tensor is copied instead when its offset is misaligned for its element type, when it is
// converted on request (opts.dtype applies to floating tensors only), or when its dtype has
// no vlv counterpart: I8, I16 and U16 widen to i32; U32 and U64 widen to i64 (a U64 value
// above INT64_MAX is an E_DTYPE). As with any mmap, truncating the file while its tensors
// live is undefined (SIGBUS); vlv never writes a file in place (see save).
//
// Sharded checkpoints: a `*.safetensors.index.json` ({"weight_map": {tensor: shard file}})
// loads every shard it names (each validated); the shards together must hold exactly the
// tensors of the weight map, each in the shard the map names.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace vlv::io {

using Metadata = std::vector<std::pair<std::string, std::string>>;

struct TensorEntry {
  std::string name;
  std::string dtype;  // the file's name: "F32", "BF16", ...
  Shape shape;
  uint64_t begin = 0, end = 0;  // data_offsets, relative to the data section
};

struct Header {
  std::vector<TensorEntry> tensors;  // in data order (sorted by offset)
  bool has_metadata = false;
  Metadata metadata;          // in file order
  uint64_t header_bytes = 0;  // N
  uint64_t file_bytes = 0;
  uint64_t data_start() const { return 8 + header_bytes; }
};

// Reads and validates the header without touching the data section.
Header read_header(const std::string& path);

struct LoadOptions {
  std::optional<DType> dtype;                     // convert floating tensors to this dtype
  std::optional<std::vector<std::string>> names;  // only these (each must exist: E_ARG otherwise)
};

struct Loaded {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in data order (shard by shard)
  Metadata metadata;                                    // the file's __metadata__ (sharded: the first shard's)
};

// What a path names: a .safetensors file, an index file, or a folder holding one of those
// (an index first: *.safetensors.index.json; else model.safetensors or
// diffusion_pytorch_model.safetensors; else the folder's only *.safetensors).
struct Checkpoint {
  std::string index;                                            // the index file, empty for a single file
  std::vector<std::string> files;                               // absolute shard paths, sorted
  std::vector<std::pair<std::string, std::string>> weight_map;  // name -> shard path (index only)
};
Checkpoint resolve_checkpoint(const std::string& path);

Loaded load(const std::string& path_or_folder, const LoadOptions& options = {});

// Writes tensors (CPU, any vlv dtype) and optional metadata to path atomically: a temporary
// file in the same folder, header (compact JSON, `__metadata__` first, padded with spaces to a
// multiple of 8), data ordered by element size (largest first) then name so every tensor is
// aligned, fsync, rename over path, fsync the folder. E_FILE if the file system refuses.
void save(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
          const Metadata& metadata = {});

}  // namespace vlv::io
