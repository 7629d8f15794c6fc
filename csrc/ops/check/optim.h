// AdamW's attributes (torch.optim.AdamW's), read and checked once for every backend.
#pragma once
#include <cstdint>

#include "ops/attrs.h"

namespace vlv {

struct AdamWArgs {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // 1-based
};

// E_ARG naming the attribute out of range.
AdamWArgs adamw_args(const Attrs& attrs);

}  // namespace vlv
