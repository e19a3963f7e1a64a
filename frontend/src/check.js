// @ts-check
// Check: the image just made goes back through a segmenter (the current
// model's, else another loaded model's, its classes carried by name as
// photo.js carries them), and the page shades where the segmented class
// differs from the painted one, with a per-class agreement list. Requests
// run one at a time, the newest winning (live.js). The pure parts are the
// agreement counts and the overlay's RGBA mask.

import * as api from "./api.js";
import { mapClasses } from "./classes.js";
import { LiveSynthesis } from "./live.js";
import { decodeIndexPng } from "./png.js";
import { segmenterFor } from "./photo.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {import("./api.js").ModelSummary} ModelSummary */
/** @typedef {{cls: number, pixels: number, agree: number}} Agreement */

/**
 * Per painted class (below `classes`; others, such as don't-care, are
 * skipped): how many pixels it has and how many of them the segmenter read
 * as that class, after `table` (segmented value → painted class, -1 for no
 * match; null: the same classes). Most pixels first, then by class.
 * @param {ArrayLike<number>} painted @param {ArrayLike<number>} segmented
 * @param {ArrayLike<number> | null} table @param {number} classes
 * @returns {Agreement[]}
 */
export function agreement(painted, segmented, table, classes) {
  if (painted.length !== segmented.length) throw new Error("the maps differ in size");
  const pixels = new Uint32Array(classes), agree = new Uint32Array(classes);
  for (let i = 0; i < painted.length; i++) {
    const p = painted[i];
    if (p >= classes) continue;
    pixels[p]++;
    const s = table ? (table[segmented[i]] ?? -1) : segmented[i];
    if (s === p) agree[p]++;
  }
  /** @type {Agreement[]} */
  const out = [];
  for (let c = 0; c < classes; c++) if (pixels[c]) out.push({ cls: c, pixels: pixels[c], agree: agree[c] });
  return out.sort((a, b) => b.pixels - a.pixels || a.cls - b.cls);
}

/**
 * The overlay's RGBA pixels: `colour` where a painted class (below
 * `classes`) was segmented as another, transparent elsewhere.
 * @param {ArrayLike<number>} painted @param {ArrayLike<number>} segmented
 * @param {ArrayLike<number> | null} table @param {number} classes
 * @param {[number, number, number, number]} [colour]
 * @returns {Uint8ClampedArray<ArrayBuffer>}
 */
export function mismatchMask(painted, segmented, table, classes, colour = [255, 0, 200, 140]) {
  const rgba = new Uint8ClampedArray(painted.length * 4);
  for (let i = 0; i < painted.length; i++) {
    const p = painted[i];
    if (p >= classes) continue;
    const s = table ? (table[segmented[i]] ?? -1) : segmented[i];
    if (s !== p) rgba.set(colour, 4 * i);
  }
  return rgba;
}

/** "water: 41% rendered as water". @param {string} name @param {Agreement} a */
export function agreementText(name, a) {
  return `${name}: ${Math.round((100 * a.agree) / a.pixels)}% rendered as ${name}`;
}

/**
 * @typedef {{toggle: HTMLInputElement, field: HTMLElement, overlay: HTMLCanvasElement, list: HTMLUListElement}} CheckElements
 * @typedef {{card: ModelCard, image: Blob, label: Uint8Array<ArrayBuffer>}} Shown
 * @typedef {{rgba: Uint8ClampedArray<ArrayBuffer>, width: number, height: number, items: string[]}} CheckResult
 */

export class Checker {
  /** @param {CheckElements} elements @param {(error: unknown) => void} fail */
  constructor(elements, fail) {
    this.elements = elements;
    /** @type {ModelSummary[]} */
    this.models = [];
    /** @type {Map<string, ModelCard>} */
    this.cards = new Map();
    /** @type {Shown | null} */
    this.shown = null;
    /** @type {LiveSynthesis<CheckResult | null>} */
    this.live = new LiveSynthesis({
      interval: 0,
      send: (signal) => this.run(signal),
      show: (result) => this.draw(result),
      fail,
      busy: () => {},
    });
    elements.toggle.checked = false;
    elements.toggle.addEventListener("change", () => this.update());
  }

  /** The models loaded; the toggle shows when one of them has a segmenter. @param {ModelSummary[]} models */
  setModels(models) {
    this.models = models;
    this.elements.field.hidden = !models.some((m) => m.has_segmenter === true);
  }

  /** The image shown changed (null: none). @param {Shown | null} shown */
  show(shown) {
    this.shown = shown;
    this.update();
  }

  update() {
    if (!this.elements.toggle.checked || !this.shown) this.draw(null);
    if (this.elements.toggle.checked) this.live.changed(true);
  }

  /** @param {AbortSignal} signal @returns {Promise<CheckResult | null>} */
  async run(signal) {
    const shown = this.shown;
    if (!shown || !this.elements.toggle.checked) return null;
    const { card, image, label } = shown;
    const by = segmenterFor(card.name, this.models);
    if (!by) return null;
    const painted = await decodeIndexPng(label);
    const { width, height } = painted;
    // Generated images are read by the judge, as `easel test --evaluate` scores them.
    const read = await api.segment(by, new Blob([image], { type: "image/png" }), { width, height, judge: true }, signal);
    let table = null;
    if (by !== card.name) {
      let from = this.cards.get(by);
      if (!from) this.cards.set(by, (from = await api.modelCard(by)));
      table = mapClasses(from, card, -1).table;
    }
    if (shown !== this.shown) return null;
    const classes = card.classes.length;
    const items = agreement(painted.data, read.data, table, classes).map((a) => agreementText(card.classes[a.cls].name, a));
    return { rgba: mismatchMask(painted.data, read.data, table, classes), width, height, items };
  }

  /** @param {CheckResult | null} result */
  draw(result) {
    const { overlay, list, toggle } = this.elements;
    if (!result || !toggle.checked) {
      overlay.hidden = list.hidden = true;
      list.replaceChildren();
      return;
    }
    overlay.width = result.width;
    overlay.height = result.height;
    const context = /** @type {CanvasRenderingContext2D} */ (overlay.getContext("2d"));
    context.putImageData(new ImageData(new Uint8ClampedArray(result.rgba), result.width, result.height), 0, 0);
    list.replaceChildren(...result.items.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
    overlay.hidden = list.hidden = false;
  }
}
