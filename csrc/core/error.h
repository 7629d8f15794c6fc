// vlv::Error: the one exception type of the engine. Every throw carries a code that the
// N-API layer turns into a JS VlvError with the same `code` string.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace vlv {

enum class ErrorCode {
  Arg,         // E_ARG: a bad argument (unknown op, missing attribute, bad value)
  Shape,       // E_SHAPE: shapes that do not fit together
  DType,       // E_DTYPE: a dtype the call does not take
  FileFormat,  // E_FILE_FORMAT: a file whose bytes are not what its format says
  File,        // E_FILE: the file system refused (missing file, permission)
  Device,      // E_DEVICE: a device is missing or unusable
  OOM,         // E_OOM: an allocation failed
  Aborted,     // E_ABORTED: cancelled by the caller
  Disposed,    // E_DISPOSED: a tensor or model used after dispose()
  Internal,    // E_INTERNAL: a bug in vlv
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... R>
void append(std::ostringstream& os, const T& v, const R&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// fail(ErrorCode::Shape, "matmul: ", a, " vs ", b) builds the message from its parts.
template <class... A>
[[noreturn]] void fail(ErrorCode code, const A&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  throw Error(code, os.str());
}

}  // namespace vlv

#define VLV_CHECK(cond, code, ...)                                                                                     \
  do {                                                                                                                 \
    if (!(cond)) ::vlv::fail(code, __VA_ARGS__);                                                                       \
  } while (0)
