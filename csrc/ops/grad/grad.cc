// The rule table (grad_rule) and the helpers the rules share (grad.h).
#include "ops/grad/grad.h"

#include "ops/api.h"

namespace vlv {

namespace grad {

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const Shape& gs = g.shape();
  VLV_CHECK(shape.size() <= gs.size(), ErrorCode::Internal, "sum_to_shape: ", g.desc(), " to ", shape_str(shape));
  const size_t lead = gs.size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t d = 0; d < gs.size(); ++d) {
    const int64_t want = d < lead ? 1 : shape[d - lead];
    VLV_CHECK(want == gs[d] || want == 1, ErrorCode::Internal, "sum_to_shape: ", g.desc(), " to ", shape_str(shape));
    if (want == 1 && gs[d] != 1) dims.push_back(int64_t(d));
  }
  if (dims.empty()) return g.reshape(shape);  // only size-1 dims differ
  return ops::sum(g, dims, true).reshape(shape);
}

std::vector<int64_t> needs_list(const BackwardArgs& a, std::initializer_list<size_t> which) {
  std::vector<int64_t> out;
  for (size_t i : which) out.push_back(needs(a, i) && a.inputs[i].defined());
  return out;
}

}  // namespace grad

namespace {
struct RuleTable {
  BackwardFn rule[kNumOps] = {};
  RuleTable() {
#define VLV_GRAD_RULE_1(name) rule[int(OpId::name)] = &grad::name;
#define VLV_GRAD_RULE_0(name)
#define VLV_GRAD_RULE(name, inputs, bwd, family) VLV_GRAD_RULE_##bwd(name)
    VLV_OPS(VLV_GRAD_RULE)
#undef VLV_GRAD_RULE
#undef VLV_GRAD_RULE_1
#undef VLV_GRAD_RULE_0
  }
};
}  // namespace

BackwardFn grad_rule(OpId op) {
  static const RuleTable table;
  return table.rule[int(op)];
}

}  // namespace vlv
