// Every conformance component, one import each (see registry.ts).
import { VlvError } from '../errors.js';
import { componentLoader, knownComponents, type ComponentOptions, type ComponentSession } from './registry.js';
import './clip-text.js';
import './florence2.js';
import './qwen2.js';
import './vae.js';
import './unet.js';
import './schedulers.js';
import './vlv-stage1.js';
import './vlv-caption.js';

export async function componentRunners(
  component: string,
  folder: string,
  options: ComponentOptions = {},
): Promise<ComponentSession> {
  const load = componentLoader(component);
  if (!load)
    throw new VlvError(
      'E_ARG',
      `conformance: component '${component}' is not supported (known: ${knownComponents().join(', ')})`,
    );
  return await load(folder, options);
}
