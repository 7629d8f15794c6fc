/**
 * A small pool of decoding worker threads (decode-worker.ts). Each task goes to the worker with
 * the fewest tasks in hand; a worker is referenced only while it has tasks, so a loader that was
 * never closed does not keep the process alive. `size` 0 decodes on the main thread instead.
 *
 * Loading the worker: compiled, `decode-worker.js` beside this file. From the sources (tsx,
 * as the tests run), `decode-worker.ts` through a small module that first registers tsx's
 * loader in the worker: Node 20's workers do not inherit the parent's module hooks.
 */
import { Worker } from 'node:worker_threads';
import { VlvError, type VlvErrorCode } from '../errors.js';
import { applyTransform, type DecodeInput, type DecodeOutput, type WorkerTransform } from './transform.js';

export type DecodeResult = { out: DecodeOutput } | { error: Error };

interface Slot {
  worker: Worker;
  pending: Map<number, (r: DecodeResult) => void>;
}

const fromSources = import.meta.url.endsWith('.ts');

/**
 * The parent's Node options minus those that only fit its own entry (`node --input-type=module
 * -e ...` would make the worker's file an error).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (['-e', '--eval', '-p', '--print'].includes(a)) i++;
    else if (!a.startsWith('--input-type') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  return out;
}

function startWorker(transform: WorkerTransform): Worker {
  const workerData = { transform };
  const execArgv = workerExecArgv();
  if (!fromSources) return new Worker(new URL('./decode-worker.js', import.meta.url), { workerData, execArgv });
  const entry = new URL('./decode-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData, execArgv });
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;
  /** The number of decodes requested so far (tests and stats). */
  requested = 0;

  constructor(
    readonly size: number,
    private readonly transform: WorkerTransform,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.makeSlot());
  }

  private makeSlot(): Slot {
    const slot: Slot = { worker: startWorker(this.transform), pending: new Map() };
    slot.worker.unref();
    slot.worker.on('message', (m: { id: number; out?: DecodeOutput; error?: string; code?: string }) => {
      const done = slot.pending.get(m.id);
      if (!done) return;
      slot.pending.delete(m.id);
      if (slot.pending.size === 0) slot.worker.unref();
      if (m.out) done({ out: m.out });
      else
        done({
          error: new VlvError((m.code as VlvErrorCode | undefined) ?? 'E_FILE_FORMAT', m.error ?? 'decode failed'),
        });
    });
    const fail = (e: Error) => {
      // A worker that died takes its tasks with it: they fail (the loader rejects), never hang.
      const err = new VlvError('E_INTERNAL', `decoding worker failed: ${e.message}`, { cause: e });
      for (const done of slot.pending.values()) done({ error: Object.assign(err, { fatal: true }) });
      slot.pending.clear();
      if (!this.closed) {
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots[i] = this.makeSlot();
      }
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => {
      if (!this.closed && slot.pending.size > 0) fail(new Error(`exited with code ${code}`));
    });
    return slot;
  }

  /** Decodes one image; resolves with its tensors' data or the reason it could not (never rejects). */
  decode(input: DecodeInput): Promise<DecodeResult> {
    if (this.closed) return Promise.resolve({ error: new VlvError('E_ARG', 'the data loader is closed') });
    this.requested++;
    if (this.size === 0)
      return applyTransform(input, this.transform).then(
        (out) => ({ out }),
        (e: unknown) => ({ error: e instanceof Error ? e : new Error(String(e)) }),
      );
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.nextId++;
    return new Promise((resolve) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, resolve);
      const transfer = input.bytes ? [input.bytes.buffer as ArrayBuffer] : [];
      slot.worker.postMessage({ id, input }, transfer);
    });
  }

  /** Stops the workers; tasks in hand resolve as failed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const s of slots) {
      for (const done of s.pending.values()) done({ error: new VlvError('E_ARG', 'the data loader is closed') });
      s.pending.clear();
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
