// The reductions' and losses' arguments, read and checked once for every backend: sum/mean's
// dims and keepdim as a mask, the losses' `reduction`, mse_loss's shapes, cross_entropy's
// logits/targets and its targets against [0, C) unless ignore_index. Dtypes of the float
// inputs are the backend's to check (f32 on CPU; f32/bf16/f16 on CUDA).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ops/attrs.h"

namespace vlv {

// sum/mean over attrs.dims (none = all; negative counts from the end; a scalar takes 0 / -1).
struct ReduceDims {
  std::vector<bool> mask;  // per dim of x: reduced or not
  bool keepdim;
  int64_t count;  // elements reduced into each output (product of the reduced sizes)
  Shape kept;     // x's shape with the reduced dims 1 (the keepdim shape)
  Shape out;      // the result's shape: kept, or without the reduced dims unless keepdim
};

// E_ARG naming op for a dim out of range or listed twice.
ReduceDims reduce_dims(const Tensor& x, const Attrs& attrs, const char* op);

enum class Reduction { Mean, Sum, None };

// attrs.reduction ("mean" by default); E_ARG naming op for anything else.
Reduction reduction_arg(const Attrs& attrs, const char* op);

// mse_loss's inputs: E_SHAPE unless a and b have the same shape; then its reduction.
Reduction mse_loss_args(const Tensor& a, const Tensor& b, const Attrs& attrs);

// cross_entropy's inputs (not the logits' dtype): logits [N, C] with C >= 1, targets [N] of i32 or i64.
// E_SHAPE / E_DTYPE naming cross_entropy and the argument at fault.
void check_cross_entropy_inputs(const Tensor& logits, const Tensor& targets);

struct CrossEntropyArgs {
  int64_t n, c, ignore_index;
  Reduction reduction;
};

// The sizes of logits [N, C] and the attributes (reduction, ignore_index = -100).
CrossEntropyArgs cross_entropy_args(const Tensor& logits, const Attrs& attrs);

// Targets (i32 or i64, on the host) as int64, each checked against [0, C) unless it is
// ignore_index: E_ARG naming the target and its row.
std::vector<int64_t> cross_entropy_targets(const Tensor& host_targets, const CrossEntropyArgs& a);

// The number of targets that are not ignore_index ("mean" divides by it).
int64_t count_not_ignored(const std::vector<int64_t>& targets, int64_t ignore_index);

}  // namespace vlv
