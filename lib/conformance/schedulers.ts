// scheduler:<class>: diffusers schedulers (DDPM, DDIM, Euler, DPM-Solver++) loaded from a
// folder's scheduler_config.json as Model kind 'scheduler'.
//   scheduler.sample_loop: set_timesteps(steps), then per step scale_model_input, a fake model
//     output 0.1 * scaled_input + step{i}.c, step (DDPM fed step{i}.variance_noise). Every
//     per-step tensor (scaled_input, latent) is compared here with the case's tolerance; a
//     mismatch fails the case naming the step. The schedule outputs are returned for run.ts.
//   scheduler.add_noise / scheduler.get_velocity: a fresh scheduler (Euler: after
//     set_timesteps(steps of the trajectory case), its add_noise looks timesteps up there).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VlvError } from '../errors.js';
import { Model } from '../models/model.js';
import * as ops from '../ops.js';
import { loadSafetensors } from '../safetensors.js';
import type { Tensor } from '../tensor.js';
import { registerComponent } from './registry.js';
import { compareValues, toleranceFor, type CaseSpec } from './cases.js';

interface LoopSpec extends CaseSpec {
  steps?: number;
  per_step?: Record<string, string>;
}

const PER_STEP_INPUTS = new Set(['c', 'variance_noise']);
const PER_STEP_OUTPUTS = new Set(['scaled_input', 'latent']);

function timestepValues(t: Tensor): number[] {
  return Array.from(t.toArray() as ArrayLike<number | bigint>, Number);
}

function loopSteps(folder: string): number {
  const cases = (JSON.parse(readFileSync(join(folder, 'cases.json'), 'utf8')) as { cases: LoopSpec[] }).cases;
  const steps = cases.find((c) => c.call === 'scheduler.sample_loop')?.steps;
  if (!steps)
    throw new VlvError('E_FILE_FORMAT', `conformance: ${folder}/cases.json has no sample_loop case with steps`);
  return steps;
}

async function sampleLoop(
  folder: string,
  spec: LoopSpec,
  inputs: Record<string, Tensor>,
): Promise<Record<string, Tensor>> {
  if (!spec.steps || !spec.per_step)
    throw new VlvError('E_FILE_FORMAT', `conformance: case '${spec.name}' needs steps and per_step`);
  for (const key of Object.keys(spec.per_step))
    if (!PER_STEP_INPUTS.has(key) && !PER_STEP_OUTPUTS.has(key))
      throw new VlvError('E_FILE_FORMAT', `conformance: per-step tensor '${key}' is not known to the scheduler runner`);
  const data = await loadSafetensors(join(folder, 'cases.safetensors'));
  const model = await Model.load('scheduler', folder);
  const made: Tensor[] = [];
  try {
    const perStep = (key: string, i: number): Tensor | undefined => {
      const pattern = spec.per_step![key];
      return pattern === undefined ? undefined : data.tensors[pattern.replace('{i}', String(i))];
    };
    const check = (key: string, i: number, actual: Tensor) => {
      const expected = perStep(key, i);
      if (!expected) throw new VlvError('E_FILE_FORMAT', `conformance: step ${i} has no '${key}' tensor`);
      const { rel } = compareValues(actual.toFloat32(), expected.toFloat32());
      const tol = toleranceFor(spec, key);
      if (!(rel <= tol)) throw new VlvError('E_INTERNAL', `step ${i} ${key}: rel ${rel.toExponential(2)} > tol ${tol}`);
    };
    const schedule = await model.run('set_timesteps', {}, { numInferenceSteps: spec.steps });
    const timesteps = timestepValues(schedule.timesteps!);
    let latent = inputs.latent!;
    for (const [i, t] of timesteps.entries()) {
      const scaled = (await model.run('scale_model_input', { sample: latent }, { timestep: t })).sample!;
      check('scaled_input', i, scaled);
      const c = perStep('c', i);
      if (!c) throw new VlvError('E_FILE_FORMAT', `conformance: step ${i} has no model-output offset c`);
      const tenth = await ops.scale(scaled, 0.1);
      const modelOutput = await ops.add(tenth, c);
      const out = await model.run(
        'step',
        { sample: latent, model_output: modelOutput, noise: perStep('variance_noise', i) },
        { timestep: t },
      );
      made.push(tenth, modelOutput, out.pred_original_sample!);
      if (scaled !== latent) made.push(scaled);
      latent = out.prev_sample!;
      made.push(latent);
      check('latent', i, latent);
    }
    return schedule;
  } finally {
    model.dispose();
    for (const t of made) t.dispose();
    for (const t of Object.values(data.tensors)) t.dispose();
  }
}

function register(className: string): void {
  registerComponent(`scheduler:${className}`, (folder) => {
    const fresh = async (): Promise<Model> => {
      const model = await Model.load('scheduler', folder);
      if (className === 'EulerDiscreteScheduler')
        await model.run('set_timesteps', {}, { numInferenceSteps: loopSteps(folder) });
      return model;
    };
    const oneShot = (method: string, key: string) => async (_spec: CaseSpec, inputs: Record<string, Tensor>) => {
      const model = await fresh();
      try {
        return { [key]: (await model.run(method, inputs))[key]! };
      } finally {
        model.dispose();
      }
    };
    return {
      runners: {
        'scheduler.sample_loop': (spec, inputs) => sampleLoop(folder, spec, inputs),
        'scheduler.add_noise': oneShot('add_noise', 'noisy'),
        'scheduler.get_velocity': oneShot('get_velocity', 'velocity'),
      },
      dispose: () => {},
    };
  });
}

for (const name of ['DDPMScheduler', 'DDIMScheduler', 'EulerDiscreteScheduler', 'DPMSolverMultistepScheduler'])
  register(name);
