// @ts-check
// The painting page: wires the label map, the tools, the palette and live
// synthesis to the DOM. The map is class indices (labelmap.js); the canvas
// only shows it in the class colours. Models with z per pixel also take
// re-rolled regions (rerolls.js), which undo covers with the map; models
// that ship style presets show them in the Style panel (presets.js). Locked
// classes (locks.js) are never painted over; the polygon tool's gesture is
// polygon.js's, its pixels shapes.js's; the keys are shortcuts.js's.

import * as api from "./api.js";
import { carryPainting } from "./carry.js";
import { backgroundClass, colorTable, paletteOrder, valueCount } from "./classes.js";
import { HelpOverlay } from "./help.js";
import { History } from "./history.js";
import { LabelMap } from "./labelmap.js";
import { LiveSynthesis } from "./live.js";
import { ClassLocks } from "./locks.js";
import { Palette } from "./palette.js";
import { PolygonGesture, drawOutline } from "./polygon.js";
import { encodeIndexPng } from "./png.js";
import { PresetStrip, styleOptions } from "./presets.js";
import { Rerolls, hatch } from "./rerolls.js";
import { entryPixel, polygonMask } from "./shapes.js";
import { keyCommand } from "./shortcuts.js";
import { loadPainting, savePainting } from "./storage.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {import("./shapes.js").Point} Point */
/** @typedef {import("./shortcuts.js").Tool} Tool */
/**
 * What undo restores: the map and its re-rolls. Once a step is recorded its
 * objects are never changed, so neighbouring steps share what they did not change.
 * @typedef {import("./storage.js").Painting} Painting
 */

/**
 * @template {Element} T
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
  outline: el("outline", SVGSVGElement),
  mapPanel: el("map-panel", HTMLElement),
  result: el("result", HTMLImageElement),
  busy: el("busy", HTMLSpanElement),
  latency: el("latency", HTMLSpanElement),
  search: el("class-search", HTMLInputElement),
  palette: el("palette", HTMLUListElement),
  help: el("help", HTMLDialogElement),
  helpList: el("help-list", HTMLDivElement),
  helpOpen: el("help-open", HTMLButtonElement),
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
  locks: new ClassLocks(1),
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

/** Screen pixels per map pixel: the canvas shows the whole map in its box (object-fit: contain). */
function mapScale() {
  return Math.min(ui.canvas.clientWidth / state.map.width, ui.canvas.clientHeight / state.map.height);
}

/**
 * Where a pointer is on the map: its pixel (`x`, `y`; off the map too) and
 * the exact position (`fx`, `fy`). The canvas keeps its aspect ratio inside
 * its box, so the letterbox is taken off first.
 * @param {{clientX: number, clientY: number}} event
 */
function mapPoint(event) {
  const rect = ui.canvas.getBoundingClientRect();
  const boxW = ui.canvas.clientWidth, boxH = ui.canvas.clientHeight;
  const { width, height } = state.map;
  const scale = mapScale();
  const left = rect.left + ui.canvas.clientLeft + (boxW - width * scale) / 2;
  const top = rect.top + ui.canvas.clientTop + (boxH - height * scale) / 2;
  const fx = (event.clientX - left) / scale, fy = (event.clientY - top) / scale;
  const x = Math.floor(fx), y = Math.floor(fy);
  return { x, y, fx, fy, inside: x >= 0 && y >= 0 && x < width && y < height };
}

/** @param {number} x @param {number} y */
function clamp(x, y) {
  return { x: Math.max(0, Math.min(state.map.width - 1, x)), y: Math.max(0, Math.min(state.map.height - 1, y)) };
}

/** The pointer's positions since its last event, for a smooth path. @param {PointerEvent} event */
function positions(event) {
  const events = event.getCoalescedEvents?.() ?? [];
  return events.length ? events : [event];
}

/**
 * The stroke being drawn: it paints `value` into `target`, a copy made when
 * it started (the map, through the class locks, or the re-roll regions), so
 * `before` stays as it was. A stroke begun beside the map keeps its last
 * position there in `outside` until it enters, then paints from the edge.
 * @type {{pointer: number, before: Painting, target: LabelMap, value: number, locked: Uint8Array | undefined,
 *   x: number, y: number, outside: Point | null, changed: number} | null}
 */
let stroke = null;

const polygon = new PolygonGesture();
/** Screen pixels: how near the first corner a click closes an outline; how far a press moves to be a drag. */
const CLOSE_NEAR = 10, DRAG_FROM = 4;

/**
 * The outline changed: shows it, and fills `closed` (its corners, once
 * closed) with the current class as one step.
 * @param {Point[] | null} closed
 */
function outlineChanged(closed) {
  drawOutline(ui.outline, polygon, state.map, CLOSE_NEAR / mapScale());
  if (!closed) return;
  const map = state.map.clone();
  if (map.paintMask(polygonMask(closed, map.width, map.height), state.cls, state.locks.table)) commit({ map, rerolls: state.rerolls });
}

// The panel takes pointers, not only the canvas: it reaches round the map
// (painter.css), so that a stroke can begin beside it.
ui.mapPanel.addEventListener("pointerdown", (event) => {
  if (!state.card || stroke || (event.pointerType === "mouse" && event.button !== 0)) return;
  const point = mapPoint(event);
  if (!point.inside && (state.tool === "pick" || state.tool === "fill" || event.altKey)) return;
  event.preventDefault();
  ui.canvas.setPointerCapture(event.pointerId);
  if (state.tool === "polygon") return outlineChanged(polygon.down(point, CLOSE_NEAR / mapScale()));
  if (state.tool === "pick" || event.altKey) {
    selectClass(state.map.get(point.x, point.y));
    if (state.tool === "pick") setTool("brush");
    return;
  }
  if (state.tool === "fill") {
    const map = state.map.clone();
    if (map.fill(point.x, point.y, state.cls, state.locks.table) > 0) commit({ map, rerolls: state.rerolls });
    return;
  }
  const before = painting();
  let target, value, locked;
  if (state.tool === "reroll") {
    ({ rerolls: state.rerolls, regions: target, id: value } = state.rerolls.withRegion(state.map, randomSeed()));
  } else {
    state.map = target = state.map.clone();
    value = state.tool === "eraser" ? state.background : state.cls;
    locked = state.locks.table;
  }
  const outside = point.inside ? null : { x: point.fx, y: point.fy };
  stroke = { pointer: event.pointerId, before, target, value, locked, x: point.x, y: point.y, outside, changed: 0 };
  if (outside) return;
  const from = event.shiftKey && state.last ? state.last : point;
  stroke.changed += target.paintSegment(from.x, from.y, point.x, point.y, brushSize(), value, locked);
  if (stroke.changed) changed(false);
});

ui.mapPanel.addEventListener("pointermove", (event) => {
  if (!stroke && state.tool === "polygon" && polygon.drawing) {
    for (const e of positions(event)) polygon.move(mapPoint(e), DRAG_FROM / mapScale());
    return outlineChanged(null);
  }
  if (!stroke || event.pointerId !== stroke.pointer) return;
  const { width, height } = state.map;
  let changedNow = 0;
  for (const e of positions(event)) {
    const raw = mapPoint(e);
    if (stroke.outside) {
      const entry = entryPixel(stroke.outside, { x: raw.fx, y: raw.fy }, width, height);
      stroke.outside = entry ? null : { x: raw.fx, y: raw.fy };
      if (!entry) continue;
      changedNow += stroke.target.paintSegment(entry.x, entry.y, entry.x, entry.y, brushSize(), stroke.value, stroke.locked);
      stroke.x = entry.x;
      stroke.y = entry.y;
    }
    const point = clamp(raw.x, raw.y);
    if (point.x === stroke.x && point.y === stroke.y) continue;
    changedNow += stroke.target.paintSegment(stroke.x, stroke.y, point.x, point.y, brushSize(), stroke.value, stroke.locked);
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
  if (!done.outside) state.last = { x: done.x, y: done.y };
  if (done.changed) {
    state.history.record(done.before);
    changed(true);
  } else {
    // Nothing painted: no step, and no region seed kept for nothing.
    state.map = done.before.map;
    state.rerolls = done.before.rerolls;
  }
}
ui.mapPanel.addEventListener("pointerup", (event) => {
  if (stroke) endStroke(event);
  else if (state.tool === "polygon") outlineChanged(polygon.up());
});
ui.mapPanel.addEventListener("pointercancel", (event) => {
  if (stroke) endStroke(event);
  else cancelOutline();
});
ui.mapPanel.addEventListener("dblclick", () => {
  if (state.tool === "polygon") outlineChanged(polygon.close());
});

function cancelOutline() {
  polygon.cancel();
  outlineChanged(null);
}

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
  if (tool !== "polygon") cancelOutline();
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
  palette.select(cls);
  if (state.tool === "eraser" || state.tool === "pick" || state.tool === "reroll") setTool("brush");
}

/** @param {number} cls */
function toggleLock(cls) {
  state.locks.toggle(cls);
  palette.showLocks(state.locks);
}

const palette = new Palette(ui.palette, ui.search, { select: selectClass, lock: toggleLock });
const help = new HelpOverlay(ui.help, ui.helpList);

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
  map.clear(state.background, state.locks.table);
  if (!map.equals(state.map)) replaceMap(map);
});
ui.resetRerolls.addEventListener("click", () => {
  if (!state.rerolls.empty) commit({ map: state.map, rerolls: Rerolls.none });
});
ui.helpOpen.addEventListener("click", () => help.show());

document.addEventListener("keydown", (event) => {
  if (help.open) return; // the dialog's own: Escape closes it
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement;
  const command = keyCommand(event, typing);
  // Enter and Escape are the page's only while an outline is drawn.
  if (!command || ((command.name === "close" || command.name === "cancel") && !polygon.drawing)) return;
  event.preventDefault();
  if (command.name === "undo") undo();
  else if (command.name === "redo") redo();
  else if (command.name === "size") {
    const step = Math.max(1, Math.round(brushSize() * 0.2));
    setBrushSize(brushSize() + (command.grow ? step : -step));
  } else if (command.name === "tool") setTool(command.tool);
  else if (command.name === "lock") toggleLock(state.cls);
  else if (command.name === "help") help.show();
  else if (command.name === "close") outlineChanged(polygon.close());
  else cancelOutline();
});

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

/**
 * Makes `card` the current model. With `carry`, the painting (and its undo
 * steps) is carried over by class name or COCO-Stuff name.
 * @param {ModelCard} card
 * @param {{carry: boolean}} options
 */
async function useModel(card, { carry }) {
  const previous = state.card;
  cancelOutline();
  state.card = card;
  state.colors = colorTable(card);
  state.background = backgroundClass(card);
  // Locks go where the painting goes: a locked class stays locked where it carries over.
  state.locks = carry && previous ? state.locks.carried(previous, card, valueCount(card)) : new ClassLocks(valueCount(card));
  palette.build(card, state.locks);
  ui.background.replaceChildren(...paletteOrder(card).map((i) => new Option(card.classes[i].name, String(i))));
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
    const rerolled = !state.rerolls.empty;
    const { painting: now, table, lost } = carryPainting(state.history, painting(), previous, card, state.background);
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
