// @ts-check
// Canvas sizes: which sizes of map a model takes (its card's `sizes`, the
// server's max_pixels) and the few the page offers, as the server lists them
// (native, a 2:1 panorama, 3:2 and twice native; it warms them up). The size
// is the map's own; nothing else holds it.

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {{width: number, height: number}} Size */
/** @typedef {{name: string, label: string, width: number, height: number}} SizeOption */
/** @typedef {import("./api.js").CanvasSize} CanvasSize */

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
 * A preview's sides against the map's. Three quarters (about half the
 * pixels): the default model's previews at half size read back at 0.837
 * (judge segmenter, held-out renderer scenes, scaled back up), under the
 * 0.85 a preview must keep; at three quarters 0.890 (docs/benchmarks.md).
 */
export const PREVIEW_SCALE = 0.75;

/**
 * The size of a preview of a `size` map (asked for while the pointer is
 * down): PREVIEW_SCALE of each side, rounded to the model's multiple and at
 * least one multiple, so it is a size the model takes; null for fixed-size
 * models, whose only size is native, and when it would be no smaller.
 * @param {Pick<ModelCard, "sizes">} card @param {Size} size
 * @returns {Size | null}
 */
export function previewSize(card, { width, height }) {
  if (fixedSize(card)) return null;
  const m = multiple(card);
  const scaled = (/** @type {number} */ side) => Math.max(m, Math.round((side * PREVIEW_SCALE) / m) * m);
  const preview = { width: scaled(width), height: scaled(height) };
  return preview.width * preview.height < width * height ? preview : null;
}

/** What each of the server's canvas sizes is called in the chooser. */
const LABELS = /** @type {Record<string, string>} */ ({ native: "native", panorama: "panorama 2:1", "3:2": "3:2", double: "2× native" });

/**
 * The sizes offered: the server's `canvas_sizes` for the model (the rule
 * lives there, in ModelCard::canvas_sizes: native, a 2:1 panorama, 3:2 and
 * twice native within max_pixels), labelled; the native size alone when
 * the server gives none.
 * @param {Pick<ModelCard, "native">} card @param {CanvasSize[] | undefined} canvasSizes
 * @returns {SizeOption[]}
 */
export function sizeOptions(card, canvasSizes) {
  const { width, height } = card.native;
  const sizes = canvasSizes?.length ? canvasSizes : [{ name: "native", width, height }];
  return sizes.map((s) => ({ ...s, label: `${LABELS[s.name] ?? s.name} ${s.width}×${s.height}` }));
}

/**
 * What the chooser lists: the options, and the map's own size after them
 * when it is none of them (a map opened at its own size).
 * @param {Pick<ModelCard, "native">} card @param {CanvasSize[] | undefined} canvasSizes @param {Size} current
 */
export function sizeChoices(card, canvasSizes, current) {
  const options = sizeOptions(card, canvasSizes);
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

  /**
   * Shows the sizes `card` takes, `current` chosen.
   * @param {ModelCard} card @param {CanvasSize[] | undefined} canvasSizes the server's for it @param {Size} current
   */
  show(card, canvasSizes, current) {
    const fixed = fixedSize(card);
    this.field.hidden = fixed;
    this.note.hidden = !fixed;
    this.note.textContent = fixed ? `This model makes only ${card.native.width}×${card.native.height} images.` : "";
    if (fixed) return;
    const choices = sizeChoices(card, canvasSizes, current);
    this.select.replaceChildren(...choices.map((o) => new Option(o.label, sizeValue(o))));
    this.select.value = sizeValue(current);
  }
}
