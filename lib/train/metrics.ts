/**
 * The run's logs, one JSON object per line: metrics.jsonl (per step: step, loss, lr, grad norm,
 * samples/s, resident memory) and eval.jsonl (evaluations: stage 2's captions, stage 1's grid).
 * On resume the lines past the checkpoint's step (written by the interrupted process after it)
 * are dropped, so each step appears once.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';

export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  samplesPerSec: number;
  /** Resident set size of the process, bytes. */
  rss: number;
  /** CUDA allocator bytes in use, when on the GPU. */
  cudaInUse?: number;
  time: string;
}

export class JsonlLog<T extends { step: number }> {
  constructor(readonly path: string) {}

  append(row: T): void {
    appendFileSync(this.path, `${JSON.stringify(row)}\n`);
  }

  read(): T[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as T];
        } catch {
          return []; // a line cut by a kill
        }
      });
  }

  /** Keeps the rows up to `step` (resume). */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const keep = this.read().filter((r) => r.step <= step);
    writeFileAtomic(this.path, keep.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}
