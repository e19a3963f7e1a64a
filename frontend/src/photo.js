// @ts-check
// Photos into maps, and the files dropped on the map. "Open photo…" and a
// photo dropped on the map (a JPEG or WebP, or a colour PNG that is not in
// the palette's colours) go to a model's segmenter at the canvas size; the
// map it answers becomes the painting in one undo step. When the current
// model has no segmenter, another loaded model's reads the photo and its
// classes are carried over by name, as switching models carries a painting
// (classes.js). With no segmenter on the server, the button is hidden.

import * as api from "./api.js";
import { backgroundClass, lostClasses, mapClasses, valueCount } from "./classes.js";
import { LabelMap } from "./labelmap.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {import("./api.js").ModelSummary} ModelSummary */

/** @param {Uint8Array} bytes @param {number[]} magic @param {number} [at] */
function startsWith(bytes, magic, at = 0) {
  return bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b);
}

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * The media type of a photo from its first bytes: PNG, JPEG or WebP, or
 * null for anything else.
 * @param {Uint8Array} bytes
 */
export function photoType(bytes) {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return "image/webp";
  if (startsWith(bytes, PNG)) return "image/png";
  return null;
}

/**
 * What a file is, from its first bytes: "photo" (JPEG or WebP), "map" (a
 * grayscale or paletted PNG: class indices), "colour" (an RGB PNG: a map in
 * the palette's colours, an image saved here, or a photo; the server tells
 * them apart), or null.
 * @param {Uint8Array} bytes
 * @returns {"photo" | "map" | "colour" | null}
 */
export function fileKind(bytes) {
  const type = photoType(bytes);
  if (type === "image/jpeg" || type === "image/webp") return "photo";
  if (type !== "image/png" || bytes.length < 26) return null;
  // IHDR's colour type: 2 RGB, 6 RGBA; 0 and 4 gray, 3 paletted.
  return bytes[25] === 2 || bytes[25] === 6 ? "colour" : "map";
}

/**
 * The model whose segmenter reads photos for model `current`: its own, else
 * the first other loaded model that has one; null when none has.
 * @param {string} current @param {ModelSummary[]} models
 */
export function segmenterFor(current, models) {
  if (models.some((m) => m.name === current && m.has_segmenter)) return current;
  return models.find((m) => m.has_segmenter)?.name ?? null;
}

/**
 * A map that model `from`'s segmenter answered, in the classes of `to`:
 * as it is when they are one model, else carried by class name (then
 * COCO-Stuff name); classes with no match become `to`'s background class.
 * @param {{width: number, height: number, data: Uint8Array | Uint16Array}} read
 * @param {ModelCard} from @param {ModelCard} to
 * @returns {{map: LabelMap, lost: string[]}} the map, and the classes it held that `to` has no match for
 */
export function carryMap(read, from, to) {
  const map = new LabelMap(read.width, read.height, valueCount(from), read.data);
  if (from.name === to.name) return { map, lost: [] };
  const { table, unmapped } = mapClasses(from, to, backgroundClass(to));
  return { map: map.remapped(table, valueCount(to)), lost: lostClasses(unmapped, from, map.histogram()) };
}

/**
 * What the page says once a photo is the painting.
 * @param {{source: {width: number, height: number}, width: number, height: number,
 *   by: string, into: string, lost: string[], background: string}} opened
 *   by: the model whose segmenter read it; into: the current model
 */
export function photoNotice({ source, width, height, by, into, lost, background }) {
  const fitted = source.width === width && source.height === height ? "" : `, scaled to cover ${width}×${height} and centre-cropped`;
  let text = `Opened the photo (${source.width}×${source.height}) as a map${fitted}; undo brings the painting back.`;
  if (by !== into) {
    text += ` ${into} reads no photos, so ${by} read it and its classes were carried over by name`;
    text += lost.length ? `; ${lost.join(", ")} had no match here and became ${background}.` : ".";
  }
  return text;
}

/**
 * @typedef {{card: () => ModelCard | null, size: () => {width: number, height: number},
 *   replace: (map: LabelMap) => void, notice: (text: string) => void, error: (error: unknown) => void,
 *   hideError: () => void}} Page
 *   card: the current model; size: the canvas's; replace: makes a map the painting as one step
 */

export class PhotoOpener {
  /** @param {{button: HTMLButtonElement, input: HTMLInputElement}} elements @param {Page} page */
  constructor(elements, page) {
    this.elements = elements;
    this.page = page;
    /** The models loaded, as the model list gives them. @type {ModelSummary[]} */
    this.models = [];
    /** Cards of other models whose segmenters were used, by name. @type {Map<string, ModelCard>} */
    this.cards = new Map();
    elements.button.addEventListener("click", () => elements.input.click());
    elements.input.addEventListener("change", () => {
      const file = elements.input.files?.[0];
      elements.input.value = "";
      if (file) this.open(file);
    });
  }

  /** The models loaded; the button shows when one of them reads photos. @param {ModelSummary[]} models */
  setModels(models) {
    this.models = models;
    this.elements.button.hidden = !this.available;
  }

  /** Whether some loaded model reads photos. */
  get available() {
    return this.models.some((m) => m.has_segmenter === true);
  }

  /** Makes the map of the photo in `file` the painting, as one undoable step. @param {Blob} file */
  async open(file) {
    const card = this.page.card();
    const by = card && segmenterFor(card.name, this.models);
    if (!card || !by) return this.page.error(new Error("No model on this server reads photos into maps."));
    this.elements.button.disabled = true;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const type = photoType(bytes);
      if (!type) throw new Error("This file is not a photo: open a JPEG, PNG or WebP.");
      const { width, height } = this.page.size();
      const read = await api.segment(by, new Blob([bytes], { type }), { width, height });
      const from = by === card.name ? card : await this.card(by);
      if (this.page.card() !== card) return; // the model changed meanwhile
      const { map, lost } = carryMap(read, from, card);
      this.page.replace(map);
      this.page.hideError();
      const source = { width: read.sourceWidth, height: read.sourceHeight };
      const background = card.classes[backgroundClass(card)].name;
      this.page.notice(photoNotice({ source, width, height, by, into: card.name, lost, background }));
    } catch (error) {
      this.page.error(error);
    } finally {
      this.elements.button.disabled = false;
    }
  }

  /** Another model's card, fetched once. @param {string} name */
  async card(name) {
    let card = this.cards.get(name);
    if (!card) {
      card = await api.modelCard(name);
      this.cards.set(name, card);
    }
    return card;
  }

  /**
   * Takes the files dropped on `panel`: a photo opens here; anything else
   * goes to `openMap`, told whether a colour PNG off the palette is to be
   * opened as a photo instead.
   * @param {HTMLElement} panel @param {(file: Blob, photoIfOffPalette: boolean) => void} openMap
   */
  takeDrops(panel, openMap) {
    panel.addEventListener("dragover", (event) => {
      event.preventDefault();
      panel.classList.add("dropping");
    });
    panel.addEventListener("dragleave", () => panel.classList.remove("dropping"));
    panel.addEventListener("drop", async (event) => {
      event.preventDefault();
      panel.classList.remove("dropping");
      const file = event.dataTransfer?.files[0];
      if (!file) return;
      const kind = fileKind(new Uint8Array(await file.slice(0, 32).arrayBuffer()));
      if (kind === "photo") this.open(file);
      else openMap(file, kind === "colour" && this.available);
    });
  }
}
