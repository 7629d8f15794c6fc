#include "core/error.h"

namespace vlv {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Arg: return "E_ARG";
    case ErrorCode::Shape: return "E_SHAPE";
    case ErrorCode::DType: return "E_DTYPE";
    case ErrorCode::FileFormat: return "E_FILE_FORMAT";
    case ErrorCode::File: return "E_FILE";
    case ErrorCode::Device: return "E_DEVICE";
    case ErrorCode::OOM: return "E_OOM";
    case ErrorCode::Aborted: return "E_ABORTED";
    case ErrorCode::Disposed: return "E_DISPOSED";
    case ErrorCode::Internal: return "E_INTERNAL";
  }
  return "E_INTERNAL";
}

}  // namespace vlv
