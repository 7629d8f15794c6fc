/**
 * Incremental decoding for streaming: each push() adds one token per row and returns the text
 * each row gained. Byte-level BPE can split a character over tokens; while a row's decoded
 * text ends in U+FFFD (an incomplete character) its new text is held back until the character
 * completes, as transformers' TextStreamer does. Special tokens (eos, pad) are skipped.
 */
import type { Tokenizer } from '../tokenizer.js';

export class TextStreamer {
  private readonly tokens: number[][] = [];
  private readonly shown: number[] = [];

  constructor(private readonly tokenizer: Tokenizer) {}

  push(ids: readonly number[]): string[] {
    return ids.map((id, row) => {
      const toks = (this.tokens[row] ??= []);
      if (id >= 0) toks.push(id);
      const text = this.tokenizer.decode(toks, { skipSpecialTokens: true });
      const shown = this.shown[row] ?? 0;
      if (text.endsWith('\uFFFD') || text.length <= shown) return '';
      this.shown[row] = text.length;
      return text.slice(shown);
    });
  }
}
