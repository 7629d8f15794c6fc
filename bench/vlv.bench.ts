/**
 * The VLV auto-encoder at real sizes with random weights on CPU (issue 12), each row beside
 * PyTorch 2.x running the same components at the same shapes in the same run
 * (bench/peers/torch_vlv.py through the python3 that has torch 2.x and transformers):
 *
 * - caption encoder: a 768x768 image + 14 prompt ids -> Florence-2-large's image features, BART
 *   encoder, the BART decoder on 77 queries, language_proj, CLIP ViT-H text (SD 2.1) on z -> c;
 *   f32, and bf16 inside the caption process.
 * - caption decoder: 32 new tokens, beam 4, from the 77-row prefix mlp(c) into Qwen2.5-3B with
 *   bf16 weights, reported per token (generate's wall time / 32: the 77-row prefill included).
 *   The whole caption (encoder + decoder, one process) in bf16 must peak at <= 12 GiB.
 * - reconstruction: one guided DDPM step (the SD 2.1 UNet on [uncond; cond], batch 2, 48x48
 *   latents, 77-token contexts) and the VAE decode 48x48 -> 384x384, f32; timed inside
 *   reconstruct(steps 2) from its 'denoise' progress events (bench/vlv-row.ts).
 *
 * Configs: bench/configs/vlv/* (the public config.json files) and bench/configs/sd21-unet.json.
 * Each measurement runs in its own process (bench/vlv-row.ts) so its peak RSS (VmHWM) is its
 * own; the peer reports ru_maxrss of its process. Times: median of 3 runs after a warm-up,
 * with the spread (min-max) in the note; ratio = torch / ours (> 1: ours faster or smaller).
 * --quick: toy configs in process, one run, no peer.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hfPython, row, runPeer, spread, type BenchContext, type BenchRow } from './lib.js';
import { runRequest, type Request, type Result } from './vlv-row.js';

const PROMPT_LEN = 14;
const NEW_TOKENS = 32;
const BEAMS = 4;
const SIDE = 384;
const CAPTION_LIMIT_GIB = 12;

interface PeerResult {
  times: Record<string, number[]>;
  peakGiB: number;
  loadS: number;
  torch: string;
}

/** bench/vlv-row.ts in a child process; null (said on stderr) when it fails. */
function child(req: Request): Result | null {
  try {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'vlv-row.ts'), JSON.stringify(req)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
    );
    const r = JSON.parse(out.trim().split('\n').pop()!) as Result;
    console.error(`vlv ${req.mode} ${req.dtype ?? ''}: ${JSON.stringify(r)}`); // progress: the rows print at the end
    return r;
  } catch (e) {
    console.error(`vlv ${req.mode} run failed: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

const fmtSpread = (t: number[], per = 1) => {
  const s = spread(t);
  return `${(s.min / per).toFixed(s.min / per >= 100 ? 0 : 1)}-${(s.max / per).toFixed(s.max / per >= 100 ? 0 : 1)}`;
};

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const prompt = Array.from({ length: PROMPT_LEN }, (_, i) =>
    i === 0 ? 0 : i === PROMPT_LEN - 1 ? 2 : 3 + ((i * 7919) % 1000),
  );
  const base = { prompt, newTokens: ctx.quick ? 4 : NEW_TOKENS, beams: BEAMS, side: ctx.quick ? 32 : SIDE };
  const rows: BenchRow[] = [];

  if (ctx.quick) {
    const folder = mkdtempSync(join(tmpdir(), 'vlv-bench-vlv-'));
    try {
      await runRequest({ mode: 'prepare', folder, tiny: true });
      const cap = (await runRequest({ ...base, mode: 'caption', folder, tiny: true, reps: 1 })) as Result;
      const rec = (await runRequest({ ...base, mode: 'reconstruct', folder, tiny: true, reps: 1 })) as Result;
      const note = 'toy configs, one run, no peer';
      rows.push(
        row(
          'vlv caption encoder tiny',
          `${cap.image}px, 77 queries`,
          cap.times.encode![0]!,
          'ms',
          null,
          null,
          false,
          note,
        ),
        row(
          'vlv caption decoder tiny',
          `beam ${BEAMS}`,
          cap.times.generate![0]! / cap.tokens!,
          'ms/token',
          null,
          null,
          false,
          note,
        ),
        row('vlv recon step tiny', `2x4x16x16`, rec.times.step![0]!, 'ms', null, null, false, note),
        row('vlv vae decode tiny', `16x16 -> ${rec.image}`, rec.times.vae![0]!, 'ms', null, null, false, note),
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    return rows;
  }

  const hf = hfPython();
  const peerName = 'python' in hf ? `torch ${hf.torch}` : null;
  const why = 'why' in hf ? hf.why : '';
  const peer = (req: Request): PeerResult | null => {
    const r = 'python' in hf ? runPeer<PeerResult>('torch_vlv.py', req, hf.python) : null;
    if (r) console.error(`torch ${req.mode} ${req.dtype ?? ''}: ${JSON.stringify(r)}`);
    return r;
  };
  const ratioNote = (ours: number[], theirs: number[] | undefined, per = 1) =>
    `ours ${fmtSpread(ours, per)}` +
    (theirs ? `, torch ${fmtSpread(theirs, per)}` : peerName ? '' : `; no peer: ${why}`);

  // 1 + 3: the f32 caption encoder and the f32 reconstruction (random weights in the engine).
  const f32 = mkdtempSync(join(tmpdir(), 'vlv-bench-vlv-'));
  try {
    child({ mode: 'prepare', folder: f32 });
    const enc = child({ ...base, mode: 'encode', folder: f32, dtype: 'f32', reps: 3 });
    const encPeer = peer({ ...base, mode: 'encode', folder: f32, dtype: 'f32', reps: 3 });
    if (enc) {
      const shape = `${enc.image}px + ${PROMPT_LEN} ids -> c 77x1024`;
      rows.push(
        row(
          'vlv caption encoder f32',
          shape,
          spread(enc.times.encode!).median,
          'ms',
          peerName,
          encPeer ? spread(encPeer.times.encode!).median : null,
          false,
          ratioNote(enc.times.encode!, encPeer?.times.encode),
        ),
        row(
          'vlv caption encoder f32 peak',
          shape,
          enc.peakGiB,
          'GiB',
          peerName,
          encPeer?.peakGiB ?? null,
          false,
          `VmHWM; ${enc.rssLoadedGiB.toFixed(2)} GiB loaded in ${enc.loadS.toFixed(0)} s`,
        ),
      );
    }
    const rec = child({ ...base, mode: 'reconstruct', folder: f32, dtype: 'f32', reps: 3 });
    const recPeer = peer({ ...base, mode: 'reconstruct', folder: f32, dtype: 'f32', reps: 3 });
    if (rec) {
      const lat = SIDE / 8;
      rows.push(
        row(
          'vlv recon step f32',
          `UNet 2x4x${lat}x${lat}, ctx 77`,
          spread(rec.times.step!).median,
          'ms',
          peerName,
          recPeer ? spread(recPeer.times.step!).median : null,
          false,
          ratioNote(rec.times.step!, recPeer?.times.step),
        ),
        row(
          'vlv vae decode f32',
          `${lat}x${lat} -> ${rec.image}x${rec.image}`,
          spread(rec.times.vae!).median,
          'ms',
          peerName,
          recPeer ? spread(recPeer.times.vae!).median : null,
          false,
          ratioNote(rec.times.vae!, recPeer?.times.vae),
        ),
        row(
          'vlv recon peak f32',
          'CLIP+UNet+VAE, steps 2',
          rec.peakGiB,
          'GiB',
          peerName,
          recPeer?.peakGiB ?? null,
          false,
          `VmHWM; reconstruct(steps 2) ${(spread(rec.times.call!).median / 1e3).toFixed(1)} s`,
        ),
      );
    }
  } finally {
    rmSync(f32, { recursive: true, force: true });
  }

  // 1 + 2: the whole caption in bf16 (the parts' random weights written as bf16 first).
  const bf16 = mkdtempSync(join(tmpdir(), 'vlv-bench-vlv-'));
  try {
    child({ mode: 'prepare', folder: bf16 });
    const cap = child({ ...base, mode: 'caption', folder: bf16, dtype: 'bf16', reps: 3 });
    const capPeer = peer({ ...base, mode: 'caption', folder: bf16, dtype: 'bf16', reps: 3 });
    if (cap) {
      const shape = `${cap.image}px + ${PROMPT_LEN} ids -> c 77x1024`;
      const perTok = (t: number[]) => spread(t).median / NEW_TOKENS;
      const fits = cap.peakGiB <= CAPTION_LIMIT_GIB;
      rows.push(
        row(
          'vlv caption encoder bf16',
          shape,
          spread(cap.times.encode!).median,
          'ms',
          peerName,
          capPeer ? spread(capPeer.times.encode!).median : null,
          false,
          ratioNote(cap.times.encode!, capPeer?.times.encode),
        ),
        row(
          'vlv caption decoder bf16',
          `qwen2.5-3b, beam ${BEAMS}, ${NEW_TOKENS} tok`,
          perTok(cap.times.generate!),
          'ms/token',
          peerName,
          capPeer ? perTok(capPeer.times.generate!) : null,
          false,
          ratioNote(cap.times.generate!, capPeer?.times.generate, NEW_TOKENS) + '; 77-row prefill included',
        ),
        row(
          'vlv caption peak bf16',
          'encoder + decoder',
          cap.peakGiB,
          'GiB',
          peerName,
          capPeer?.peakGiB ?? null,
          false,
          `${fits ? 'OK' : 'OVER'}: <= ${CAPTION_LIMIT_GIB} GiB asked; ${cap.rssLoadedGiB.toFixed(2)} GiB loaded in ${cap.loadS.toFixed(0)} s`,
        ),
      );
      if (!fits) console.error(`vlv caption bf16: peak ${cap.peakGiB.toFixed(2)} GiB is over ${CAPTION_LIMIT_GIB} GiB`);
    }
  } finally {
    rmSync(bf16, { recursive: true, force: true });
  }
  return rows;
}
