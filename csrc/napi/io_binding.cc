// safetensorsLoad / safetensorsSave (async, off the JS thread), safetensorsInspect and
// safetensorsResolve (sync: they read only headers and folder listings); torchCheckpointLoad
// (async) and torchCheckpointInspect (sync: the archive and the pickle, no tensor data).
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "napi/common.h"
#include "napi/tensor_wrap.h"

namespace vlv::napi {

namespace {

Napi::Object metadata_object(Napi::Env env, const io::Metadata& m) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [k, v] : m) o.Set(k, v);
  return o;
}

io::Metadata read_metadata(Napi::Env env, const Napi::Value& v) {
  io::Metadata m;
  if (v.IsUndefined() || v.IsNull()) return m;
  if (!v.IsObject()) throw coded_error(env, "E_ARG", "metadata must be an object of strings");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).ToString().Utf8Value();
    Napi::Value x = o.Get(k);
    if (!x.IsString()) throw coded_error(env, "E_ARG", "metadata['" + k + "'] must be a string");
    m.emplace_back(k, x.As<Napi::String>().Utf8Value());
  }
  return m;
}

io::LoadOptions read_load_options(Napi::Env env, const Napi::Value& v) {
  io::LoadOptions opts;
  if (v.IsUndefined() || v.IsNull()) return opts;
  if (!v.IsObject()) throw coded_error(env, "E_ARG", "options must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value dt = o.Get("dtype");
  if (!dt.IsUndefined()) {
    if (!dt.IsString()) throw coded_error(env, "E_ARG", "options.dtype must be a dtype name");
    opts.dtype = dtype_from_name(dt.As<Napi::String>().Utf8Value());
  }
  Napi::Value names = o.Get("names");
  if (!names.IsUndefined()) {
    if (!names.IsArray()) throw coded_error(env, "E_ARG", "options.names must be an array of strings");
    Napi::Array a = names.As<Napi::Array>();
    opts.names.emplace();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value n = a.Get(i);
      if (!n.IsString()) throw coded_error(env, "E_ARG", "options.names must be an array of strings");
      opts.names->push_back(n.As<Napi::String>().Utf8Value());
    }
  }
  return opts;
}

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, io::LoadOptions opts)
      : PromiseWorker(env), path_(std::move(path)), opts_(std::move(opts)) {}

 protected:
  void Run() override { loaded_ = io::load(path_, opts_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object tensors = Napi::Object::New(env);
    for (const auto& [name, t] : loaded_.tensors) tensors.Set(name, NativeTensor::wrap(env, t));
    Napi::Object out = Napi::Object::New(env);
    out.Set("tensors", tensors);
    out.Set("metadata", metadata_object(env, loaded_.metadata));
    loaded_ = {};
    return out;
  }

 private:
  std::string path_;
  io::LoadOptions opts_;
  io::Loaded loaded_;
};

class SaveWorker : public PromiseWorker {
 public:
  SaveWorker(Napi::Env env, std::string path, std::vector<std::pair<std::string, Tensor>> tensors, io::Metadata meta)
      : PromiseWorker(env), path_(std::move(path)), tensors_(std::move(tensors)), meta_(std::move(meta)) {}

 protected:
  void Run() override {
    io::save(path_, tensors_, meta_);
    tensors_.clear();
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string path_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
  io::Metadata meta_;
};

// safetensorsLoad(pathOrFolder, {dtype?, names?}) -> Promise<{tensors, metadata}>
Napi::Value load_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    std::string path = arg_string(info, 0, "path");
    auto* w = new LoadWorker(env, path, read_load_options(env, info[1]));  // freed by libuv when done
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  });
}

// safetensorsSave(path, {name: NativeTensor}, metadata?) -> Promise<void>
Napi::Value save_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    std::string path = arg_string(info, 0, "path");
    Napi::Object obj = arg_object(info, 1, "tensors");
    std::vector<std::pair<std::string, Tensor>> tensors;
    Napi::Array keys = obj.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      std::string name = keys.Get(i).ToString().Utf8Value();
      tensors.emplace_back(name, NativeTensor::unwrap(obj.Get(name), ("tensor '" + name + "'").c_str()));
    }
    auto* w = new SaveWorker(env, path, std::move(tensors), read_metadata(env, info[2]));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  });
}

// safetensorsInspect(file) -> {tensors: [{name, dtype, shape, offsets}], metadata, headerBytes, fileBytes}
Napi::Value inspect_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    io::Header h = io::read_header(arg_string(info, 0, "path"));
    Napi::Array tensors = Napi::Array::New(env, h.tensors.size());
    for (size_t i = 0; i < h.tensors.size(); ++i) {
      const io::TensorEntry& e = h.tensors[i];
      Napi::Object t = Napi::Object::New(env);
      t.Set("name", e.name);
      t.Set("dtype", e.dtype);
      Napi::Array shape = Napi::Array::New(env, e.shape.size());
      for (size_t d = 0; d < e.shape.size(); ++d) shape.Set(uint32_t(d), double(e.shape[d]));
      t.Set("shape", shape);
      Napi::Array offsets = Napi::Array::New(env, 2);
      offsets.Set(0u, double(e.begin));
      offsets.Set(1u, double(e.end));
      t.Set("offsets", offsets);
      tensors.Set(uint32_t(i), t);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("tensors", tensors);
    out.Set("metadata", h.has_metadata ? Napi::Value(metadata_object(env, h.metadata)) : env.Null());
    out.Set("headerBytes", double(h.header_bytes));
    out.Set("fileBytes", double(h.file_bytes));
    return out;
  });
}

// safetensorsResolve(pathOrFolder) -> {index: string | null, files: string[]}
Napi::Value resolve_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    io::Checkpoint c = io::resolve_checkpoint(arg_string(info, 0, "path"));
    Napi::Array files = Napi::Array::New(env, c.files.size());
    for (size_t i = 0; i < c.files.size(); ++i) files.Set(uint32_t(i), c.files[i]);
    Napi::Object out = Napi::Object::New(env);
    out.Set("index", c.index.empty() ? env.Null() : Napi::Value(Napi::String::New(env, c.index)));
    out.Set("files", files);
    return out;
  });
}

class TorchLoadWorker : public PromiseWorker {
 public:
  TorchLoadWorker(Napi::Env env, std::string path) : PromiseWorker(env), path_(std::move(path)) {}

 protected:
  void Run() override { loaded_ = io::load_torch_checkpoint(path_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object tensors = Napi::Object::New(env);
    for (const auto& [name, t] : loaded_.tensors) tensors.Set(name, NativeTensor::wrap(env, t));
    Napi::Object aliases = Napi::Object::New(env);
    for (const auto& [name, first] : loaded_.aliases) aliases.Set(name, first);
    Napi::Object out = Napi::Object::New(env);
    out.Set("tensors", tensors);
    out.Set("aliases", aliases);
    loaded_ = {};
    return out;
  }

 private:
  std::string path_;
  io::TorchLoaded loaded_;
};

Napi::Array int_array(Napi::Env env, const std::vector<int64_t>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(uint32_t(i), double(v[i]));
  return a;
}

// torchCheckpointLoad(path) -> Promise<{tensors: {name: NativeTensor}, aliases: {name: first}}>
Napi::Value torch_load_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    auto* w = new TorchLoadWorker(env, arg_string(info, 0, "path"));  // freed by libuv when done
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  });
}

// torchCheckpointInspect(path) -> {tensors: [{name, dtype, shape, stride, storageOffset,
// storage, storageBytes, aliasOf}], fileBytes, storageBytes}
Napi::Value torch_inspect_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    io::TorchCheckpointInfo c = io::inspect_torch_checkpoint(arg_string(info, 0, "path"));
    Napi::Array tensors = Napi::Array::New(env, c.tensors.size());
    for (size_t i = 0; i < c.tensors.size(); ++i) {
      const io::TorchTensorEntry& e = c.tensors[i];
      Napi::Object t = Napi::Object::New(env);
      t.Set("name", e.name);
      t.Set("dtype", e.dtype);
      t.Set("shape", int_array(env, e.shape));
      t.Set("stride", int_array(env, e.stride));
      t.Set("storageOffset", double(e.storage_offset));
      t.Set("storage", e.storage);
      t.Set("storageBytes", double(e.storage_bytes));
      t.Set("aliasOf", e.alias_of.empty() ? env.Null() : Napi::Value(Napi::String::New(env, e.alias_of)));
      tensors.Set(uint32_t(i), t);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("tensors", tensors);
    out.Set("fileBytes", double(c.file_bytes));
    out.Set("storageBytes", double(c.storage_bytes));
    return out;
  });
}

void exports_fn(Napi::Env env, Napi::Object exports) {
  exports.Set("safetensorsLoad", Napi::Function::New(env, load_js, "safetensorsLoad"));
  exports.Set("safetensorsSave", Napi::Function::New(env, save_js, "safetensorsSave"));
  exports.Set("safetensorsInspect", Napi::Function::New(env, inspect_js, "safetensorsInspect"));
  exports.Set("safetensorsResolve", Napi::Function::New(env, resolve_js, "safetensorsResolve"));
  exports.Set("torchCheckpointLoad", Napi::Function::New(env, torch_load_js, "torchCheckpointLoad"));
  exports.Set("torchCheckpointInspect", Napi::Function::New(env, torch_inspect_js, "torchCheckpointInspect"));
}

}  // namespace

VLV_NAPI_EXPORTS(exports_fn);

}  // namespace vlv::napi
