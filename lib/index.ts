export { Tensor, type DType, type TensorData } from './tensor.js';
export * as ops from './ops.js';
export { backward, noGrad, enableGrad, isGradEnabled } from './autograd.js';
export { info, setNumThreads, type VlvInfo } from './info.js';
export { VlvError, type VlvErrorCode } from './errors.js';
export { AdamW, clipGradNorm, type AdamWOptions } from './optim.js';
export { loadSafetensors, saveSafetensors, inspectSafetensors, type LoadSafetensorsOptions, type LoadedSafetensors, type SafetensorsInspection, type SafetensorsFileInfo, type SafetensorsEntry } from './safetensors.js';
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
export { runConformance, type CaseResult } from './conformance/run.js';
export type { CallOptions, Progress } from './call-options.js';
