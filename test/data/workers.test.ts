// The loader's machinery: decoding in worker threads that load no engine module, a prefetch
// queue that never runs more than `prefetch` batches ahead (instrumented by stats()), close()
// that ends the workers (a process using a loader exits by itself, closed or not), and the
// worker found both from the sources (tsx) and from compiled JavaScript.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import madge from 'madge';
import { createDataLoader, imageFolder, type DataSource } from '../../lib/index.js';
import { encode, tempDir, write, writeShard, shardSamples } from '../helpers/data-fixtures.js';
import { expectError } from '../helpers/expect-error.js';

const root = join(import.meta.dirname, '..', '..');
const transform = { kind: 'resize-crop', size: 4 } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function folder(n: number): Promise<{ dir: string; src: DataSource }> {
  const dir = tempDir('workers');
  for (let i = 0; i < n; i++) write(join(dir, `im${String(i).padStart(2, '0')}.png`), await encode('png', i, 9, 9));
  return { dir, src: await imageFolder(dir) };
}

test('the decoding worker imports no engine module (no addon in the workers)', async (t) => {
  const graph = await madge(join(root, 'lib', 'data', 'decode-worker.ts'), {
    fileExtensions: ['ts'],
    tsConfig: join(root, 'tsconfig.json'),
    detectiveOptions: { ts: { skipTypeImports: true, skipAsyncImports: false } },
  });
  const modules = Object.keys(graph.obj());
  t.true(
    modules.some((m) => m.endsWith('vlv/image-decode.ts')),
    modules.join(' '),
  );
  t.true(
    modules.some((m) => m.endsWith('vision/image-preprocess.ts')),
    modules.join(' '),
  );
  for (const m of modules) t.false(/(^|\/)(native|tensor|ops|index)\.ts$/.test(m), m);
});

test('prefetch: never more than `prefetch` batches ahead of the ones handed out', async (t) => {
  const { src } = await folder(24);
  for (const prefetch of [0, 1, 3]) {
    const loader = createDataLoader(src, { batchSize: 2, transform, workers: 2, prefetch });
    t.deepEqual(loader.stats().started, 0, 'nothing starts before the first next()');
    for (let i = 1; i <= 6; i++) {
      await loader.next();
      const now = loader.stats();
      t.true(now.decodes <= 2 * (i + prefetch));
      await sleep(i === 1 ? 400 : 100); // let the queue fill: it stops at `prefetch`
      const s = loader.stats();
      t.is(s.taken, i);
      t.is(s.started, i + prefetch, `prefetch ${prefetch} after ${i}`);
      t.is(s.decodes, 2 * (i + prefetch), 'and no image beyond them was sent to decoding');
    }
    t.is(loader.stats().maxAhead, prefetch);
    t.is(loader.stats().workers, 2);
    await loader.close();
  }
});

test('close() ends the workers; next() after it is E_ARG', async (t) => {
  const { src } = await folder(4);
  const loader = createDataLoader(src, { batchSize: 2, transform, workers: 3 });
  await loader.next();
  await loader.close();
  await loader.close(); // twice is fine
  await expectError(t, loader.next(), 'E_ARG', /closed/);
  t.pass();
});

function child(script: string): { status: number | null; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout + r.stderr, ms: Date.now() - t0 };
}

test('a process with a loader exits by itself: closed, never closed, or closed mid-shard', async (t) => {
  const { dir } = await folder(6);
  const wds = tempDir('exit-wds');
  await writeShard(join(wds, 's.tar'), await shardSamples('k', 0, 30));
  const body = (src: string, close: string) => `
    import { createDataLoader, imageFolder, webDataset } from './lib/index.ts';
    const loader = createDataLoader(await ${src}, { batchSize: 2, transform: { kind: 'resize-crop', size: 4 }, workers: 2, prefetch: 2 });
    const b = await loader.next();
    ${close}
    console.log('done', b.keys.length);`;
  for (const [src, close] of [
    [`imageFolder(${JSON.stringify(dir)})`, 'await loader.close();'],
    [`imageFolder(${JSON.stringify(dir)})`, ''],
    [`webDataset(${JSON.stringify(join(wds, 's.tar'))})`, 'await loader.close();'],
    [`webDataset(${JSON.stringify(join(wds, 's.tar'))})`, ''],
  ] as const) {
    const r = child(body(src, close));
    t.is(r.status, 0, r.out);
    t.regex(r.out, /done 2/);
  }
});

test('the workers load from compiled JavaScript too (tsc output, no tsx)', async (t) => {
  const out = join(root, `build-datatest-${process.pid}`);
  mkdirSync(out, { recursive: true });
  try {
    // Only the loader's modules; the output sits one level below the package root, as dist/ does.
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({
        extends: '../tsconfig.build.json',
        compilerOptions: { rootDir: '../lib', outDir: '.', declaration: false, sourceMap: false },
        include: [],
        files: ['../lib/data/loader.ts', '../lib/data/image-folder.ts', '../lib/data/decode-worker.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', out], {
      encoding: 'utf8',
    });
    t.is(tsc.status, 0, tsc.stdout + tsc.stderr);
    const { dir } = await folder(3);
    const script = `
      import { createDataLoader } from ${JSON.stringify(join(out, 'data', 'loader.js'))};
      import { imageFolder } from ${JSON.stringify(join(out, 'data', 'image-folder.js'))};
      const loader = createDataLoader(await imageFolder(${JSON.stringify(dir)}), { batchSize: 3, transform: { kind: 'resize-crop', size: 4 }, workers: 2 });
      const b = await loader.next();
      console.log(JSON.stringify({ n: b.keys.length, shape: b.image.shape, workers: loader.stats().workers }));
      await loader.close();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    t.is(r.status, 0, r.stdout + r.stderr);
    t.deepEqual(JSON.parse(r.stdout), { n: 3, shape: [3, 3, 4, 4], workers: 2 });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('workers: 0 decodes on the main thread, with the same batches', async (t) => {
  const { src } = await folder(5);
  const a = createDataLoader(src, { batchSize: 5, transform, workers: 0, seed: 1 });
  const b = createDataLoader(src, { batchSize: 5, transform, workers: 2, seed: 1 });
  const [x, y] = [await a.next(), await b.next()];
  t.deepEqual(x.keys, y.keys);
  t.deepEqual(x.image.toFloat32(), y.image.toFloat32());
  t.is(a.stats().workers, 0);
  await a.close();
  await b.close();
});
