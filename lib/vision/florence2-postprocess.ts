/**
 * Florence-2's post_process_generation (processing_florence2.py, the Florence-2-large hub
 * remote code: Florence2Processor.post_process_generation over Florence2PostProcesser):
 * the text Florence-2 generated (decoded with skip_special_tokens=False) and its task token
 * become the task's answer, keyed by the task as the reference returns it:
 *
 *   <CAPTION>, <OCR>, ...         {'<CAPTION>': 'A car parked ...'}            (pure_text)
 *   <OD>, <DENSE_REGION_CAPTION>  {'<OD>': {bboxes: [[x1,y1,x2,y2], ...], labels: [...]}}
 *   <REGION_PROPOSAL>             {'<REGION_PROPOSAL>': {bboxes, labels: ['', ...]}}
 *   <OCR_WITH_REGION>             {'<OCR_WITH_REGION>': {quad_boxes: [[x1,y1,...,x4,y4]], labels}}
 *   <CAPTION_TO_PHRASE_GROUNDING> {bboxes, labels} (phrases such as 'it' or 'the image' dropped)
 *   segmentation tasks            {polygons: [[[x1,y1,x2,y2,...], ...], ...], labels}
 *   <OPEN_VOCABULARY_DETECTION>   {bboxes, bboxes_labels, polygons, polygons_labels}
 *
 * A task the table does not know is pure text, as there. Coordinates are the centres of
 * 1000 bins over the image size given (BoxQuantizer / CoordinatesQuantizer, 'floor' mode:
 * (N + 0.5) * size / 1000), computed in float32 as the reference's torch code does (an int64
 * tensor plus 0.5 is float32 there), so the numbers are the reference's to the last bit.
 * The field names (quad_boxes, bboxes_labels, ...) are the reference's. Not supported: the
 * reference's `sequence` / `transition_beam_score` inputs (per-box scores); the engine's
 * generate returns no per-token scores.
 */
import { VlvError } from '../errors.js';

/** The post-processing kinds of the reference's table. */
export type Florence2PostProcessType =
  | 'pure_text'
  | 'ocr'
  | 'description_with_bboxes'
  | 'phrase_grounding'
  | 'polygons'
  | 'description_with_bboxes_or_polygons'
  | 'bboxes';

/** Florence2Processor.tasks_answer_post_processing_type: task token -> kind (others: pure_text). */
export const FLORENCE2_TASK_POST_PROCESSING: Readonly<Record<string, Florence2PostProcessType>> = {
  '<OCR>': 'pure_text',
  '<OCR_WITH_REGION>': 'ocr',
  '<CAPTION>': 'pure_text',
  '<DETAILED_CAPTION>': 'pure_text',
  '<MORE_DETAILED_CAPTION>': 'pure_text',
  '<OD>': 'description_with_bboxes',
  '<DENSE_REGION_CAPTION>': 'description_with_bboxes',
  '<CAPTION_TO_PHRASE_GROUNDING>': 'phrase_grounding',
  '<REFERRING_EXPRESSION_SEGMENTATION>': 'polygons',
  '<REGION_TO_SEGMENTATION>': 'polygons',
  '<OPEN_VOCABULARY_DETECTION>': 'description_with_bboxes_or_polygons',
  '<REGION_TO_CATEGORY>': 'pure_text',
  '<REGION_TO_DESCRIPTION>': 'pure_text',
  '<REGION_TO_OCR>': 'pure_text',
  '<REGION_PROPOSAL>': 'bboxes',
};

/** The post-processing kind of a task (the reference's `.get(task, 'pure_text')`). */
export function florence2PostProcessType(task: string): Florence2PostProcessType {
  return Object.hasOwn(FLORENCE2_TASK_POST_PROCESSING, task) ? FLORENCE2_TASK_POST_PROCESSING[task]! : 'pure_text';
}

/** Boxes [x1, y1, x2, y2] in pixels of the image size given, one label each. */
export interface Florence2Boxes {
  bboxes: number[][];
  labels: string[];
}

/** Quadrilaterals [x1, y1, x2, y2, x3, y3, x4, y4] (<OCR_WITH_REGION>), one text each. */
export interface Florence2QuadBoxes {
  quad_boxes: number[][];
  labels: string[];
}

/** Per instance, its polygons, each [x1, y1, x2, y2, ...]; one label per instance. */
export interface Florence2Polygons {
  polygons: number[][][];
  labels: string[];
}

/** <OPEN_VOCABULARY_DETECTION>: boxes or polygons (a generation holds one kind or the other). */
export interface Florence2BoxesOrPolygons {
  bboxes: number[][];
  bboxes_labels: string[];
  polygons: number[][][];
  polygons_labels: string[];
}

export type Florence2Answer =
  string | Florence2Boxes | Florence2QuadBoxes | Florence2Polygons | Florence2BoxesOrPolygons;

/** The image's size in pixels (the ORIGINAL image's, as the reference's example passes it). */
export interface Florence2ImageSize {
  width: number;
  height: number;
}

const BINS = 1000;

/** (bin + 0.5) * (size / bins), in float32 as the reference's torch dequantize computes it. */
function dequantize(bin: number, size: number): number {
  return Math.fround((bin + 0.5) * Math.fround(size / BINS));
}

/** Flat [x, y, x, y, ...] bins -> pixels (x with the width, y with the height). */
function dequantizeXY(bins: readonly number[], size: Florence2ImageSize): number[] {
  return bins.map((b, i) => dequantize(b, i % 2 === 0 ? size.width : size.height));
}

const removeTokens = (text: string, tokens: readonly string[]) =>
  tokens.reduce((t, token) => t.replaceAll(token, ''), text);

/** Python's str.encode('ascii', errors='ignore').decode('ascii'). */
// eslint-disable-next-line no-control-regex
const asciiOnly = (s: string) => s.replace(/[^\x00-\x7f]/g, '');

/** The text of a phrase before its first location or box token (the reference's phrase pattern). */
const PHRASE = /^\s*(.*?)(?=<od>|<\/od>|<box>|<\/box>|<bbox>|<\/bbox>|<loc_)/;
const PHRASE_POLY = /^\s*(.*?)(?=<od>|<\/od>|<box>|<\/box>|<bbox>|<\/bbox>|<loc_|<poly>)/;
const BOX = /<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>/g;

interface BoxInstance {
  bbox: number[];
  cat_name: string;
}

/** parse_description_with_bboxes_from_text_and_spans (no scores): one instance per box. */
function parseDescriptionWithBboxes(text: string, size: Florence2ImageSize, allowEmptyPhrase: boolean): BoxInstance[] {
  text = removeTokens(text, ['<s>', '</s>', '<pad>']);
  const phrases = allowEmptyPhrase ? /(?:<loc_\d+>){4,}/g : /([^<]+(?:<loc_\d+>){4,})/g;
  const out: BoxInstance[] = [];
  for (const [phraseText] of text.matchAll(phrases)) {
    // The reference's '<ground>' removal is overwritten by its '<obj>' one; only the latter counts.
    const stripped = phraseText.replace('<obj>', '');
    if (stripped === '' && !allowEmptyPhrase) continue;
    const m = PHRASE.exec(stripped);
    if (!m) continue;
    const phrase = asciiOnly(m[0].trim());
    for (const b of phraseText.matchAll(BOX)) {
      const bins = [b[1], b[2], b[3], b[4]].map(Number);
      out.push({ bbox: dequantizeXY(bins, size), cat_name: phrase });
    }
  }
  return out;
}

/** The phrases parse_phrase_grounding_from_text_and_spans skips. */
const GROUNDING_BLACK_LIST = new Set(
  [
    'it I me mine you your yours he him his she her hers they them their theirs one oneself',
    'we us our ours its myself yourself himself herself itself ourselves yourselves themselves',
    'this that these those who whom whose which what all another any anybody anyone anything',
    'each everybody everyone everything few many nobody none several some somebody someone',
    'something image images the a an lots',
  ]
    .join(' ')
    .split(' ')
    .concat(['each other', 'one another', 'the image', 'a group', 'other objects', 'a set']),
);

/** parse_phrase_grounding_from_text_and_spans: one instance per phrase, all its boxes. */
function parsePhraseGrounding(text: string, size: Florence2ImageSize): { bbox: number[][]; cat_name: string }[] {
  text = removeTokens(text, ['<s>', '</s>', '<pad>']);
  const out: { bbox: number[][]; cat_name: string }[] = [];
  for (const [phraseText] of text.matchAll(/([^<]+(?:<loc_\d+>){4,})/g)) {
    const stripped = phraseText.replace('<obj>', '');
    if (stripped === '') continue;
    const m = PHRASE.exec(stripped);
    if (!m) continue;
    const boxes = [...phraseText.matchAll(BOX)];
    if (boxes.length === 0) continue;
    const phrase = m[0].trim();
    if (GROUNDING_BLACK_LIST.has(phrase)) continue;
    out.push({
      bbox: boxes.map((b) => dequantizeXY([b[1], b[2], b[3], b[4]].map(Number), size)),
      cat_name: asciiOnly(phrase),
    });
  }
  return out;
}

/** parse_ocr_from_text_and_spans (area threshold 0: nothing filtered). Only <s> is removed, as there. */
function parseOcr(text: string, size: Florence2ImageSize): { quad_box: number[]; text: string }[] {
  text = text.replaceAll('<s>', '');
  const pattern = /(.+?)<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>/g;
  return [...text.matchAll(pattern)].map((m) => ({
    quad_box: dequantizeXY(m.slice(2, 10).map(Number), size),
    text: m[1]!,
  }));
}

/** parse_description_with_polygons_from_text_and_spans (no box at the start; <sep>, <poly>, </poly>). */
function parseDescriptionWithPolygons(
  text: string,
  size: Florence2ImageSize,
  allowEmptyPhrase: boolean,
): { cat_name: string; polygons: number[][] }[] {
  text = removeTokens(text, ['<s>', '</s>', '<pad>']);
  const unit = '(?:<loc_\\d+>|<sep>|<poly>|</poly>){4,}';
  const phrases = new RegExp(allowEmptyPhrase ? unit : `([^<]+${unit})`, 'g');
  const out: { cat_name: string; polygons: number[][] }[] = [];
  for (const [phraseText] of text.matchAll(phrases)) {
    const stripped = phraseText.replace(/^loc_\d+>/, '');
    if (stripped === '' && !allowEmptyPhrase) continue;
    const m = PHRASE_POLY.exec(stripped);
    if (!m) continue;
    const phrase = m[0].trim();
    // One instance per <poly>...</poly> when the text has both tokens, else the whole phrase.
    const parts =
      phraseText.includes('<poly>') && phraseText.includes('</poly>')
        ? [...phraseText.matchAll(/<poly>(.*?)<\/poly>/g)].map((p) => p[1]!)
        : [phraseText];
    for (const part of parts) {
      const runs = [...part.matchAll(/((?:<loc_\d+>)+)(?:<sep>|$)/g)];
      if (runs.length === 0) continue;
      const polygons = runs.map((r) => {
        const bins = [...r[1]!.matchAll(/<loc_(\d+)>/g)].map((l) => Number(l[1]));
        if (bins.length % 2 === 1) bins.pop(); // an unpaired last coordinate is dropped
        return dequantizeXY(bins, size);
      });
      out.push({ cat_name: phrase, polygons });
    }
  }
  return out;
}

function checkSize(size: Florence2ImageSize | undefined, task: string): Florence2ImageSize {
  const ok = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (!size || !ok(size.width) || !ok(size.height))
    throw new VlvError(
      'E_ARG',
      `florence2 post-processing: ${task} needs the image size {width, height} (positive numbers), got ${JSON.stringify(size)}`,
    );
  return size;
}

/**
 * post_process_generation: Florence-2's generated text (skip_special_tokens=False, as the
 * reference decodes it: '</s><s>...</s>') for `task` -> `{[task]: answer}`. `imageSize` (the
 * original image's width and height) is needed by every task whose answer has coordinates.
 */
export function postProcessFlorence2Generation(
  text: string,
  task: string,
  imageSize?: Florence2ImageSize,
): Record<string, Florence2Answer> {
  if (typeof text !== 'string')
    throw new VlvError('E_ARG', `florence2 post-processing: the text must be a string, got ${typeof text}`);
  const kind = florence2PostProcessType(task);
  let answer: Florence2Answer;
  switch (kind) {
    case 'pure_text':
      answer = removeTokens(text, ['<s>', '</s>']);
      break;
    case 'description_with_bboxes':
    case 'bboxes': {
      const instances = parseDescriptionWithBboxes(text, checkSize(imageSize, task), kind === 'bboxes');
      answer = { bboxes: instances.map((i) => i.bbox), labels: instances.map((i) => i.cat_name) };
      break;
    }
    case 'ocr': {
      const instances = parseOcr(text, checkSize(imageSize, task));
      answer = { quad_boxes: instances.map((i) => i.quad_box), labels: instances.map((i) => i.text) };
      break;
    }
    case 'phrase_grounding': {
      const boxes: Florence2Boxes = { bboxes: [], labels: [] };
      for (const i of parsePhraseGrounding(text, checkSize(imageSize, task)))
        for (const b of i.bbox) {
          boxes.bboxes.push(b);
          boxes.labels.push(i.cat_name);
        }
      answer = boxes;
      break;
    }
    case 'polygons': {
      const instances = parseDescriptionWithPolygons(text, checkSize(imageSize, task), true);
      answer = { polygons: instances.map((i) => i.polygons), labels: instances.map((i) => i.cat_name) };
      break;
    }
    case 'description_with_bboxes_or_polygons': {
      const size = checkSize(imageSize, task);
      const out: Florence2BoxesOrPolygons = { bboxes: [], bboxes_labels: [], polygons: [], polygons_labels: [] };
      // A generation holds polygons or boxes, not both: '<poly>' anywhere picks polygons.
      if (text.includes('<poly>'))
        for (const i of parseDescriptionWithPolygons(text, size, false)) {
          out.polygons.push(i.polygons);
          out.polygons_labels.push(i.cat_name);
        }
      else
        for (const i of parseDescriptionWithBboxes(text, size, false)) {
          out.bboxes.push(i.bbox);
          out.bboxes_labels.push(i.cat_name);
        }
      answer = out;
      break;
    }
  }
  return { [task]: answer };
}
