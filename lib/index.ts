export { Tensor, type DType, type TensorData } from './tensor.js';
export * as ops from './ops.js';
export { backward, noGrad, enableGrad, isGradEnabled } from './autograd.js';
export { info, setNumThreads, type VlvInfo } from './info.js';
export { cuda, type CudaMemory } from './cuda.js';
export { VlvError, type VlvErrorCode } from './errors.js';
export { AdamW, clipGradNorm, type AdamWOptions } from './optim.js';
export {
  loadSafetensors,
  saveSafetensors,
  inspectSafetensors,
  type LoadSafetensorsOptions,
  type LoadedSafetensors,
  type SafetensorsInspection,
  type SafetensorsFileInfo,
  type SafetensorsEntry,
} from './safetensors.js';
export { loadTokenizer } from './tokenizer-files.js';
export { Tokenizer, type EncodeOptions, type Encoded, type BatchEncoded } from './tokenizer.js';
export { Model, modelKinds, type LoadModelOptions } from './models/model.js';
export {
  CausalLM,
  type CausalLMConfig,
  type CausalLMLoadOptions,
  type GenerateOptions,
  type GenerateResult,
  type LMInputs,
  type Prompt,
  type StreamStep,
} from './language/causal-lm.js';
export { freeze, unfreeze, trainableParameters } from './models/freeze.js';
export type { CallOptions, Progress } from './call-options.js';
export type { Options } from './options.js';
export {
  loadPipeline,
  loadUNet,
  loadVae,
  loadScheduler,
  loadTextEncoder,
  randomUNet,
  type DiffusionPipeline,
  type Loaded,
} from './diffusion/pipeline.js';
export {
  sample,
  textToImage,
  encodePrompts,
  type SampleOptions,
  type SampleResult,
  type TextToImageOptions,
} from './diffusion/sample.js';
export type {
  UNet2DConditionConfig,
  AutoencoderKLConfig,
  SchedulerConfig,
  ClipTextConfig,
  ModelIndex,
} from './diffusion/configs.js';
export { tensorToPng, tensorToJpeg, imageToTensor, type ImageToTensorOptions } from './image.js';
export { Florence2Processor, constructPrompt, type Florence2Inputs } from './vision/florence2-processor.js';
