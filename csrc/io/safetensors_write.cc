// Writing safetensors atomically: temporary file in the target's folder, fsync, rename,
// fsync the folder, so a crash leaves either the old file or the complete new one.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "io/json.h"
#include "io/mapped_file.h"
#include "io/safetensors_format.h"

namespace vlv::io {

namespace {

namespace fs = std::filesystem;

std::string build_header(const std::vector<std::pair<std::string, Tensor>>& tensors, const std::vector<size_t>& order,
                         const Metadata& metadata) {
  std::vector<std::pair<std::string, json::Value>> members;
  if (!metadata.empty()) {
    Metadata sorted = metadata;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::pair<std::string, json::Value>> meta;
    for (const auto& [k, v] : sorted) meta.emplace_back(k, json::Value::string(v));
    members.emplace_back("__metadata__", json::Value::object(std::move(meta)));
  }
  uint64_t offset = 0;
  for (size_t i : order) {
    const Tensor& t = tensors[i].second;
    std::vector<json::Value> dims;
    for (int64_t d : t.shape()) dims.push_back(json::Value::uint(uint64_t(d)));
    std::vector<std::pair<std::string, json::Value>> entry;
    entry.emplace_back("dtype", json::Value::string(file_dtype_name(t.dtype())));
    entry.emplace_back("shape", json::Value::array(std::move(dims)));
    entry.emplace_back("data_offsets",
                       json::Value::array({json::Value::uint(offset), json::Value::uint(offset + t.nbytes())}));
    offset += t.nbytes();
    members.emplace_back(tensors[i].first, json::Value::object(std::move(entry)));
  }
  std::string text = json::write(json::Value::object(std::move(members)));
  text.append((8 - text.size() % 8) % 8, ' ');
  VLV_CHECK(text.size() <= kMaxHeaderBytes, ErrorCode::Arg, "safetensors: the header would be ", text.size(),
            " bytes, over the ", kMaxHeaderBytes, "-byte limit");
  return text;
}

void check_inputs(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                  const Metadata& metadata) {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    VLV_CHECK(name != "__metadata__", ErrorCode::Arg, path, ": '__metadata__' is reserved and cannot name a tensor");
    VLV_CHECK(json::valid_utf8(name), ErrorCode::Arg, path, ": a tensor name is not valid UTF-8");
    VLV_CHECK(names.insert(name).second, ErrorCode::Arg, path, ": tensor name '", name, "' given twice");
    VLV_CHECK(t.defined(), ErrorCode::Arg, path, ": tensor '", name, "' is undefined");
    VLV_CHECK(t.device() == Device::CPU, ErrorCode::Device, path, ": tensor '", name, "' is on ",
              device_name(t.device()), "; move it to the CPU first");
  }
  std::set<std::string> keys;
  for (const auto& [k, v] : metadata) {
    VLV_CHECK(json::valid_utf8(k) && json::valid_utf8(v), ErrorCode::Arg, path, ": metadata is not valid UTF-8");
    VLV_CHECK(keys.insert(k).second, ErrorCode::Arg, path, ": metadata key '", k, "' given twice");
  }
}

// A temporary file that is removed unless committed.
class TempFile {
 public:
  explicit TempFile(const std::string& target) {
    static std::atomic<uint64_t> counter{0};
    fs::path t(target);
    path_ = (t.parent_path() /
             ("." + t.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    fd_ = FileDescriptor(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd_.get() < 0)
      fail(ErrorCode::File, target, ": cannot create a temporary file beside it: ", std::strerror(errno));
  }
  ~TempFile() {
    if (!committed_) {
      fd_ = FileDescriptor();
      ::unlink(path_.c_str());
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_.get(); }

  void commit(const std::string& target) {
    if (::fsync(fd_.get()) != 0) fail(ErrorCode::File, target, ": fsync failed: ", std::strerror(errno));
    fd_.close_checked(target);
    if (::rename(path_.c_str(), target.c_str()) != 0)
      fail(ErrorCode::File, target, ": cannot rename the temporary file over it: ", std::strerror(errno));
    committed_ = true;
    std::string dir = fs::path(target).parent_path().string();
    FileDescriptor d(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.get() >= 0) ::fsync(d.get());  // best effort: some file systems refuse directory fsync
  }

 private:
  std::string path_;
  FileDescriptor fd_;
  bool committed_ = false;
};

}  // namespace

void save(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
          const Metadata& metadata) {
  check_inputs(path, tensors, metadata);
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    size_t sa = dtype_size(tensors[a].second.dtype()), sb = dtype_size(tensors[b].second.dtype());
    return sa != sb ? sa > sb : tensors[a].first < tensors[b].first;
  });
  std::string header = build_header(tensors, order, metadata);

  TempFile tmp(path);
  uint8_t len[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(n >> (8 * i));
  write_all(tmp.fd(), len, 8, path);
  write_all(tmp.fd(), header.data(), header.size(), path);
  for (size_t i : order) {
    const Tensor& t = tensors[i].second;
    if (t.nbytes()) write_all(tmp.fd(), t.raw(), t.nbytes(), path);
  }
  tmp.commit(path);
}

}  // namespace vlv::io
