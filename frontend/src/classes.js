// @ts-check
// Class lists for the palette and for carrying a painting between models.

/** @typedef {import("./api.js").ClassInfo} ClassInfo */
/** @typedef {import("./api.js").ModelCard} ModelCard */

/** COCO-Stuff names of what landscapes are made of, in palette order. */
const LANDSCAPE = [
  "sky-other", "clouds", "fog", "mountain", "hill", "rock", "stone", "snow",
  "sea", "river", "water-other", "waterdrops", "sand", "dirt", "gravel", "mud",
  "grass", "tree", "bush", "flower", "leaves", "plant-other", "moss", "straw",
  "wood", "ground-other", "road", "bridge", "house", "fence",
];

/** The COCO-Stuff name a class stands for (its own name in COCO-Stuff tables). @param {ClassInfo} c */
export function cocoName(c) {
  return c.coco_stuff ?? c.name;
}

/**
 * Palette order: landscape classes first (in LANDSCAPE's order), then the
 * rest in the model's order.
 * @param {ModelCard} card
 * @returns {number[]} class indices
 */
export function paletteOrder(card) {
  const rank = (/** @type {number} */ i) => {
    const r = LANDSCAPE.indexOf(cocoName(card.classes[i]));
    return r < 0 ? LANDSCAPE.length + i : r;
  };
  return card.classes.map((_, i) => i).sort((a, b) => rank(a) - rank(b));
}

/** The class a blank canvas and the eraser start with: sky where there is one. @param {ModelCard} card */
export function backgroundClass(card) {
  return paletteOrder(card)[0];
}

/**
 * How the classes of `from` map onto `to`: same name first, then the same
 * COCO-Stuff name; the rest become `fallback`.
 * @param {ModelCard} from
 * @param {ModelCard} to
 * @param {number} fallback class of `to` for what cannot be mapped
 * @returns {{table: Int32Array, unmapped: string[]}}
 */
export function mapClasses(from, to, fallback) {
  const byName = new Map(to.classes.map((c, i) => [c.name, i]));
  const byCoco = new Map(to.classes.map((c, i) => [cocoName(c), i]));
  const values = from.classes.length + (from.dontcare ? 1 : 0);
  const table = new Int32Array(values).fill(fallback);
  /** @type {string[]} */
  const unmapped = [];
  from.classes.forEach((c, i) => {
    const j = byName.get(c.name) ?? byCoco.get(cocoName(c));
    if (j === undefined) unmapped.push(c.name);
    else table[i] = j;
  });
  if (from.dontcare) {
    table[from.classes.length] = to.dontcare ? to.classes.length : fallback;
    if (!to.dontcare) unmapped.push(from.dontcare.name);
  }
  return { table, unmapped };
}

/** Class colours as packed RGBA words for ImageData (little-endian ABGR). @param {ModelCard} card */
export function colorTable(card) {
  const colors = card.classes.map((c) => c.color);
  if (card.dontcare) colors.push(card.dontcare.color);
  return Uint32Array.from(colors, (hex) => {
    const v = parseInt(hex.slice(1), 16);
    return (0xff << 24) | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff);
  });
}

/** Label values a map may hold: the classes, and the dontcare class if any. @param {ModelCard} card */
export function valueCount(card) {
  return card.classes.length + (card.dontcare ? 1 : 0);
}

/**
 * The classes of `from` in `unmapped` (mapClasses) that a map holds: what
 * carrying it loses. `counts`: pixels of each label value (LabelMap.histogram).
 * @param {string[]} unmapped @param {ModelCard} from @param {ArrayLike<number>} counts
 */
export function lostClasses(unmapped, from, counts) {
  return unmapped.filter((name) => {
    const i = from.classes.findIndex((c) => c.name === name);
    return counts[i < 0 ? from.classes.length : i] > 0;
  });
}
