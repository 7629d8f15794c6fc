export { Tensor, type DType, type TensorData } from './tensor.js';
export * as ops from './ops.js';
export { backward, noGrad, enableGrad, isGradEnabled } from './autograd.js';
export { info, setNumThreads, type VlvInfo } from './info.js';
export { cuda, type CudaMemory } from './cuda.js';
export { VlvError, type VlvErrorCode } from './errors.js';
export { AdamW, clipGradNorm, type AdamWOptions, type AdamWParamGroup, type AdamWState } from './optim.js';
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
export {
  readTorchCheckpoint,
  inspectTorchCheckpoint,
  type TorchCheckpoint,
  type TorchCheckpointInfo,
  type TorchCheckpointEntry,
} from './torch-checkpoint.js';
export { loadTokenizer } from './tokenizer-files.js';
export { Tokenizer, type EncodeOptions, type Encoded, type BatchEncoded } from './tokenizer.js';
export {
  Model,
  EngineModel,
  modelKinds,
  type LoadOptions,
  type LoadModelOptions,
  type ParameterOwner,
} from './models/model.js';
export { UNet2DConditionModel, UNet, type UNetForwardInputs, type UNetOutput } from './models/unet2d-condition.js';
export {
  AutoencoderKL,
  type VaeEncodeInputs,
  type VaeEncodeOutput,
  type VaeDecodeInputs,
  type VaeDecodeOutput,
} from './models/autoencoder-kl.js';
export {
  ClipTextModel,
  type ClipTextInputs,
  type ClipTextForwardOptions,
  type ClipTextOutput,
} from './models/clip-text.js';
export {
  Scheduler,
  type Schedule,
  type SchedulerStepInputs,
  type SchedulerStepOptions,
  type SchedulerStepOutput,
} from './models/scheduler.js';
export {
  Florence2Model,
  type Florence2DecoderInputs,
  type Florence2GenerateInputs,
  type Florence2GenerateResult,
} from './models/florence2.js';
export type {
  ClipTextConfig,
  UNet2DConditionConfig,
  AutoencoderKLConfig,
  SchedulerConfig,
  SchedulerClass,
  Qwen2Config,
  Florence2Config,
  DavitVisionConfig,
  Florence2LanguageConfig,
} from './models/configs.js';
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
export { DiffusionPipeline, loadPipeline, type ModelIndex } from './diffusion/pipeline.js';
export {
  sample,
  textToImage,
  encodePrompts,
  type SampleOptions,
  type SampleResult,
  type TextToImageOptions,
} from './diffusion/sample.js';
export { tensorToPng, tensorToJpeg, imageToTensor, type ImageToTensorOptions } from './image.js';
export { Florence2Processor, constructPrompt, type Florence2Inputs } from './vision/florence2-processor.js';
export {
  postProcessFlorence2Generation,
  florence2PostProcessType,
  FLORENCE2_TASK_POST_PROCESSING,
  type Florence2PostProcessType,
  type Florence2Answer,
  type Florence2Boxes,
  type Florence2QuadBoxes,
  type Florence2Polygons,
  type Florence2BoxesOrPolygons,
  type Florence2ImageSize,
} from './vision/florence2-postprocess.js';
export {
  Florence2Captioner,
  type Florence2Caption,
  type Florence2CaptionOptions,
  type Florence2CaptionerLoadOptions,
} from './vision/florence2-captioner.js';
export {
  VlvModel,
  PARTS_FOR,
  type VlvUse,
  type VlvLoadOptions,
  type VlvImageInputs,
  type VlvEncodeResult,
  type VlvStage1LossInputs,
  type VlvStage1LossResult,
  type VlvReconstructInputs,
  type VlvReconstructOptions,
  type VlvReconstructResult,
  type VlvCaptionInputs,
  type VlvGenerateOptions,
  type VlvGenerateResult,
  type VlvStage2LossResult,
} from './vlv/model.js';
export { resolveVlvFolder, VLV_PARTS, type VlvFolder, type VlvPart } from './vlv/folder.js';
export {
  readImage,
  stage1Crop,
  VlvImageProcessor,
  VLV_PROMPT,
  VLV_IMAGE_SIZE,
  type VlvImageSource,
  type RawImage,
  type DecodedImage,
  type PreparedImages,
  type RgbImage,
} from './vlv/images.js';
export { processCaption } from './vlv/caption-text.js';
export {
  embed,
  caption,
  captionStream,
  reconstruct,
  imageProcessor,
  unconditionalIds,
  type VlvPipelineOptions,
  type EmbedResult,
  type CaptionOptions,
  type CaptionResult,
  type CaptionEvent,
  type ReconstructOptions,
  type ReconstructResult,
  type ReconstructSource,
} from './vlv/pipelines.js';
export { createDataLoader, type VlvDataLoader, type DataLoaderStats } from './data/loader.js';
export { imageFolder } from './data/image-folder.js';
export { captionFile, type PairFileOptions } from './data/pairs.js';
export { webDataset, type WebDatasetOptions } from './data/webdataset.js';
export { openDataSource } from './data/open.js';
export { expandBraces } from './data/brace.js';
export type {
  ImageTransform,
  Batch,
  DataPosition,
  DataLoaderOptions,
  DataLoader,
  DataRecord,
  DataSource,
  ListedSource,
  ShardSource,
} from './data/types.js';
export {
  train,
  trainStage1,
  trainStage2,
  trainTextToImage,
  trainVae,
  T2I_PARTS,
  type T2iPart,
  setPathLoader,
  listCheckpoints,
  readCheckpoint,
  readState,
  lrAt,
  lrMultiplier,
  TRAIN_KINDS,
  type TrainKind,
  type TrainOptions,
  type TrainData,
  type TrainCallOptions,
  type TrainProgress,
  type TrainResult,
  type DryRunReport,
  type RunSettings,
  type CheckpointState,
  type Schedule as LrSchedule,
  type ScheduleKind,
} from './train/index.js';
export {
  WORLD_IMAGE_SIZE,
  WORLD_BACKGROUNDS,
  WORLD_BACKGROUND_RGB,
  WORLD_SHAPES,
  WORLD_SIZES,
  WORLD_SIZE_PX,
  WORLD_COLOURS,
  WORLD_COLOUR_RGB,
  WORLD_CELLS,
  WORLD_CELL_PHRASES,
  WORLD_JITTER_PX,
  WORLD_SPLITS,
  WORLD_SAMPLE_CAPTIONS,
  HELD_OUT_COMBOS,
  isHeldOutCombo,
  isHeldOutObject,
  isTrainScene,
  cellCentre,
  placeWorldScene,
  describeWorldScene,
  checkWorldScene,
  generateWorldScene,
  generateWorldScenes,
  worldCaption,
  parseWorldCaption,
  worldSceneSvg,
  renderWorldScene,
  writeWorld,
  writeWorldScenes,
  writeWorldSamples,
  type WorldRgb,
  type WorldBackground,
  type WorldShape,
  type WorldSize,
  type WorldColour,
  type WorldCell,
  type WorldObject,
  type PlacedWorldObject,
  type WorldSceneDescription,
  type WorldScene,
  type WorldSplit,
  type WorldSceneOptions,
  type WriteWorldOptions,
  type WrittenWorld,
} from './world/index.js';
