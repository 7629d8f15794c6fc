// scheduler:<class>: diffusers schedulers (DDPM, DDIM, Euler, DPM-Solver++) loaded from a
// folder's scheduler_config.json (Scheduler).
//   scheduler.sample_loop: set_timesteps(steps), then per step scale_model_input, a fake model
//     output 0.1 * scaled_input + step{i}.c, step (DDPM fed step{i}.variance_noise). Every
//     per-step tensor (scaled_input, latent) is compared here with the case's tolerance; a
//     mismatch fails the case naming the step. The schedule outputs are returned for run.ts.
//   scheduler.add_noise / scheduler.get_velocity: a fresh scheduler (Euler: after
//     set_timesteps(steps of the trajectory case), its add_noise looks timesteps up there).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VlvError } from '../errors.js';
import { Scheduler } from '../models/scheduler.js';
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
  const model = await Scheduler.load(folder);
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
    const schedule = await model.setTimesteps(spec.steps);
    const timesteps = timestepValues(schedule.timesteps);
    let latent = inputs.latent!;
    for (const [i, t] of timesteps.entries()) {
      const scaled = await model.scaleModelInput(latent, t);
      check('scaled_input', i, scaled);
      const c = perStep('c', i);
      if (!c) throw new VlvError('E_FILE_FORMAT', `conformance: step ${i} has no model-output offset c`);
      const tenth = await ops.scale(scaled, 0.1);
      const modelOutput = await ops.add(tenth, c);
      const out = await model.step(
        { sample: latent, modelOutput, noise: perStep('variance_noise', i) },
        { timestep: t },
      );
      made.push(tenth, modelOutput, out.predOriginalSample);
      if (scaled !== latent) made.push(scaled);
      latent = out.prevSample;
      made.push(latent);
      check('latent', i, latent);
    }
    return {
      timesteps: schedule.timesteps,
      ...(schedule.sigmas ? { sigmas: schedule.sigmas } : {}),
      alphas_cumprod: schedule.alphasCumprod,
      init_noise_sigma: schedule.initNoiseSigma,
    };
  } finally {
    model.dispose();
    for (const t of made) t.dispose();
    for (const t of Object.values(data.tensors)) t.dispose();
  }
}

function register(className: string): void {
  registerComponent(`scheduler:${className}`, (folder) => {
    const fresh = async (): Promise<Scheduler> => {
      const model = await Scheduler.load(folder);
      if (className === 'EulerDiscreteScheduler') await model.setTimesteps(loopSteps(folder));
      return model;
    };
    const oneShot =
      (key: string, call: (s: Scheduler, inputs: Record<string, Tensor>) => Promise<Tensor>) =>
      async (_spec: CaseSpec, inputs: Record<string, Tensor>) => {
        const model = await fresh();
        try {
          return { [key]: await call(model, inputs) };
        } finally {
          model.dispose();
        }
      };
    return {
      runners: {
        'scheduler.sample_loop': (spec, inputs) => sampleLoop(folder, spec, inputs),
        'scheduler.add_noise': oneShot('noisy', (s, i) =>
          s.addNoise({ originalSamples: i.original_samples!, noise: i.noise!, timesteps: i.timesteps! }),
        ),
        'scheduler.get_velocity': oneShot('velocity', (s, i) =>
          s.getVelocity({ sample: i.sample!, noise: i.noise!, timesteps: i.timesteps! }),
        ),
      },
      dispose: () => {},
    };
  });
}

for (const name of ['DDPMScheduler', 'DDIMScheduler', 'EulerDiscreteScheduler', 'DPMSolverMultistepScheduler'])
  register(name);
