// The order of batches: the same seed gives the same order and another seed another; ranks
// partition an epoch (equal shares, the tail dropped); a loader restored from the position
// after N batches hands out exactly the batches the original hands out after N (keys and
// tensor values), across epoch boundaries, for listed sources and for shards with a shuffle
// buffer.
import test from 'ava';
import { join } from 'node:path';
import {
  createDataLoader,
  imageFolder,
  webDataset,
  type DataLoaderOptions,
  type DataPosition,
  type DataSource,
} from '../../lib/index.js';
import { permutation, SeededRandom } from '../../lib/data/random.js';
import { encode, tempDir, write, writeShard, shardSamples, brokenImages } from '../helpers/data-fixtures.js';
import { same, take, type PlainBatch } from '../helpers/data-batches.js';

const transform = { kind: 'resize-crop', size: 6 } as const;

/** 10 images (one broken: skipped, so positions also count skips). */
async function folder(): Promise<DataSource> {
  const dir = tempDir('order');
  for (let i = 0; i < 9; i++) write(join(dir, `im${i}.png`), await encode('png', i, 8 + i, 7));
  write(join(dir, 'im9.jpg'), (await brokenImages())['text.jpg']);
  return imageFolder(dir);
}

/** 3 shards of 7, 5 and 6 samples (a corrupt image in the second). */
async function shards(): Promise<DataSource> {
  const dir = tempDir('order-wds');
  await writeShard(join(dir, 'd-0.tar'), await shardSamples('a', 0, 7));
  const mid = await shardSamples('b', 0, 5);
  mid[6] = [mid[6]![0], (await brokenImages())['corrupt.jpg']]; // b0002's image
  await writeShard(join(dir, 'd-1.tar'), mid);
  await writeShard(join(dir, 'd-2.tar'), await shardSamples('c', 0, 6));
  return webDataset(join(dir, 'd-{0..2}.tar'));
}

const opts = (o: Partial<DataLoaderOptions>): DataLoaderOptions => ({ batchSize: 3, transform, workers: 1, ...o });

async function run(src: DataSource, o: Partial<DataLoaderOptions>, n: number, restore?: DataPosition) {
  // A restored run decodes on the main thread (workers: 0): the same batches as the workers'.
  const loader = createDataLoader(src, opts(restore ? { ...o, workers: 0 } : o));
  if (restore) loader.restore(restore);
  const batches = await take(loader, n);
  const epochSize = loader.epochSize;
  await loader.close();
  return { batches, epochSize };
}

const keysOf = (bs: PlainBatch[]) => bs.map((b) => b.keys.map((k) => k.replace(/^.*\//, '')).join(' '));

test('SeededRandom and Fisher–Yates: fixed sequences, unbiased bounds, permutations', (t) => {
  const r = new SeededRandom(42);
  const seq = Array.from({ length: 4 }, () => r.nextUint32());
  t.deepEqual(
    seq,
    (() => {
      const q = new SeededRandom(42);
      return Array.from({ length: 4 }, () => q.nextUint32());
    })(),
  );
  t.notDeepEqual(
    seq,
    Array.from({ length: 4 }, () => new SeededRandom(43).nextUint32()),
  );
  // Large, negative and zero seeds are all valid and differ.
  const firsts = [0, 1, -1, 2 ** 40, -(2 ** 40)].map((s) => new SeededRandom(s).nextUint32());
  t.is(new Set(firsts).size, firsts.length);
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) counts[r.below(3)]!++;
  for (const c of counts) t.true(Math.abs(c - 10000) < 500, String(counts));
  const p = permutation(1000, 7);
  t.deepEqual(
    [...p].sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  t.deepEqual(permutation(1000, 7), p);
  t.notDeepEqual(permutation(1000, 8), p);
  t.throws(() => new SeededRandom(0.5), { message: /safe integer/ });
});

test('listed: no seed keeps the file order; a seed shuffles each epoch; the same seed the same order', async (t) => {
  const src = await folder();
  const plainOrder = await run(src, {}, 4);
  t.deepEqual(keysOf(plainOrder.batches.slice(0, 4)), [
    'im0.png im1.png im2.png',
    'im3.png im4.png im5.png',
    'im6.png im7.png im8.png',
    'im0.png im1.png im2.png', // im9.jpg (the last batch of epoch 0) was unreadable: passed over
  ]);
  const a = await run(src, { seed: 5 }, 8);
  const b = await run(src, { seed: 5, workers: 3, prefetch: 0 }, 8);
  const c = await run(src, { seed: 6 }, 8);
  t.deepEqual(keysOf(a.batches), keysOf(b.batches));
  t.true(a.batches.every((x, i) => same(x, b.batches[i]!)));
  t.notDeepEqual(keysOf(a.batches), keysOf(c.batches));
  // Epochs differ from each other, and each holds every readable image once.
  const epochs: string[][] = [[], []];
  for (const x of a.batches) {
    const e = JSON.parse(x.after) as DataPosition;
    const epoch = e.consumed === 0 ? e.epoch - 1 : e.epoch;
    if (epoch < 2) epochs[epoch]!.push(...x.keys);
  }
  t.is(epochs[0]!.length, 9);
  t.deepEqual([...epochs[0]!].sort(), [...epochs[1]!].sort());
  t.notDeepEqual(epochs[0], epochs[1]);
  t.is(a.epochSize, 10);
});

test('listed: ranks partition an epoch in equal shares (the tail dropped) and stay in step', async (t) => {
  const src = await folder(); // 10 samples, 3 ranks: 3 each, 1 left out per epoch
  const perRank = await Promise.all([0, 1, 2].map((rank) => run(src, { seed: 9, rank, worldSize: 3 }, 2)));
  const all: string[] = [];
  for (const r of perRank) {
    t.is(r.epochSize, 3);
    // One epoch = one batch of 3 per rank (fewer when im9.jpg falls on it), then epoch 1.
    t.like(JSON.parse(r.batches[0]!.after) as DataPosition, { epoch: 1, consumed: 0 });
    all.push(...r.batches[0]!.keys);
  }
  t.is(new Set(all).size, all.length, 'disjoint');
  const order = permutation(10, 9);
  const names = src.kind === 'listed' ? src.records.map((r) => r.key) : [];
  // Sample i of the shuffled order goes to rank i % 3; the 10th (i = 9) to nobody.
  for (let rank = 0; rank < 3; rank++) {
    const want = [rank, rank + 3, rank + 6].map((i) => names[order[i]!]!).filter((k) => !k.endsWith('.jpg'));
    t.deepEqual(perRank[rank]!.batches[0]!.keys, want);
  }
});

test('listed: restore continues exactly, mid-epoch and across epoch boundaries', async (t) => {
  const src = await folder();
  const o = { seed: 3, batchSize: 4 };
  const { batches } = await run(src, o, 9); // epoch = 3 batches (4, 4, 2)
  for (const n of [1, 2, 3, 4, 5, 7]) {
    const pos = JSON.parse(batches[n - 1]!.after) as DataPosition;
    const again = await run(src, o, 2, pos);
    t.true(
      again.batches.every((b, i) => same(b, batches[n + i]!)),
      `restored after ${n}: ${JSON.stringify(pos)}`,
    );
    t.is(again.batches[1]!.after, batches[n + 1]!.after);
  }
  // The position is plain JSON: epoch, consumed, skipped.
  t.deepEqual(JSON.parse(batches[2]!.after), { epoch: 1, consumed: 0, skipped: 1 });
  const loader = createDataLoader(src, opts(o));
  await loader.next();
  t.throws(() => loader.restore({ epoch: 0, consumed: 0, skipped: 0 }), { message: /before the first next/ });
  await loader.close();
  const fresh = createDataLoader(src, opts(o));
  t.throws(() => fresh.restore({ epoch: 0, consumed: 10, skipped: 0 }), { message: /past the epoch/ });
  t.throws(() => fresh.restore({ epoch: -1, consumed: 0, skipped: 0 }), { message: /epoch/ });
  await fresh.close();
});

test('shards: seeded shuffle buffer, ranks partition, restore continues exactly (across epochs too)', async (t) => {
  const src = await shards(); // 18 samples
  const unshuffled = await run(src, { batchSize: 6 }, 3);
  t.deepEqual(unshuffled.batches[0]!.keys, ['a0000', 'a0001', 'a0002', 'a0003', 'a0004', 'a0005']);
  t.deepEqual(unshuffled.batches[1]!.keys, ['a0006', 'b0000', 'b0001', 'b0003', 'b0004']); // b0002 corrupt
  t.deepEqual(unshuffled.batches[1]!.captions, ['caption 6', 'caption 0', 'caption 1', 'caption 3', 'caption 4']);
  t.is(unshuffled.epochSize, 18);

  const o = { seed: 11, shuffleBuffer: 4, worldSize: 2, batchSize: 4 };
  const r0 = await run(src, { ...o, rank: 0 }, 6);
  const r1 = await run(src, { ...o, rank: 1 }, 6);
  t.is(r0.epochSize, 9);
  // Epoch 0 = batches 0..2 (4, 4, 1) on each rank: together every sample but the corrupt one, once.
  const epoch0 = [...r0.batches.slice(0, 3), ...r1.batches.slice(0, 3)].flatMap((b) => b.keys);
  t.is(epoch0.length, 17);
  t.is(new Set(epoch0).size, 17);
  t.false(epoch0.includes('b0002'));
  t.like(JSON.parse(r0.batches[2]!.after) as DataPosition, { epoch: 1, consumed: 0 });
  // Shuffled: not the file order, and epoch 1 differs from epoch 0; the same seed repeats it.
  t.notDeepEqual(r0.batches[0]!.keys, ['a0000', 'a0002', 'a0004', 'a0006']);
  t.notDeepEqual(
    r0.batches.slice(0, 3).flatMap((b) => b.keys),
    r0.batches.slice(3, 6).flatMap((b) => b.keys),
  );
  const again = await run(src, { ...o, rank: 0 }, 6);
  t.true(again.batches.every((b, i) => same(b, r0.batches[i]!)));
  const other = await run(src, { ...o, rank: 0, seed: 12 }, 3);
  t.notDeepEqual(keysOf(other.batches), keysOf(r0.batches.slice(0, 3)));
  // Restore after n batches, for each n (mid-epoch, at the epoch's end, in epoch 1).
  for (const n of [1, 2, 3, 4]) {
    const pos = JSON.parse(r1.batches[n - 1]!.after) as DataPosition;
    const cont = await run(src, { ...o, rank: 1 }, 2, pos);
    t.true(
      cont.batches.every((b, i) => same(b, r1.batches[n + i]!)),
      `rank 1 after ${n}: ${JSON.stringify(pos)}`,
    );
    t.is(cont.batches[1]!.after, r1.batches[n + 1]!.after);
  }
});
