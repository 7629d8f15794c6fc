/**
 * What a person watching the run sees on stderr: a progress bar (cli-progress) with the step,
 * the loss, steps/s and the ETA when stderr is a terminal; otherwise a plain line every
 * `logEvery` steps (and at the first and last) that a log file or CI keeps readable:
 *
 *   step 40/100  loss 0.8123  lr 4.52e-05  3.1 steps/s  ETA 19s
 */
import cliProgress from 'cli-progress';
import type { StepMetrics } from './metrics.js';

export interface ProgressView {
  start(step: number, total: number): void;
  step(m: StepMetrics): void;
  /** A message on its own line (checkpoints, evaluations), kept clear of the bar. */
  note(text: string): void;
  stop(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Steps per second over the last steps (a window of wall times). */
class Rate {
  private times: number[] = [];
  tick(): number {
    const now = performance.now();
    this.times.push(now);
    if (this.times.length > 21) this.times.shift();
    if (this.times.length < 2) return NaN;
    return ((this.times.length - 1) * 1000) / (now - this.times[0]!);
  }
}

export function progressLine(m: StepMetrics, total: number, stepsPerSec: number): string {
  const eta = formatDuration((total - m.step) / stepsPerSec);
  const rate = Number.isFinite(stepsPerSec) ? stepsPerSec.toFixed(2) : '?';
  return `step ${m.step}/${total}  loss ${m.loss.toFixed(4)}  lr ${m.lr.toExponential(2)}  ${rate} steps/s  ETA ${eta}`;
}

class Lines implements ProgressView {
  private total = 0;
  private rate = new Rate();
  constructor(private readonly every: number) {}
  start(_step: number, total: number) {
    this.total = total;
  }
  step(m: StepMetrics) {
    const r = this.rate.tick();
    if (m.step % this.every === 0 || m.step === this.total || m.step === 1)
      process.stderr.write(`${progressLine(m, this.total, r)}\n`);
  }
  note(text: string) {
    process.stderr.write(`${text}\n`);
  }
  stop() {}
}

class Bar implements ProgressView {
  private multi = new cliProgress.MultiBar(
    {
      format: '{kind} |{bar}| step {value}/{total}  loss {loss}  {rate} steps/s  ETA {etaText}',
      stream: process.stderr,
      hideCursor: true,
      barsize: 30,
      clearOnComplete: false,
      stopOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  private bar: cliProgress.SingleBar | null = null;
  private rate = new Rate();
  private total = 0;
  constructor(private readonly kind: string) {}
  start(step: number, total: number) {
    this.total = total;
    this.bar = this.multi.create(total, step, { kind: this.kind, loss: '-', rate: '-', etaText: '?' });
  }
  step(m: StepMetrics) {
    const r = this.rate.tick();
    this.bar?.update(m.step, {
      loss: m.loss.toFixed(4),
      rate: Number.isFinite(r) ? r.toFixed(2) : '-',
      etaText: formatDuration((this.total - m.step) / r),
    });
  }
  note(text: string) {
    this.multi.log(`${text}\n`);
    this.multi.update(); // draws now: the log is flushed with the next redraw
  }
  stop() {
    this.multi.stop();
  }
}

const Silent: ProgressView = { start() {}, step() {}, note() {}, stop() {} };

export function progressView(mode: 'auto' | 'bar' | 'lines' | 'none', kind: string, logEvery: number): ProgressView {
  if (mode === 'none') return Silent;
  if (mode === 'bar' || (mode === 'auto' && process.stderr.isTTY)) return new Bar(kind);
  return new Lines(logEvery);
}
