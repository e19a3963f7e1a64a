// @ts-check
// Re-rolled regions, for models that take z per pixel (OASIS): a map of
// region ids (0 = none) and each id's seed, id k's z drawn from seeds[k - 1].
// Each stroke takes a new id over older ones, so a pixel's z comes from the
// last stroke that covered it, as the server reads later regions over earlier.
// A Rerolls is never changed once made: undo steps share it.

import { LabelMap } from "./labelmap.js";

/** Region ids a map can hold: 16 bits, 0 for "not re-rolled". */
const ID_VALUES = 0x10000;

export class Rerolls {
  /**
   * @param {LabelMap | null} regions region ids, or null for none
   * @param {readonly number[]} seeds seeds[k - 1] is region k's
   */
  constructor(regions, seeds) {
    this.regions = regions;
    this.seeds = seeds;
  }

  /** Nothing re-rolled: the whole image takes the style seed's z. */
  static none = new Rerolls(null, []);

  /**
   * Re-rolls read back (from storage) for `map`, or none when they do not fit it.
   * @param {{width: number, height: number}} map @param {Uint8Array | Uint16Array} ids @param {unknown} seeds
   */
  static read(map, ids, seeds) {
    const fine =
      ids instanceof Uint16Array &&
      Array.isArray(seeds) &&
      seeds.every((seed) => Number.isInteger(seed) && seed >= 0) &&
      ids.length === map.width * map.height &&
      ids.every((id) => id <= seeds.length);
    return fine ? new Rerolls(new LabelMap(map.width, map.height, ID_VALUES, ids), seeds) : Rerolls.none;
  }

  /**
   * Re-rolls from the masks a request posted (masks(), or a saved image's):
   * region k + 1 where mask k is nonzero, later masks over earlier, as the
   * server reads them. None when a mask is not of the map's size.
   * @param {{width: number, height: number}} map
   * @param {readonly {mask: ArrayLike<number>, seed: number}[]} regions
   */
  static fromMasks(map, regions) {
    const size = map.width * map.height;
    if (regions.length === 0 || regions.length >= ID_VALUES || regions.some(({ mask }) => mask.length !== size)) {
      return Rerolls.none;
    }
    const ids = new Uint16Array(size);
    regions.forEach(({ mask }, k) => {
      for (let i = 0; i < size; i++) if (mask[i]) ids[i] = k + 1;
    });
    const seeds = regions.map((r) => r.seed);
    const kept = compact(new LabelMap(map.width, map.height, ID_VALUES, ids), seeds);
    return kept.seeds.length ? Rerolls.read(map, kept.regions.data, kept.seeds) : Rerolls.none;
  }

  /** True when nothing is re-rolled: the newest region always has pixels (a stroke that paints none is not kept). */
  get empty() {
    return this.seeds.length === 0;
  }

  /** Whether these regions belong to a map of this size (no regions fit any). @param {{width: number, height: number}} map */
  fits(map) {
    return !this.regions || (this.regions.width === map.width && this.regions.height === map.height);
  }

  /**
   * The regions scaled with their map to `width`×`height` by the map's
   * nearest rule (LabelMap.resized), so each keeps its place in the picture.
   * A region too thin to keep a pixel goes with its seed; `lost` counts them.
   * @param {number} width @param {number} height
   * @returns {{rerolls: Rerolls, lost: number}}
   */
  resized(width, height) {
    if (!this.regions) return { rerolls: this, lost: 0 };
    const showing = compact(this.regions, this.seeds).seeds.length;
    const { regions, seeds } = compact(this.regions.resized(width, height), this.seeds);
    return { rerolls: seeds.length ? new Rerolls(regions, seeds) : Rerolls.none, lost: showing - seeds.length };
  }

  /**
   * A copy with one more region, drawn from `seed`, for a stroke to paint
   * into: `regions` is the copy's own map (this one's may be in undo steps)
   * and `id` the value to paint. Regions painted over entirely are dropped
   * and the rest renumbered in order, so ids run out only with 65,535
   * regions showing at once.
   * @param {{width: number, height: number}} map the label map painted on
   * @param {number} seed
   */
  withRegion(map, seed) {
    const { regions, seeds } =
      this.regions && this.fits(map)
        ? compact(this.regions, this.seeds)
        : { regions: new LabelMap(map.width, map.height, ID_VALUES), seeds: /** @type {number[]} */ ([]) };
    seeds.push(seed);
    return { rerolls: new Rerolls(regions, seeds), regions, id: seeds.length };
  }

  /**
   * The regions that still have pixels, in stroke order, each as a 0/1 mask
   * of the map's size (what `region_mask` takes) with its seed.
   * @returns {{mask: Uint8Array<ArrayBuffer>, seed: number}[]}
   */
  masks() {
    if (!this.regions) return [];
    const { data } = this.regions;
    /** @type {(Uint8Array<ArrayBuffer> | undefined)[]} */
    const masks = [];
    for (let i = 0; i < data.length; i++) {
      const id = data[i];
      if (id) (masks[id - 1] ??= new Uint8Array(data.length))[i] = 1;
    }
    return this.seeds.flatMap((seed, k) => {
      const mask = masks[k];
      return mask ? [{ mask, seed }] : [];
    });
  }
}

/**
 * The ids still on the map renumbered 1, 2, … in their order, with their seeds.
 * @param {LabelMap} regions @param {readonly number[]} seeds
 */
function compact(regions, seeds) {
  const table = new Uint16Array(seeds.length + 1);
  for (const id of regions.data) table[id] = 1;
  table[0] = 0;
  /** @type {number[]} */
  const kept = [];
  for (let id = 1; id <= seeds.length; id++) {
    if (!table[id]) continue;
    kept.push(seeds[id - 1]);
    table[id] = kept.length;
  }
  return { regions: regions.remapped(table, ID_VALUES), seeds: kept };
}

/**
 * Lightens diagonal bands across the re-rolled regions, shifted per region
 * so that neighbouring strokes show apart; drawn only while re-rolling, so
 * the map otherwise shows the class colours alone.
 * @param {Uint32Array} pixels @param {LabelMap} regions
 */
export function hatch(pixels, regions) {
  const { width, data } = regions;
  for (let i = 0; i < data.length; i++) {
    const id = data[i];
    if (!id) continue;
    const x = i % width, y = (i - x) / width;
    if ((x + y + 3 * id) & 4) pixels[i] = lighten(pixels[i]);
  }
}

/** An RGBA pixel (as a little-endian Uint32) 45% of the way to white. @param {number} pixel */
function lighten(pixel) {
  let out = pixel & 0xff000000;
  for (let shift = 0; shift < 24; shift += 8) {
    const v = (pixel >>> shift) & 0xff;
    out |= Math.round(v + (255 - v) * 0.45) << shift;
  }
  return out >>> 0;
}
