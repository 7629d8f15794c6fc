// RAII wrappers for the POSIX calls the io layer makes: an open file descriptor, a read-only
// view of a whole file (mmap, MAP_PRIVATE copy-on-write), and full reads / writes that retry
// short transfers and EINTR. Failures throw ErrorCode::File naming the path and strerror.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace vlv::io {

class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.release()) {}
  FileDescriptor& operator=(FileDescriptor&& o) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes now, reporting a failed close (it can carry a deferred write error).
  void close_checked(const std::string& path);

  // Opens a regular file for reading (E_FILE if missing, unreadable or not a regular file).
  static FileDescriptor open_read(const std::string& path, uint64_t* size);

 private:
  int fd_ = -1;
};

// Reads exactly n bytes at offset; E_FILE_FORMAT if the file ends first.
void read_exact(int fd, void* dst, size_t n, uint64_t offset, const std::string& path);
// Writes all n bytes; E_FILE on failure (disk full, I/O error).
void write_all(int fd, const void* src, size_t n, const std::string& path);

class MappedFile {
 public:
  // Maps `size` (> 0) bytes of an open file; E_FILE naming path when mmap refuses. The
  // mapping outlives the descriptor.
  static std::shared_ptr<MappedFile> map(int fd, size_t size, const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile(uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t* data_;
  size_t size_;
};

}  // namespace vlv::io
