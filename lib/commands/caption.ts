/**
 * `vlv caption a.jpg b.png --model <VLV folder> [--json] [--beams 4] [--max-new-tokens 300]
 * [--stream] [--raw]`: captions (lib/vlv/pipelines.ts `caption`), one line per image in the
 * order given: `file: caption`, or with --json one JSON object per line
 * (`{"file", "caption", "ids"}`). A file that cannot be read prints its error (`{"file",
 * "error", "code"}` under --json) and the others go on; the exit status is then 2.
 * --stream prints the text as it is generated (greedy; with --json one `{"file", "token",
 * "text"}` line per token before each caption line); beam search cannot stream.
 *
 * `--florence2 <Florence-2 folder> [--task '<MORE_DETAILED_CAPTION>']` (instead of --model):
 * Florence-2's own captions, the paper's baseline (lib/vision/florence2-captioner.ts: the model
 * card's settings, beams 3 unless --beams; with --json `{"file", "task", "caption", "parsed"}`).
 */
import { VlvError } from '../errors.js';
import { Florence2Captioner } from '../vision/florence2-captioner.js';
import type { Florence2Answer } from '../vision/florence2-postprocess.js';
import { readImage, VLV_PROMPT, type RawImage } from '../vlv/images.js';
import { caption, type CaptionOptions, type CaptionResult } from '../vlv/pipelines.js';
import {
  choiceFlag,
  loadModel,
  MODEL_FLAGS,
  MODEL_USAGE,
  numberFlag,
  parseArgs,
  pipelineFlags,
  type ParsedArgs,
  stderrProgress,
  withInterrupt,
} from './vlv-common.js';

const USAGE = `usage: vlv caption <image> [more images...] ${MODEL_USAGE}
                   [--json] [--beams 4] [--max-new-tokens 300] [--stream] [--raw] [--seed N --sample]
       vlv caption <image> [more images...] --florence2 <Florence-2 folder> [--task '<MORE_DETAILED_CAPTION>']
                   [--json] [--beams 3] [--max-new-tokens 1024] [--device cpu|cuda] [--dtype f32|bf16]`;

/** Florence-2's own captions of the readable files (the baseline), in order. */
async function florence2Captions(
  p: ParsedArgs,
  files: string[],
  opts: { beams?: number; maxNewTokens?: number; batchSize?: number },
): Promise<CaptionResult[]> {
  const device = choiceFlag(p, 'device', ['cpu', 'cuda'] as const);
  const dtype = choiceFlag(p, 'dtype', ['f32', 'bf16'] as const);
  const model = await Florence2Captioner.load(p.values.get('florence2')!, {
    ...(device ? { device } : {}),
    ...(dtype ? { dtype } : {}),
  });
  const progress = stderrProgress();
  try {
    const task = p.values.get('task') ?? VLV_PROMPT;
    const out = await withInterrupt((signal) =>
      model.caption(files, { ...opts, task, signal, onProgress: progress.onProgress }),
    );
    return out.map((r, i) => ({
      file: files[i]!,
      caption: r.text,
      text: r.text,
      ids: r.ids,
      task: r.task,
      parsed: r.parsed,
    }));
  } finally {
    progress.end();
    model.dispose();
  }
}

/** A VLV caption, or Florence-2's (with its task and parsed answer). */
type BaselineOrVlv = CaptionResult & { task?: string; parsed?: Record<string, Florence2Answer> };

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(
    args,
    {
      values: [...MODEL_FLAGS, 'beams', 'max-new-tokens', 'seed', 'florence2', 'task'],
      switches: ['json', 'stream', 'raw', 'sample'],
    },
    USAGE,
  );
  if (p.positional.length === 0) throw new VlvError('E_ARG', `no images\n${USAGE}`);
  const json = p.switches.has('json');
  const stream = p.switches.has('stream');
  const beams = numberFlag(p, 'beams', true);
  const maxNewTokens = numberFlag(p, 'max-new-tokens', true);
  const seed = numberFlag(p, 'seed', true);
  const opts: Omit<CaptionOptions, 'stream'> = {
    ...pipelineFlags(p),
    ...(beams !== undefined ? { beams } : {}),
    ...(maxNewTokens !== undefined ? { maxNewTokens } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(p.switches.has('sample') ? { doSample: true } : {}),
    ...(p.switches.has('raw') ? { raw: true } : {}),
  };
  const florence = p.values.has('florence2');
  if (florence && p.values.has('model')) throw new VlvError('E_ARG', `give --model or --florence2, not both\n${USAGE}`);
  if (florence && (stream || p.switches.has('raw') || p.switches.has('sample') || seed !== undefined))
    throw new VlvError('E_ARG', '--florence2 takes --task, --beams, --max-new-tokens, --batch-size, --json only');
  if (!florence && p.values.has('task')) throw new VlvError('E_ARG', '--task goes with --florence2');
  if (stream && (beams ?? 1) > 1)
    throw new VlvError(
      'E_ARG',
      `--stream: beam search cannot stream (its beams are final only at the end); drop --beams or use --beams 1`,
    );

  const line = (o: object) => console.log(JSON.stringify(o));
  const printCaption = (r: BaselineOrVlv) =>
    json
      ? line(
          r.task === undefined
            ? { file: r.file, caption: r.caption, ids: r.ids }
            : { file: r.file, task: r.task, caption: r.caption, parsed: r.parsed },
        )
      : console.log(`${r.file}: ${r.caption}`);
  const printError = (file: string, e: VlvError) =>
    json
      ? line({ file, error: e.message, code: e.code })
      : console.error(`vlv caption: ${file}: ${e.code}: ${e.message}`);

  // Decode every file first: a bad one is reported in its place and the others go on.
  const decoded: (RawImage | VlvError)[] = [];
  for (const file of p.positional) {
    try {
      const { rgb } = await readImage(file, file);
      decoded.push({ ...rgb, channels: 3, name: file });
    } catch (e) {
      decoded.push(VlvError.from(e));
    }
  }
  const good = decoded.filter((d): d is RawImage => !(d instanceof VlvError));
  const failed = decoded.length - good.length;

  let results: BaselineOrVlv[] = [];
  if (good.length > 0 && florence)
    results = await florence2Captions(
      p,
      good.map((g) => g.name!),
      {
        ...(beams !== undefined ? { beams } : {}),
        ...(maxNewTokens !== undefined ? { maxNewTokens } : {}),
        ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
      },
    );
  else if (good.length > 0) {
    const model = await loadModel(p, 'caption', USAGE);
    const progress = stderrProgress();
    try {
      results = await withInterrupt(async (signal) => {
        if (!stream) return caption(model, good, { ...opts, signal, onProgress: progress.onProgress });
        // One image at a time, so that each caption's text streams on its own line.
        const done: CaptionResult[] = [];
        for (const image of good) {
          let started = false;
          for await (const ev of caption(model, [image], { ...opts, batchSize: 1, stream: true, signal })) {
            if (ev.type === 'token') {
              if (json) line({ file: ev.file, token: ev.id, text: ev.text });
              else {
                if (!started) process.stdout.write(`${ev.file}: `);
                started = true;
                process.stdout.write(ev.text);
              }
            } else {
              if (!json) process.stdout.write(started ? '\n' : `${ev.result.file}: \n`);
              done.push(ev.result);
            }
          }
        }
        return done;
      });
    } finally {
      progress.end();
      model.dispose();
    }
  }
  // In the order given: each caption (streamed ones were printed as they came, except under --json), each error.
  let k = 0;
  for (const [i, d] of decoded.entries()) {
    if (d instanceof VlvError) printError(p.positional[i]!, d);
    else {
      const r = results[k++]!;
      if (!stream || json) printCaption(r);
    }
  }
  return failed > 0 ? 2 : 0;
}
