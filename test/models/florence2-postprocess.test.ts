// Florence-2's post_process_generation (lib/vision/florence2-postprocess.ts) on hand-written
// generations, one per post-processing kind, against what processing_florence2.py (the
// Florence-2-large hub remote code) returns for them. The strings are decoded the way the
// reference decodes (skip_special_tokens=False, so they start with the decoder start token
// '</s>' and the forced '<s>'). Expected coordinates were computed outside vlv with NumPy as the
// reference's torch code computes them: an int64 bin tensor plus 0.5 is float32, times
// float32(size / 1000), i.e. float(np.float32(N + 0.5) * np.float32(size / 1000)); that is why
// bin 52 of 640 px is 33.599998474121094 and not 33.6.
import test from 'ava';
import { florence2PostProcessType, postProcessFlorence2Generation as post, VlvError } from '../../lib/index.js';

const size = { width: 640, height: 480 };
const odd = { width: 333, height: 517 };

test('the task table is the reference one; unknown tasks are pure text', (t) => {
  for (const task of ['<OCR>', '<CAPTION>', '<DETAILED_CAPTION>', '<MORE_DETAILED_CAPTION>', '<REGION_TO_OCR>'])
    t.is(florence2PostProcessType(task), 'pure_text', task);
  t.is(florence2PostProcessType('<OD>'), 'description_with_bboxes');
  t.is(florence2PostProcessType('<DENSE_REGION_CAPTION>'), 'description_with_bboxes');
  t.is(florence2PostProcessType('<REGION_PROPOSAL>'), 'bboxes');
  t.is(florence2PostProcessType('<OCR_WITH_REGION>'), 'ocr');
  t.is(florence2PostProcessType('<CAPTION_TO_PHRASE_GROUNDING>'), 'phrase_grounding');
  t.is(florence2PostProcessType('<REFERRING_EXPRESSION_SEGMENTATION>'), 'polygons');
  t.is(florence2PostProcessType('<OPEN_VOCABULARY_DETECTION>'), 'description_with_bboxes_or_polygons');
  t.is(florence2PostProcessType('What is in the image?'), 'pure_text');
  t.is(florence2PostProcessType('toString'), 'pure_text', 'no prototype keys');
});

test('captions: <s> and </s> removed, keyed by the task; <pad> kept as the reference keeps it', (t) => {
  t.deepEqual(post('</s><s>A red car parked on a street.</s>', '<CAPTION>', size), {
    '<CAPTION>': 'A red car parked on a street.',
  });
  t.deepEqual(post('</s><s>The image shows a cat.</s>', '<MORE_DETAILED_CAPTION>'), {
    '<MORE_DETAILED_CAPTION>': 'The image shows a cat.',
  });
  t.deepEqual(post('</s><s>A cat.</s><pad><pad>', '<DETAILED_CAPTION>'), { '<DETAILED_CAPTION>': 'A cat.<pad><pad>' });
  t.deepEqual(post('</s><s>blue</s>', 'What colour is it?'), { 'What colour is it?': 'blue' });
});

test('<OD>: several boxes and labels; a phrase with 8 locations gives two boxes', (t) => {
  const text =
    '</s><s>car<loc_52><loc_333><loc_932><loc_774>door handle<loc_123><loc_456><loc_200><loc_500>' +
    'wheel<loc_100><loc_600><loc_250><loc_900><loc_700><loc_610><loc_850><loc_905></s>';
  t.deepEqual(post(text, '<OD>', size), {
    '<OD>': {
      bboxes: [
        [33.599998474121094, 160.0800018310547, 596.7999877929688, 371.7599792480469],
        [79.04000091552734, 219.1199951171875, 128.3199920654297, 240.239990234375],
        [64.31999969482422, 288.239990234375, 160.3199920654297, 432.239990234375],
        [448.3199768066406, 293.0400085449219, 544.3200073242188, 434.6399841308594],
      ],
      labels: ['car', 'door handle', 'wheel', 'wheel'],
    },
  });
  // Fewer than 4 locations are no box; the reference's scan then restarts inside the last
  // location token, so the next label starts with its tail ('loc_3>'), exactly as there.
  t.deepEqual(post('</s><s>part<loc_1><loc_2><loc_3>car<loc_52><loc_333><loc_932><loc_774></s>', '<OD>', size), {
    '<OD>': {
      bboxes: [[33.599998474121094, 160.0800018310547, 596.7999877929688, 371.7599792480469]],
      labels: ['loc_3>car'],
    },
  });
  t.deepEqual(post('</s><s></s>', '<OD>', size), { '<OD>': { bboxes: [], labels: [] } });
});

test('<DENSE_REGION_CAPTION>: phrases stripped, non-ASCII dropped, <pad> ignored', (t) => {
  const text =
    '</s><s>a turquoise Volkswagen Beetle<loc_33><loc_160><loc_982><loc_771> café wheel <loc_720><loc_535>' +
    '<loc_850><loc_766></s><pad><pad>';
  t.deepEqual(post(text, '<DENSE_REGION_CAPTION>', odd), {
    '<DENSE_REGION_CAPTION>': {
      bboxes: [
        [11.155500411987305, 82.97850036621094, 327.1725158691406, 398.8655090332031],
        [239.92649841308594, 276.853515625, 283.21649169921875, 396.280517578125],
      ],
      labels: ['a turquoise Volkswagen Beetle', 'caf wheel'],
    },
  });
});

test('<REGION_PROPOSAL>: runs of locations, empty labels, a 5th location ignored', (t) => {
  const text =
    '</s><s><loc_10><loc_20><loc_300><loc_400><loc_500><loc_600><loc_999><loc_999>' +
    'x<loc_0><loc_0><loc_1><loc_1><loc_7></s>';
  t.deepEqual(post(text, '<REGION_PROPOSAL>', size), {
    '<REGION_PROPOSAL>': {
      bboxes: [
        [6.71999979019165, 9.84000015258789, 192.3199920654297, 192.239990234375],
        [320.32000732421875, 288.239990234375, 639.67999267578125, 479.7599792480469],
        [0.3199999928474426, 0.23999999463558197, 0.9599999785423279, 0.7199999690055847],
      ],
      labels: ['', '', ''],
    },
  });
});

test('<OCR_WITH_REGION>: quad boxes; only <s> is removed, so the first label keeps </s>', (t) => {
  const text =
    '</s><s>CUDA<loc_100><loc_200><loc_300><loc_200><loc_300><loc_260><loc_100><loc_260>' +
    'FOR ENGINEERS<loc_110><loc_300><loc_420><loc_300><loc_420><loc_350><loc_110><loc_350></s>';
  t.deepEqual(post(text, '<OCR_WITH_REGION>', odd), {
    '<OCR_WITH_REGION>': {
      quad_boxes: [
        [
          33.46649932861328, 103.65850067138672, 100.06649780273438, 103.65850067138672, 100.06649780273438,
          134.6785125732422, 33.46649932861328, 134.6785125732422,
        ],
        [
          36.79650115966797, 155.35850524902344, 140.02650451660156, 155.35850524902344, 140.02650451660156,
          181.20851135253906, 36.79650115966797, 181.20851135253906,
        ],
      ],
      labels: ['</s>CUDA', 'FOR ENGINEERS'],
    },
  });
});

test('<CAPTION_TO_PHRASE_GROUNDING>: one label per box; black-listed phrases dropped', (t) => {
  const text =
    '</s><s>A green car<loc_10><loc_20><loc_500><loc_600> it<loc_1><loc_2><loc_3><loc_4>' +
    'the wheels<loc_100><loc_700><loc_200><loc_800><loc_600><loc_700><loc_700><loc_800></s>';
  t.deepEqual(post(text, '<CAPTION_TO_PHRASE_GROUNDING>', size), {
    '<CAPTION_TO_PHRASE_GROUNDING>': {
      bboxes: [
        [6.71999979019165, 9.84000015258789, 320.32000732421875, 288.239990234375],
        [64.31999969482422, 336.239990234375, 128.3199920654297, 384.239990234375],
        [384.3199768066406, 336.239990234375, 448.3199768066406, 384.239990234375],
      ],
      labels: ['A green car', 'the wheels', 'the wheels'],
    },
  });
});

test('segmentation: polygons split at <sep> and per <poly>, an unpaired coordinate dropped', (t) => {
  const p1 = [
    3.496500015258789, 10.59850025177002, 10.156499862670898, 20.938501358032227, 16.816499710083008,
    31.278501510620117,
  ];
  const p2 = [
    23.476499557495117, 41.618499755859375, 30.13650131225586, 51.95850372314453, 36.79650115966797, 62.29850387573242,
  ];
  const p3 = [
    1.8315000534057617, 3.3605000972747803, 2.497499942779541, 4.394500255584717, 3.1635000705718994, 5.428500175476074,
    3.8294999599456787, 6.462500095367432,
  ];
  const sep =
    '</s><s><loc_10><loc_20><loc_30><loc_40><loc_50><loc_60><sep>' +
    '<loc_70><loc_80><loc_90><loc_100><loc_110><loc_120><loc_130></s>';
  t.deepEqual(post(sep, '<REFERRING_EXPRESSION_SEGMENTATION>', odd), {
    '<REFERRING_EXPRESSION_SEGMENTATION>': { polygons: [[p1, p2]], labels: [''] },
  });
  const polys =
    '</s><s><poly><loc_5><loc_6><loc_7><loc_8><loc_9><loc_10><loc_11><loc_12></poly>' +
    '<poly><loc_10><loc_20><loc_30><loc_40><loc_50><loc_60></poly></s>';
  t.deepEqual(post(polys, '<REGION_TO_SEGMENTATION>', odd), {
    '<REGION_TO_SEGMENTATION>': { polygons: [[p3], [p1]], labels: ['', ''] },
  });
});

test('<OPEN_VOCABULARY_DETECTION>: boxes, or polygons when the text has <poly>', (t) => {
  t.deepEqual(post('</s><s>a car<loc_1><loc_2><loc_3><loc_4></s>', '<OPEN_VOCABULARY_DETECTION>', size), {
    '<OPEN_VOCABULARY_DETECTION>': {
      bboxes: [[0.9599999785423279, 1.1999999284744263, 2.240000009536743, 2.1599998474121094]],
      bboxes_labels: ['a car'],
      polygons: [],
      polygons_labels: [],
    },
  });
  const poly = '</s><s>a car<poly><loc_10><loc_20><loc_30><loc_40><loc_50><loc_60></poly></s>';
  t.deepEqual(post(poly, '<OPEN_VOCABULARY_DETECTION>', odd), {
    '<OPEN_VOCABULARY_DETECTION>': {
      bboxes: [],
      bboxes_labels: [],
      polygons: [
        [
          [
            3.496500015258789, 10.59850025177002, 10.156499862670898, 20.938501358032227, 16.816499710083008,
            31.278501510620117,
          ],
        ],
      ],
      polygons_labels: ['a car'],
    },
  });
});

test('tasks with coordinates need the image size', (t) => {
  for (const bad of [undefined, { width: 0, height: 10 }, { width: 10, height: Number.NaN }]) {
    const e = t.throws(() => post('</s><s>car<loc_1><loc_2><loc_3><loc_4></s>', '<OD>', bad));
    t.true(e instanceof VlvError && e.code === 'E_ARG' && e.message.includes('<OD>'), e?.message);
  }
});
