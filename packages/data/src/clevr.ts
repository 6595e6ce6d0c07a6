import { DataError, type HostSet } from '@setgen/ops';
import { checkChoice } from '@setgen/ops/internal';

/** The attribute vocabularies of CLEVR, in DSPN's one-hot order. */
export const CLEVR_CLASSES = {
  material: ['rubber', 'metal'],
  color: ['cyan', 'blue', 'yellow', 'purple', 'red', 'green', 'gray', 'brown'],
  shape: ['sphere', 'cube', 'cylinder'],
  size: ['large', 'small'],
} as const;

/** One object of a CLEVR scene file (the fields we read). */
export interface ClevrObject {
  '3d_coords': [number, number, number];
  pixel_coords: [number, number, number];
  material: string;
  color: string;
  shape: string;
  size: string;
}

/** One scene of `CLEVR_<split>_scenes.json`. */
export interface ClevrScene {
  image_index?: number;
  image_filename?: string;
  objects: ClevrObject[];
  directions?: { right: [number, number, number] };
}

/**
 * - `'state'`: 18-d object states: 3-D coordinates / 3, one-hot material (2), colour (8),
 *   shape (3), size (2) (DSPN §5.3, `CLEVR_CLASSES` order).
 * - `'boxes'`: `(xmin, ymin, xmax, ymax)` normalised by the 480×320 image, from the
 *   "Object-based Reasoning in VQA" heuristic that DSPN uses.
 */
export type ClevrEncoding = 'boxes' | 'state';

function oneHot(value: string, classes: readonly string[], where: string): number[] {
  const k = classes.indexOf(value);
  if (k < 0)
    throw new DataError(`${where}: expected one of ${classes.join(', ')}, got ${JSON.stringify(value)}`);
  return classes.map((_, j) => (j === k ? 1 : 0));
}

function checkTriple(value: unknown, where: string): [number, number, number] {
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !value.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    throw new DataError(`${where}: expected 3 finite numbers, got ${JSON.stringify(value)}`);
  }
  return value as [number, number, number];
}

function objectState(object: ClevrObject, where: string): number[] {
  return [
    ...checkTriple(object['3d_coords'], `${where}.3d_coords`).map((v) => v / 3),
    ...oneHot(object.material, CLEVR_CLASSES.material, `${where}.material`),
    ...oneHot(object.color, CLEVR_CLASSES.color, `${where}.color`),
    ...oneHot(object.shape, CLEVR_CLASSES.shape, `${where}.shape`),
    ...oneHot(object.size, CLEVR_CLASSES.size, `${where}.size`),
  ];
}

/**
 * The box heuristic of Chen et al. ("Object-based Reasoning in VQA", as in DSPN's data.py): the
 * half-extent grows with the object's height z and shrinks with its depth along the camera.
 * Kept faithful to the reference, including its rotation, whose second line reuses the
 * already-rotated x (so the numbers match DSPN's CLEVR-box sets).
 */
function objectBox(object: ClevrObject, right: [number, number, number], where: string): number[] {
  const [x, y] = checkTriple(object.pixel_coords, `${where}.pixel_coords`);
  const coords = checkTriple(object['3d_coords'], `${where}.3d_coords`);
  const [cos, sin] = right;
  const x1 = coords[0] * cos + coords[1] * sin;
  const y1 = x1 * -sin + coords[1] * cos;
  const z1 = coords[2];
  let down = (6.9 * z1 * (15 - y1)) / 2;
  let up = down;
  let left = down;
  let rightExtent = down;
  if (object.shape === 'cylinder') {
    const d = 9.4 + y1;
    const h = 6.4;
    const s = z1;
    up *= (s * (h / d + 1)) / (s * (h / d + 1) - (s * (h - s)) / d);
    down = (up * (h - s + d)) / (h + s + d);
    left *= 11 / (10 + y1);
    rightExtent = left;
  } else if (object.shape === 'cube') {
    up *= (1.3 * 10) / (10 + y1);
    down = up;
    left = up;
    rightExtent = up;
  }
  return [(x - left) / 480, (y - down) / 320, (x + rightExtent) / 480, (y + up) / 320];
}

/** One scene → a set of objects (`d` = 18 for 'state', 4 for 'boxes'). */
export function clevrSceneToSet(scene: ClevrScene, encoding: ClevrEncoding, where = 'scene'): HostSet {
  checkChoice(encoding, 'encoding', ['boxes', 'state'] as const);
  if (!scene || !Array.isArray(scene.objects) || scene.objects.length === 0) {
    throw new DataError(
      `${where}: expected a scene with a non-empty 'objects' array, got ${scene && Array.isArray(scene.objects) ? 'no objects' : JSON.stringify(scene)?.slice(0, 80)}`,
    );
  }
  let right: [number, number, number] = [1, 0, 0];
  if (encoding === 'boxes') right = checkTriple(scene.directions?.right, `${where}.directions.right`);
  const rows = scene.objects.map((object, i) =>
    encoding === 'state'
      ? objectState(object, `${where}.objects[${i}]`)
      : objectBox(object, right, `${where}.objects[${i}]`),
  );
  const d = rows[0].length;
  return { values: Float32Array.from(rows.flat()), n: rows.length, d };
}

/** CLEVR scenes as sets: one set per scene (4-d boxes or 18-d states, see `ClevrEncoding`). */
export interface ClevrDataset {
  sets: HostSet[];
  /** `image_index` of each scene (its position when absent). */
  imageIndices: Int32Array;
}

/** A parsed `CLEVR_<split>_scenes.json` → sets; every scene is checked before anything is returned. */
export function clevrScenesToSets(json: unknown, encoding: ClevrEncoding, name = 'scenes'): ClevrDataset {
  checkChoice(encoding, 'encoding', ['boxes', 'state'] as const);
  const scenes = (json as { scenes?: unknown })?.scenes;
  if (!Array.isArray(scenes) || scenes.length === 0) {
    throw new DataError(`${name}: expected { "scenes": [ ... ] } with at least one scene`);
  }
  const sets = scenes.map((scene: ClevrScene, i) =>
    clevrSceneToSet(scene, encoding, `${name}: scenes[${i}]`),
  );
  return { sets, imageIndices: Int32Array.from(scenes, (s: ClevrScene, i) => s.image_index ?? i) };
}
