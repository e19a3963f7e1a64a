// @ts-check
// The images the page was sent, by what was posted for them (imageKey), so
// that undo, redo and going back to an example show the known image at once
// with no request. Bounded by count and bytes: the least recently used go
// first and their blob: URLs are revoked, but never the image shown nor the
// newest.

import { latin1 } from "./png.js";

/** @typedef {import("./recipe.js").Recipe} Recipe */
/** @typedef {import("./api.js").ServerTimes} ServerTimes */
/**
 * @typedef {{key: string, image: Blob, url: string, bytes: number, recipe: Recipe, times: ServerTimes}} KnownImage
 *   bytes: what it holds in memory, the image and its key
 */

/** A style image is the same style only as the same Blob: ids by identity. @type {WeakMap<Blob, number>} */
const styleIds = new WeakMap();
let nextStyleId = 1;

/**
 * The key of a request: every field of its recipe but the answer's headers,
 * and the style image by identity. The map and masks go in as their PNG
 * bytes (deterministic: same map, same bytes), so equal keys are equal
 * requests, never a hash's near miss.
 * @param {Recipe} recipe @param {Blob | null} style the style image posted, if any
 */
export function imageKey(recipe, style) {
  let styleId = null;
  if (style) {
    styleId = styleIds.get(style) ?? nextStyleId++;
    styleIds.set(style, styleId);
  }
  const { model, width, height, seed, preset, label, regions } = recipe;
  const head = JSON.stringify([model, width, height, seed, preset, styleId, label.length, regions.map((r) => [r.seed, r.mask.length])]);
  // The lengths in the head make the joined bytes unambiguous.
  return [head, latin1(label), ...regions.map((r) => latin1(r.mask))].join("\n");
}

export class ImageCache {
  /**
   * @param {{entries: number, bytes: number}} limits
   * @param {{create: (image: Blob) => string, revoke: (url: string) => void}} [urls] blob: URLs (a test passes its own)
   */
  constructor(limits, urls = { create: (image) => URL.createObjectURL(image), revoke: (url) => URL.revokeObjectURL(url) }) {
    this.limits = limits;
    this.urls = urls;
    /** Least recently used first: a Map iterates in insertion order. @type {Map<string, KnownImage>} */
    this.entries = new Map();
    this.bytes = 0;
    /** The key of the image shown, never evicted. @type {string | null} */
    this.shown = null;
  }

  /** The image known for `key`, now the most recently used. @param {string} key */
  get(key) {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /**
   * Keeps `image` for `key`, with a blob: URL to show it by. A key already
   * known keeps its first image (two requests for one key were in flight):
   * its URL may be on the page.
   * @param {string} key @param {Blob} image @param {{recipe: Recipe, times: ServerTimes}} about
   * @returns {KnownImage}
   */
  put(key, image, about) {
    const known = this.get(key);
    if (known) return known;
    const entry = { ...about, key, image, url: this.urls.create(image), bytes: image.size + key.length };
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    this.evict();
    return entry;
  }

  /** Marks `key` as the image shown: it stays while shown. @param {string | null} key */
  show(key) {
    this.shown = key;
    if (key !== null) this.get(key);
    this.evict();
  }

  /** Drops the least recently used until within the limits, sparing the shown and the newest. */
  evict() {
    const newest = [...this.entries.keys()].at(-1);
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.limits.entries && this.bytes <= this.limits.bytes) return;
      if (key === this.shown || key === newest) continue;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
      this.urls.revoke(entry.url);
    }
  }
}
