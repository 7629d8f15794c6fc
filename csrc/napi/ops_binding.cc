// runOp / backward / opList: the op list exposed to JS. runOp is async (a libuv worker
// runs the kernel); runOpSync exists for tiny calls where a Promise costs more than the op.
#include "autograd/autograd.h"
#include "core/thread_pool.h"
#include "napi/common.h"
#include "napi/tensor_wrap.h"
#include "ops/dispatch.h"

namespace vlv::napi {

namespace {

Attrs read_attrs(Napi::Env env, const Napi::Value& v) {
  Attrs attrs;
  if (v.IsUndefined() || v.IsNull()) return attrs;
  if (!v.IsObject()) throw coded_error(env, "E_ARG", "attrs must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value x = o.Get(key);
    if (x.IsUndefined()) continue;
    if (x.IsBoolean()) {
      attrs.set(key, int64_t(x.As<Napi::Boolean>().Value()));
    } else if (x.IsNumber()) {
      double d = x.As<Napi::Number>().DoubleValue();
      if (d == double(int64_t(d)) && d >= -9007199254740992.0 && d <= 9007199254740992.0) attrs.set(key, int64_t(d));
      else attrs.set(key, d);
    } else if (x.IsBigInt()) {
      bool lossless = true;
      attrs.set(key, x.As<Napi::BigInt>().Int64Value(&lossless));
    } else if (x.IsString()) {
      attrs.set(key, x.As<Napi::String>().Utf8Value());
    } else if (x.IsArray()) {
      Napi::Array a = x.As<Napi::Array>();
      std::vector<int64_t> ints;
      for (uint32_t j = 0; j < a.Length(); ++j) {
        Napi::Value e = a.Get(j);
        if (!e.IsNumber()) throw coded_error(env, "E_ARG", "attribute '" + key + "' must be a list of integers");
        double d = e.As<Napi::Number>().DoubleValue();
        if (d != double(int64_t(d)))
          throw coded_error(env, "E_ARG", "attribute '" + key + "' must be a list of integers");
        ints.push_back(int64_t(d));
      }
      attrs.set(key, ints);
    } else {
      throw coded_error(env, "E_ARG", "attribute '" + key + "' has an unsupported type");
    }
  }
  return attrs;
}

Tensors read_inputs(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw coded_error(env, "E_ARG", "inputs must be an array of tensors (null for a missing optional)");
  Napi::Array a = v.As<Napi::Array>();
  Tensors ts;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value x = a.Get(i);
    if (x.IsNull() || x.IsUndefined()) ts.emplace_back();
    else ts.push_back(NativeTensor::unwrap(x, "each input"));
  }
  return ts;
}

Napi::Array wrap_all(Napi::Env env, const Tensors& ts) {
  Napi::Array out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) out.Set(uint32_t(i), NativeTensor::wrap(env, ts[i]));
  return out;
}

class OpWorker : public PromiseWorker {
 public:
  OpWorker(Napi::Env env, OpId op, Tensors inputs, Attrs attrs, bool record)
      : PromiseWorker(env), op_(op), inputs_(std::move(inputs)), attrs_(std::move(attrs)), record_(record) {}

 protected:
  void Run() override {
    GradModeGuard mode(record_);
    outputs_ = call(op_, inputs_, attrs_);
  }
  Napi::Value Result(Napi::Env env) override { return wrap_all(env, outputs_); }

 private:
  OpId op_;
  Tensors inputs_;
  Attrs attrs_;
  bool record_;
  Tensors outputs_;
};

class BackwardWorker : public PromiseWorker {
 public:
  BackwardWorker(Napi::Env env, Tensors roots, Tensors grads)
      : PromiseWorker(env), roots_(std::move(roots)), grads_(std::move(grads)) {}

 protected:
  void Run() override { backward(roots_, grads_); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  Tensors roots_, grads_;
};

// runOp(name, inputs, attrs, record) -> Promise<NativeTensor[]>
Napi::Value run_op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    OpId op = op_from_name(arg_string(info, 0, "op name").c_str());
    auto* w = new OpWorker(env, op, read_inputs(env, info[1]), read_attrs(env, info[2]), info[3].ToBoolean().Value());
    Napi::Promise p = w->promise();
    w->Queue();  // libuv owns and deletes the worker
    return p;
  });
}

Napi::Value run_op_sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    OpId op = op_from_name(arg_string(info, 0, "op name").c_str());
    Tensors inputs = read_inputs(env, info[1]);
    Attrs attrs = read_attrs(env, info[2]);
    GradModeGuard mode(info[3].ToBoolean().Value());
    return wrap_all(env, call(op, inputs, attrs));
  });
}

Napi::Value run_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    // backward(roots: Tensor[], grads: (Tensor|null)[])
    Tensors roots = read_inputs(env, info[0]);
    Tensors grads = read_inputs(env, info[1]);
    for (const Tensor& r : roots) VLV_CHECK(r.defined(), ErrorCode::Arg, "backward: a root is null");
    auto* w = new BackwardWorker(env, std::move(roots), std::move(grads));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  });
}

Napi::Value op_list(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The user-facing ops only: the fused backward kernels (ops.h: VLV_GRAD_KERNELS) are internal.
  Napi::Array out = Napi::Array::New(env, kNumUserOps);
  for (int i = 0; i < kNumUserOps; ++i) {
    const OpInfo& oi = op_info(OpId(i));
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", oi.name);
    o.Set("inputs", oi.inputs);
    o.Set("hasBackward", oi.has_backward);
    o.Set("family", oi.family);
    out.Set(uint32_t(i), o);
  }
  return out;
}

Napi::Value set_threads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().Int32Value() < 1)
    throw coded_error(env, "E_ARG", "setNumThreads takes a positive integer");
  set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return env.Undefined();
}

void exports_fn(Napi::Env env, Napi::Object exports) {
  exports.Set("runOp", Napi::Function::New(env, run_op, "runOp"));
  exports.Set("runOpSync", Napi::Function::New(env, run_op_sync, "runOpSync"));
  exports.Set("backward", Napi::Function::New(env, run_backward, "backward"));
  exports.Set("opList", Napi::Function::New(env, op_list, "opList"));
  exports.Set("setNumThreads", Napi::Function::New(env, set_threads, "setNumThreads"));
}

}  // namespace

VLV_NAPI_EXPORTS(exports_fn);

}  // namespace vlv::napi
