/**
 * The loss curve as a PNG: a Vega-Lite spec (the per-step loss, faint, and its running mean over
 * 20 steps) rendered to SVG by Vega with no browser, then to PNG by sharp (librsvg).
 */
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from './atomic.js';

export interface LossPoint {
  step: number;
  loss: number;
}

export function lossSpec(points: readonly LossPoint[], title: string): TopLevelSpec {
  const x = { field: 'step', type: 'quantitative', title: 'step' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 640,
    height: 320,
    background: 'white',
    data: { values: points.map((p) => ({ step: p.step, loss: p.loss })) },
    layer: [
      {
        mark: { type: 'line', opacity: 0.35, color: '#4c78a8' },
        encoding: { x, y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } } },
      },
      {
        transform: [{ window: [{ op: 'mean', field: 'loss', as: 'mean20' }], frame: [-19, 0] }],
        mark: { type: 'line', color: '#e45756' },
        encoding: { x, y: { field: 'mean20', type: 'quantitative', title: 'loss' } },
      },
    ],
  };
}

/** Renders the curve and writes it to `path` atomically. */
export async function writeLossPlot(path: string, points: readonly LossPoint[], title: string): Promise<void> {
  const view = new vega.View(vega.parse(compile(lossSpec(points, title)).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = await sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).png().toBuffer();
    writeFileAtomic(path, png);
  } finally {
    view.finalize();
  }
}
