// @ts-check
// The painting page: wires the label map, the tools, the palette and live
// synthesis to the DOM. The map is class indices (labelmap.js); the canvas
// only shows it in the class colours. Models with z per pixel also take
// re-rolled regions (rerolls.js), which undo covers with the map; models
// that ship style presets show them in the Style panel (presets.js).

import * as api from "./api.js";
import { backgroundClass, colorTable, cocoName, mapClasses, paletteOrder } from "./classes.js";
import { History } from "./history.js";
import { LabelMap } from "./labelmap.js";
import { LiveSynthesis } from "./live.js";
import { encodeIndexPng } from "./png.js";
import { PresetStrip, styleOptions } from "./presets.js";
import { Rerolls, hatch } from "./rerolls.js";
import { loadPainting, savePainting } from "./storage.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {"brush" | "fill" | "eraser" | "pick" | "reroll"} Tool */
/**
 * What undo restores: the map and its re-rolls. Once a step is recorded its
 * objects are never changed, so neighbouring steps share what they did not change.
 * @typedef {import("./storage.js").Painting} Painting
 */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{new (): T}} type
 * @returns {T}
 */
function el(id, type) {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no #${id}`);
  return found;
}

const ui = {
  model: el("model", HTMLSelectElement),
  example: el("example", HTMLSelectElement),
  openMap: el("open-map", HTMLButtonElement),
  mapFile: el("map-file", HTMLInputElement),
  saveMap: el("save-map", HTMLButtonElement),
  saveImage: el("save-image", HTMLButtonElement),
  error: el("error", HTMLDivElement),
  errorText: el("error-text", HTMLSpanElement),
  errorNearest: el("error-nearest", HTMLButtonElement),
  errorClose: el("error-close", HTMLButtonElement),
  notice: el("notice", HTMLDivElement),
  noticeText: el("notice-text", HTMLSpanElement),
  noticeClose: el("notice-close", HTMLButtonElement),
  currentSwatch: el("current-swatch", HTMLSpanElement),
  currentName: el("current-name", HTMLSpanElement),
  size: el("size", HTMLInputElement),
  sizeValue: el("size-value", HTMLOutputElement),
  background: el("background", HTMLSelectElement),
  undo: el("undo", HTMLButtonElement),
  redo: el("redo", HTMLButtonElement),
  clear: el("clear", HTMLButtonElement),
  rerollTool: el("reroll-tool", HTMLButtonElement),
  resetRerolls: el("reset-rerolls", HTMLButtonElement),
  style: el("style", HTMLDivElement),
  stylePresets: el("style-presets", HTMLDivElement),
  seed: el("seed", HTMLInputElement),
  variation: el("variation", HTMLButtonElement),
  styleImage: el("style-image", HTMLDivElement),
  styleFile: el("style-file", HTMLInputElement),
  stylePreview: el("style-preview", HTMLImageElement),
  styleClear: el("style-clear", HTMLButtonElement),
  canvas: el("map", HTMLCanvasElement),
  mapPanel: el("map-panel", HTMLElement),
  result: el("result", HTMLImageElement),
  busy: el("busy", HTMLSpanElement),
  latency: el("latency", HTMLSpanElement),
  search: el("class-search", HTMLInputElement),
  palette: el("palette", HTMLUListElement),
};

const context = /** @type {CanvasRenderingContext2D} */ (ui.canvas.getContext("2d"));

const state = {
  /** @type {ModelCard | null} */
  card: null,
  map: new LabelMap(1, 1, 1),
  /** Regions with their own noise; only sent to models with z per pixel. */
  rerolls: Rerolls.none,
  /** @type {History<Painting>} */
  history: new History(100),
  /** @type {Tool} */
  tool: "brush",
  cls: 0,
  background: 0,
  /** @type {Uint32Array} */
  colors: new Uint32Array(1),
  /** @type {Blob | null} */
  style: null,
  /** @type {Blob | null} */
  image: null,
  /** The last point painted, where a shift-click line starts. @type {{x: number, y: number} | null} */
  last: null,
  /** The file an off-palette error was about, to retry with nearest colours. @type {Blob | null} */
  offPalette: null,
};

// ---- messages -------------------------------------------------------------

/** @param {unknown} error */
function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

/** @param {unknown} error @param {Blob | null} [offPalette] */
function showError(error, offPalette = null) {
  ui.errorText.textContent = describe(error);
  state.offPalette = offPalette;
  ui.errorNearest.hidden = offPalette === null;
  ui.error.hidden = false;
}

function hideError() {
  ui.error.hidden = true;
  state.offPalette = null;
}

/** @param {string} text */
function showNotice(text) {
  ui.noticeText.textContent = text;
  ui.notice.hidden = false;
}

// ---- drawing the map ------------------------------------------------------

let image = context.createImageData(1, 1);
let renderQueued = false;

function render() {
  renderQueued = false;
  const { map, colors } = state;
  if (image.width !== map.width || image.height !== map.height) {
    ui.canvas.width = map.width;
    ui.canvas.height = map.height;
    image = context.createImageData(map.width, map.height);
  }
  const pixels = new Uint32Array(image.data.buffer);
  for (let i = 0; i < map.data.length; i++) pixels[i] = colors[map.data[i]];
  const regions = state.tool === "reroll" && state.rerolls.fits(map) ? state.rerolls.regions : null;
  if (regions) hatch(pixels, regions);
  context.putImageData(image, 0, 0);
}

function requestRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

// ---- live synthesis -------------------------------------------------------

/** @type {LiveSynthesis<{image: Blob, times: import("./api.js").ServerTimes, model: string}>} */
const live = new LiveSynthesis({
  send: async (signal) => {
    const card = /** @type {ModelCard} */ (state.card);
    const { map, rerolls } = state;
    const png = await encodeIndexPng(map.width, map.height, map.data);
    const options = styleOptions(card, { seed: seedValue(), preset: presets.chosen, image: state.style });
    const masks = card.z_per_pixel && rerolls.fits(map) ? rerolls.masks() : [];
    const regions = await Promise.all(
      masks.map(async ({ mask, seed }) => ({ mask: await encodeIndexPng(map.width, map.height, mask), seed })),
    );
    const result = await api.synthesize(card.name, png, { ...options, regions }, signal);
    return { ...result, model: card.name };
  },
  show: (result, elapsed) => {
    if (result.model !== state.card?.name) return;
    const previous = ui.result.src;
    ui.result.src = URL.createObjectURL(result.image);
    if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
    state.image = result.image;
    ui.saveImage.disabled = false;
    ui.latency.textContent = `${Math.round(elapsed)} ms (model ${Math.round(result.times.inference)} ms)`;
    if (ui.error.dataset.from === "synthesis") hideError();
  },
  fail: (error) => {
    showError(error);
    ui.error.dataset.from = "synthesis";
  },
  busy: (busy) => {
    ui.busy.hidden = !busy;
  },
});

function seedValue() {
  const seed = Number(ui.seed.value);
  return Number.isInteger(seed) && seed >= 0 ? seed : 0;
}

/**
 * A new random seed, 31 bits so that any server's integer type takes it,
 * and never 0: with a style preset, seed 0 is the look itself.
 */
function randomSeed() {
  return 1 + Math.floor(Math.random() * (2 ** 31 - 1));
}

let saveTimer = 0;

/** The map changed; `settled` when the change is complete. @param {boolean} settled */
function changed(settled) {
  requestRender();
  updateButtons();
  live.changed(settled);
  if (settled) {
    clearTimeout(saveTimer);
    saveTimer = window.setTimeout(() => state.card && savePainting(state.card.name, painting()), 400);
  }
}

/** @returns {Painting} */
function painting() {
  return { map: state.map, rerolls: state.rerolls };
}

/** @param {Painting} next */
function setPainting(next) {
  state.map = next.map;
  state.rerolls = next.rerolls;
  state.last = null;
  changed(true);
}

/** Makes `next` the painting as one undoable step. @param {Painting} next */
function commit(next) {
  state.history.record(painting());
  setPainting(next);
}

/** Replaces the map as one undoable step; re-rolls of another size go with it. @param {LabelMap} map */
function replaceMap(map) {
  commit({ map, rerolls: state.rerolls.fits(map) ? state.rerolls : Rerolls.none });
}

function updateButtons() {
  ui.undo.disabled = !state.history.canUndo;
  ui.redo.disabled = !state.history.canRedo;
  ui.resetRerolls.disabled = state.rerolls.empty;
}

function undo() {
  if (stroke) return; // the stroke paints into the current painting: let it end first
  const before = state.history.undo(painting());
  if (before) setPainting(before);
}

function redo() {
  if (stroke) return;
  const after = state.history.redo(painting());
  if (after) setPainting(after);
}

// ---- pointer input --------------------------------------------------------

/**
 * The map pixel under a pointer. The canvas keeps its aspect ratio inside its
 * box (object-fit: contain), so the letterbox is taken off first.
 * @param {PointerEvent} event
 */
function mapPoint(event) {
  const rect = ui.canvas.getBoundingClientRect();
  const boxW = ui.canvas.clientWidth, boxH = ui.canvas.clientHeight;
  const { width, height } = state.map;
  const scale = Math.min(boxW / width, boxH / height);
  const left = rect.left + ui.canvas.clientLeft + (boxW - width * scale) / 2;
  const top = rect.top + ui.canvas.clientTop + (boxH - height * scale) / 2;
  const x = Math.floor((event.clientX - left) / scale);
  const y = Math.floor((event.clientY - top) / scale);
  return { x, y, inside: x >= 0 && y >= 0 && x < width && y < height };
}

/** @param {number} x @param {number} y */
function clamp(x, y) {
  return { x: Math.max(0, Math.min(state.map.width - 1, x)), y: Math.max(0, Math.min(state.map.height - 1, y)) };
}

/**
 * The stroke being drawn: it paints `value` into `target`, a copy made when
 * it started (the map, or the re-roll regions), so `before` stays as it was.
 * @type {{pointer: number, before: Painting, target: LabelMap, value: number, x: number, y: number, changed: number} | null}
 */
let stroke = null;

ui.canvas.addEventListener("pointerdown", (event) => {
  if (!state.card || stroke || (event.pointerType === "mouse" && event.button !== 0)) return;
  const point = mapPoint(event);
  if (!point.inside) return;
  event.preventDefault();
  if (state.tool === "pick" || event.altKey) {
    selectClass(state.map.get(point.x, point.y));
    if (state.tool === "pick") setTool("brush");
    return;
  }
  if (state.tool === "fill") {
    const map = state.map.clone();
    if (map.fill(point.x, point.y, state.cls) > 0) commit({ map, rerolls: state.rerolls });
    return;
  }
  const before = painting();
  let target, value;
  if (state.tool === "reroll") {
    ({ rerolls: state.rerolls, regions: target, id: value } = state.rerolls.withRegion(state.map, randomSeed()));
  } else {
    state.map = target = state.map.clone();
    value = state.tool === "eraser" ? state.background : state.cls;
  }
  const from = event.shiftKey && state.last ? state.last : point;
  stroke = { pointer: event.pointerId, before, target, value, x: point.x, y: point.y, changed: 0 };
  ui.canvas.setPointerCapture(event.pointerId);
  stroke.changed += target.paintSegment(from.x, from.y, point.x, point.y, brushSize(), value);
  if (stroke.changed) changed(false);
});

ui.canvas.addEventListener("pointermove", (event) => {
  if (!stroke || event.pointerId !== stroke.pointer) return;
  const events = event.getCoalescedEvents?.() ?? [event];
  let changedNow = 0;
  for (const e of events.length ? events : [event]) {
    const raw = mapPoint(e);
    const point = clamp(raw.x, raw.y);
    if (point.x === stroke.x && point.y === stroke.y) continue;
    changedNow += stroke.target.paintSegment(stroke.x, stroke.y, point.x, point.y, brushSize(), stroke.value);
    stroke.x = point.x;
    stroke.y = point.y;
  }
  stroke.changed += changedNow;
  if (changedNow) changed(false);
});

/** @param {PointerEvent} event */
function endStroke(event) {
  if (!stroke || event.pointerId !== stroke.pointer) return;
  const done = stroke;
  stroke = null;
  state.last = { x: done.x, y: done.y };
  if (done.changed) {
    state.history.record(done.before);
    changed(true);
  } else {
    // Nothing painted: no step, and no region seed kept for nothing.
    state.map = done.before.map;
    state.rerolls = done.before.rerolls;
  }
}
ui.canvas.addEventListener("pointerup", endStroke);
ui.canvas.addEventListener("pointercancel", endStroke);

// ---- tools, palette, keys --------------------------------------------------

function brushSize() {
  return Number(ui.size.value);
}

/** @param {number} size */
function setBrushSize(size) {
  ui.size.value = String(Math.max(Number(ui.size.min), Math.min(Number(ui.size.max), Math.round(size))));
  ui.sizeValue.value = ui.size.value;
}

/** @param {Tool} tool */
function setTool(tool) {
  if (tool === "reroll" && !state.card?.z_per_pixel) return;
  if ((tool === "reroll") !== (state.tool === "reroll")) requestRender();
  state.tool = tool;
  for (const button of document.querySelectorAll(".tool")) {
    button.setAttribute("aria-pressed", String(button instanceof HTMLElement && button.dataset.tool === tool));
  }
}

/** @param {number} cls */
function selectClass(cls) {
  const card = state.card;
  if (!card || cls >= card.classes.length) return;
  state.cls = cls;
  const info = card.classes[cls];
  ui.currentSwatch.style.background = info.color;
  ui.currentName.textContent = info.name;
  for (const button of ui.palette.querySelectorAll("button")) {
    const on = button.dataset.class === String(cls);
    button.setAttribute("aria-pressed", String(on));
    if (on) button.scrollIntoView({ block: "nearest" });
  }
  if (state.tool === "eraser" || state.tool === "pick" || state.tool === "reroll") setTool("brush");
}

/** @param {ModelCard} card */
function buildPalette(card) {
  ui.palette.replaceChildren();
  ui.background.replaceChildren();
  for (const i of paletteOrder(card)) {
    const c = card.classes[i];
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.class = String(i);
    button.dataset.search = `${c.name} ${cocoName(c)}`.toLowerCase();
    button.title = c.coco_stuff && c.coco_stuff !== c.name ? `${c.name} (COCO-Stuff: ${c.coco_stuff})` : c.name;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = c.color;
    button.append(swatch, c.name);
    item.append(button);
    ui.palette.append(item);
    ui.background.append(new Option(c.name, String(i)));
  }
  filterPalette();
}

function filterPalette() {
  const query = ui.search.value.trim().toLowerCase();
  for (const button of ui.palette.querySelectorAll("button")) {
    const item = /** @type {HTMLElement} */ (button.parentElement);
    item.hidden = query !== "" && !(button.dataset.search ?? "").includes(query);
  }
}

ui.palette.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button") : null;
  if (button?.dataset.class) selectClass(Number(button.dataset.class));
});
ui.search.addEventListener("input", filterPalette);
ui.search.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  const first = [...ui.palette.querySelectorAll("li:not([hidden]) button")][0];
  if (first instanceof HTMLElement) selectClass(Number(first.dataset.class));
});

for (const button of document.querySelectorAll(".tool")) {
  button.addEventListener("click", () => {
    if (button instanceof HTMLElement) setTool(/** @type {Tool} */ (button.dataset.tool));
  });
}
ui.size.addEventListener("input", () => setBrushSize(brushSize()));
ui.background.addEventListener("change", () => {
  state.background = Number(ui.background.value);
});
ui.undo.addEventListener("click", undo);
ui.redo.addEventListener("click", redo);
ui.clear.addEventListener("click", () => {
  const map = state.map.clone();
  map.clear(state.background);
  if (!map.equals(state.map)) replaceMap(map);
});
ui.resetRerolls.addEventListener("click", () => {
  if (!state.rerolls.empty) commit({ map: state.map, rerolls: Rerolls.none });
});

document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement;
  const command = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (command && key === "z" && !typing) {
    event.preventDefault();
    if (event.shiftKey) redo();
    else undo();
  } else if (command && key === "y" && !typing) {
    event.preventDefault();
    redo();
  } else if (typing || command || event.altKey) {
    return;
  } else if (event.key === "[" || event.key === "]") {
    const step = Math.max(1, Math.round(brushSize() * 0.2));
    setBrushSize(brushSize() + (event.key === "]" ? step : -step));
  } else if (key in TOOL_KEYS) {
    setTool(TOOL_KEYS[/** @type {keyof typeof TOOL_KEYS} */ (key)]);
  }
});

/** @type {Record<string, Tool>} */
const TOOL_KEYS = { b: "brush", f: "fill", e: "eraser", i: "pick", r: "reroll" };

// ---- files ----------------------------------------------------------------

/** @param {Blob} blob @param {string} name */
function download(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

ui.saveMap.addEventListener("click", async () => {
  const png = await encodeIndexPng(state.map.width, state.map.height, state.map.data);
  download(new Blob([png], { type: "image/png" }), `${state.card?.name ?? "easel"}-map.png`);
});
ui.saveImage.addEventListener("click", () => {
  if (state.image) download(state.image, `${state.card?.name ?? "easel"}-image.png`);
});

/**
 * Opens a label-map file through the server, which reads index, paletted
 * and colour PNGs with the same rules as synthesis.
 * @param {Blob} file
 * @param {boolean} nearest
 */
async function openMapFile(file, nearest = false) {
  const card = state.card;
  if (!card) return;
  try {
    const read = await api.readLabelMap(card.name, file, { nearest });
    hideError();
    replaceMap(new LabelMap(read.width, read.height, valueCount(card), read.data));
    if (read.sourceWidth !== read.width || read.sourceHeight !== read.height) {
      showNotice(`The map was ${read.sourceWidth}×${read.sourceHeight}; it was resized to the model's ${read.width}×${read.height} (nearest neighbour).`);
    }
  } catch (error) {
    const offPalette = error instanceof api.ApiError && /nearest=true/.test(error.message) ? file : null;
    showError(error, offPalette);
    ui.error.dataset.from = "file";
  }
}

ui.openMap.addEventListener("click", () => ui.mapFile.click());
ui.mapFile.addEventListener("change", () => {
  const file = ui.mapFile.files?.[0];
  ui.mapFile.value = "";
  if (file) openMapFile(file);
});
ui.errorNearest.addEventListener("click", () => {
  if (state.offPalette) openMapFile(state.offPalette, true);
});
ui.errorClose.addEventListener("click", hideError);
ui.noticeClose.addEventListener("click", () => {
  ui.notice.hidden = true;
});

ui.mapPanel.addEventListener("dragover", (event) => {
  event.preventDefault();
  ui.mapPanel.classList.add("dropping");
});
ui.mapPanel.addEventListener("dragleave", () => ui.mapPanel.classList.remove("dropping"));
ui.mapPanel.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.mapPanel.classList.remove("dropping");
  const file = event.dataTransfer?.files[0];
  if (file) openMapFile(file);
});

// ---- style ----------------------------------------------------------------

ui.seed.addEventListener("change", () => live.changed(true));
ui.variation.addEventListener("click", () => {
  ui.seed.value = String(randomSeed());
  live.changed(true);
});
ui.styleFile.addEventListener("change", () => {
  const file = ui.styleFile.files?.[0];
  if (file) setStyle(file);
});
ui.styleClear.addEventListener("click", () => setStyle(null));

// A preset and a style image each name the style: choosing one drops the other.
const presets = new PresetStrip(ui.stylePresets, (chosen) => {
  if (chosen !== null && state.style) setStyle(null);
  else live.changed(true);
});

/** @param {Blob | null} file */
function setStyle(file) {
  state.style = file;
  if (file) presets.clear();
  if (ui.stylePreview.src.startsWith("blob:")) URL.revokeObjectURL(ui.stylePreview.src);
  if (file) ui.stylePreview.src = URL.createObjectURL(file);
  else ui.stylePreview.removeAttribute("src");
  ui.stylePreview.hidden = !file;
  ui.styleClear.hidden = !file;
  if (!file) ui.styleFile.value = "";
  live.changed(true);
}

// ---- models ---------------------------------------------------------------

/** Label values a map may hold: the classes, and the dontcare class if any. @param {ModelCard} card */
function valueCount(card) {
  return card.classes.length + (card.dontcare ? 1 : 0);
}

/**
 * Makes `card` the current model. With `carry`, the painting (and its undo
 * steps) is carried over by class name or COCO-Stuff name.
 * @param {ModelCard} card
 * @param {{carry: boolean}} options
 */
async function useModel(card, { carry }) {
  const previous = state.card;
  state.card = card;
  state.colors = colorTable(card);
  state.background = backgroundClass(card);
  buildPalette(card);
  ui.background.value = String(state.background);
  const { width, height } = card.native;
  for (const box of [ui.canvas, /** @type {HTMLElement} */ (ui.result.parentElement)]) {
    box.style.setProperty("--aspect", String(width / height));
  }
  ui.style.hidden = card.z_dim === null && !card.has_encoder;
  ui.styleImage.hidden = !card.has_encoder;
  if (!card.has_encoder && state.style) setStyle(null);
  presets.show(card);
  const perPixel = card.z_per_pixel === true;
  ui.rerollTool.hidden = !perPixel;
  ui.rerollTool.disabled = !perPixel;
  ui.resetRerolls.hidden = !perPixel;
  ui.model.value = card.name;
  await loadExamples(card);

  if (carry && previous) {
    const { table, unmapped } = mapClasses(previous, card, state.background);
    const values = valueCount(card);
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
    const counts = state.map.histogram();
    const lost = unmapped.filter((name) => {
      const i = previous.classes.findIndex((c) => c.name === name);
      return counts[i < 0 ? previous.classes.length : i] > 0;
    });
    const rerolled = !state.rerolls.empty;
    // Re-rolls are the previous model's noise, so they go; the steps that
    // only re-rolled would then undo to nothing new, and go too.
    const now = state.history.rewrite(
      painting(),
      (step) => ({ map: convert(step.map), rerolls: Rerolls.none }),
      (a, b) => a.map === b.map,
    );
    state.map = now.map;
    state.rerolls = now.rerolls;
    const background = card.classes[state.background].name;
    showNotice(
      (lost.length
        ? `Switched to ${card.name}. No class here matches ${lost.join(", ")}: painted as ${background}.`
        : `Switched to ${card.name}; every class in the painting carried over.`) +
        (rerolled ? " The re-rolled regions were the previous model's noise, so they are reset." : ""),
    );
    selectClass(table[state.cls] < card.classes.length ? table[state.cls] : state.background);
  } else {
    state.history.clear();
    const saved = loadPainting(card, valueCount(card));
    state.map = saved?.map ?? (await firstExample(card)) ?? blank(card);
    state.rerolls = saved?.rerolls ?? Rerolls.none;
    selectClass(paletteOrder(card).find((i) => i !== state.background) ?? state.background);
  }
  state.last = null;
  state.image = null;
  ui.saveImage.disabled = true;
  ui.result.removeAttribute("src");
  ui.latency.textContent = "";
  changed(true);
}

/** @param {ModelCard} card */
function blank(card) {
  const map = new LabelMap(card.native.width, card.native.height, valueCount(card));
  map.clear(backgroundClass(card));
  return map;
}

/** @param {ModelCard} card */
async function loadExamples(card) {
  ui.example.replaceChildren(new Option("—", ""));
  try {
    for (const example of await api.examples(card.name)) ui.example.append(new Option(example.name, example.url));
  } catch (error) {
    showError(error);
  }
}

/** @param {ModelCard} card */
async function firstExample(card) {
  const url = ui.example.options[1]?.value;
  if (!url) return null;
  try {
    const read = await api.readLabelMap(card.name, await api.blob(url));
    ui.example.value = url;
    return new LabelMap(read.width, read.height, valueCount(card), read.data);
  } catch (error) {
    showError(error);
    return null;
  }
}

ui.example.addEventListener("change", async () => {
  const url = ui.example.value;
  if (url) await openMapFile(await api.blob(url));
});

ui.model.addEventListener("change", async () => {
  try {
    await useModel(await api.modelCard(ui.model.value), { carry: true });
  } catch (error) {
    showError(error);
  }
});

async function start() {
  const { models, default: first } = await api.listModels();
  ui.model.replaceChildren(...models.map((m) => new Option(`${m.name} (${m.classes} classes, ${m.native.width}×${m.native.height})`, m.name)));
  ui.model.disabled = models.length < 2;
  await useModel(await api.modelCard(first), { carry: false });
}

// A handle for the browser tests and the console: the map as indices.
const ready = start().catch((error) => showError(error));
Object.assign(window, {
  easel: {
    ready,
    map: () => ({ width: state.map.width, height: state.map.height, data: Array.from(state.map.data) }),
    model: () => state.card?.name,
    currentClass: () => state.cls,
    rerollSeeds: () => [...state.rerolls.seeds],
    // The image shown, as its PNG's bytes: the page's CSP (connect-src 'self')
    // keeps a test from fetching the blob: URL of #result.
    image: async () => (state.image ? Array.from(new Uint8Array(await state.image.arrayBuffer())) : null),
  },
});
