// Module entry: every binding file registers its exports through VLV_NAPI_EXPORTS.
#include "napi/common.h"

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  vlv::napi::run_exports(env, exports);
  return exports;
}

NODE_API_MODULE(vlv, init)
