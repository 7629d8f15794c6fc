// Drawing the world (lib/world/render.ts, librsvg through sharp), measured from the PNG: 64×64
// RGB; the same scene gives the same bytes; the background's exact colour at a free corner and
// everywhere outside the objects' size boxes; each object's exact colour at its centre (a ring's
// on its stroke, and the background in its hole); each object's pixels inside its box (small ≤ 10
// px, large ≤ 18 px) and filling it; each shape's area and orientation.
import test from 'ava';
import sharp from 'sharp';
import {
  WORLD_BACKGROUND_RGB,
  WORLD_COLOUR_RGB,
  WORLD_SIZE_PX,
  generateWorldScenes,
  placeWorldScene,
  parseWorldCaption,
  renderWorldScene,
  worldCaption,
  worldSceneSvg,
  type PlacedWorldObject,
  type WorldRgb,
  type WorldScene,
} from '../../lib/index.js';

interface Decoded {
  at(x: number, y: number): WorldRgb;
}

async function decode(png: Buffer): Promise<Decoded> {
  const meta = await sharp(png).metadata();
  if (meta.format !== 'png' || meta.width !== 64 || meta.height !== 64 || meta.channels !== 3 || meta.hasAlpha)
    throw new Error(`not a 64x64 RGB PNG: ${JSON.stringify(meta)}`);
  const data = await sharp(png).raw().toBuffer();
  return { at: (x, y) => [data[(y * 64 + x) * 3]!, data[(y * 64 + x) * 3 + 1]!, data[(y * 64 + x) * 3 + 2]!] };
}

const same = (a: WorldRgb, b: WorldRgb) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
const maxDiff = (a: WorldRgb, b: WorldRgb) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

/** A box's pixel columns (or rows): those its [c-h, c+h] span covers. */
const inBox = (i: number, c: number, h: number) => i + 1 > c - h && i < c + h;
const cellOfPixel = (x: number, y: number) => Math.floor(((y + 0.5) * 3) / 64) * 3 + Math.floor(((x + 0.5) * 3) / 64);

/** An object's pixels: the non-background pixels of its cell, with their coverage (0..1). */
function objectPixels(img: Decoded, scene: WorldScene, o: PlacedWorldObject) {
  const bg = WORLD_BACKGROUND_RGB[scene.background];
  const col = WORLD_COLOUR_RGB[o.colour];
  const ch = [0, 1, 2].reduce((best, i) => (Math.abs(col[i]! - bg[i]!) > Math.abs(col[best]! - bg[best]!) ? i : best));
  const out: { x: number; y: number; cover: number }[] = [];
  for (let y = 0; y < 64; y++)
    for (let x = 0; x < 64; x++) {
      if (cellOfPixel(x, y) !== o.cell) continue;
      const p = img.at(x, y);
      if (!same(p, bg)) out.push({ x, y, cover: (p[ch]! - bg[ch]!) / (col[ch]! - bg[ch]!) });
    }
  return out;
}

test('a 64x64 8-bit RGB PNG; the same scene gives the same bytes, the same seed the same dataset', async (t) => {
  const a = generateWorldScenes('train', 21, 12);
  const b = generateWorldScenes('train', 21, 12);
  const c = generateWorldScenes('train', 22, 12);
  const pa = await Promise.all(a.map(renderWorldScene));
  const pb = await Promise.all(b.map(renderWorldScene));
  const pc = await Promise.all(c.map(renderWorldScene));
  for (let i = 0; i < a.length; i++) {
    t.true(pa[i]!.equals(pb[i]!), `scene ${i}`);
    t.false(pa[i]!.equals(pc[i]!), `scene ${i}, other seed`);
    await t.notThrowsAsync(decode(pa[i]!));
  }
  const meta = await sharp(pa[0]).metadata();
  t.like(meta, { format: 'png', width: 64, height: 64, channels: 3, depth: 'uchar', hasAlpha: false });
});

test('the SVG: one element per object, exact colours', (t) => {
  const scene = placeWorldScene(
    parseWorldCaption(
      'a large red circle at the top left, a small blue square in the center and a small orange ring at the bottom, on a cream background',
    ),
  );
  const svg = worldSceneSvg(scene);
  t.regex(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="64" height="64"/);
  t.regex(svg, /<rect x="0" y="0" width="64" height="64" fill="rgb\(245,235,200\)"\/>/);
  t.regex(svg, /<circle cx="11" cy="11" r="9" fill="rgb\(220,40,40\)"\/>/);
  t.regex(svg, /<rect x="27" y="27" width="10" height="10" fill="rgb\(40,90,220\)"\/>/);
  t.regex(svg, /<circle cx="32" cy="53" r="4.375" fill="none" stroke="rgb\(245,140,20\)" stroke-width="1.25"\/>/);
  t.is(
    t.throws(() => worldSceneSvg({ background: 'white', objects: [{ ...scene.objects[0]!, x: NaN }] }))?.name,
    'VlvError',
  );
});

test('pixels of 400 scenes: background, colours at centres, boxes, areas, orientation', async (t) => {
  const scenes = [
    ...generateWorldScenes('train', 4, 200),
    ...generateWorldScenes('combos', 4, 100),
    ...generateWorldScenes('scenes', 4, 100),
  ];
  const shapesSeen = new Set<string>();
  for (const scene of scenes) {
    const what = worldCaption(scene);
    const img = await decode(await renderWorldScene(scene));
    const bg = WORLD_BACKGROUND_RGB[scene.background];
    // A corner whose cell is free shows the background.
    const corners: [number, number, number][] = [
      [0, 0, 0],
      [63, 0, 2],
      [0, 63, 6],
      [63, 63, 8],
    ];
    const free = corners.filter(([, , cell]) => !scene.objects.some((o) => o.cell === cell));
    t.true(free.length >= 1);
    for (const [x, y] of free)
      if (!same(img.at(x, y), bg)) t.fail(`${what}: corner ${x},${y} is ${img.at(x, y).join()}`);
    // Outside every object's size box: the background, exactly.
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++) {
        const inside = scene.objects.some((o) => {
          const h = WORLD_SIZE_PX[o.size] / 2;
          return inBox(x, o.x, h) && inBox(y, o.y, h);
        });
        if (!inside && !same(img.at(x, y), bg))
          t.fail(`${what}: pixel ${x},${y} outside every box is ${img.at(x, y).join()}`);
      }
    for (const o of scene.objects) {
      shapesSeen.add(`${o.size} ${o.shape}`);
      const s = WORLD_SIZE_PX[o.size];
      const h = s / 2;
      const col = WORLD_COLOUR_RGB[o.colour];
      const label = `${what}: the ${o.size} ${o.colour} ${o.shape} at ${o.x},${o.y}`;
      // The colour at the centre (the pixel whose top-left corner is the centre); a ring's on its
      // stroke's top (the stroke is 1.25 px thin when small: a few levels of anti-aliasing) and
      // the background in its hole.
      if (o.shape === 'ring') {
        const top = img.at(o.x, o.y - h);
        if (maxDiff(top, col) > 16) t.fail(`${label}: stroke ${top.join()} is not ${col.join()}`);
        if (!same(img.at(o.x, o.y), bg)) t.fail(`${label}: the hole is ${img.at(o.x, o.y).join()}`);
      } else if (!same(img.at(o.x, o.y), col))
        t.fail(`${label}: centre ${img.at(o.x, o.y).join()} is not ${col.join()}`);
      // Its pixels' bounding box: within the size box, and filling it (a star is 0.95 of its box wide).
      const px = objectPixels(img, scene, o);
      const xs = px.map((p) => p.x);
      const ys = px.map((p) => p.y);
      const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      const w = x1 - x0 + 1;
      const hgt = y1 - y0 + 1;
      if (w > s || hgt > s || w < s - 1 || hgt < s - 1) t.fail(`${label}: bounding box ${w}x${hgt} for a ${s}-px box`);
      if (x0 < o.x - h || x1 >= o.x + h || y0 < o.y - h || y1 >= o.y + h) t.fail(`${label}: outside its box`);
      // Its area (summed coverage) against the shape's.
      const area = px.reduce((a, p) => a + p.cover, 0);
      const ideal = {
        circle: Math.PI * h * h,
        square: s * s,
        triangle: (s * s) / 2,
        star: 5 * h * h * Math.sin(Math.PI / 5) * (Math.sin(Math.PI / 10) / Math.sin((3 * Math.PI) / 10)),
        ring: Math.PI * (h * h - (0.75 * h) ** 2),
      }[o.shape];
      if (Math.abs(area - ideal) > 0.08 * ideal)
        t.fail(`${label}: area ${area.toFixed(1)}, the shape's ${ideal.toFixed(1)}`);
      // Orientation: a triangle's top row is narrower than its bottom row; a star's top point
      // is on the centre column; a square is solid.
      const row = (y: number) => px.filter((p) => p.y === y && p.cover > 0.5).length;
      if (o.shape === 'triangle' && !(row(y0 + 1) < row(y1) - 4)) t.fail(`${label}: not apex up`);
      if (o.shape === 'star') {
        const topXs = px.filter((p) => p.y === y0).map((p) => p.x);
        if (!topXs.every((x) => Math.abs(x + 0.5 - o.x) <= 1)) t.fail(`${label}: top point at ${topXs.join()}`);
      }
      if (o.shape === 'square' && px.filter((p) => same(img.at(p.x, p.y), col)).length !== s * s)
        t.fail(`${label}: not a solid ${s}x${s} square`);
    }
  }
  t.is(shapesSeen.size, 10);
});
