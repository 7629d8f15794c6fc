/**
 * `vlv caption a.jpg b.png --model <VLV folder> [--json] [--beams 4] [--max-new-tokens 300]
 * [--stream] [--raw]`: captions (lib/vlv/pipelines.ts `caption`), one line per image in the
 * order given: `file: caption`, or with --json one JSON object per line
 * (`{"file", "caption", "ids"}`). A file that cannot be read prints its error (`{"file",
 * "error", "code"}` under --json) and the others go on; the exit status is then 2.
 * --stream prints the text as it is generated (greedy; with --json one `{"file", "token",
 * "text"}` line per token before each caption line); beam search cannot stream.
 */
import { VlvError } from '../errors.js';
import { readImage, type RawImage } from '../vlv/images.js';
import { caption, type CaptionOptions, type CaptionResult } from '../vlv/pipelines.js';
import {
  loadModel,
  MODEL_FLAGS,
  MODEL_USAGE,
  numberFlag,
  parseArgs,
  pipelineFlags,
  stderrProgress,
  withInterrupt,
} from './vlv-common.js';

const USAGE = `usage: vlv caption <image> [more images...] ${MODEL_USAGE}
                   [--json] [--beams 4] [--max-new-tokens 300] [--stream] [--raw] [--seed N --sample]`;

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(
    args,
    { values: [...MODEL_FLAGS, 'beams', 'max-new-tokens', 'seed'], switches: ['json', 'stream', 'raw', 'sample'] },
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
  if (stream && (beams ?? 1) > 1)
    throw new VlvError(
      'E_ARG',
      `--stream: beam search cannot stream (its beams are final only at the end); drop --beams or use --beams 1`,
    );

  const line = (o: object) => console.log(JSON.stringify(o));
  const printCaption = (r: CaptionResult) =>
    json ? line({ file: r.file, caption: r.caption, ids: r.ids }) : console.log(`${r.file}: ${r.caption}`);
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

  let results: CaptionResult[] = [];
  if (good.length > 0) {
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
