// @ts-check
// The painted map: one class index per pixel, never a colour. Every tool
// writes whole indices, so nothing is anti-aliased and what is posted is
// exactly what was painted. Each painting method takes `locked`, a table by
// label value (locks.js): pixels of a locked class are never overwritten.

/** No class locked. */
const NONE = new Uint8Array(0);

export class LabelMap {
  /**
   * @param {number} width
   * @param {number} height
   * @param {number} values label values the model takes (classes, plus dontcare)
   * @param {Uint8Array | Uint16Array} [data]
   */
  constructor(width, height, values, data) {
    this.width = width;
    this.height = height;
    this.values = values;
    const size = width * height;
    if (data && data.length !== size) {
      throw new Error(`a ${width}×${height} map needs ${size} values, not ${data.length}`);
    }
    /** @type {Uint8Array | Uint16Array} */
    this.data = data ?? (values > 256 ? new Uint16Array(size) : new Uint8Array(size));
  }

  clone() {
    return new LabelMap(this.width, this.height, this.values, this.data.slice());
  }

  /** @param {LabelMap} other */
  equals(other) {
    if (other.width !== this.width || other.height !== this.height) return false;
    for (let i = 0; i < this.data.length; i++) if (this.data[i] !== other.data[i]) return false;
    return true;
  }

  /** @param {number} x @param {number} y */
  get(x, y) {
    return this.data[y * this.width + x];
  }

  /** Every pixel not of a locked class becomes `cls`. @param {number} cls @param {ArrayLike<number>} [locked] */
  clear(cls, locked = NONE) {
    const { data } = this;
    for (let i = 0; i < data.length; i++) if (!locked[data[i]]) data[i] = cls;
  }

  /**
   * Paints the pixels whose centres lie within `size / 2` of the segment
   * between the centres of pixels (x0, y0) and (x1, y1).
   * @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1
   * @param {number} size brush diameter in map pixels
   * @param {number} cls
   * @param {ArrayLike<number>} [locked]
   * @returns {number} pixels changed
   */
  paintSegment(x0, y0, x1, y1, size, cls, locked = NONE) {
    const r = size / 2;
    const ax = x0 + 0.5, ay = y0 + 0.5, bx = x1 + 0.5, by = y1 + 0.5;
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const left = Math.max(0, Math.floor(Math.min(ax, bx) - r));
    const right = Math.min(this.width - 1, Math.ceil(Math.max(ax, bx) + r));
    const top = Math.max(0, Math.floor(Math.min(ay, by) - r));
    const bottom = Math.min(this.height - 1, Math.ceil(Math.max(ay, by) + r));
    let changed = 0;
    for (let y = top; y <= bottom; y++) {
      for (let x = left; x <= right; x++) {
        const px = x + 0.5, py = y + 0.5;
        const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
        const ex = px - (ax + t * dx), ey = py - (ay + t * dy);
        if (ex * ex + ey * ey <= r * r) {
          const i = y * this.width + x;
          if (this.data[i] !== cls && !locked[this.data[i]]) {
            this.data[i] = cls;
            changed++;
          }
        }
      }
    }
    return changed;
  }

  /**
   * Flood fill of the 4-connected region of (x, y)'s class, unless that class is locked.
   * @param {number} x @param {number} y @param {number} cls @param {ArrayLike<number>} [locked]
   * @returns {number} pixels changed
   */
  fill(x, y, cls, locked = NONE) {
    const { width, height, data } = this;
    const from = data[y * width + x];
    if (from === cls || locked[from]) return 0;
    let changed = 0;
    const stack = [y * width + x];
    while (stack.length) {
      const i = /** @type {number} */ (stack.pop());
      if (data[i] !== from) continue;
      // Walk left and right along the row, then queue the rows above and below.
      const row = i - (i % width);
      let l = i, r = i;
      while (l > row && data[l - 1] === from) l--;
      while (r < row + width - 1 && data[r + 1] === from) r++;
      for (let j = l; j <= r; j++) {
        data[j] = cls;
        changed++;
        if (j >= width && data[j - width] === from) stack.push(j - width);
        if (j < (height - 1) * width && data[j + width] === from) stack.push(j + width);
      }
    }
    return changed;
  }

  /**
   * Paints `cls` where `mask` (a 0/1 map of this size) is 1.
   * @param {ArrayLike<number>} mask @param {number} cls @param {ArrayLike<number>} [locked]
   * @returns {number} pixels changed
   */
  paintMask(mask, cls, locked = NONE) {
    const { data } = this;
    let changed = 0;
    for (let i = 0; i < data.length; i++) {
      if (mask[i] && data[i] !== cls && !locked[data[i]]) {
        data[i] = cls;
        changed++;
      }
    }
    return changed;
  }

  /**
   * Nearest-neighbour resize by the server's (and PyTorch's) rule:
   * source = ⌊dst · (in / out)⌋ in float32.
   * @param {number} width @param {number} height
   */
  resized(width, height) {
    const out = new LabelMap(width, height, this.values);
    /** @param {number} dst @param {number} input @param {number} output */
    const src = (dst, input, output) =>
      Math.min(input - 1, Math.floor(Math.fround(dst * Math.fround(input / output))));
    for (let y = 0; y < height; y++) {
      const sy = src(y, this.height, height);
      for (let x = 0; x < width; x++) {
        const sx = src(x, this.width, width);
        out.data[y * width + x] = this.data[sy * this.width + sx];
      }
    }
    return out;
  }

  /** Each value replaced by `table[value]`, for another model's classes. @param {ArrayLike<number>} table @param {number} values */
  remapped(table, values) {
    const out = new LabelMap(this.width, this.height, values);
    for (let i = 0; i < this.data.length; i++) out.data[i] = table[this.data[i]];
    return out;
  }

  /** How many pixels hold each value. */
  histogram() {
    const counts = new Uint32Array(this.values);
    for (const v of this.data) counts[v]++;
    return counts;
  }
}
