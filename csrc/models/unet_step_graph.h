// The UNet call of a sampling loop, replayed from a CUDA graph: on CUDA the call is captured
// the second time it sees a set of input shapes (the first, eager, call warms the allocator
// and the GEMM library's lazy state) and replayed after: the inputs are copied into the
// graph's static tensors, the graph is launched, and its static output is returned, valid
// until the next call. New input shapes or another context tensor recapture. If the capture
// fails (an op on the path needs the host), the rest of the loop runs eagerly and note() says
// why. On the CPU, or when disabled, every call is eager.
#pragma once
#include <string>

#include "core/device_graph.h"
#include "models/model.h"

namespace vlv::models {

class UNetStepGraph {
 public:
  UNetStepGraph(Model& unet, bool enabled) : unet_(unet), enabled_(enabled) {}
  // unet.forward(sample, timestep, encoder_hidden_states)["sample"]; timestep may be on the CPU.
  Tensor operator()(const Tensor& sample, const Tensor& timestep, const Tensor& context);
  int64_t replays() const { return replays_; }       // calls served by a graph
  const std::string& note() const { return note_; }  // why graphs stopped, if they did

 private:
  Tensor eager(const Tensor& sample, const Tensor& timestep, const Tensor& context);
  bool fits(const Tensor& sample, const Tensor& timestep, const Tensor& context) const;
  void capture(const Tensor& sample, const Tensor& timestep, const Tensor& context);

  Model& unet_;
  bool enabled_;
  int64_t replays_ = 0;
  std::string note_;
  Shape warm_;  // input shape of the last eager call
  DeviceGraph graph_;
  Tensor x_, t_, ctx_, out_;  // the graph's static inputs and output
};

}  // namespace vlv::models
