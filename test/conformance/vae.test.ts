// AutoencoderKL ("vae") through the project's own loader: the golden folder, two folders of
// other configurations made by scripts/models/gen_vae.py (float64 reference, gradients
// included), and the errors a bad input or an unsupported config must raise.
import test, { type ExecutionContext } from 'ava';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConformance } from '../../lib/testing.js';
import { inspectSafetensors, Model, Tensor, VlvError } from '../../lib/index.js';
import { goldenPath } from '../helpers/golden.js';

const golden = goldenPath('vae');
const generated = join(import.meta.dirname, '..', 'fixtures', 'models', 'vae');

async function expectAllPass(t: ExecutionContext, folder: string, count: number) {
  t.true(existsSync(folder), `${folder} is missing`);
  const results = await runConformance(folder);
  t.is(results.length, count);
  for (const r of results) t.true(r.pass, `${r.case}: rel ${r.rel} tol ${r.tol} ${r.error ?? ''}`);
}

test('vae golden: encode, encode_sample and decode pass', async (t) => {
  await expectAllPass(t, golden, 3);
});

for (const name of ['three_blocks', 'no_mid_attention']) {
  test(`vae ${name}: forward and gradient cases match the float64 reference`, async (t) => {
    await expectAllPass(t, join(generated, name), 5);
  });
}

test('vae exposes scaling_factor and sample_size, and every parameter under its reference name', async (t) => {
  const model = await Model.load('vae', golden);
  const cfg = await model.run('config', {});
  t.true(Math.abs(cfg.scaling_factor!.toFloat32()[0]! - 0.18215) < 1e-7);
  t.is(cfg.sample_size!.toFloat32()[0], 16);
  t.false('shift_factor' in cfg);
  const params = model.parameters();
  const inspection = inspectSafetensors(join(golden, 'diffusion_pytorch_model.safetensors'));
  const stored = inspection.files.flatMap((f) => f.tensors.map((e) => e.name));
  t.deepEqual(Object.keys(params).sort(), stored.sort());
  model.dispose();

  const legacy = await Model.load('vae', join(generated, 'three_blocks'));
  t.truthy(legacy.parameters()['decoder.mid_block.attentions.0.proj_attn.weight']);
  legacy.dispose();
});

test('vae rejects bad inputs with typed errors', async (t) => {
  const model = await Model.load('vae', golden);
  const code = async (p: Promise<unknown>) => (await t.throwsAsync(p, { instanceOf: VlvError }))?.code;
  t.is(await code(model.run('forward', {})), 'E_ARG');
  t.is(await code(model.run('encode', {})), 'E_ARG');
  t.is(await code(model.run('encode', { sample: Tensor.zeros([1, 4, 8, 8]) })), 'E_SHAPE');
  t.is(await code(model.run('decode', { latent: Tensor.zeros([1, 3, 8, 8]) })), 'E_SHAPE');
  t.is(await code(model.run('decode', { latent: Tensor.zeros([4, 8, 8]) })), 'E_SHAPE');
  t.is(
    await code(model.run('encode', { sample: Tensor.zeros([1, 3, 8, 8]), noise: Tensor.zeros([1, 4, 8, 8]) })),
    'E_SHAPE',
  );
  model.dispose();
});

// A copy of the golden folder with config.json edited by `edit`.
function withConfig(edit: (c: Record<string, unknown>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'vlv-vae-'));
  const config = JSON.parse(readFileSync(join(golden, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  copyFileSync(join(golden, 'diffusion_pytorch_model.safetensors'), join(dir, 'diffusion_pytorch_model.safetensors'));
  return dir;
}

test('vae rejects configs it would not honour', async (t) => {
  const load = async (edit: (c: Record<string, unknown>) => void) => {
    const dir = withConfig(edit);
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    return t.throwsAsync(Model.load('vae', dir), { instanceOf: VlvError });
  };
  const blockType = await load((c) => {
    c.down_block_types = ['DownEncoderBlock2D', 'AttnDownEncoderBlock2D'];
  });
  t.is(blockType?.code, 'E_ARG');
  t.regex(blockType.message, /AttnDownEncoderBlock2D/);
  t.is(
    (
      await load((c) => {
        c.up_block_types = ['UpDecoderBlock2D'];
      })
    )?.code,
    'E_FILE_FORMAT',
  );
  t.regex(
    (
      await load((c) => {
        c.act_fn = 'gelu';
      })
    ).message,
    /act_fn/,
  );
  t.regex(
    (
      await load((c) => {
        c.norm_type = 'spatial';
      })
    ).message,
    /norm_type/,
  );
  // A config that drops quant_conv leaves its weights unused: a loader error, not a silent skip.
  t.regex(
    (
      await load((c) => {
        c.use_quant_conv = false;
      })
    ).message,
    /quant_conv/,
  );
});
