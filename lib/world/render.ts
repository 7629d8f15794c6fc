/**
 * Drawing a scene: an SVG document (one element per object) rendered by librsvg through sharp
 * to a 64×64 RGB PNG. Each shape fills its size box (10 px small, 18 px large) centred on the
 * object's centre: circle a disc of the box's width; square the box; triangle apex up, its base
 * the box's bottom edge; star five points, one up, outer radius half the box (inner radius
 * 0.382 of it, a regular star); ring a circle outline whose outer edge is the disc's and whose
 * stroke is a quarter of that radius.
 */
import sharp from 'sharp';
import { checkWorldScene, type PlacedWorldObject, type WorldScene } from './scene.js';
import { WORLD_BACKGROUND_RGB, WORLD_COLOUR_RGB, WORLD_IMAGE_SIZE, WORLD_SIZE_PX, type WorldRgb } from './spec.js';

const num = (v: number) => String(Math.round(v * 1000) / 1000);
const rgb = (c: WorldRgb) => `rgb(${c[0]},${c[1]},${c[2]})`;
const points = (pts: [number, number][]) => pts.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');

/** A regular five-pointed star's inner radius over its outer radius: sin 18° / sin 54°. */
const STAR_INNER = Math.sin(Math.PI / 10) / Math.sin((3 * Math.PI) / 10);

function shapeElement(o: PlacedWorldObject): string {
  const h = WORLD_SIZE_PX[o.size] / 2;
  const fill = rgb(WORLD_COLOUR_RGB[o.colour]);
  const { x, y } = o;
  switch (o.shape) {
    case 'circle':
      return `<circle cx="${num(x)}" cy="${num(y)}" r="${num(h)}" fill="${fill}"/>`;
    case 'square':
      return `<rect x="${num(x - h)}" y="${num(y - h)}" width="${num(2 * h)}" height="${num(2 * h)}" fill="${fill}"/>`;
    case 'triangle':
      return `<polygon points="${points([
        [x, y - h],
        [x + h, y + h],
        [x - h, y + h],
      ])}" fill="${fill}"/>`;
    case 'star': {
      const pts: [number, number][] = [];
      for (let k = 0; k < 10; k++) {
        const r = k % 2 === 0 ? h : h * STAR_INNER;
        const a = -Math.PI / 2 + (k * Math.PI) / 5;
        pts.push([x + r * Math.cos(a), y + r * Math.sin(a)]);
      }
      return `<polygon points="${points(pts)}" fill="${fill}"/>`;
    }
    case 'ring': {
      const w = h / 4;
      return `<circle cx="${num(x)}" cy="${num(y)}" r="${num(h - w / 2)}" fill="none" stroke="${fill}" stroke-width="${num(w)}"/>`;
    }
  }
}

/** The scene as an SVG document (64×64 user units = pixels). */
export function worldSceneSvg(scene: WorldScene): string {
  checkWorldScene(scene, true);
  const s = WORLD_IMAGE_SIZE;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${s}" height="${s}" viewBox="0 0 ${s} ${s}">`,
    `<rect x="0" y="0" width="${s}" height="${s}" fill="${rgb(WORLD_BACKGROUND_RGB[scene.background])}"/>`,
    ...scene.objects.map(shapeElement),
    '</svg>',
  ].join('\n');
}

/** The scene drawn by librsvg (through sharp): PNG bytes, 64×64, 8-bit RGB. */
export async function renderWorldScene(scene: WorldScene): Promise<Buffer> {
  const svg = worldSceneSvg(scene);
  return sharp(Buffer.from(svg), { density: 72 }).removeAlpha().png().toBuffer();
}
