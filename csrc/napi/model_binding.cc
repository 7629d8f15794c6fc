// NativeModel: a loaded network (csrc/models) as a JS object. loadModel(kind, folder, dtype?),
// randomModel(kind, config, seed, device?) and run(method, inputs, options, record) are async;
// parameters() hands out the model's own tensors (sharing autograd state, so requiresGrad set
// from JS unfreezes them); `config` is the typed config the engine read (a plain object with
// the file's field names, defaults filled in: the only reader of a model's config file). guidedSample(unet, vae,
// scheduler, inputs, options, cancel, progress) runs models/guided_sample over three of them.
#include <cmath>

#include "autograd/autograd.h"
#include "models/guided_sample.h"
#include "models/model.h"
#include "napi/call_context_binding.h"
#include "napi/common.h"
#include "napi/tensor_wrap.h"

namespace vlv::napi {

namespace {

using models::Model;
using models::NamedTensors;

Attrs read_options(Napi::Env env, const Napi::Value& v) {
  Attrs a;
  if (v.IsUndefined() || v.IsNull()) return a;
  if (!v.IsObject()) throw coded_error(env, "E_ARG", "options must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value x = o.Get(key);
    if (x.IsBoolean()) a.set(key, int64_t(x.As<Napi::Boolean>().Value()));
    else if (x.IsNumber()) {
      double d = x.As<Napi::Number>().DoubleValue();
      if (d == double(int64_t(d))) a.set(key, int64_t(d));
      else a.set(key, d);
    } else if (x.IsString()) a.set(key, x.As<Napi::String>().Utf8Value());
    else if (x.IsArray()) {  // a list of integers (e.g. several eos_token_id)
      Napi::Array arr = x.As<Napi::Array>();
      std::vector<int64_t> v;
      for (uint32_t j = 0; j < arr.Length(); ++j) {
        Napi::Value e = arr.Get(j);
        const bool integer =
            e.IsNumber() && std::trunc(e.As<Napi::Number>().DoubleValue()) == e.As<Napi::Number>().DoubleValue();
        if (!integer) throw coded_error(env, "E_ARG", "option '" + key + "' must be a list of integers");
        v.push_back(int64_t(e.As<Napi::Number>().DoubleValue()));
      }
      a.set(key, v);
    } else if (!x.IsUndefined() && !x.IsNull())
      throw coded_error(env, "E_ARG", "option '" + key + "' must be a number, boolean, string or list of integers");
  }
  return a;
}

NamedTensors read_named(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw coded_error(env, "E_ARG", "inputs must be an object of tensors");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  NamedTensors out;
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value x = o.Get(key);
    if (x.IsNull() || x.IsUndefined()) continue;
    out[key] = NativeTensor::unwrap(x, ("input '" + key + "'").c_str());
  }
  return out;
}

// A config value (models::config_json) as a plain JS value.
Napi::Value js_value(Napi::Env env, const json::Value& v) {
  switch (v.type) {
    case json::Type::Null: return env.Null();
    case json::Type::Bool: return Napi::Boolean::New(env, v.boolean);
    case json::Type::Number: return Napi::Number::New(env, v.number);
    case json::Type::String: return Napi::String::New(env, v.text);
    case json::Type::Array: {
      Napi::Array a = Napi::Array::New(env, v.items.size());
      for (size_t i = 0; i < v.items.size(); ++i) a.Set(uint32_t(i), js_value(env, v.items[i]));
      return a;
    }
    case json::Type::Object: {
      Napi::Object o = Napi::Object::New(env);
      for (const auto& [key, member] : v.members) o.Set(key, js_value(env, member));
      return o;
    }
  }
  return env.Null();
}

Napi::Object wrap_named(Napi::Env env, const NamedTensors& ts) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [name, t] : ts) o.Set(name, NativeTensor::wrap(env, t));
  return o;
}

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(
        env, "NativeModel",
        {InstanceMethod<&NativeModel::run>("run"), InstanceMethod<&NativeModel::parameters>("parameters"),
         InstanceMethod<&NativeModel::dispose>("dispose"), InstanceAccessor<&NativeModel::kind>("kind"),
         InstanceAccessor<&NativeModel::config>("config")});
  }
  explicit NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {}

  void set(std::shared_ptr<Model> m, std::string kind) {
    config_ = m->config();
    model_ = std::move(m);
    kind_ = std::move(kind);
  }

  // The live model behind a JS NativeModel argument (E_ARG if it is none, E_DISPOSED if disposed).
  static std::shared_ptr<Model> unwrap_model(Napi::Env env, const Napi::Value& v, const char* what);

 private:
  class RunWorker : public PromiseWorker {
   public:
    RunWorker(Napi::Env env, std::shared_ptr<Model> m, std::string method, NamedTensors in, Attrs opts, bool record,
              std::shared_ptr<CancelToken> token, const Napi::Value& on_progress)
        : PromiseWorker(env),
          m_(std::move(m)),
          method_(std::move(method)),
          in_(std::move(in)),
          opts_(std::move(opts)),
          record_(record),
          token_(std::move(token)),
          progress_(env, on_progress) {}

   protected:
    void Run() override {
      GradModeGuard mode(record_);
      BridgedCall scope(token_, progress_);
      out_ = m_->run(method_, in_, opts_);
    }
    Napi::Value Result(Napi::Env env) override { return wrap_named(env, out_); }

   private:
    std::shared_ptr<Model> m_;
    std::string method_;
    NamedTensors in_, out_;
    Attrs opts_;
    bool record_;
    std::shared_ptr<CancelToken> token_;
    ProgressBridge progress_;
  };

  std::shared_ptr<Model> live(Napi::Env env) const {
    if (!model_) throw coded_error(env, "E_DISPOSED", "the model was disposed");
    return model_;
  }

  // run(method, inputs, options, record, cancelToken?, onProgress?) -> Promise<{name: NativeTensor}>
  Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guard(env, [&]() -> Napi::Value {
      auto* w =
          new RunWorker(env, live(env), arg_string(info, 0, "method"), read_named(env, info[1]),
                        read_options(env, info[2]), info[3].ToBoolean().Value(), unwrap_cancel_token(info[4]), info[5]);
      Napi::Promise p = w->promise();
      w->Queue();
      return p;
    });
  }

  Napi::Value parameters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guard(env, [&]() -> Napi::Value { return wrap_named(env, live(env)->parameters()); });
  }

  Napi::Value dispose(const Napi::CallbackInfo& info) {
    model_.reset();
    return info.Env().Undefined();
  }

  Napi::Value kind(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kind_); }

  // The model's typed config as a fresh plain object (readable after dispose: it is kept here).
  Napi::Value config(const Napi::CallbackInfo& info) { return js_value(info.Env(), config_); }

  std::shared_ptr<Model> model_;
  std::string kind_;
  json::Value config_;
};

Napi::FunctionReference* g_model_ctor = nullptr;  // lives as long as the process's one env

std::shared_ptr<Model> NativeModel::unwrap_model(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(g_model_ctor->Value()))
    throw coded_error(env, "E_ARG", std::string(what) + " must be a loaded model");
  return Unwrap(v.As<Napi::Object>())->live(env);
}

class LoadWorker : public PromiseWorker {
 public:
  // seed < 0: load weights from the folder (matrices in matrix_dtype); else random weights
  // from the config alone.
  LoadWorker(Napi::Env env, std::string kind, std::string folder, int64_t seed = -1, DType matrix_dtype = DType::F32,
             Device device = Device::CPU, models::LoadSources sources = {})
      : PromiseWorker(env),
        kind_(std::move(kind)),
        folder_(std::move(folder)),
        seed_(seed),
        matrix_dtype_(matrix_dtype),
        device_(device),
        sources_(std::move(sources)) {}

 protected:
  void Run() override {
    model_ = seed_ < 0 ? models::load_model(kind_, folder_, matrix_dtype_, device_, sources_)
                       : models::random_model(kind_, folder_, uint64_t(seed_), device_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object obj = g_model_ctor->New({});
    NativeModel::Unwrap(obj)->set(std::move(model_), kind_);
    return obj;
  }

 private:
  std::string kind_, folder_;
  int64_t seed_;
  DType matrix_dtype_;
  Device device_;
  models::LoadSources sources_;
  std::shared_ptr<Model> model_;
};

// An optional object of strings (a composite kind's named files).
models::LoadSources arg_sources(const Napi::CallbackInfo& info, size_t i) {
  models::LoadSources out;
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return out;
  if (!info[i].IsObject()) throw coded_error(info.Env(), "E_ARG", "loadModel: sources must be an object of paths");
  Napi::Object o = info[i].As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t k = 0; k < keys.Length(); ++k) {
    Napi::Value key = keys.Get(k), v = o.Get(key);
    if (!v.IsString()) throw coded_error(info.Env(), "E_ARG", "loadModel: every source must be a path string");
    out[key.ToString().Utf8Value()] = v.As<Napi::String>().Utf8Value();
  }
  return out;
}

int64_t arg_seed(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= 9007199254740991.0 && d == std::floor(d)))
    throw coded_error(info.Env(), "E_ARG", "seed must be an integer in [0, 2^53)");
  return int64_t(d);
}

// An optional 'cpu' | 'cuda' argument (default 'cpu').
Device arg_device(const Napi::CallbackInfo& info, size_t i, const char* call) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return Device::CPU;
  const std::string name = arg_string(info, i, "device");
  VLV_CHECK(name == "cpu" || name == "cuda", ErrorCode::Arg, call, ": device must be 'cpu' or 'cuda', got '", name,
            "'");
  return name == "cuda" ? Device::CUDA : Device::CPU;
}

double option_number(Napi::Env env, const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw coded_error(env, "E_ARG", std::string("option '") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// randomModel(kind, configFileOrFolder, seed, device?) -> Promise<NativeModel>
Napi::Value random_model_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto* w = new LoadWorker(env, arg_string(info, 0, "kind"), arg_string(info, 1, "config"), arg_seed(info, 2),
                             DType::F32, arg_device(info, 3, "randomModel"));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  });
}

class SampleWorker : public PromiseWorker {
 public:
  SampleWorker(Napi::Env env, std::shared_ptr<Model> unet, std::shared_ptr<Model> vae, std::shared_ptr<Model> sched,
               NamedTensors in, models::GuidedSampleOptions opts, std::shared_ptr<CancelToken> token,
               const Napi::Value& on_progress)
      : PromiseWorker(env),
        unet_(std::move(unet)),
        vae_(std::move(vae)),
        sched_(std::move(sched)),
        in_(std::move(in)),
        opts_(opts),
        token_(std::move(token)),
        progress_(env, on_progress) {}

 protected:
  void Run() override {
    BridgedCall scope(token_, progress_);
    const Tensor* ctx = models::find_input(in_, "context");
    if (!ctx) fail(ErrorCode::Arg, "sample: input 'context' is required");
    const Tensor* uncond = models::find_input(in_, "uncond_context");
    out_ = models::guided_sample(*unet_, *vae_, *sched_, {*ctx, uncond ? *uncond : Tensor(), {}, {}}, opts_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = wrap_named(env, out_.tensors);
    r.Set("graphReplays", Napi::Number::New(env, double(out_.graph_replays)));
    r.Set("graphNote", Napi::String::New(env, out_.graph_note));
    return r;
  }

 private:
  std::shared_ptr<Model> unet_, vae_, sched_;
  NamedTensors in_;
  models::GuidedSampleResult out_;
  models::GuidedSampleOptions opts_;
  std::shared_ptr<CancelToken> token_;
  ProgressBridge progress_;
};

// guidedSample(unet, vae, scheduler, {context, uncond_context?}, {steps, guidance, seed,
//   latent_channels, latent_height, latent_width, eta, cuda_graphs (0/1, default 1)}, cancelToken?,
//   onProgress?) -> Promise<{images, latents, graphReplays, graphNote}>
Napi::Value guided_sample_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    Napi::Object o = arg_object(info, 4, "options");
    models::GuidedSampleOptions opts;
    opts.steps = int64_t(option_number(env, o, "steps", double(opts.steps)));
    opts.guidance = option_number(env, o, "guidance", opts.guidance);
    opts.seed = uint64_t(option_number(env, o, "seed", 0));
    opts.latent_channels = int64_t(option_number(env, o, "latent_channels", double(opts.latent_channels)));
    opts.latent_height = int64_t(option_number(env, o, "latent_height", double(opts.latent_height)));
    opts.latent_width = int64_t(option_number(env, o, "latent_width", double(opts.latent_width)));
    opts.eta = option_number(env, o, "eta", 0);
    opts.cuda_graphs = option_number(env, o, "cuda_graphs", 1) != 0;
    auto* w = new SampleWorker(env, NativeModel::unwrap_model(env, info[0], "unet"),
                               NativeModel::unwrap_model(env, info[1], "vae"),
                               NativeModel::unwrap_model(env, info[2], "scheduler"), read_named(env, info[3]), opts,
                               unwrap_cancel_token(info[5]), info[6]);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  });
}

// loadModel(kind, folder, dtype?, device?, sources?) -> Promise<NativeModel>; sources: a composite kind's files; dtype
// 'f32' (default), 'bf16' or 'f16': the dtype the weight matrices are held in (models::load_model); device 'cpu'
// (default) or 'cuda'.
Napi::Value load_model_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    DType dtype = DType::F32;
    if (!info[2].IsUndefined() && !info[2].IsNull()) {
      const std::string name = arg_string(info, 2, "dtype");
      VLV_CHECK(name == "f32" || name == "bf16" || name == "f16", ErrorCode::Arg,
                "loadModel: dtype must be 'f32', 'bf16' or 'f16', got '", name, "'");
      dtype = dtype_from_name(name);
    }
    const Device device = arg_device(info, 3, "loadModel");
    auto* w = new LoadWorker(env, arg_string(info, 0, "kind"), arg_string(info, 1, "folder"), -1, dtype, device,
                             arg_sources(info, 4));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  });
}

Napi::Value model_kinds_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> kinds = models::model_kinds();
  Napi::Array a = Napi::Array::New(env, kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) a.Set(uint32_t(i), kinds[i]);
  return a;
}

void exports_fn(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = NativeModel::define(env);
  g_model_ctor = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("NativeModel", ctor);
  exports.Set("loadModel", Napi::Function::New(env, load_model_js, "loadModel"));
  exports.Set("modelKinds", Napi::Function::New(env, model_kinds_js, "modelKinds"));
  exports.Set("randomModel", Napi::Function::New(env, random_model_js, "randomModel"));
  exports.Set("guidedSample", Napi::Function::New(env, guided_sample_js, "guidedSample"));
}

}  // namespace

VLV_NAPI_EXPORTS(exports_fn);

}  // namespace vlv::napi
