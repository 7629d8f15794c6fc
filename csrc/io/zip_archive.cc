// The zip container of torch.save files: end record, zip64, central directory, local
// headers, crc32 (see zip_archive.h for the rules).
#include "io/zip_archive.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace vlv::io {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEndBytes = 22, kLocatorBytes = 20, kZip64EndBytes = 56, kCentralBytes = 46, kLocalBytes = 30;
constexpr uint64_t kMaxEntries = 10'000'000;

uint16_t u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) { return uint32_t(u16(p)) | (uint32_t(u16(p + 2)) << 16); }
uint64_t u64(const uint8_t* p) { return uint64_t(u32(p)) | (uint64_t(u32(p + 4)) << 32); }

// crc32 (IEEE, reflected 0xEDB88320), slicing by 8.
struct CrcTables {
  std::array<std::array<uint32_t, 256>, 8> t;
  CrcTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};

}  // namespace

uint32_t crc32(const uint8_t* p, size_t n, uint32_t crc) {
  static const CrcTables tables;
  const auto& t = tables.t;
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo = u32(p) ^ c, hi = u32(p + 4);
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][hi & 0xff] ^
        t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = t[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

bool looks_like_zip(const uint8_t* bytes, uint64_t size) {
  return size >= 4 && (u32(bytes) == kLocalSig || u32(bytes) == kEndSig);
}

ZipArchive::ZipArchive(const uint8_t* bytes, uint64_t size, std::string path)
    : bytes_(bytes), size_(size), path_(std::move(path)) {
  auto bad = [&](const auto&... parts) { fail(ErrorCode::FileFormat, path_, ": ", parts...); };
  if (size < kEndBytes) bad("a ", size, "-byte file is too small to be a zip archive");

  // The end record: the last signature whose comment length reaches exactly the file's end.
  uint64_t end = UINT64_MAX;
  uint64_t lowest = size > kEndBytes + 0xffff ? size - kEndBytes - 0xffff : 0;
  for (uint64_t at = size - kEndBytes + 1; at-- > lowest;) {
    if (u32(bytes + at) == kEndSig && at + kEndBytes + u16(bytes + at + 20) == size) {
      end = at;
      break;
    }
  }
  if (end == UINT64_MAX) bad("no zip end-of-central-directory record (a truncated or non-zip file)");
  const uint8_t* e = bytes + end;
  uint64_t disk = u16(e + 4), cd_disk = u16(e + 6), count_here = u16(e + 8), count = u16(e + 10);
  uint64_t cd_size = u32(e + 12), cd_offset = u32(e + 16);
  uint64_t cd_limit = end;  // the central directory ends where the (zip64) end records begin

  bool zip64 = count == 0xffff || count_here == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff;
  if (end >= kLocatorBytes && u32(bytes + end - kLocatorBytes) == kZip64LocatorSig) {
    const uint8_t* loc = bytes + end - kLocatorBytes;
    uint64_t rec = u64(loc + 8);
    if (u32(loc + 4) != 0 || u32(loc + 16) > 1) bad("multi-disk zip archives are not supported");
    if (rec > end - kLocatorBytes || end - kLocatorBytes - rec < kZip64EndBytes)
      bad("the zip64 end record offset ", rec, " is outside the file");
    const uint8_t* z = bytes + rec;
    if (u32(z) != kZip64EndSig) bad("no zip64 end record at offset ", rec);
    disk = u32(z + 16);
    cd_disk = u32(z + 20);
    count_here = u64(z + 24);
    count = u64(z + 32);
    cd_size = u64(z + 40);
    cd_offset = u64(z + 48);
    cd_limit = rec;
  } else if (zip64) {
    bad("the end record asks for zip64 but there is no zip64 end locator");
  }
  if (disk != 0 || cd_disk != 0 || count_here != count) bad("multi-disk zip archives are not supported");
  if (count > kMaxEntries) bad(count, " zip entries is more than the ", kMaxEntries, " allowed");
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
    bad("the central directory [", cd_offset, ", +", cd_size, ") lies outside the file (", size,
        " bytes; a truncated file?)");
  if (count > cd_size / kCentralBytes)
    bad("the central directory (", cd_size, " bytes) is too small for its ", count, " entries");

  entries_.reserve(size_t(count));
  std::vector<std::pair<uint64_t, size_t>> headers;  // (local header offset, entry index)
  const uint8_t* p = bytes + cd_offset;
  const uint8_t* cd_end = p + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (uint64_t(cd_end - p) < kCentralBytes) bad("central directory entry ", i, " runs past the directory's end");
    if (u32(p) != kCentralSig) bad("central directory entry ", i, " has a bad signature");
    uint16_t flags = u16(p + 8), method = u16(p + 10);
    uint64_t csize = u32(p + 20), usize = u32(p + 24), local = u32(p + 42);
    uint32_t crc = u32(p + 16), disk_start = u16(p + 34);
    uint64_t name_len = u16(p + 28), extra_len = u16(p + 30), comment_len = u16(p + 32);
    if (uint64_t(cd_end - p) - kCentralBytes < name_len + extra_len + comment_len)
      bad("central directory entry ", i, " runs past the directory's end");
    std::string name(reinterpret_cast<const char*>(p + kCentralBytes), name_len);
    const std::string where = "zip entry '" + name + "'";
    // zip64 extra field: the 64-bit values for the 32-bit fields that hold 0xffffffff, in order.
    const uint8_t* x = p + kCentralBytes + name_len;
    const uint8_t* x_end = x + extra_len;
    while (x_end - x >= 4) {
      uint16_t id = u16(x), len = u16(x + 2);
      if (x_end - x - 4 < len) bad(where, ": an extra field runs past its header");
      if (id == 0x0001) {
        const uint8_t* f = x + 4;
        uint64_t left = len;
        auto take = [&](uint64_t& v) {
          if (left < 8) bad(where, ": the zip64 extra field is too short");
          v = u64(f);
          f += 8;
          left -= 8;
        };
        if (usize == 0xffffffff) take(usize);
        if (csize == 0xffffffff) take(csize);
        if (local == 0xffffffff) take(local);
      }
      x += 4 + len;
    }
    if (disk_start != 0 && disk_start != 0xffff) bad(where, ": multi-disk zip archives are not supported");
    if (flags & 0x41) bad(where, " is encrypted");
    if (method != 0)
      bad(where, " is compressed (method ", method, method == 8 ? ", deflate" : "",
          "); vlv reads only stored entries, as torch.save writes them");
    if (csize != usize) bad(where, ": stored with compressed size ", csize, " != size ", usize);
    if (local > cd_offset || cd_offset - local < kLocalBytes)
      bad(where, ": local header offset ", local, " is past the central directory (", cd_offset, ")");
    const uint8_t* lh = bytes + local;
    if (u32(lh) != kLocalSig) bad(where, ": no local header at offset ", local);
    uint64_t lname = u16(lh + 26), lextra = u16(lh + 28);
    uint64_t data = local + kLocalBytes + lname + lextra;
    if (data > cd_offset || usize > cd_offset - data)
      bad(where, ": its ", usize, " bytes at offset ", data, " run past the central directory (", cd_offset,
          "; a truncated file?)");
    if (lname != name_len || std::string_view(reinterpret_cast<const char*>(lh + kLocalBytes), lname) != name)
      bad(where, ": the local header names another entry");
    if (!index_.emplace(name, entries_.size()).second) bad("duplicate zip entry '", name, "'");
    headers.emplace_back(local, entries_.size());
    entries_.push_back(ZipEntry{name, data, usize, crc});
    p += kCentralBytes + name_len + extra_len + comment_len;
  }

  // No two entries overlap: each one's data ends before the next one's local header.
  std::sort(headers.begin(), headers.end());
  for (size_t k = 1; k < headers.size(); ++k) {
    const ZipEntry& a = entries_[headers[k - 1].second];
    const ZipEntry& b = entries_[headers[k].second];
    if (a.data_offset + a.size > headers[k].first) bad("zip entries '", a.name, "' and '", b.name, "' overlap");
  }
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

void ZipArchive::verify(const ZipEntry& e) const {
  uint32_t c = crc32(data(e), size_t(e.size));
  VLV_CHECK(c == e.crc32, ErrorCode::FileFormat, path_, ": zip entry '", e.name, "' is corrupt (crc32 ", c,
            " != ", e.crc32, ")");
}

}  // namespace vlv::io
