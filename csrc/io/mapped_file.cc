#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace vlv::io {

namespace {
[[noreturn]] void fail_errno(const std::string& path, const char* what, int err) {
  fail(ErrorCode::File, path, ": ", what, ": ", std::strerror(err));
}
}  // namespace

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

void FileDescriptor::close_checked(const std::string& path) {
  int fd = release();
  if (fd >= 0 && ::close(fd) != 0) fail_errno(path, "close failed", errno);
}

FileDescriptor FileDescriptor::open_read(const std::string& path, uint64_t* size) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail_errno(path, "cannot open", errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) fail_errno(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) fail(ErrorCode::File, path, ": not a regular file");
  *size = uint64_t(st.st_size);
  return fd;
}

void read_exact(int fd, void* dst, size_t n, uint64_t offset, const std::string& path) {
  char* p = static_cast<char*>(dst);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, off_t(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail_errno(path, "read failed", errno);
    if (r == 0) fail(ErrorCode::FileFormat, path, ": the file ended early (it changed while being read?)");
    p += r;
    n -= size_t(r);
    offset += uint64_t(r);
  }
}

void write_all(int fd, const void* src, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(src);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail_errno(path, "write failed", errno);
    p += w;
    n -= size_t(w);
  }
}

std::shared_ptr<MappedFile> MappedFile::map(int fd, size_t size, const std::string& path) {
  // MAP_PRIVATE + PROT_WRITE: copy-on-write pages, so an in-place op on a loaded tensor
  // changes only this process's copy; MAP_NORESERVE keeps the mapping out of commit charge.
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) fail_errno(path, "cannot map", errno);
  return std::shared_ptr<MappedFile>(new MappedFile(static_cast<uint8_t*>(p), size));
}

MappedFile::~MappedFile() { ::munmap(data_, size_); }

}  // namespace vlv::io
