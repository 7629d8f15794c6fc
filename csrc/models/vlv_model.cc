// The VLV auto-encoder, kind "vlv", as the official code wires it (Tiezheng11/Vision-Language-
// Vision 04bbfbb: models/VLV_stage1.py SDModel, models/VLV_stage2.py CLIPDecoder), over the
// parts of vlv_parts.h. Every method needs only its own parts; a missing one is E_ARG naming it.
//
//   encode({pixel_values [B,3,S,S], input_ids [B,L], query_embed? [1,N',d]}) -> {encoder_hidden_states,
//       decoder_hidden_states, z, c}
//       SDModel.get_conditional_context: Florence-2's image features merged with the prompt's
//       embeddings, the BART encoder, the BART decoder on the N learnable queries (causal,
//       cross-attending to the encoder); z = language_proj(that) [B,N,d_clip]; c = CLIP(inputs_embeds=z).
//   condition({z}) -> {c}
//   loss({pixel_values, input_ids, image [B,3,H,W] in [-1,1], posterior_noise?, timesteps?, noise?}, {seed})
//       -> {latents, noisy_latents, c, pred_noise, target, loss [1], timesteps}
//       SDModel.forward: latents = scaling_factor * (mean + std * posterior_noise) of the VAE
//       (frozen); DDPM add_noise at the timesteps; the UNet on c; MSE against the noise (or the
//       velocity / the latents, as the scheduler config's prediction_type says). Missing draws
//       come from the Philox stream of `seed`: posterior noise at offset 0, then the timesteps
//       (uniform in [0, num_train_timesteps)), then the noise.
//   reconstruct({c | z | pixel_values + input_ids, uncond_input_ids? [1,L'], init_latents?, step_noise?},
//       {steps 50, guidance 2.0, seed, height 384, width 384, scheduler ddpm|ddim|euler|dpmpp2m, eta,
//        trajectory}) -> {image, decoded, latents, timesteps, c_cond, c_uncond?, latents_trajectory?, guided_noise?}
//       SDModel.generate_images: guided sampling (guided_sample.h) with c as the condition and
//       CLIP(uncond_input_ids) as the unconditional context; latents [B, unet in_channels,
//       side / vae factor] (SD: side / 8, as the official code); any number of queries.
//   caption_prefix({c | z | pixel_values + input_ids}) -> {c, prefix}   prefix = mlp(c)
//   generate({…as caption_prefix}, generation options, prefix_dtype "bf16" | "f32")
//       -> {ids, sequences_scores?, c, prefix, prefix_bf16?}
//       CLIPDecoder.generate: the prefix (and its all-ones mask) cast to bf16, the language
//       model's generate on it; ids are the new tokens.
//   caption_loss({…as caption_prefix, caption_ids [B,T]}, {pad_token_id}) -> {prefix, labels, attention_mask, loss}
//       CLIPDecoder.forward: inputs = [prefix; embed(caption_ids)], labels -100 on the prefix
//       and on padding, mask 1 on the prefix and on non-pad ids; the causal-LM loss.
//   prefill({inputs_embeds, attention_mask?}) -> {first_logits [B,V]}: the language model's
//       logits at the last position (inputs_embeds may be bf16, as generate's first forward).
#include <cmath>

#include "autograd/autograd.h"
#include "models/guided_sample.h"
#include "models/vlv_parts.h"

namespace vlv::models::vlv {

namespace {

constexpr int64_t kIgnoreIndex = -100;

// A number of a part's typed config (its config() JSON).
double config_number(const Model& m, const char* key) {
  const json::Value* v = m.config().find(key);
  VLV_CHECK(v && v->type == json::Type::Number, ErrorCode::Internal, "vlv: a part's config has no number '", key, "'");
  return v->number;
}

uint64_t philox_blocks(const Shape& shape) { return uint64_t((shape_numel(shape) + 3) / 4); }

class VlvModel : public Model {
 public:
  explicit VlvModel(Parts parts) : p_(std::move(parts)) { set_parameters(p_.params, p_.config); }

  NamedTensors run(const std::string& method, const NamedTensors& in, const Attrs& options) override {
    if (method == "encode") return encode(in, "vlv.encode");
    if (method == "condition") return {{"c", condition(require_input(in, "z", "vlv.condition"), "vlv.condition")}};
    if (method == "loss") return stage1_loss(in, options);
    if (method == "reconstruct") return reconstruct(in, options);
    if (method == "caption_prefix") return caption_prefix(in, "vlv.caption_prefix");
    if (method == "generate") return generate(in, options);
    if (method == "caption_loss") return caption_loss(in, options);
    if (method == "prefill") return prefill(in);
    fail(ErrorCode::Arg, "vlv: unknown method '", method,
         "' (encode, condition, loss, reconstruct, caption_prefix, generate, caption_loss, prefill)");
  }

 private:
  static Model& part(const std::unique_ptr<Model>& m, const char* name, const char* method) {
    VLV_CHECK(m, ErrorCode::Arg, method, ": the model was loaded without its ", name, " part");
    return *m;
  }
  // Where a part computes: its parameters' device (parts may sit on different devices).
  static Device on(const Model& m) {
    for (const auto& [name, t] : m.parameters()) return t.device();
    return Device::CPU;
  }
  static Tensor input(const NamedTensors& in, const char* name, const char* method, Device device) {
    return require_input(in, name, method).to(device);
  }
  static Tensor optional(const NamedTensors& in, const char* name, Device device) {
    const Tensor* t = find_input(in, name);
    return t ? t->to(device) : Tensor();
  }

  NamedTensors encode(const NamedTensors& in, const char* method) {
    Model& florence = part(p_.florence2, "florence2", method);
    const Device device = on(florence);
    const Tensor pixels = input(in, "pixel_values", method, device), ids = input(in, "input_ids", method, device);
    VLV_CHECK(pixels.dim() == 4 && ids.dim() == 2 && ids.size(0) == pixels.size(0), ErrorCode::Shape, method,
              ": pixel_values [B, 3, H, W] and input_ids [B, L] must share B, got ", pixels.desc(), " and ",
              ids.desc());
    const Tensor features = florence.run("image_features", {{"pixel_values", pixels}}, {}).at("image_features");
    NamedTensors merged = florence.run("merge", {{"image_features", features}, {"input_ids", ids}}, {});
    const Tensor encoded = florence.run("encoder", merged, {}).at("last_hidden_state");
    const Tensor decoded = florence
                               .run("query_decoder",
                                    {{"inputs_embeds", queries(in, pixels.size(0), method, device)},
                                     {"encoder_hidden_states", encoded},
                                     {"encoder_attention_mask", merged.at("attention_mask")}},
                                    {})
                               .at("last_hidden_state");
    const Tensor z = p_.heads->project(decoded);
    return {
        {"encoder_hidden_states", encoded}, {"decoder_hidden_states", decoded}, {"z", z}, {"c", condition(z, method)}};
  }

  // The learnable queries repeated over the batch, or the input query_embed [1, N', d] in their
  // place (another query count through the same weights).
  Tensor queries(const NamedTensors& in, int64_t b, const char* method, Device device) const {
    const Tensor own = optional(in, "query_embed", device);
    if (!own.defined()) return p_.heads->batch(b);
    const Tensor& q = p_.heads->query_embed;
    VLV_CHECK(own.dim() == 3 && own.size(0) == 1 && own.size(2) == q.size(2), ErrorCode::Shape, method,
              ": query_embed must be [1, N, ", q.size(2), "], got ", own.desc());
    return b == 1 ? own : ops::concat(Tensors(size_t(b), own), 0);
  }

  Tensor condition(const Tensor& z, const char* method) {
    Model& clip = part(p_.text_encoder, "text_encoder", method);
    return clip.run("forward", {{"inputs_embeds", z.to(on(clip))}}, {}).at("last_hidden_state");
  }

  // c given, or from z, or from the image inputs.
  Tensor context(const NamedTensors& in, const char* method) {
    if (const Tensor* c = find_input(in, "c")) return *c;  // each consumer moves it to its part
    if (const Tensor* z = find_input(in, "z")) return condition(*z, method);
    VLV_CHECK(find_input(in, "pixel_values"), ErrorCode::Arg, method, ": give c, z, or pixel_values with input_ids");
    return encode(in, method).at("c");
  }

  std::unique_ptr<Model> scheduler(const std::string& kind, const char* method) const {
    VLV_CHECK(p_.scheduler, ErrorCode::Arg, method, ": the model was loaded without its scheduler part");
    static const std::pair<const char*, const char*> classes[] = {{"ddpm", "DDPMScheduler"},
                                                                  {"ddim", "DDIMScheduler"},
                                                                  {"euler", "EulerDiscreteScheduler"},
                                                                  {"dpmpp2m", "DPMSolverMultistepScheduler"}};
    for (const auto& [name, cls] : classes)
      if (kind == name) return make_scheduler(*p_.scheduler, cls);
    fail(ErrorCode::Arg, method, ": scheduler '", kind, "' is not one of ddpm, ddim, euler, dpmpp2m");
  }

  NamedTensors stage1_loss(const NamedTensors& in, const Attrs& options) {
    const char* method = "vlv.loss";
    Model& unet = part(p_.unet, "unet", method);
    Model& vae = part(p_.vae, "vae", method);
    std::unique_ptr<Model> ddpm = scheduler("ddpm", method);
    const uint64_t seed = uint64_t(options.i("seed", 0));
    const Device vae_device = on(vae), unet_device = on(unet);
    const Tensor image = input(in, "image", method, vae_device);
    VLV_CHECK(image.dim() == 4, ErrorCode::Shape, method, ": image must be [B, 3, H, W] in [-1, 1], got ",
              image.desc());
    const int64_t b = image.size(0);

    // The frozen target branch: VAE posterior sample, scaled; noise at random timesteps.
    Tensor latents, noise, timesteps, noisy;
    uint64_t offset = 0;
    {
      GradModeGuard no_grad(false);
      NamedTensors moments = vae.run("encode", {{"sample", image}}, {});
      const Tensor& mean = moments.at("mean");
      Tensor posterior_noise = optional(in, "posterior_noise", vae_device);
      if (!posterior_noise.defined()) posterior_noise = ops::randn(mean.shape(), seed, offset, vae_device);
      VLV_CHECK(posterior_noise.shape() == mean.shape(), ErrorCode::Shape, method, ": posterior_noise must be ",
                mean.desc(), "-shaped, got ", posterior_noise.desc());
      offset += philox_blocks(mean.shape());
      const Tensor std_dev = ops::exp(ops::scale(moments.at("logvar"), 0.5));
      const double scaling = vae.run("config", {}, {}).at("scaling_factor").contiguous_f32().data<float>()[0];
      latents = ops::scale(ops::add(mean, ops::mul(std_dev, posterior_noise)), scaling);

      timesteps = optional(in, "timesteps", Device::CPU);
      const int64_t train_steps = p_.scheduler->i("num_train_timesteps", 1000);
      if (!timesteps.defined()) {
        const Tensor u = ops::rand({b}, seed, offset, Device::CPU);
        timesteps = Tensor::empty({b}, DType::I64);
        for (int64_t i = 0; i < b; ++i)
          timesteps.data<int64_t>()[i] =
              std::min<int64_t>(train_steps - 1, int64_t(std::floor(double(u.data<float>()[i]) * double(train_steps))));
      }
      VLV_CHECK(timesteps.dim() == 1 && timesteps.size(0) == b, ErrorCode::Shape, method, ": timesteps must be [", b,
                "], got ", timesteps.desc());
      offset += philox_blocks({b});
      latents = latents.to(unet_device);
      noise = optional(in, "noise", unet_device);
      if (!noise.defined()) noise = ops::randn(latents.shape(), seed, offset, unet_device);
      VLV_CHECK(noise.shape() == latents.shape(), ErrorCode::Shape, method, ": noise must be ", latents.desc(),
                "-shaped, got ", noise.desc());
      noisy = ddpm->run("add_noise", {{"original_samples", latents}, {"noise", noise}, {"timesteps", timesteps}}, {})
                  .at("noisy");
    }

    const Tensor c = encode(in, method).at("c").to(unet_device);
    const Tensor pred =
        unet.run("forward", {{"sample", noisy}, {"timestep", timesteps}, {"encoder_hidden_states", c}}, {})
            .at("sample");
    Tensor target = noise;
    const std::string prediction = p_.scheduler->s("prediction_type", "epsilon");
    if (prediction == "v_prediction") {
      GradModeGuard no_grad(false);
      target = ddpm->run("get_velocity", {{"sample", latents}, {"noise", noise}, {"timesteps", timesteps}}, {})
                   .at("velocity");
    } else if (prediction == "sample") {
      target = latents;
    }
    const Tensor loss = ops::reshape(ops::mse_loss(pred, target, "mean"), {1});
    return {{"latents", latents}, {"noisy_latents", noisy}, {"c", c}, {"pred_noise", pred}, {"target", target},
            {"loss", loss},       {"timesteps", timesteps}};
  }

  NamedTensors reconstruct(const NamedTensors& in, const Attrs& options) {
    const char* method = "vlv.reconstruct";
    Model& unet = part(p_.unet, "unet", method);
    Model& vae = part(p_.vae, "vae", method);
    std::unique_ptr<Model> sampler = scheduler(options.s("scheduler", "ddpm"), method);
    GradModeGuard no_grad(false);
    const Tensor c = context(in, method);

    GuidedSampleOptions o;
    o.steps = options.i("steps", 50);
    o.guidance = options.f("guidance", 2.0);
    o.seed = uint64_t(options.i("seed", 0));
    o.eta = options.f("eta", 0.0);
    o.trajectory = options.b("trajectory", false);
    o.cuda_graphs = options.b("cuda_graphs", true);
    const Tensor init = optional(in, "init_latents", Device::CPU);
    if (init.defined()) {
      VLV_CHECK(init.dim() == 4, ErrorCode::Shape, method, ": init_latents must be [B, C, h, w], got ", init.desc());
      o.latent_channels = init.size(1), o.latent_height = init.size(2), o.latent_width = init.size(3);
    } else {
      // SD's VAE halves the side per block after the first: 8 for SD, as the official image // 8.
      const json::Value* blocks = vae.config().find("block_out_channels");
      const int64_t factor = int64_t(1) << (blocks ? blocks->items.size() - 1 : 3);
      const int64_t height = options.i("height", 384), width = options.i("width", 384);
      VLV_CHECK(height % factor == 0 && width % factor == 0 && height > 0 && width > 0, ErrorCode::Arg, method,
                ": height and width must be positive multiples of the VAE's factor ", factor, ", got ", height, "x",
                width);
      o.latent_channels = int64_t(config_number(unet, "in_channels"));
      o.latent_height = height / factor, o.latent_width = width / factor;
    }

    Tensor uncond;
    if (o.guidance > 1) {
      const Tensor* ids = find_input(in, "uncond_input_ids");
      VLV_CHECK(ids, ErrorCode::Arg, method,
                ": guidance > 1 needs uncond_input_ids (the CLIP tokenizer's empty prompt, padded)");
      Model& clip = part(p_.text_encoder, "text_encoder", method);
      uncond = clip.run("forward", {{"input_ids", ids->to(on(clip))}}, {}).at("last_hidden_state");
    }
    GuidedSampleResult r =
        guided_sample(unet, vae, *sampler, {c, uncond, init, optional(in, "step_noise", Device::CPU)}, o);
    NamedTensors out = std::move(r.tensors);
    out["image"] = out.at("images");
    out.erase("images");
    out["c_cond"] = c;
    if (uncond.defined()) out["c_uncond"] = uncond;
    return out;
  }

  NamedTensors caption_prefix(const NamedTensors& in, const char* method) {
    Model& lm = part(p_.language_model, "language_model", method);
    const Tensor c = context(in, method).to(on(lm));
    return {{"c", c}, {"prefix", (*p_.mlp)(c)}};
  }

  NamedTensors generate(const NamedTensors& in, const Attrs& options) {
    const char* method = "vlv.generate";
    Model& lm = part(p_.language_model, "language_model", method);
    GradModeGuard no_grad(false);
    NamedTensors out = caption_prefix(in, method);
    const Tensor& prefix = out.at("prefix");
    const std::string dtype = options.s("prefix_dtype", "bf16");
    VLV_CHECK(dtype == "bf16" || dtype == "f32", ErrorCode::Arg, method, ": prefix_dtype must be bf16 or f32, got ",
              dtype);
    Tensor embeds = prefix;
    if (dtype == "bf16") {  // CLIPDecoder.generate casts the prefix (and its all-ones mask) to bf16
      embeds = ops::cast(prefix, DType::BF16);
      out["prefix_bf16"] = ops::cast(embeds, DType::F32);
    }
    Attrs gen;
    for (const auto& [k, v] : options.values())
      if (k != "prefix_dtype") gen.set(k, v);
    const Tensor mask = Tensor::full({prefix.size(0), prefix.size(1)}, 1.0f);
    for (auto& [k, t] : lm.run("generate", {{"inputs_embeds", embeds}, {"attention_mask", mask}}, gen)) out[k] = t;
    return out;
  }

  NamedTensors caption_loss(const NamedTensors& in, const Attrs& options) {
    const char* method = "vlv.caption_loss";
    Model& lm = part(p_.language_model, "language_model", method);
    VLV_CHECK(options.has("pad_token_id"), ErrorCode::Arg, method, ": option pad_token_id is required");
    const int64_t pad = options.i("pad_token_id");
    const Tensor ids = require_input(in, "caption_ids", method).to(DType::I64);
    NamedTensors out = caption_prefix(in, method);
    const Tensor& prefix = out.at("prefix");
    const int64_t b = prefix.size(0), n = prefix.size(1);
    VLV_CHECK(ids.dim() == 2 && ids.size(0) == b, ErrorCode::Shape, method, ": caption_ids must be [", b, ", T], got ",
              ids.desc());
    const int64_t t = ids.size(1), l = n + t;
    Tensor labels = Tensor::empty({b, l}, DType::I64), mask = Tensor::empty({b, l}, DType::I64);
    for (int64_t r = 0; r < b; ++r)
      for (int64_t j = 0; j < l; ++j) {
        const bool on_prefix = j < n;
        const int64_t id = on_prefix ? 0 : ids.data<int64_t>()[r * t + (j - n)];
        const bool real = on_prefix || id != pad;
        labels.data<int64_t>()[r * l + j] = on_prefix || !real ? kIgnoreIndex : id;
        mask.data<int64_t>()[r * l + j] = real ? 1 : 0;
      }
    const Tensor tokens = lm.run("embed", {{"input_ids", ids.to(on(lm))}}, {}).at("inputs_embeds");
    const Tensor embeds = ops::concat({prefix, tokens}, 1);
    const Tensor loss =
        lm.run("loss", {{"inputs_embeds", embeds}, {"attention_mask", mask}, {"labels", labels}}, {}).at("loss");
    out["labels"] = labels;
    out["attention_mask"] = mask;
    out["loss"] = loss;
    return out;
  }

  NamedTensors prefill(const NamedTensors& in) {
    const char* method = "vlv.prefill";
    Model& lm = part(p_.language_model, "language_model", method);
    NamedTensors args{{"inputs_embeds", input(in, "inputs_embeds", method, on(lm))}};
    if (const Tensor* m = find_input(in, "attention_mask")) args["attention_mask"] = *m;
    const Tensor logits = lm.run("forward", args, {}).at("logits");
    const int64_t l = logits.size(1);
    return {{"first_logits", ops::reshape(ops::slice(logits, 1, l - 1, l), {logits.size(0), logits.size(2)})}};
  }

  Parts p_;
};

std::unique_ptr<Model> load_vlv(const LoadRequest& request) { return std::make_unique<VlvModel>(load_parts(request)); }

}  // namespace

VLV_REGISTER_COMPOSITE("vlv", load_vlv);

}  // namespace vlv::models::vlv
