/**
 * Conformance components: each maps a golden folder's `call` names onto the project's
 * models. One file per component registers itself; components.ts imports them all.
 */
import type { Tensor } from '../tensor.js';
import type { CaseSpec } from './cases.js';

/** Runs one case: named inputs from cases.safetensors -> named outputs to compare. */
export type CaseRunner = (spec: CaseSpec, inputs: Record<string, Tensor>) => Promise<Record<string, Tensor>>;

export interface ComponentSession {
  runners: Record<string, CaseRunner>;
  dispose(): void;
}

export interface ComponentOptions {
  /** Where the model is loaded and run ('cpu' by default). */
  device?: 'cpu' | 'cuda';
}

/** Loads what a folder of this component needs (its model from the folder, through the project's loaders). */
export type ComponentLoader = (
  folder: string,
  options: ComponentOptions,
) => ComponentSession | Promise<ComponentSession>;

const loaders = new Map<string, ComponentLoader>();

export function registerComponent(component: string, loader: ComponentLoader): void {
  loaders.set(component, loader);
}

export function componentLoader(component: string): ComponentLoader | undefined {
  return loaders.get(component);
}

export function knownComponents(): string[] {
  return [...loaders.keys()].sort();
}
