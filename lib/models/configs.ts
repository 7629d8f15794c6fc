/**
 * The typed configs of the engine's architectures, as `model.config` hands them over. The
 * engine is the only reader of a model's config file (csrc/models/*_config.h: every field read
 * once, validated, and any field it does not honour rejected by name); these are its structs
 * as plain objects, with the file's own (Hugging Face / diffusers, snake_case) field names and
 * every default filled in as the reference library's. Fields the file left null stay null.
 */

/** transformers CLIPTextConfig (csrc/models/clip_text_config.h). */
export interface ClipTextConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  hidden_act: string;
  layer_norm_eps: number;
  eos_token_id: number;
  attention_dropout: number;
  dropout: number;
}

/** diffusers UNet2DConditionModel's config (csrc/models/unet2d_condition_config.h). */
export interface UNet2DConditionConfig {
  sample_size: number | null;
  in_channels: number;
  out_channels: number;
  center_input_sample: boolean;
  flip_sin_to_cos: boolean;
  freq_shift: number;
  /** diffusers' "UNetRes" prefix stripped (it names the same blocks). */
  down_block_types: string[];
  mid_block_type: string;
  up_block_types: string[];
  only_cross_attention: boolean;
  block_out_channels: number[];
  layers_per_block: number | number[];
  downsample_padding: number;
  mid_block_scale_factor: number;
  dropout: number;
  act_fn: string;
  norm_num_groups: number;
  norm_eps: number;
  cross_attention_dim: number | number[];
  transformer_layers_per_block: number | number[];
  /** The number of heads per block, as diffusers reads it. */
  attention_head_dim: number | number[];
  num_attention_heads: null;
  dual_cross_attention: boolean;
  use_linear_projection: boolean;
  class_embeddings_concat: boolean;
  upcast_attention: boolean;
  resnet_time_scale_shift: string;
  time_embedding_type: string;
  attention_type: string;
  /** null: block_out_channels[0] * 4. */
  time_embedding_dim: number | null;
  timestep_post_act: string | null;
  time_embedding_act_fn: string | null;
  conv_in_kernel: number;
  conv_out_kernel: number;
  class_embed_type: null;
  num_class_embeds: null;
  addition_embed_type: null;
  encoder_hid_dim: null;
  encoder_hid_dim_type: null;
  time_cond_proj_dim: null;
  cross_attention_norm: null;
  reverse_transformer_layers_per_block: null;
}

/** diffusers AutoencoderKL's config (csrc/models/autoencoder_kl_config.h). */
export interface AutoencoderKLConfig {
  in_channels: number;
  out_channels: number;
  down_block_types: string[];
  up_block_types: string[];
  block_out_channels: number[];
  layers_per_block: number;
  act_fn: string;
  latent_channels: number;
  norm_num_groups: number;
  sample_size: number;
  scaling_factor: number;
  shift_factor: number | null;
  force_upcast: boolean;
  use_quant_conv: boolean;
  use_post_quant_conv: boolean;
  mid_block_add_attention: boolean;
}

export type SchedulerClass =
  'DDPMScheduler' | 'DDIMScheduler' | 'EulerDiscreteScheduler' | 'DPMSolverMultistepScheduler';

/**
 * diffusers' scheduler_config.json (csrc/models/schedulers/scheduler_config.h): the training
 * schedule every class reads, then the fields of the named class only (the others absent).
 */
export interface SchedulerConfig {
  _class_name: SchedulerClass;
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  trained_betas: null;
  rescale_betas_zero_snr: boolean;
  prediction_type: 'epsilon' | 'v_prediction' | 'sample';
  steps_offset: number;
  /** The class's default when the file has none ('leading' for DDPM / DDIM, else 'linspace'). */
  timestep_spacing: 'leading' | 'linspace' | 'trailing';
  /** DDPM, DDIM. */
  clip_sample?: boolean;
  clip_sample_range?: number;
  thresholding?: boolean;
  /** DDPM: 'fixed_small' | 'fixed_small_log' | 'fixed_large'; DPM-Solver: null. */
  variance_type?: string | null;
  /** DDIM. */
  set_alpha_to_one?: boolean;
  /** Euler, DPM-Solver. */
  use_karras_sigmas?: boolean;
  use_exponential_sigmas?: boolean;
  use_beta_sigmas?: boolean;
  final_sigmas_type?: 'zero' | 'sigma_min';
  /** Euler. */
  interpolation_type?: string;
  timestep_type?: string;
  /** DPM-Solver. */
  algorithm_type?: string;
  solver_order?: number;
  solver_type?: 'midpoint' | 'heun';
  lower_order_final?: boolean;
  euler_at_final?: boolean;
  lambda_min_clipped?: number;
  use_lu_lambdas?: boolean;
  use_flow_sigmas?: boolean;
}

/** transformers Qwen2Config (csrc/models/qwen2_config.h). */
export interface Qwen2Config {
  model_type: 'qwen2';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** num_attention_heads when the file has none. */
  num_key_value_heads: number;
  /** hidden_size / num_attention_heads when the file has none. */
  head_dim: number;
  hidden_act: string;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: null;
  use_sliding_window: boolean;
  tie_word_embeddings: boolean;
  attention_dropout: number;
  /** Token ids as the file has them (an id, a list of ids, or null). */
  bos_token_id: number | number[] | null;
  eos_token_id: number | number[] | null;
  pad_token_id: number | number[] | null;
}

/** Florence-2's vision_config (a DaViT; csrc/models/florence2_config.h). */
export interface DavitVisionConfig {
  model_type: 'davit';
  dim_embed: number[];
  depths: number[];
  num_heads: number[];
  num_groups: number[];
  patch_size: number[];
  patch_stride: number[];
  patch_padding: number[];
  patch_prenorm: boolean[];
  window_size: number;
  projection_dim: number;
  image_feature_source: string[];
  image_pos_embed: { type: string; max_pos_embeddings: number };
  visual_temporal_embedding: { type: string; max_temporal_embeddings: number };
}

/** Florence-2's text_config (BART-style; generation fields null when the file has none). */
export interface Florence2LanguageConfig {
  model_type: 'florence2_language';
  vocab_size: number;
  d_model: number;
  max_position_embeddings: number;
  encoder_layers: number;
  encoder_attention_heads: number;
  encoder_ffn_dim: number;
  decoder_layers: number;
  decoder_attention_heads: number;
  decoder_ffn_dim: number;
  activation_function: string;
  tie_word_embeddings: boolean;
  scale_embedding: boolean;
  decoder_start_token_id: number;
  max_length: number;
  forced_bos_token_id: number | null;
  forced_eos_token_id: number | null;
  eos_token_id: number | null;
  pad_token_id: number | null;
  num_beams: number | null;
  no_repeat_ngram_size: number | null;
  num_return_sequences: number | null;
  top_k: number | null;
  length_penalty: number | null;
  repetition_penalty: number | null;
  temperature: number | null;
  top_p: number | null;
  early_stopping: boolean | null;
  do_sample: boolean | null;
  min_length: number | null;
  num_beam_groups: number | null;
  diversity_penalty: number | null;
  encoder_no_repeat_ngram_size: number | null;
  typical_p: number | null;
  bad_words_ids: unknown;
  suppress_tokens: unknown;
  begin_suppress_tokens: unknown;
  exponential_decay_length_penalty: unknown;
}

/** Florence2Config (the remote code's): its two sub-configs. */
export interface Florence2Config {
  model_type: 'florence2';
  vision_config: DavitVisionConfig;
  text_config: Florence2LanguageConfig;
}
