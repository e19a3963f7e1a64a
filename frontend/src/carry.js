// @ts-check
// Carrying a painting to another model: the map and every undo step are
// converted by class (same name, then same COCO-Stuff name; classes.js) and
// resized to the new model's size. Re-rolls were the old model's noise and go.

import { lostClasses, mapClasses, valueCount } from "./classes.js";
import { Rerolls } from "./rerolls.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {import("./labelmap.js").LabelMap} LabelMap */
/** @typedef {import("./storage.js").Painting} Painting */

/**
 * Converts `current` and, in place, the steps of `history` from model `from`
 * to model `to`.
 * @param {import("./history.js").History<Painting>} history
 * @param {Painting} current
 * @param {ModelCard} from @param {ModelCard} to
 * @param {number} fallback the class of `to` that classes without a match become
 * @returns {{painting: Painting, table: Int32Array, lost: string[]}} the painting
 *   converted, the class table used, and the painted classes that had no match
 */
export function carryPainting(history, current, from, to, fallback) {
  const { table, unmapped } = mapClasses(from, to, fallback);
  const values = valueCount(to);
  const { width, height } = to.native;
  // Steps that shared a map share its conversion.
  /** @type {Map<LabelMap, LabelMap>} */
  const converted = new Map();
  /** @param {LabelMap} map */
  const convert = (map) => {
    let out = converted.get(map);
    if (!out) {
      const moved = map.remapped(table, values);
      out = moved.width === width && moved.height === height ? moved : moved.resized(width, height);
      converted.set(map, out);
    }
    return out;
  };
  const lost = lostClasses(unmapped, from, current.map.histogram());
  // Without the re-rolls, steps that only re-rolled would undo to nothing new: they go too.
  const painting = history.rewrite(
    current,
    (step) => ({ map: convert(step.map), rerolls: Rerolls.none }),
    (a, b) => a.map === b.map,
  );
  return { painting, table, lost };
}
