// Schedulers beyond the golden folders: the scheduler_step op's errors, its SIMD levels and
// thread counts (same bits), and Model kind 'scheduler' on other configs (linear betas,
// trailing / leading spacing, DDIM eta) and its errors.
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { info, Model, ops, setNumThreads, Tensor, type VlvErrorCode } from '../../lib/index.js';
import { expectError } from '../helpers/expect-error.js';

const code = (p: Promise<unknown>, c: VlvErrorCode, re: RegExp, t: ExecutionContext) => expectError(t, p, c, re);
const root = join(import.meta.dirname, '..', '..');

const COEFS = {
  x0Sample: 1.3,
  x0Model: -0.7,
  clip: 1.5,
  sampleCoef: 0.9,
  modelCoef: 0.2,
  x0Coef: -0.4,
  prevX0Coef: 0.3,
  noiseCoef: 0.05,
};
const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * 2);
const stepInputs = (n: number) => [
  Tensor.from(wave(n, 0.37)),
  Tensor.from(wave(n, 0.11)),
  Tensor.from(wave(n, 0.53)),
  Tensor.from(wave(n, 0.71)),
];

test('scheduler_step: errors', async (t) => {
  const z = (n = 4) => Tensor.zeros([n]);
  await code(
    ops.runOp('scheduler_step', [z(), z(5)], {}),
    'E_SHAPE',
    /scheduler_step: model_output f32\[5\] must have the shape of sample f32\[4\]/,
    t,
  );
  await code(ops.runOp('scheduler_step', [z(), z(), z(3)], {}), 'E_SHAPE', /scheduler_step: prev_x0 f32\[3\]/, t);
  await code(
    ops.runOp('scheduler_step', [z(), Tensor.zeros([4], 'bf16')], {}),
    'E_DTYPE',
    /scheduler_step: 'model_output' must be f32/,
    t,
  );
  await code(
    ops.runOp('scheduler_step', [z(), z()], { noiseCoef: 0.5 }),
    'E_ARG',
    /input 'noise' is missing but its coefficient is 0.5/,
    t,
  );
  await code(ops.runOp('scheduler_step', [z(), z()], { clip: -1 }), 'E_ARG', /attribute 'clip' must be >= 0/, t);
});

/** The step's outputs at 1 and 2 threads and on the scalar path (a child with VLV_SIMD=scalar) are the same bits. */
async function sameBits(t: ExecutionContext, n: number, batch: number, attrs: Record<string, number>) {
  const freqs = [0.37, 0.11, 0.53, 0.71];
  const inputsOf = (f: number, i: number) => Tensor.from(wave(i === 1 ? n * batch : n, f), [i === 1 ? batch : 1, n]);
  const before = info().threads;
  const runs: Float32Array[] = [];
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const out = await ops.runOp('scheduler_step', freqs.map(inputsOf), attrs);
      runs.push(Float32Array.from([...out[0]!.toFloat32(), ...out[1]!.toFloat32()]));
    }
  } finally {
    setNumThreads(before);
  }
  t.deepEqual(runs[0], runs[1]);
  const script = `import { ops, Tensor } from './lib/index.js';
const wave = ${wave.toString()};
const inputsOf = (f, i) => Tensor.from(wave(i === 1 ? ${n * batch} : ${n}, f), [i === 1 ? ${batch} : 1, ${n}]);
const out = await ops.runOp('scheduler_step', ${JSON.stringify(freqs)}.map(inputsOf), ${JSON.stringify(attrs)});
process.stdout.write(Buffer.from(Float32Array.from([...out[0].toFloat32(), ...out[1].toFloat32()]).buffer).toString('base64'));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, VLV_SIMD: 'scalar' },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  t.is(child.status, 0, child.stderr);
  const scalar = new Float32Array(Buffer.from(child.stdout, 'base64').buffer.slice(0));
  t.deepEqual(scalar, runs[0], `scalar path vs ${info().simd}`);
}

// 70,001 elements: several parallel chunks and a SIMD tail.
test.serial('scheduler_step: the same bits for any thread count and SIMD level', (t) => sameBits(t, 70_001, 1, COEFS));
test.serial('scheduler_step with guidance: the same bits for any thread count and SIMD level', (t) =>
  sameBits(t, 70_001, 2, { ...COEFS, guidance: 7.5 }),
);

test('scheduler_step with guidance: the combine uncond + g (cond - uncond) folded into the step', async (t) => {
  const n = 1001,
    g = 5.5;
  const [x, m, p, z] = stepInputs(2 * n);
  const sample = (await ops.runOp('slice', [x!], { start: 0, end: n }))[0]!;
  const prev = (await ops.runOp('slice', [p!], { start: 0, end: n }))[0]!;
  const noise = (await ops.runOp('slice', [z!], { start: 0, end: n }))[0]!;
  const u = (await ops.runOp('slice', [m!], { start: 0, end: n }))[0]!,
    c = (await ops.runOp('slice', [m!], { start: n, end: 2 * n }))[0]!;
  const combined = await ops.add(u, await ops.scale(await ops.sub(c, u), g));
  const fused = await ops.runOp('scheduler_step', [sample, m!, prev, noise], { ...COEFS, guidance: g });
  const apart = await ops.runOp('scheduler_step', [sample, combined, prev, noise], COEFS);
  for (const k of [0, 1]) {
    const a = fused[k]!.toFloat32(),
      b = apart[k]!.toFloat32();
    let err = 0,
      norm = 0;
    for (let i = 0; i < n; i++) {
      err += (a[i]! - b[i]!) ** 2;
      norm += b[i]! ** 2;
    }
    t.true(Math.sqrt(err / norm) < 1e-6, `output ${k}: rel ${Math.sqrt(err / norm)}`);
  }
  const z4 = (...shape: number[]) => Tensor.zeros(shape);
  await code(
    ops.runOp('scheduler_step', [z4(2, 3), z4(2, 3)], { guidance: 2 }),
    'E_SHAPE',
    /with 'guidance', model_output f32\[2,3\] must be \[uncond; cond\] of shape \[4,3\]/,
    t,
  );
  await code(
    ops.runOp('scheduler_step', [Tensor.zeros([]), Tensor.zeros([])], { guidance: 2 }),
    'E_SHAPE',
    /needs a batch dim/,
    t,
  );
});

test('a scheduler step with the guidance option equals the step on the combined model output', async (t) => {
  const dir = folder({
    _class_name: 'DDIMScheduler',
    num_train_timesteps: 1000,
    beta_schedule: 'scaled_linear',
    beta_start: 0.00085,
    beta_end: 0.012,
  });
  const a = await Model.load('scheduler', dir),
    b = await Model.load('scheduler', dir);
  await a.run('set_timesteps', {}, { numInferenceSteps: 10 });
  await b.run('set_timesteps', {}, { numInferenceSteps: 10 });
  const x = Tensor.from(wave(2 * 4 * 5, 0.3), [2, 4, 5]);
  const eps = Tensor.from(wave(4 * 4 * 5, 0.7), [4, 4, 5]);
  const [u, c] = await ops.split(eps, 0, [2, 2]);
  const combined = await ops.add(u!, await ops.scale(await ops.sub(c!, u!), 7.5));
  const fused = (await a.run('step', { sample: x, model_output: eps }, { timestep: 901, guidance: 7.5 })).prev_sample!;
  const apart = (await b.run('step', { sample: x, model_output: combined }, { timestep: 901 })).prev_sample!;
  const fa = fused.toFloat32(),
    fb = apart.toFloat32();
  for (let i = 0; i < fa.length; i++)
    t.true(Math.abs(fa[i]! - fb[i]!) <= 1e-5 * (1 + Math.abs(fb[i]!)), `element ${i}: ${fa[i]} vs ${fb[i]}`);
});

function folder(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-sched-'));
  writeFileSync(join(dir, 'scheduler_config.json'), JSON.stringify(config));
  return dir;
}
const values = (x: Tensor) => Array.from(x.toArray() as ArrayLike<number | bigint>, Number);

test('DDPM, linear betas, trailing spacing: schedule, a step and add_noise against a float64 transcription', async (t) => {
  const m = await Model.load(
    'scheduler',
    folder({
      _class_name: 'DDPMScheduler',
      num_train_timesteps: 100,
      beta_start: 0.001,
      beta_end: 0.03,
      beta_schedule: 'linear',
      timestep_spacing: 'trailing',
      clip_sample: false,
      prediction_type: 'epsilon',
    }),
  );
  const s = await m.run('set_timesteps', {}, { numInferenceSteps: 7 });
  // numpy: round(arange(100, 0, -100/7)) - 1
  t.deepEqual(values(s.timesteps!), [99, 85, 70, 56, 42, 28, 13]);
  const ac = s.alphas_cumprod!.toFloat32();
  let acc = 1;
  for (let i = 0; i < 100; i++) {
    acc *= 1 - (0.001 + (0.029 * i) / 99);
    t.true(Math.abs(ac[i]! - acc) < 2e-6 * acc, `alphas_cumprod[${i}]`);
  }
  const x = Tensor.from(wave(30, 0.3), [2, 15]),
    eps = Tensor.from(wave(30, 0.9), [2, 15]),
    noise = Tensor.from(wave(30, 0.17), [2, 15]);
  const out = await m.run('step', { sample: x, model_output: eps, noise }, { timestep: 70 });
  const [a, ap] = [ac[70]!, ac[56]!];
  const beta = 1 - a / ap,
    std = Math.sqrt(((1 - ap) / (1 - a)) * beta);
  const xs = x.toFloat32(),
    es = eps.toFloat32(),
    ns = noise.toFloat32(),
    got = out.prev_sample!.toFloat32();
  xs.forEach((xi, i) => {
    const x0 = (xi - Math.sqrt(1 - a) * es[i]!) / Math.sqrt(a);
    const want =
      ((Math.sqrt(ap) * beta) / (1 - a)) * x0 + ((Math.sqrt(a / ap) * (1 - ap)) / (1 - a)) * xi + std * ns[i]!;
    t.true(Math.abs(got[i]! - want) < 1e-5 * (1 + Math.abs(want)), `prev[${i}] ${got[i]} vs ${want}`);
  });
  const noisy = (
    await m.run('add_noise', {
      original_samples: x,
      noise,
      timesteps: Tensor.from(BigInt64Array.from([3n, 99n]), [2], 'i64'),
    })
  ).noisy!.toFloat32();
  noisy.forEach((v, i) => {
    const ab = ac[i < 15 ? 3 : 99]!;
    t.true(Math.abs(v - (Math.sqrt(ab) * xs[i]! + Math.sqrt(1 - ab) * ns[i]!)) < 1e-6);
  });
  await code(
    m.run('step', { sample: x, model_output: eps }, { timestep: 70 }),
    'E_ARG',
    /variance noise \(input 'noise'\) or a 'seed'/,
    t,
  );
  await code(
    m.run('step', { sample: x, model_output: eps, noise }, { timestep: 71 }),
    'E_ARG',
    /timestep 71 is not one of the timesteps/,
    t,
  );
  m.dispose();
});

test('DDIM leading, eta 0 and 1 against a float64 transcription', async (t) => {
  const m = await Model.load(
    'scheduler',
    folder({ _class_name: 'DDIMScheduler', clip_sample: false, steps_offset: 1 }),
  );
  const s = await m.run('set_timesteps', {}, { numInferenceSteps: 10 });
  t.deepEqual(values(s.timesteps!).slice(0, 3), [901, 801, 701]);
  const x = Tensor.from(wave(8, 0.5)),
    e = Tensor.from(wave(8, 0.2)),
    n = Tensor.from(wave(8, 0.8));
  const det = (await m.run('step', { sample: x, model_output: e }, { timestep: 501 })).prev_sample!.toFloat32();
  const sto = (
    await m.run('step', { sample: x, model_output: e, noise: n }, { timestep: 501, eta: 1 })
  ).prev_sample!.toFloat32();
  const ac = s.alphas_cumprod!.toFloat32(),
    [a, ap] = [ac[501]!, ac[401]!];
  const std = Math.sqrt(((1 - ap) / (1 - a)) * (1 - a / ap));
  const xs = x.toFloat32(),
    es = e.toFloat32(),
    ns = n.toFloat32();
  xs.forEach((xi, i) => {
    const x0 = (xi - Math.sqrt(1 - a) * es[i]!) / Math.sqrt(a);
    const base = Math.sqrt(ap) * x0;
    t.true(Math.abs(det[i]! - (base + Math.sqrt(1 - ap) * es[i]!)) < 1e-5, `eta 0 [${i}]`);
    t.true(Math.abs(sto[i]! - (base + Math.sqrt(1 - ap - std * std) * es[i]! + std * ns[i]!)) < 1e-5, `eta 1 [${i}]`);
  });
  await code(
    m.run('step', { sample: x, model_output: e }, { timestep: 501, eta: 1 }),
    'E_ARG',
    /eta > 0 needs the variance noise/,
    t,
  );
  await code(
    m.run('get_velocity', { sample: x, noise: n, timesteps: Tensor.from(BigInt64Array.from([1000n]), [1], 'i64') }),
    'E_SHAPE',
    /timesteps must be \[8\]/,
    t,
  );
  m.dispose();
});

test('Euler leading: init_noise_sigma = sqrt(max sigma^2 + 1); unknown timesteps are refused', async (t) => {
  const m = await Model.load(
    'scheduler',
    folder({
      _class_name: 'EulerDiscreteScheduler',
      timestep_spacing: 'leading',
      steps_offset: 1,
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
    }),
  );
  const s = await m.run('set_timesteps', {}, { numInferenceSteps: 4 });
  t.deepEqual(values(s.timesteps!), [751, 501, 251, 1]);
  const sig = s.sigmas!.toFloat32();
  t.is(sig.length, 5);
  t.is(sig[4], 0);
  t.true(Math.abs(s.init_noise_sigma!.toFloat32()[0]! - Math.sqrt(sig[0]! ** 2 + 1)) < 1e-5);
  await code(
    m.run('scale_model_input', { sample: Tensor.zeros([2]) }, { timestep: 750 }),
    'E_ARG',
    /timestep 750 is not one of the scheduler's timesteps/,
    t,
  );
  m.dispose();
});

test('scheduler configs and methods: errors', async (t) => {
  await code(
    Model.load('scheduler', folder({ _class_name: 'PNDMScheduler' })),
    'E_ARG',
    /_class_name 'PNDMScheduler' is not supported/,
    t,
  );
  await code(
    Model.load('scheduler', folder({ _class_name: 'DDIMScheduler', thresholding: true })),
    'E_ARG',
    /thresholding is not supported/,
    t,
  );
  await code(
    Model.load('scheduler', folder({ _class_name: 'DDPMScheduler', karras: 1 })),
    'E_ARG',
    /field 'karras' is not supported by vlv/,
    t,
  );
  await code(
    Model.load('scheduler', folder({ _class_name: 'DPMSolverMultistepScheduler', solver_order: 3 })),
    'E_ARG',
    /solver_order 3 is not supported/,
    t,
  );
  await code(
    Model.load('scheduler', folder({ _class_name: 'EulerDiscreteScheduler', use_karras_sigmas: true })),
    'E_ARG',
    /use_karras_sigmas is not supported/,
    t,
  );
  const m = await Model.load('scheduler', folder({ _class_name: 'DPMSolverMultistepScheduler' }));
  await code(
    m.run('set_timesteps', {}, { numInferenceSteps: 0 }),
    'E_ARG',
    /num_inference_steps must lie in \[1, 1000\]/,
    t,
  );
  await code(
    m.run('step', { sample: Tensor.zeros([2]), model_output: Tensor.zeros([2]) }, { timestep: 999 }),
    'E_ARG',
    /call set_timesteps first/,
    t,
  );
  await code(
    m.run('get_velocity', { sample: Tensor.zeros([1]), noise: Tensor.zeros([1]), timesteps: Tensor.zeros([1]) }),
    'E_ARG',
    /get_velocity is not available/,
    t,
  );
  await code(m.run('denoise', {}), 'E_ARG', /unknown method 'denoise'/, t);
  m.dispose();
});
