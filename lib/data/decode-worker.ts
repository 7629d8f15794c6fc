/**
 * A decoding worker thread (worker-pool.ts starts it): it gets its transform in workerData and
 * answers each task `{ id, input }` with `{ id, out }` or `{ id, error, code }`, the arrays
 * transferred. It imports no engine module (tested: test/data/loader.test.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { applyTransform, type DecodeInput, type WorkerTransform } from './transform.js';

const transform = (workerData as { transform: WorkerTransform }).transform;
const port = parentPort!;

port.on('message', (msg: { id: number; input: DecodeInput }) => {
  applyTransform(msg.input, transform).then(
    (out) => {
      const transfer: ArrayBuffer[] = [out.image.buffer as ArrayBuffer];
      if (out.pixelValues) transfer.push(out.pixelValues.buffer as ArrayBuffer);
      port.postMessage({ id: msg.id, out }, transfer);
    },
    (e: unknown) => {
      const err = e as Error & { code?: unknown };
      port.postMessage({
        id: msg.id,
        error: err instanceof Error ? err.message : String(e),
        code: typeof err.code === 'string' ? err.code : undefined,
      });
    },
  );
});
