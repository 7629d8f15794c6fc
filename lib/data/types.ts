/**
 * The contract between the training data (lib/data/) and the training loops (lib/train/).
 *
 * A dataset is a list of records (an image file, optionally with a caption) read from an
 * image folder, a JSONL/CSV file of pairs, or WebDataset `.tar` shards (streamed). A
 * DataLoader turns it into batches: seeded shuffling per epoch (a shuffle buffer for
 * streamed shards), sharding by rank, decoding and preprocessing in worker threads through
 * sharp with a bounded prefetch queue, unreadable images skipped and counted. Its position
 * is plain JSON that a checkpoint stores; restoring it continues with exactly the batches an
 * uninterrupted run would have seen next.
 */
import type { Tensor } from '../tensor.js';

/** How each image becomes tensors (run in the workers). */
export type ImageTransform =
  /**
   * VLV stage 1/2 (the official preprocessing): RGB; shorter side to `cropSize` (bilinear,
   * antialias), centre crop; then the Florence-2 processor of `florence2Folder` → pixelValues
   * [3, S, S]; and the crop itself in [-1, 1] → image [3, cropSize, cropSize] (the VAE's input).
   */
  | { kind: 'vlv'; cropSize: number; florence2Folder: string }
  /** Text-to-image and VAE training: resize the shorter side to `size`, centre crop, [-1, 1] → image [3, size, size]. */
  | { kind: 'resize-crop'; size: number };

/** One batch: stacked tensors (batch first) and what they came from. */
export interface Batch {
  /** Each sample's key (the file path, or the shard key). */
  keys: string[];
  /** 'vlv': pixelValues [B, 3, S, S] and image [B, 3, C, C]; 'resize-crop': image [B, 3, size, size]. */
  pixelValues?: Tensor;
  image: Tensor;
  /** With a captioned dataset. */
  captions?: string[];
}

/** Where a loader is: JSON, stored in checkpoints. */
export interface DataPosition {
  epoch: number;
  /** Samples of this epoch (this rank's share, after shuffling) already handed out in batches. */
  consumed: number;
  /** Unreadable images skipped so far (the warning count). */
  skipped: number;
}

export interface DataLoaderOptions {
  batchSize: number;
  transform: ImageTransform;
  /** Shuffling seed (epoch e uses seed + e); no shuffling when undefined. */
  seed?: number;
  /** Streamed shards: the shuffle buffer's size (default 1000). */
  shuffleBuffer?: number;
  /** Data-parallel sharding: this process's rank and the number of ranks (default 0 of 1). */
  rank?: number;
  worldSize?: number;
  /** Decoding workers (default: min(4, cores)) and batches prepared ahead (default 2). */
  workers?: number;
  prefetch?: number;
  /** Called once per unreadable image (the run goes on). */
  onSkip?: (key: string, error: Error) => void;
  /** Drop the last, smaller batch of each epoch (default false: it is handed out). */
  dropLast?: boolean;
}

/** One sample of a listed dataset: an image file and, with pairs, its caption. */
export interface DataRecord {
  /** The batch key: the image's path (absolute). */
  key: string;
  /** The image file (absolute). */
  file: string;
  caption?: string;
}

/** A dataset whose records are known up front (image folder, JSONL, CSV): shuffled by Fisher–Yates. */
export interface ListedSource {
  kind: 'listed';
  /** What it was read from (messages). */
  name: string;
  records: readonly DataRecord[];
  /** Every record has a caption (batches carry `captions`). */
  captioned: boolean;
}

/** WebDataset `.tar` shards, streamed (never a whole shard in memory): shuffled by a buffer. */
export interface ShardSource {
  kind: 'shards';
  name: string;
  /** The shard files (absolute), in order. */
  shards: readonly string[];
  /** Samples need a caption (`key.txt`, or `key.json` with a `caption` string): one without is skipped and counted. */
  captioned: boolean;
}

/** What createDataLoader reads: made by imageFolder, captionFile (JSONL / CSV), webDataset or openDataSource. */
export type DataSource = ListedSource | ShardSource;

export interface DataLoader {
  /** The next batch; epochs follow each other without end (training counts steps). */
  next(): Promise<Batch>;
  position(): DataPosition;
  /** Continues from a stored position (before the first next()). */
  restore(position: DataPosition): void;
  /** Samples per epoch for this rank when known (streamed shards: undefined until one epoch was read). */
  readonly epochSize: number | undefined;
  close(): Promise<void>;
}
