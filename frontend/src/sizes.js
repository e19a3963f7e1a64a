// @ts-check
// Canvas sizes: which sizes of map a model takes (its card's `sizes`, the
// server's max_pixels) and the few the page offers: native, a 2:1 panorama,
// 3:2 and twice native. The size is the map's own; nothing else holds it.

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {{width: number, height: number}} Size */
/** @typedef {{name: string, label: string, width: number, height: number}} SizeOption */

/**
 * A map wider than this (width / height) has more room with the image under
 * it than beside it (painter.css, `.panels.stacked`).
 */
export const STACK_FROM = 1.25;

/** Whether the model takes only its native size. Cards without `sizes` are read as fixed. @param {Pick<ModelCard, "sizes">} card */
export function fixedSize(card) {
  return card.sizes?.fixed !== false;
}

/** @param {Pick<ModelCard, "sizes">} card */
function multiple(card) {
  return Math.max(1, card.sizes?.multiple_of ?? 1);
}

/**
 * Whether a map of `size` can be posted to the model: its native size
 * always; otherwise, for models whose size is free, any size whose sides are
 * multiples of `multiple_of` and whose pixels are at most `maxPixels`.
 * @param {Pick<ModelCard, "native" | "sizes">} card @param {Size} size @param {number} maxPixels
 */
export function takesSize(card, { width, height }, maxPixels) {
  if (width === card.native.width && height === card.native.height) return true;
  if (fixedSize(card)) return false;
  const m = multiple(card);
  return width > 0 && height > 0 && width % m === 0 && height % m === 0 && width * height <= maxPixels;
}

/**
 * The sizes offered: native as it is; a 2:1 panorama and 3:2 on the native's
 * shorter side, and twice native, each side rounded to the nearest multiple
 * of `multiple_of` (at least one); those over `maxPixels` and repeats left
 * out. A fixed-size model is offered its native size alone.
 * @param {Pick<ModelCard, "native" | "sizes">} card @param {number} maxPixels
 * @returns {SizeOption[]}
 */
export function sizeOptions(card, maxPixels) {
  const { width, height } = card.native;
  const native = { name: "native", label: `native ${width}×${height}`, width, height };
  if (fixedSize(card)) return [native];
  const m = multiple(card);
  const round = (/** @type {number} */ v) => Math.max(1, Math.round(v / m)) * m;
  const short = Math.min(width, height);
  const candidates = [
    { name: "panorama", label: "panorama 2:1", width: round(2 * short), height: round(short) },
    { name: "3:2", label: "3:2", width: round(1.5 * short), height: round(short) },
    { name: "double", label: "2× native", width: round(2 * width), height: round(2 * height) },
  ];
  /** @type {SizeOption[]} */
  const options = [native];
  for (const c of candidates) {
    if (c.width * c.height > maxPixels || options.some((o) => o.width === c.width && o.height === c.height)) continue;
    options.push({ ...c, label: `${c.label} ${c.width}×${c.height}` });
  }
  return options;
}

/**
 * What the chooser lists: the options, and the map's own size after them
 * when it is none of them (a map opened at its own size).
 * @param {Pick<ModelCard, "native" | "sizes">} card @param {number} maxPixels @param {Size} current
 */
export function sizeChoices(card, maxPixels, current) {
  const options = sizeOptions(card, maxPixels);
  if (!options.some((o) => o.width === current.width && o.height === current.height)) {
    options.push({ name: "map", label: `this map ${current.width}×${current.height}`, width: current.width, height: current.height });
  }
  return options;
}

/** The value of a size in the chooser. @param {Size} size */
export function sizeValue({ width, height }) {
  return `${width}x${height}`;
}

/** @param {string} value @returns {Size | null} */
export function parseSizeValue(value) {
  const found = /^(\d+)x(\d+)$/.exec(value);
  return found ? { width: Number(found[1]), height: Number(found[2]) } : null;
}

/**
 * The canvas size chooser: a list for models whose size is free, a note
 * for the others.
 */
export class SizeChooser {
  /**
   * @param {HTMLSelectElement} select @param {HTMLElement} field what holds the list (hidden for fixed sizes)
   * @param {HTMLElement} note @param {(size: Size) => void} chosen told when the painter picks a size
   */
  constructor(select, field, note, chosen) {
    this.select = select;
    this.field = field;
    this.note = note;
    select.addEventListener("change", () => {
      const size = parseSizeValue(select.value);
      if (size) chosen(size);
    });
  }

  /** Shows the sizes `card` takes, `current` chosen. @param {ModelCard} card @param {number} maxPixels @param {Size} current */
  show(card, maxPixels, current) {
    const fixed = fixedSize(card);
    this.field.hidden = fixed;
    this.note.hidden = !fixed;
    this.note.textContent = fixed ? `This model makes only ${card.native.width}×${card.native.height} images.` : "";
    if (fixed) return;
    const choices = sizeChoices(card, maxPixels, current);
    this.select.replaceChildren(...choices.map((o) => new Option(o.label, sizeValue(o))));
    this.select.value = sizeValue(current);
  }
}
