#include "models/vlv_parts.h"

#include <filesystem>

namespace vlv::models::vlv {

namespace fs = std::filesystem;

QueryHeads QueryHeads::load(const WeightBuilder& vb) {
  QueryHeads h;
  const Shape q = vb.shape_of("query_embed");
  VLV_CHECK(q.size() == 3 && q[0] == 1 && q[1] >= 1, ErrorCode::FileFormat, vb.source(), ": '", vb.key("query_embed"),
            "' must be [1, N, d], got ", shape_str(q));
  h.query_embed = vb.take("query_embed", q);
  const Shape in = vb.at("language_proj").at(0).shape_of("weight");
  const Shape out = vb.at("language_proj").at(2).shape_of("weight");
  VLV_CHECK(in.size() == 2 && out.size() == 2 && in[1] == q[2] && out[1] == in[0], ErrorCode::FileFormat, vb.source(),
            ": language_proj must map the queries' width ", q[2], " through Linear, GELU, Linear; got weights ",
            shape_str(in), " and ", shape_str(out));
  h.proj_in = Linear::load(vb.at("language_proj").at(0), in[1], in[0]);
  h.proj_out = Linear::load(vb.at("language_proj").at(2), out[1], out[0]);
  return h;
}

Tensor QueryHeads::batch(int64_t b) const {
  return b == 1 ? query_embed : ops::concat(Tensors(size_t(b), query_embed), 0);
}

PrefixMlp PrefixMlp::load(const WeightBuilder& vb) {
  PrefixMlp m;
  const Shape in = vb.at("layers").at(0).shape_of("weight");
  const Shape out = vb.at("layers").at(2).shape_of("weight");
  VLV_CHECK(in.size() == 2 && out.size() == 2 && out[1] == in[0], ErrorCode::FileFormat, vb.source(),
            ": mlp must be Linear, GELU, Linear; got weights ", shape_str(in), " and ", shape_str(out));
  m.in = Linear::load(vb.at("layers").at(0), in[1], in[0]);
  m.out = Linear::load(vb.at("layers").at(2), out[1], out[0]);
  return m;
}

std::unique_ptr<Model> make_scheduler(const Config& config, const std::string& class_name) {
  Config c = config.with_string("_class_name", class_name);
  c.ignore_unread();
  Weights none;
  NamedTensors unused;
  return ModelEntry::part("scheduler", c, WeightBuilder(none, unused));
}

namespace {

// One part: its kind, its folder's config file, and the checkpoint prefix of its weights
// (below the stage-1 root).
struct PartSpec {
  const char* name;    // the LoadSources key
  const char* kind;    // the registered model kind
  const char* config;  // the config file in its folder
  const char* prefix;  // in the checkpoint, under the stage-1 root ("" or "VLV_model.")
  bool under_stage1;   // false: the captioner's own (qwen2_model)
};

constexpr PartSpec kParts[] = {
    {"florence2", "florence2", "config.json", "model", true},
    {"text_encoder", "clip_text", "config.json", "text_encoder", true},
    {"unet", "unet", "config.json", "unet", true},
    {"vae", "vae", "config.json", "vae", true},
    {"language_model", "qwen2", "config.json", "qwen2_model", false},
};

bool has_weight_files(const std::string& folder) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 12 && n.compare(n.size() - 12, 12, ".safetensors") == 0) return true;
    if (n == "pytorch_model.bin" || n == "diffusion_pytorch_model.bin") return true;
  }
  return false;
}

}  // namespace

Parts load_parts(const LoadRequest& r) {
  auto source = [&](const std::string& key) -> const std::string* {
    auto it = r.sources.find(key);
    return it == r.sources.end() ? nullptr : &it->second;
  };
  for (const auto& [key, path] : r.sources) {
    bool known = key == "checkpoint" || key == "overlay" || key == "scheduler" || key == "random_seed" ||
                 key.rfind("device.", 0) == 0;
    for (const PartSpec& p : kParts) known = known || key == p.name;
    VLV_CHECK(known, ErrorCode::Arg, "vlv: unknown source '", key,
              "' (checkpoint, florence2, text_encoder, unet, vae, scheduler, language_model)");
  }
  // "random_seed": a part that neither the checkpoint nor its folder holds gets seeded random
  // weights (random_init) instead of an error: benchmarks at real sizes from configs alone.
  const std::string* random_seed = source("random_seed");
  const std::string* checkpoint = source("checkpoint");
  VLV_CHECK(checkpoint, ErrorCode::Arg, "vlv: no checkpoint given (", r.folder, ")");
  Weights ckpt = Weights::load(*checkpoint, r.matrix_dtype);
  if (const std::string* overlay = source("overlay")) ckpt.overlay(Weights::load(*overlay, r.matrix_dtype));
  // "device.<part>" puts one part elsewhere than the request's device (its heads with it).
  auto device_of = [&](const std::string& part) {
    const std::string* d = source("device." + part);
    if (!d) return r.device;
    VLV_CHECK(*d == "cpu" || *d == "cuda", ErrorCode::Arg, "vlv: device.", part, " must be cpu or cuda, got '", *d,
              "'");
    return *d == "cuda" ? Device::CUDA : Device::CPU;
  };

  Parts parts;
  NamedTensors params;
  WeightBuilder root(ckpt, params);
  if (ckpt.has_prefix("module.")) root = root.at("module").rooted_into(params);  // named without it
  // The captioner nests stage 1 under VLV_model.
  const bool captioner = ckpt.has_prefix(root.key("VLV_model") + ".");
  const WeightBuilder stage1 = captioner ? root.at("VLV_model") : root;
  std::vector<std::pair<std::string, json::Value>> configs;

  for (const PartSpec& p : kParts) {
    const WeightBuilder at = (p.under_stage1 ? stage1 : root).at(p.prefix);
    const std::string prefix = at.key() + ".";  // in the checkpoint
    const std::string name_prefix = std::string(captioner && p.under_stage1 ? "VLV_model." : "") + p.prefix + ".";
    const std::string* folder = source(p.name);
    if (!folder) {
      ckpt.skip_prefix(prefix);
      continue;
    }
    Config config = Config::load((fs::path(*folder) / p.config).string());
    std::unique_ptr<Model> model;
    const Device device = device_of(p.name);
    if (ckpt.has_prefix(prefix)) {
      ckpt.set_device(device);
      model = ModelEntry::part(p.kind, config, at);
    } else if (random_seed && !has_weight_files(*folder)) {  // benchmarks at real sizes: configs only
      Weights own = Weights::random(std::stoull(*random_seed), *folder + " (random weights)", r.matrix_dtype);
      own.set_device(device);
      NamedTensors unused;
      model = ModelEntry::part(p.kind, config, WeightBuilder(own, unused));
    } else {
      VLV_CHECK(has_weight_files(*folder), ErrorCode::FileFormat, "vlv: no weights for the ", p.name,
                " part: ", *checkpoint, " has no '", prefix, "*' keys and ", *folder, " holds no weights");
      Weights own = Weights::load(*folder, r.matrix_dtype);
      own.set_device(device);
      NamedTensors unused;
      model = ModelEntry::part(p.kind, config, WeightBuilder(own, unused));
      own.check_all_used();
    }
    for (const auto& [name, t] : model->parameters()) params[name_prefix + name] = t;
    configs.emplace_back(p.name, model->config());
    if (std::string(p.name) == "florence2") parts.florence2 = std::move(model);
    if (std::string(p.name) == "text_encoder") parts.text_encoder = std::move(model);
    if (std::string(p.name) == "unet") parts.unet = std::move(model);
    if (std::string(p.name) == "vae") parts.vae = std::move(model);
    if (std::string(p.name) == "language_model") parts.language_model = std::move(model);
  }
  // The heads come with the part that reads them.
  if (parts.florence2) ckpt.set_device(device_of("florence2")), parts.heads = QueryHeads::load(stage1);
  else ckpt.skip_prefix(stage1.key("language_proj") + "."), ckpt.skip_prefix(stage1.key("query_embed"));
  if (parts.language_model) ckpt.set_device(device_of("language_model")), parts.mlp = PrefixMlp::load(root.at("mlp"));
  else ckpt.skip_prefix(root.key("mlp") + ".");
  if (const std::string* folder = source("scheduler")) {
    parts.scheduler = Config::load((fs::path(*folder) / "scheduler_config.json").string());
    make_scheduler(*parts.scheduler, "DDPMScheduler");  // checks the config now, not at the first call
  }
  ckpt.check_all_used();
  parts.params = std::move(params);
  parts.config = json::Value::object(std::move(configs));
  return parts;
}

}  // namespace vlv::models::vlv
