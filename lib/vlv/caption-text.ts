/**
 * The official caption post-processing (train/Caption_inference.py `process_caption`, applied to
 * `batch_decode(ids, skip_special_tokens=True)`):
 *
 * 1. a caption that does not end in '.' is cut after its last '.' (kept whole when it has none);
 * 2. it is split into sentences at whitespace that follows '.', '!' or '?'
 *    (`re.split(r'(?<=[.!?])\s+', caption)`);
 * 3. each sentence is kept at its first occurrence only (exact string match; empty pieces dropped);
 * 4. the kept sentences are joined with one space.
 */

/**
 * Python's `\s` in a str pattern (the characters whose str.isspace() is true); JavaScript's `\s`
 * differs (it lacks U+001C..U+001F and U+0085, and has U+FEFF).
 */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SENTENCE_BREAK = new RegExp(`(?<=[.!?])[${PY_SPACE}]+`, 'u');

/** The official post-processing of a decoded caption (see the file comment). */
export function processCaption(caption: string): string {
  if (!caption.endsWith('.')) {
    const last = caption.lastIndexOf('.');
    if (last !== -1) caption = caption.slice(0, last + 1);
  }
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const sentence of caption.split(SENTENCE_BREAK)) {
    if (sentence === '' || seen.has(sentence)) continue;
    seen.add(sentence);
    kept.push(sentence);
  }
  return kept.join(' ');
}
