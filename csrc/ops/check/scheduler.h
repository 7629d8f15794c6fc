// scheduler_step's inputs and attributes (ops.h), read and checked once for every backend:
// the scalars in f32 (the kernels' precision) and the data pointers of the tensors, on
// whatever device they live (dispatch has already checked they share one).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/attrs.h"

namespace vlv {

struct SchedulerStepArgs {
  float x0_sample, x0_model, clip, sample, model, x0, prev_x0, noise;
  // Classifier-free guidance folded into the step (attr 'guidance'): model_output is
  // [uncond; cond] along dim 0 (twice sample's batch), m points at uncond and mc at cond, and
  // the model term is fma(guidance, cond - uncond, uncond). Unguided: mc is null.
  float guidance;
  int64_t numel;                    // elements of sample (and of every output)
  const float *x, *m, *mc, *p, *n;  // mc, p, n may be null
};

// E_DTYPE (not f32), E_SHAPE (shapes disagree), E_ARG (missing required input, negative clip,
// a coefficient given for a missing input).
SchedulerStepArgs scheduler_step_args(const Tensors& in, const Attrs& attrs);

}  // namespace vlv
