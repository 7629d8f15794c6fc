#include "ops/check/optim.h"

#include "core/error.h"

namespace vlv {

AdamWArgs adamw_args(const Attrs& attrs) {
  AdamWArgs a{};
  a.lr = attrs.f("lr"), a.beta1 = attrs.f("beta1", 0.9), a.beta2 = attrs.f("beta2", 0.999);
  a.eps = attrs.f("eps", 1e-8), a.weight_decay = attrs.f("weight_decay", 0.01);
  a.step = attrs.i("step");
  VLV_CHECK(a.step >= 1, ErrorCode::Arg, "adamw: attribute 'step' must be >= 1 (1-based), got ", a.step);
  VLV_CHECK(a.lr >= 0 && a.eps >= 0 && a.weight_decay >= 0, ErrorCode::Arg,
            "adamw: lr, eps and weight_decay must be >= 0 (lr ", a.lr, ", eps ", a.eps, ", weight_decay ",
            a.weight_decay, ")");
  VLV_CHECK(a.beta1 >= 0 && a.beta1 < 1 && a.beta2 >= 0 && a.beta2 < 1, ErrorCode::Arg,
            "adamw: beta1 and beta2 must lie in [0, 1) (beta1 ", a.beta1, ", beta2 ", a.beta2, ")");
  return a;
}

}  // namespace vlv
