/**
 * `vlv/testing`: what checks the engine against references, kept off the root API (`vlv`).
 * The conformance runner (the `vlv conformance` command uses it too) reads a folder in the
 * golden format (config + weights + cases.json + cases.safetensors) and compares every case
 * through the project's own loaders; compareValues and toleranceFor are the comparison it
 * applies, for tests that check tensors of their own.
 *
 * ```ts
 * import { runConformance } from 'vlv/testing';
 * const results = await runConformance('path/to/golden/unet');
 * ```
 */
export { runConformance, type CaseResult, type ConformanceOptions } from './conformance/run.js';
export { compareValues, toleranceFor, type CaseSpec } from './conformance/cases.js';
