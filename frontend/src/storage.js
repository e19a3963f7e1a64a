// @ts-check
// The painting survives a reload: each model's map, at its canvas size,
// with its re-rolls, in the browser's local storage.

import { LabelMap } from "./labelmap.js";
import { latin1 } from "./png.js";
import { Rerolls } from "./rerolls.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {{map: LabelMap, rerolls: Rerolls}} Painting */

/** @param {string} model */
const storageKey = (model) => `easel.map.${model}`;

/** Saves `painting` as model `model`'s. @param {string} model @param {Painting} painting */
export function savePainting(model, { map, rerolls }) {
  const saved = {
    width: map.width,
    height: map.height,
    wide: map.data instanceof Uint16Array,
    data: base64(map.data),
    // Without its re-rolls the painting would come back as another image.
    rerolls: rerolls.regions && rerolls.fits(map) ? { data: base64(rerolls.regions.data), seeds: rerolls.seeds } : null,
  };
  try {
    localStorage.setItem(storageKey(model), JSON.stringify(saved));
  } catch {
    // Storage full or disabled: the painting still lives in the page.
  }
}

/**
 * The painting saved for this model, if it still fits its card.
 * @param {ModelCard} card @param {number} values label values the model takes
 * @param {(size: {width: number, height: number}) => boolean} takes whether the model takes a map of this size
 * @returns {Painting | null}
 */
export function loadPainting(card, values, takes) {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(card.name)) ?? "null");
    if (!saved || !Number.isInteger(saved.width) || !Number.isInteger(saved.height) || !takes(saved)) return null;
    const data = fromBase64(saved.data, saved.wide);
    if (data.some((v) => v >= values)) return null;
    const map = new LabelMap(saved.width, saved.height, values, data);
    const rerolls = card.z_per_pixel && saved.rerolls ? Rerolls.read(map, fromBase64(saved.rerolls.data, true), saved.rerolls.seeds) : Rerolls.none;
    return { map, rerolls };
  } catch {
    return null;
  }
}

/** @param {Uint8Array | Uint16Array} data */
function base64(data) {
  return btoa(latin1(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
}

/** @param {string} text @param {boolean} wide @returns {Uint8Array | Uint16Array} */
function fromBase64(text, wide) {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return wide ? new Uint16Array(bytes.buffer) : bytes;
}
