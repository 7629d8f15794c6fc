// Host test of the tensor-core attention's tile algorithm (attention_tiles.h), on a machine
// without a GPU. HostExec runs the very block and warp code of the CUDA kernels for the 4
// warps of a block with all 32 lanes of each warp: mma.sync.m16n8k16 is emulated from the
// PTX fragment layouts of mma_frag.h (operands gathered from the lanes that hold them,
// products summed in float64, rounded to the f32 accumulator), the quad shuffles reduce over
// lanes 4g..4g+3 in the butterfly's order, cp.async is a copy, __syncthreads orders nothing
// because each phase runs to completion. Checked:
//   * the fragment maps: every element of A, B and C is held by exactly one (lane, slot), and
//     the C fragments of two n-tiles are the A fragment of one k-step;
//   * the software bf16 / f16 rounding against known values;
//   * forward (out, lse) and backward (dq, dk, dv, through the Di = rowsum(dO O) of the
//     stored out) of every block against a float64 softmax attention of the same rounded
//     inputs: bf16 and f16, d = 64 / 80 / 128, lq and lk not multiples of the tiles, causal
//     with lq < lk and lq > lk (rows that see no key), bool and additive masks with broadcast
//     strides, GQA, batch 2, a 1024 x 77 cross attention.
// Built as vlv_cuda_attention_tests (test/infra/cuda-host.test.ts runs it); prints the largest
// errors per dtype and "N checks passed", exits 1 on the first failure.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "cuda/test/host_check.h"
#include "ops/cuda/kernels/attention_tiles.h"

namespace {
using namespace vlv::cuda;
using namespace vlv::cuda::hosttest;
using tiles::Bf16;
using tiles::F16;

struct HostExec {
  static constexpr int kLanes = 32;
  static int lane(int l) { return l; }

  template <class Dt>
  static void mma(tiles::FragC<HostExec>& d, const tiles::FragA<HostExec>& a, const tiles::FragB<HostExec>& b) {
    double A[16][16], B[16][8];
    int seen_a[16][16] = {}, seen_b[16][8] = {};
    for (int l = 0; l < 32; ++l) {
      for (int e = 0; e < 8; ++e) {
        const uint16_t h = uint16_t(a.v[l][e / 2] >> (16 * (e & 1)));
        A[frag::a_row(l, e)][frag::a_col(l, e)] = Dt::to_f(h);
        ++seen_a[frag::a_row(l, e)][frag::a_col(l, e)];
      }
      for (int e = 0; e < 4; ++e) {
        const uint16_t h = uint16_t(b.v[l][e / 2] >> (16 * (e & 1)));
        B[frag::b_row(l, e)][frag::b_col(l, e)] = Dt::to_f(h);
        ++seen_b[frag::b_row(l, e)][frag::b_col(l, e)];
      }
    }
    for (int r = 0; r < 16; ++r)
      for (int c = 0; c < 16; ++c)
        if (seen_a[r][c] != 1 || (c < 8 && seen_b[r][c] != 1)) std::abort();
    for (int l = 0; l < 32; ++l)
      for (int e = 0; e < 4; ++e) {
        const int r = frag::c_row(l, e), c = frag::c_col(l, e);
        double acc = d.v[l][e];
        for (int k = 0; k < 16; ++k) acc += A[r][k] * B[k][c];
        d.v[l][e] = float(acc);
      }
  }
  template <class F>
  static void quad(tiles::RowVal<HostExec>& x, F op) {
    for (int mask = 1; mask <= 2; mask <<= 1) {  // __shfl_xor_sync(.., mask) then op
      tiles::RowVal<HostExec> y = x;
      for (int l = 0; l < 32; ++l)
        for (int r = 0; r < 2; ++r) x.v[l][r] = op(y.v[l][r], y.v[l ^ mask][r]);
    }
  }
  static void quad_max(tiles::RowVal<HostExec>& x) {
    quad(x, [](float p, float q) { return fmaxf(p, q); });
  }
  static void quad_sum(tiles::RowVal<HostExec>& x) {
    quad(x, [](float p, float q) { return p + q; });
  }
  static void copy16(void* dst, const void* src) { std::memcpy(dst, src, 16); }
  static void commit() {}
  static void wait_one() {}
  static void wait_all() {}
  static void sync() {}
  template <class F>
  static void each_thread(F f) {
    for (int t = 0; t < tiles::kThreads; ++t) f(t);
  }
  template <class W, class F>
  static void each_warp(W* w, F f) {
    for (int i = 0; i < tiles::kWarps; ++i) f(w[i], i);
  }
};

void fragment_maps() {
  for (int rows = 16, pass = 0; pass < 3; ++pass) {
    const int cols = pass == 0 ? 16 : 8, per = pass == 0 ? 8 : 4;
    std::vector<int> seen(size_t(rows * cols), 0);
    for (int l = 0; l < 32; ++l)
      for (int e = 0; e < per; ++e) {
        const int r = pass == 0 ? frag::a_row(l, e) : pass == 1 ? frag::b_row(l, e) : frag::c_row(l, e);
        const int c = pass == 0 ? frag::a_col(l, e) : pass == 1 ? frag::b_col(l, e) : frag::c_col(l, e);
        CHECK(r >= 0 && r < rows && c >= 0 && c < cols, "fragment %d: lane %d element %d out of the tile", pass, l, e);
        ++seen[size_t(r * cols + c)];
        if (e % 2 == 1) {  // the two halves of a register are neighbours along k (A, B) or n (C)
          const int pr = pass == 0 ? frag::a_row(l, e - 1) : pass == 1 ? frag::b_row(l, e - 1) : frag::c_row(l, e - 1);
          const int pc = pass == 0 ? frag::a_col(l, e - 1) : pass == 1 ? frag::b_col(l, e - 1) : frag::c_col(l, e - 1);
          CHECK(pass == 1 ? (pr + 1 == r && pc == c) : (pr == r && pc + 1 == c), "fragment %d: register pairs", pass);
        }
      }
    for (int s : seen) CHECK(s == 1, "fragment %d: an element held %d times", pass, s);
  }
  // C of n-tiles 2t, 2t+1 == A of k-step t (what accumulate_kn relies on).
  for (int l = 0; l < 32; ++l)
    for (int e = 0; e < 8; ++e) {
      const int tile = e / 4, ce = e % 4;
      CHECK(frag::c_row(l, ce) == frag::a_row(l, e) && 8 * tile + frag::c_col(l, ce) == frag::a_col(l, e),
            "C -> A lane %d e %d", l, e);
    }
}

void roundings() {
  CHECK(Bf16::of_f(1.f) == 0x3f80 && Bf16::to_f(0x3f80) == 1.f, "bf16 1");
  CHECK(Bf16::of_f(1.00390625f) == 0x3f80, "bf16 ties to even (down)");
  CHECK(Bf16::of_f(1.01171875f) == 0x3f82, "bf16 ties to even (up)");
  CHECK(F16::of_f(1.f) == 0x3c00 && F16::to_f(0x3c00) == 1.f, "f16 1");
  CHECK(F16::of_f(-2.5f) == 0xc100 && F16::to_f(0xc100) == -2.5f, "f16 -2.5");
  CHECK(F16::of_f(65504.f) == 0x7bff && F16::of_f(65520.f) == 0x7c00, "f16 max and overflow");
  CHECK(F16::of_f(5.9604644775390625e-8f) == 0x0001 && F16::to_f(0x0001) == 5.9604644775390625e-8f, "f16 subnormal");
  CHECK(F16::of_f(1.f + 1.f / 2048) == 0x3c00 && F16::of_f(1.f + 3.f / 2048) == 0x3c02, "f16 ties to even");
  for (float x = -70000.f; x < 70000.f; x += 13.37f) {
    CHECK(Bf16::of_f(Bf16::to_f(Bf16::of_f(x))) == Bf16::of_f(x), "bf16 round trip %g", double(x));
    CHECK(F16::of_f(F16::to_f(F16::of_f(x))) == F16::of_f(x), "f16 round trip %g", double(x));
    CHECK(std::fabs(F16::to_f(F16::of_f(x * 1e-4f)) - x * 1e-4f) <= std::fabs(x * 1e-4f) * 4.9e-4f + 3e-8f,
          "f16 error %g", double(x));
  }
}

struct Worst {
  double out = 0, lse = 0, dq = 0, dk = 0, dv = 0;
};

template <class Dt, int D>
void tiled_case(const AttnCase& c, Worst& worst, double tol_out, double tol_grad) {
  AttnData data(c, [](float x) { return Dt::to_f(Dt::of_f(x)); });
  VlvCudaAttention a = data.a;
  auto bits = [](const std::vector<float>& x) {
    std::vector<uint16_t> r(x.size());
    for (size_t i = 0; i < x.size(); ++i) r[i] = Dt::of_f(x[i]);
    return r;
  };
  const std::vector<uint16_t> q = bits(data.q), k = bits(data.k), v = bits(data.v), go = bits(data.go);
  a.q = q.data(), a.k = k.data(), a.v = v.data();
  const int64_t rows = c.b * c.hq * c.lq;
  std::vector<uint16_t> out(size_t(rows * D)), gq(q.size()), gk(k.size()), gv(v.size());
  std::vector<float> lse(static_cast<size_t>(rows)), di(static_cast<size_t>(rows));

  {
    auto sm = std::make_unique<tiles::FwdSmem<D>>();
    auto w = std::make_unique<tiles::FwdWarp<HostExec, Dt, D>[]>(tiles::kWarps);
    for (int64_t bh = 0; bh < c.b * c.hq; ++bh)
      for (int64_t q0 = 0; q0 < c.lq; q0 += tiles::kFwdQ)
        tiles::forward_block<HostExec, Dt, D>(a, bh, q0, *sm, w.get(), out.data(), lse.data());
  }
  for (int64_t r = 0; r < rows; ++r) {  // the row kernel's rowsum(dO * O) on the stored out
    float s = 0.f;
    for (int d = 0; d < D; ++d) s = std::fma(Dt::to_f(out[size_t(r * D + d)]), Dt::to_f(go[size_t(r * D + d)]), s);
    di[size_t(r)] = s;
  }
  {
    auto sm = std::make_unique<tiles::DqSmem<D>>();
    auto w = std::make_unique<tiles::DqWarp<HostExec, Dt, D>[]>(tiles::kWarps);
    for (int64_t bh = 0; bh < c.b * c.hq; ++bh)
      for (int64_t q0 = 0; q0 < c.lq; q0 += tiles::kDqQ)
        tiles::dq_block<HostExec, Dt, D>(a, bh, q0, *sm, w.get(), lse.data(), di.data(), go.data(), gq.data());
  }
  {
    auto sm = std::make_unique<tiles::KvSmem<D>>();
    auto w = std::make_unique<tiles::KvWarp<HostExec, Dt, D>[]>(tiles::kWarps);
    for (int64_t kv = 0; kv < c.b * c.hkv; ++kv)
      for (int64_t key0 = 0; key0 < c.lk; key0 += tiles::kKvK)
        tiles::dkv_block<HostExec, Dt, D>(a, kv, key0, *sm, w.get(), lse.data(), di.data(), go.data(), gk.data(),
                                          gv.data());
  }
  auto f32 = [](const std::vector<uint16_t>& x) {
    std::vector<float> r(x.size());
    for (size_t i = 0; i < x.size(); ++i) r[i] = Dt::to_f(x[i]);
    return r;
  };
  double lse_err = 0;  // absolute: lse is f32 from exact inputs
  for (int64_t r = 0; r < rows; ++r) {
    const double want = data.lse[size_t(r)];
    if (!std::isfinite(want))
      CHECK(lse[size_t(r)] == -INFINITY, "%s: lse of a row that sees no key is %g", c.name, double(lse[size_t(r)]));
    else lse_err = std::fmax(lse_err, std::fabs(lse[size_t(r)] - want));
  }
  const double e_out = rel(f32(out), data.out), e_dq = rel(f32(gq), data.gq), e_dk = rel(f32(gk), data.gk),
               e_dv = rel(f32(gv), data.gv);
  std::printf("  %-44s d=%3d out %.2e lse %.2e dq %.2e dk %.2e dv %.2e\n", c.name, D, e_out, lse_err, e_dq, e_dk, e_dv);
  CHECK(e_out < tol_out, "%s: out rel %g", c.name, e_out);
  CHECK(lse_err < 2e-4, "%s: lse abs %g", c.name, lse_err);
  CHECK(e_dq < tol_grad, "%s: dq rel %g", c.name, e_dq);
  CHECK(e_dk < tol_grad, "%s: dk rel %g", c.name, e_dk);
  CHECK(e_dv < tol_grad, "%s: dv rel %g", c.name, e_dv);
  if (c.dead_row)
    for (int d = 0; d < D; ++d) CHECK(out[size_t(d)] == 0, "%s: out of a row that sees no key", c.name);
  worst.out = std::fmax(worst.out, e_out), worst.lse = std::fmax(worst.lse, lse_err);
  worst.dq = std::fmax(worst.dq, e_dq), worst.dk = std::fmax(worst.dk, e_dk), worst.dv = std::fmax(worst.dv, e_dv);
}

template <class Dt>
void dtype_cases(const char* name, double tol_out, double tol_grad) {
  std::printf("%s:\n", name);
  Worst w;
  // name, b, hq, hkv, lq, lk, d, dv, causal, mask, dead_row
  tiled_case<Dt, 64>({"self 77x130", 1, 2, 2, 77, 130, 64, 64, false, 0, false}, w, tol_out, tol_grad);
  tiled_case<Dt, 80>({"gqa 8/2, batch 2, causal lq<lk, bool mask", 2, 8, 2, 37, 77, 80, 80, true, 1, true}, w, tol_out,
                     tol_grad);
  tiled_case<Dt, 128>({"causal lq>lk (rows see no key), f32 mask", 1, 2, 1, 130, 77, 128, 128, true, 2, false}, w,
                      tol_out, tol_grad);
  tiled_case<Dt, 64>({"causal square 100, gqa 4/2", 1, 4, 2, 100, 100, 64, 64, true, 0, false}, w, tol_out, tol_grad);
  tiled_case<Dt, 128>({"f32 mask, lq 200 lk 33", 2, 2, 2, 200, 33, 128, 128, false, 2, false}, w, tol_out, tol_grad);
  tiled_case<Dt, 80>({"bool mask, lk 1", 1, 2, 1, 19, 1, 80, 80, false, 1, false}, w, tol_out, tol_grad);
  tiled_case<Dt, 64>({"cross 1024x77", 1, 2, 1, 1024, 77, 64, 64, false, 0, false}, w, tol_out, tol_grad);
  std::printf("  max: out %.2e lse %.2e dq %.2e dk %.2e dv %.2e\n", w.out, w.lse, w.dq, w.dk, w.dv);
}
}  // namespace

int main() {
  fragment_maps();
  roundings();
  dtype_cases<Bf16>("bf16", 4e-3, 6e-3);  // measured: out 2.1e-3, gradients 2.9e-3
  dtype_cases<F16>("f16", 5e-4, 8e-4);    // measured: out 2.5e-4, gradients 3.7e-4
  std::printf("%d checks passed\n", g_checks);
  return 0;
}
