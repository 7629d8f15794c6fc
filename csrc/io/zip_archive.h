// A read-only view of a zip archive held in memory (an mmap of the whole file): the central
// directory parsed and validated, each entry's data located. Only what torch.save writes is
// read: stored (uncompressed) entries, zip64 sizes and offsets, one disk. Every fault is an
// E_FILE_FORMAT naming the file and the entry:
//  - the end-of-central-directory record is found in the last 64 KiB + 22 bytes, its zip64
//    locator and record (when present) are consistent and inside the file, one disk only;
//  - the central directory lies inside the file, before the end record, and holds exactly
//    the number of entries the end record says;
//  - each entry: a central header signature, not encrypted, method 0 (stored; a deflated
//    entry is refused by name: vlv has no inflater), compressed size == uncompressed size,
//    a local header at its offset with the same name, data inside the file and before the
//    central directory, no two entries overlapping, no duplicate names;
//  - crc32 is checked by verify() (the caller decides which entries to read in full).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vlv::io {

struct ZipEntry {
  std::string name;
  uint64_t data_offset = 0;  // of the entry's bytes in the file
  uint64_t size = 0;
  uint32_t crc32 = 0;
};

class ZipArchive {
 public:
  // Parses the archive in bytes[0, size); `path` names it in messages. The bytes must
  // outlive the archive.
  ZipArchive(const uint8_t* bytes, uint64_t size, std::string path);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;  // null when absent
  const uint8_t* data(const ZipEntry& e) const { return bytes_ + e.data_offset; }
  // E_FILE_FORMAT naming the entry when its bytes do not match its crc32.
  void verify(const ZipEntry& e) const;
  const std::string& path() const { return path_; }

 private:
  const uint8_t* bytes_;
  uint64_t size_;
  std::string path_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0);

// True when the bytes start like a zip archive (a local file header or an empty archive).
bool looks_like_zip(const uint8_t* bytes, uint64_t size);

}  // namespace vlv::io
