/**
 * createDataLoader: a dataset (image folder, JSONL / CSV pairs, WebDataset shards) into batches
 * of tensors for the training loops (the contract: types.ts).
 *
 * - Order: order.ts (seeded Fisher–Yates per epoch for listed sources, a seeded shuffle buffer
 *   for shards; sample i of an epoch goes to rank i % worldSize, the tail that would leave the
 *   ranks unequal is dropped). Epochs follow each other without end.
 * - Batches: this rank's samples in runs of `batchSize` that never straddle two epochs (the
 *   last of an epoch may be smaller; `dropLast` leaves it out). An unreadable image (corrupt,
 *   truncated, not an image, missing, a shard sample without caption) is left out of its batch,
 *   `onSkip` is called and `position().skipped` counts it; a batch whose images are all
 *   unreadable is passed over. The run never stops for one: only a whole epoch without a
 *   readable image is an error (E_FILE_FORMAT).
 * - Decoding and the transform run in `workers` worker threads (worker-pool.ts, transform.ts);
 *   up to `prefetch` batches are prepared ahead of the one handed out, never more, and come back
 *   in order. Tensors are made when a batch is handed out.
 * - Position: `{ epoch, consumed, skipped }` after the last batch handed out (at an epoch's end:
 *   the next epoch, consumed 0). A loader restored from it hands out exactly the batches the
 *   original hands out next; shards re-read the epoch from its start without decoding.
 */
import { availableParallelism } from 'node:os';
import { VlvError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { listedEpochSize, sampleOrder, type OrderItem, type OrderOptions } from './order.js';
import { workerTransform } from './transform-spec.js';
import type { DecodeOutput, WorkerTransform } from './transform.js';
import type { Batch, DataLoader, DataLoaderOptions, DataPosition, DataSource } from './types.js';
import { DecodePool, type DecodeResult } from './worker-pool.js';

/** What the loader has done (monitoring, and the tests' proof that prefetching is bounded). */
export interface DataLoaderStats {
  /** Batches whose samples were taken and sent to decoding. */
  started: number;
  /** Batches taken off the queue by next() (handed out, or passed over when all were unreadable). */
  taken: number;
  /** The most batches ever started and not yet taken (never more than `prefetch`). */
  maxAhead: number;
  /** Images sent to decoding. */
  decodes: number;
  /** Worker threads. */
  workers: number;
}

/** The DataLoader createDataLoader returns: the contract plus stats and `await using`. */
export interface VlvDataLoader extends DataLoader {
  stats(): DataLoaderStats;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Window {
  items: OrderItem[];
  results: DecodeResult[];
  /** The position once this window is handed out. */
  after: { epoch: number; consumed: number };
}

const intIn = (x: unknown, what: string, min: number, dflt?: number): number => {
  if (x === undefined && dflt !== undefined) return dflt;
  if (!Number.isInteger(x) || (x as number) < min)
    throw new VlvError('E_ARG', `data loader: ${what} must be an integer >= ${min}, got ${String(x)}`);
  return x as number;
};

const fatal = (e: Error) => (e as { fatal?: boolean }).fatal === true;

class Loader implements VlvDataLoader {
  private readonly order: OrderOptions;
  private readonly batchSize: number;
  private readonly prefetch: number;
  private readonly dropLast: boolean;
  private readonly transform: WorkerTransform;
  private readonly pool: DecodePool;
  private readonly abort = new AbortController();
  private pos: DataPosition = { epoch: 0, consumed: 0, skipped: 0 };
  private begun = false;
  private closed = false;
  private stream: AsyncGenerator<OrderItem, never> | undefined;
  private lookahead: OrderItem | undefined;
  private pulls: Promise<unknown> = Promise.resolve();
  private readonly queue: Promise<Window>[] = [];
  private nextChain: Promise<unknown> = Promise.resolve();
  private shardEpochSize: number | undefined;
  private readonly counters = { started: 0, taken: 0, maxAhead: 0 };

  constructor(
    private readonly source: DataSource,
    private readonly opts: DataLoaderOptions,
  ) {
    if (!source || (source.kind !== 'listed' && source.kind !== 'shards'))
      throw new VlvError(
        'E_ARG',
        'data loader: the source must come from imageFolder, captionFile, webDataset or openDataSource',
      );
    this.batchSize = intIn(opts.batchSize, 'batchSize', 1);
    const worldSize = intIn(opts.worldSize, 'worldSize', 1, 1);
    const rank = intIn(opts.rank, 'rank', 0, 0);
    if (rank >= worldSize) throw new VlvError('E_ARG', `data loader: rank ${rank} of worldSize ${worldSize}`);
    if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed))
      throw new VlvError('E_ARG', `data loader: seed must be a safe integer, got ${opts.seed}`);
    this.order = {
      seed: opts.seed,
      rank,
      worldSize,
      shuffleBuffer: intIn(opts.shuffleBuffer, 'shuffleBuffer', 1, 1000),
    };
    this.prefetch = intIn(opts.prefetch, 'prefetch', 0, 2);
    this.dropLast = opts.dropLast ?? false;
    if (source.kind === 'listed') {
      const per = listedEpochSize(source, this.order);
      if (per < 1)
        throw new VlvError('E_ARG', `data loader: ${source.records.length} samples cannot feed ${worldSize} ranks`);
      if (this.dropLast && per < this.batchSize)
        throw new VlvError(
          'E_ARG',
          `data loader: ${per} samples per epoch, fewer than batchSize ${this.batchSize} with dropLast`,
        );
    }
    this.transform = workerTransform(opts.transform);
    this.pool = new DecodePool(intIn(opts.workers, 'workers', 0, Math.min(4, availableParallelism())), this.transform);
  }

  get epochSize(): number | undefined {
    return this.source.kind === 'listed' ? listedEpochSize(this.source, this.order) : this.shardEpochSize;
  }

  position(): DataPosition {
    return { ...this.pos };
  }

  restore(position: DataPosition): void {
    if (this.begun) throw new VlvError('E_ARG', 'data loader: restore() comes before the first next()');
    if (this.closed) throw new VlvError('E_ARG', 'data loader: closed');
    if (!position || typeof position !== 'object')
      throw new VlvError('E_ARG', 'data loader: restore() needs a position');
    const epoch = intIn(position.epoch, 'position.epoch', 0);
    const consumed = intIn(position.consumed, 'position.consumed', 0);
    const skipped = intIn(position.skipped, 'position.skipped', 0);
    const size = this.epochSize;
    if (this.source.kind === 'listed' && size !== undefined && consumed >= size)
      throw new VlvError('E_ARG', `data loader: position.consumed ${consumed} is past the epoch's ${size} samples`);
    this.pos = { epoch, consumed, skipped };
  }

  stats(): DataLoaderStats {
    return { ...this.counters, decodes: this.pool.requested, workers: this.pool.size };
  }

  private async pull(): Promise<OrderItem> {
    if (this.lookahead) {
      const it = this.lookahead;
      this.lookahead = undefined;
      return it;
    }
    this.stream ??= sampleOrder(this.source, this.order, this.pos, this.abort.signal, (n) => {
      this.shardEpochSize ??= n;
    });
    return (await this.stream.next()).value;
  }

  private async takeWindow(): Promise<Omit<Window, 'results'>> {
    const first = await this.pull();
    const items: OrderItem[] = [first];
    for (;;) {
      const nx = await this.pull();
      if (nx.epoch !== first.epoch || items.length === this.batchSize) {
        this.lookahead = nx;
        break;
      }
      items.push(nx);
    }
    const endOfEpoch = this.lookahead?.epoch !== first.epoch;
    const after = endOfEpoch
      ? { epoch: first.epoch + 1, consumed: 0 }
      : { epoch: first.epoch, consumed: items.at(-1)!.index + 1 };
    return { items, after };
  }

  private decode(items: OrderItem[]): Promise<DecodeResult[]> {
    if (this.dropLast && items.length < this.batchSize)
      return Promise.resolve(items.map(() => ({ error: new Error('dropped (dropLast)'), dropped: true })));
    return Promise.all(
      items.map((it) => {
        const s = it.sample;
        if (this.source.kind === 'shards' && this.source.captioned && s.caption === undefined)
          return Promise.resolve({
            error: new VlvError('E_FILE_FORMAT', `${s.key}: no caption (key.txt, or key.json with "caption")`),
          });
        return this.pool.decode(s.bytes ? { key: s.key, bytes: s.bytes } : { key: s.key, file: s.file! });
      }),
    );
  }

  /** Starts the next batch: `ahead` when it is prefetched, not the one a next() is waiting for. */
  private startJob(ahead: boolean): void {
    this.counters.started++;
    if (ahead) this.counters.maxAhead = Math.max(this.counters.maxAhead, this.counters.started - this.counters.taken);
    const taken = this.pulls.then(() => this.takeWindow());
    this.pulls = taken;
    const job = taken.then(async (w) => ({ ...w, results: await this.decode(w.items) }));
    job.catch(() => undefined); // awaited by next(); never an unhandled rejection meanwhile
    this.queue.push(job);
  }

  next(): Promise<Batch> {
    const p = this.nextChain.then(() => this.nextBatch());
    this.nextChain = p.catch(() => undefined);
    return p;
  }

  private async nextBatch(): Promise<Batch> {
    if (this.closed) throw new VlvError('E_ARG', 'data loader: closed');
    this.begun = true;
    const startEpoch = this.pos.epoch;
    for (;;) {
      if (this.queue.length === 0) this.startJob(false);
      const job = this.queue.shift()!;
      const w = await job;
      this.counters.taken++;
      if (this.closed) throw new VlvError('E_ARG', 'data loader: closed');
      while (this.queue.length < this.prefetch) this.startJob(true);
      const ok: { item: OrderItem; out: DecodeOutput }[] = [];
      let skipped = 0;
      const report = (key: string, e: Error) => {
        skipped++;
        this.opts.onSkip?.(key, e);
      };
      for (let i = 0; i < w.items.length; i++) {
        const it = w.items[i]!;
        for (const e of it.errors) report(e.key, e.error);
        const r = w.results[i]!;
        if ('out' in r) ok.push({ item: it, out: r.out });
        else if (fatal(r.error)) throw r.error;
        else if (!(r as { dropped?: boolean }).dropped) report(it.sample.key, r.error);
      }
      this.pos = { ...w.after, skipped: this.pos.skipped + skipped };
      if (ok.length > 0) return this.batchOf(ok);
      if (this.pos.epoch > startEpoch + 1 || (this.pos.epoch === startEpoch + 1 && this.pos.consumed > 0))
        throw new VlvError('E_FILE_FORMAT', `${this.source.name}: no readable image in a whole epoch`);
    }
  }

  private batchOf(ok: { item: OrderItem; out: DecodeOutput }[]): Batch {
    const n = ok.length;
    const stack = (get: (o: DecodeOutput) => Float32Array, shape: number[]) => {
      const one = shape.reduce((a, b) => a * b, 1);
      const flat = new Float32Array(n * one);
      ok.forEach((o, i) => flat.set(get(o.out), i * one));
      return Tensor.from(flat, [n, ...shape]);
    };
    const side = this.transform.kind === 'vlv' ? this.transform.cropSize : this.transform.size;
    const batch: Batch = {
      keys: ok.map((o) => o.item.sample.key),
      image: stack((o) => o.image, [3, side, side]),
    };
    const first = ok[0]!.out;
    if (first.pixelValues && first.pixelSize)
      batch.pixelValues = stack((o) => o.pixelValues!, [3, first.pixelSize[0], first.pixelSize[1]]);
    if (this.source.captioned) batch.captions = ok.map((o) => o.item.sample.caption ?? '');
    return batch;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.queue.length = 0;
    await this.pool.close();
    // A pull in flight ends on the abort; the generator is not awaited (it may be mid-read).
    void this.stream?.return(undefined as never).catch(() => undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A loader over `source` (see the file comment; option defaults in types.ts). */
export function createDataLoader(source: DataSource, options: DataLoaderOptions): VlvDataLoader {
  return new Loader(source, options);
}
