// The pieces of the safetensors format that the reader and the writer share: the dtype
// table, the header-length rule and the header validator (see safetensors.h for the rules).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "io/safetensors.h"

namespace vlv::io {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference crate's MAX_HEADER_SIZE

struct FileDType {
  const char* name;  // "F32"
  size_t size;       // bytes per element
  DType vlv;         // the vlv dtype a load produces
  bool same_layout;  // the bytes are already vlv's (else a widening copy)
};

const FileDType* find_file_dtype(std::string_view name);  // null if unknown
const char* file_dtype_name(DType dt);                    // vlv dtype -> "F32", ...

// Reads the little-endian header length from the first 8 bytes and checks it against the
// limit and the file size. file_bytes must be >= 8 (checked by check_file_size).
void check_file_size(const std::string& path, uint64_t file_bytes);
uint64_t check_header_length(const std::string& path, uint64_t file_bytes, const uint8_t* first8);

// Parses and validates the header JSON. Throws E_FILE_FORMAT naming path.
Header parse_header(const std::string& path, uint64_t file_bytes, uint64_t header_bytes, std::string_view json);

}  // namespace vlv::io
