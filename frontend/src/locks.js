// @ts-check
// Class locks: the classes no tool paints over. They are a table by label
// value that the map's painting methods (labelmap.js) read, and a setting of
// the page, not of the painting: undo leaves them as they are.

import { mapClasses } from "./classes.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */

export class ClassLocks {
  /** @param {number} values label values of the model (classes, plus dontcare) */
  constructor(values) {
    /** 1 for each locked label value: what LabelMap's `locked` argument takes. */
    this.table = new Uint8Array(values);
  }

  /** @param {number} cls */
  has(cls) {
    return this.table[cls] === 1;
  }

  /** @param {number} cls */
  toggle(cls) {
    this.table[cls] ^= 1;
  }

  /**
   * These locks on another model's classes: a locked class stays locked
   * where the painting carries it (same name, then same COCO-Stuff name; see
   * mapClasses), so the regions it covered stay protected. A class with no
   * match locks nothing: what it becomes there is the fallback class.
   * @param {ModelCard} from the model these locks are for
   * @param {ModelCard} to
   * @param {number} values label values of `to`
   */
  carried(from, to, values) {
    const { table } = mapClasses(from, to, -1);
    const out = new ClassLocks(values);
    this.table.forEach((locked, cls) => {
      if (locked && table[cls] >= 0) out.table[table[cls]] = 1;
    });
    return out;
  }
}
