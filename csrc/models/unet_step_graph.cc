#include "models/unet_step_graph.h"

namespace vlv::models {

Tensor UNetStepGraph::eager(const Tensor& sample, const Tensor& timestep, const Tensor& context) {
  const Tensor t = timestep.to(sample.device());
  NamedTensors out =
      unet_.run("forward", {{"sample", sample}, {"timestep", t}, {"encoder_hidden_states", context}}, {});
  return require_input(out, "sample", "unet.forward");
}

bool UNetStepGraph::fits(const Tensor& sample, const Tensor& timestep, const Tensor& context) const {
  return graph_.valid() && x_.shape() == sample.shape() && x_.dtype() == sample.dtype() &&
         t_.shape() == timestep.shape() && t_.dtype() == timestep.dtype() && ctx_.storage() == context.storage() &&
         ctx_.byte_offset() == context.byte_offset() && ctx_.shape() == context.shape();
}

void UNetStepGraph::capture(const Tensor& sample, const Tensor& timestep, const Tensor& context) {
  graph_.reset();
  out_ = Tensor();
  x_ = Tensor::empty(sample.shape(), sample.dtype(), sample.device());
  t_ = Tensor::empty(timestep.shape(), timestep.dtype(), sample.device());
  ctx_ = context;
  x_.copy_from(sample);
  t_.copy_from(timestep);
  graph_ = DeviceGraph::capture(sample.device(), [&] { out_ = eager(x_, t_, ctx_); });
}

Tensor UNetStepGraph::operator()(const Tensor& sample, const Tensor& timestep, const Tensor& context) {
  if (!enabled_ || sample.device() != Device::CUDA) return eager(sample, timestep, context);
  if (fits(sample, timestep, context)) {
    x_.copy_from(sample);
    t_.copy_from(timestep);
  } else if (warm_ != sample.shape()) {
    graph_.reset();
    warm_ = sample.shape();
    return eager(sample, timestep, context);
  } else {
    try {
      capture(sample, timestep, context);  // the inputs are in place: the launch below computes this call
    } catch (const Error& e) {
      if (e.code() == ErrorCode::Aborted) throw;
      enabled_ = false;
      note_ = std::string("CUDA graphs off for this loop: ") + e.what();
      graph_.reset();
      x_ = t_ = ctx_ = out_ = Tensor();
      return eager(sample, timestep, context);
    }
  }
  graph_.launch();
  ++replays_;
  return out_;
}

}  // namespace vlv::models
