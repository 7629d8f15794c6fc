/**
 * The order of the samples, epoch after epoch, as this rank sees it.
 *
 * Listed sources (image folder, JSONL, CSV): epoch e is a Fisher–Yates permutation of the N
 * records drawn from `SeededRandom(seed + e)` (random.ts; the file order without a seed). Sample i
 * of that order goes to rank i % worldSize, and the last N % worldSize samples are left out, so
 * each rank gets floor(N / worldSize) per epoch and the ranks stay in step.
 *
 * Shards (streamed): epoch e draws from `SeededRandom(seed + e)` first a Fisher–Yates order of
 * the shards, then feeds their samples through a shuffle buffer of `shuffleBuffer` samples
 * (WebDataset's: each incoming sample is pushed, and once the buffer is full a uniformly drawn
 * one leaves it; at the end of the epoch the rest leave in random order). Without a seed the
 * shards and samples keep their file order. Sample i of what comes out goes to rank
 * i % worldSize; an incomplete last round of worldSize samples is left out.
 *
 * Starting at `{ epoch, consumed }` re-reads that epoch from its start (shards: reading the tar
 * entries and running the buffer again, without decoding anything) and leaves out the first
 * `consumed` samples of this rank. A shard's read error (a truncated tar) rides on this rank's
 * next sample (or the epoch's last), so it is reported when that sample is handed out, once.
 */
import { VlvError } from '../errors.js';
import { permutation, SeededRandom, shuffleInPlace } from './random.js';
import { shardSamples, type ShardSample } from './tar-samples.js';
import type { DataSource, ListedSource, ShardSource } from './types.js';

/** One sample to decode: a file, or the bytes of a shard's image. */
export interface Sample {
  key: string;
  file?: string;
  bytes?: Uint8Array;
  caption?: string;
}

export interface OrderItem {
  epoch: number;
  /** Its place in this rank's share of the epoch. */
  index: number;
  sample: Sample;
  /** Shard errors met before it (see the file comment), by shard file. */
  errors: { key: string; error: Error }[];
}

export interface OrderOptions {
  seed: number | undefined;
  rank: number;
  worldSize: number;
  shuffleBuffer: number;
}

/** Samples per epoch for this rank of a listed source. */
export const listedEpochSize = (src: ListedSource, o: OrderOptions): number =>
  Math.floor(src.records.length / o.worldSize);

function* listedEpoch(src: ListedSource, o: OrderOptions, epoch: number, skip: number): Generator<OrderItem> {
  const per = listedEpochSize(src, o);
  const perm = o.seed === undefined ? undefined : permutation(src.records.length, o.seed + epoch);
  for (let i = skip; i < per; i++) {
    const at = i * o.worldSize + o.rank;
    const r = src.records[perm ? perm[at]! : at]!;
    const sample: Sample = { key: r.key, file: r.file };
    if (r.caption !== undefined) sample.caption = r.caption;
    yield { epoch, index: i, sample, errors: [] };
  }
}

async function* bufferShuffle(
  input: AsyncIterable<ShardSample>,
  size: number,
  rng: SeededRandom,
): AsyncGenerator<ShardSample> {
  const buf: ShardSample[] = [];
  const take = () => {
    const k = rng.below(buf.length);
    const last = buf.length - 1;
    [buf[k], buf[last]] = [buf[last]!, buf[k]!];
    return buf.pop()!;
  };
  for await (const s of input) {
    buf.push(s);
    if (buf.length >= size) yield take();
  }
  while (buf.length > 0) yield take();
}

/** One epoch of shards for this rank; returns this rank's sample count for the epoch. */
async function* shardEpoch(
  src: ShardSource,
  o: OrderOptions,
  epoch: number,
  skip: number,
  signal: AbortSignal,
): AsyncGenerator<OrderItem, number> {
  const rng = o.seed === undefined ? undefined : new SeededRandom(o.seed + epoch);
  const shards = [...src.shards];
  if (rng) shuffleInPlace(shards, rng);
  const errors: OrderItem['errors'] = [];
  async function* raw(): AsyncGenerator<ShardSample> {
    for (const shard of shards)
      for await (const it of shardSamples(shard, signal)) {
        if (signal.aborted) return;
        if ('error' in it) errors.push({ key: it.shard, error: it.error });
        else yield it.sample;
      }
  }
  const mixed = rng ? bufferShuffle(raw(), o.shuffleBuffer, rng) : raw();
  let round: ShardSample[] = [];
  let index = 0;
  let held: OrderItem | undefined;
  for await (const s of mixed) {
    round.push(s);
    if (round.length < o.worldSize) continue;
    const mine = round[o.rank]!;
    round = [];
    const i = index++;
    if (i < skip) {
      errors.length = 0; // handed out (and counted) before the restore
      continue;
    }
    if (held) yield held;
    const sample: Sample = { key: mine.key, bytes: mine.bytes };
    if (mine.caption !== undefined) sample.caption = mine.caption;
    held = { epoch, index: i, sample, errors: errors.splice(0) };
  }
  if (held) {
    held.errors.push(...errors.splice(0));
    yield held;
  }
  if (index === 0 && !signal.aborted)
    throw new VlvError(
      'E_FILE_FORMAT',
      `shards ${src.name}: no samples for rank ${o.rank} of ${o.worldSize} (an image entry per key is needed)`,
    );
  return index;
}

/** This rank's samples from `start` on, epoch after epoch, without end. */
export async function* sampleOrder(
  src: DataSource,
  o: OrderOptions,
  start: { epoch: number; consumed: number },
  signal: AbortSignal,
  onEpochSize: (n: number) => void,
): AsyncGenerator<OrderItem, never> {
  for (let epoch = start.epoch; ; epoch++) {
    const skip = epoch === start.epoch ? start.consumed : 0;
    if (src.kind === 'listed') yield* listedEpoch(src, o, epoch, skip);
    else {
      const n = yield* shardEpoch(src, o, epoch, skip, signal);
      onEpochSize(n);
    }
    if (signal.aborted) throw new VlvError('E_ABORTED', 'the data loader was closed');
  }
}
