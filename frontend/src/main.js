// @ts-check
// The painting page: wires the label map, the tools, the palette and live
// synthesis to the DOM. The map is class indices (labelmap.js); the canvas
// only shows it in the class colours. Models with z per pixel also take
// re-rolled regions (rerolls.js), which undo covers with the map; models
// that ship style presets show them in the Style panel (presets.js). Locked
// classes (locks.js) are never painted over; the polygon tool's gesture is
// polygon.js's, its pixels shapes.js's; the keys are shortcuts.js's. The
// canvas size is the map's own (sizes.js); images already made are shown
// again from images.js, and a saved image carries its recipe (recipe.js).
// Photos become maps through a segmenter (photo.js, which also takes drops);
// images go back through one when Check is on (check.js).

import * as api from "./api.js";
import { carryPainting } from "./carry.js";
import { Checker } from "./check.js";
import { backgroundClass, colorTable, paletteOrder, valueCount } from "./classes.js";
import { HelpOverlay } from "./help.js";
import { History } from "./history.js";
import { ImageCache, imageKey } from "./images.js";
import { LabelMap } from "./labelmap.js";
import { LiveSynthesis } from "./live.js";
import { ClassLocks } from "./locks.js";
import { Messages } from "./messages.js";
import { Palette } from "./palette.js";
import { PhotoOpener } from "./photo.js";
import { PolygonGesture, drawOutline } from "./polygon.js";
import { decodeIndexPng, encodeIndexPng, pngSize } from "./png.js";
import { PresetStrip, styleOptions } from "./presets.js";
import { readRecipe, recipeFor, writeRecipe } from "./recipe.js";
import { Rerolls, hatch } from "./rerolls.js";
import { entryPixel, polygonMask } from "./shapes.js";
import { keyCommand } from "./shortcuts.js";
import { SizeChooser, fixedSize, previewSize, takesSize } from "./sizes.js";
import { loadPainting, savePainting } from "./storage.js";
import { download, ui } from "./ui.js";
import { layOut, mapPoint as pointOn, mapScale as scaleOf } from "./view.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {import("./api.js").ModelSummary} ModelSummary */
/** @typedef {import("./images.js").KnownImage} KnownImage */
/** @typedef {import("./recipe.js").Recipe} Recipe */
/** @typedef {import("./shapes.js").Point} Point */
/** @typedef {import("./shortcuts.js").Tool} Tool */
/**
 * What undo restores: the map and its re-rolls. Once a step is recorded its
 * objects are never changed, so neighbouring steps share what they did not change.
 * @typedef {import("./storage.js").Painting} Painting
 */

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
  /** The image shown and what made it. @type {KnownImage | null} */
  shown: null,
  /** The most pixels a map may have (the server's --max-pixels). */
  maxPixels: Infinity,
  /** @type {ModelSummary[]} the server's list */
  models: [],
  /** The last point painted, where a shift-click line starts. @type {{x: number, y: number} | null} */
  last: null,
};

const messages = new Messages(ui, (file) => openMapFile(file, true));
const showError = messages.error.bind(messages), showNotice = messages.notice.bind(messages);

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
    layOut(ui.panels, [ui.mapBox, ui.resultBox], map);
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

// Some 40 images of 256² to 512² fit in 64 MiB.
const images = new ImageCache({ entries: 40, bytes: 64 << 20 });
const checker = new Checker({ toggle: ui.check, field: ui.checkField, overlay: ui.checkOverlay, list: ui.checkList }, (e) => showError(e));

/** @type {LiveSynthesis<{known: KnownImage, cached: boolean}>} */
const live = new LiveSynthesis({
  // While the pointer is down, models of free size draw a smaller preview
  // (sizes.js, previewSize) unless the painter turned it off; the native
  // image follows when the stroke ends.
  previews: () => ui.preview.checked && state.card !== null && previewSize(state.card, state.map) !== null,
  send: async (signal, preview) => {
    const card = /** @type {ModelCard} */ (state.card);
    let { map, rerolls } = state;
    const small = preview ? previewSize(card, map) : null;
    if (small) {
      // Scaled before the first await, like the map itself (recipeFor).
      if (rerolls.fits(map)) rerolls = rerolls.resized(small.width, small.height).rerolls;
      map = map.resized(small.width, small.height);
    }
    const options = styleOptions(card, { seed: seedValue(), preset: presets.chosen, image: state.style });
    const masks = card.z_per_pixel && rerolls.fits(map) ? rerolls.masks() : [];
    const recipe = await recipeFor(card.name, map, masks, options);
    const key = imageKey(recipe, options.style ?? null);
    const known = images.get(key);
    if (known) return { known, cached: true };
    const result = await api.synthesize(card.name, recipe.label, { ...options, regions: recipe.regions }, signal);
    recipe.headers = result.headers;
    return { known: images.put(key, result.image, { recipe, times: result.times }), cached: false };
  },
  show: ({ known, cached }, elapsed, preview) => {
    if (known.recipe.model !== state.card?.name) return;
    images.show(known.key);
    ui.result.src = known.url;
    ui.resultBox.classList.toggle("preview", preview);
    const timing = cached ? "known image, no request" : `${Math.round(elapsed)} ms (model ${Math.round(known.times.inference)} ms)`;
    if (preview) {
      // Not the image to keep or check: those wait for the final one.
      checker.show(null);
      ui.saveImage.disabled = true;
      ui.latency.textContent = `preview ${known.recipe.width}×${known.recipe.height}, ${timing}`;
    } else {
      state.shown = known;
      checker.show({ card: /** @type {ModelCard} */ (state.card), image: known.image, label: known.recipe.label });
      ui.saveImage.disabled = false;
      ui.latency.textContent = timing;
    }
    messages.hideError("synthesis");
  },
  fail: (error) => showError(error, { from: "synthesis" }),
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

// The painting is saved a moment after a settled change, not on every one;
// 0 when no save is waiting. Each save is announced as `easel:saved`.
let saveTimer = 0;

/** The map changed; `settled` when the change is complete. @param {boolean} settled */
function changed(settled) {
  requestRender();
  updateButtons();
  live.changed(settled);
  if (settled) {
    clearTimeout(saveTimer);
    saveTimer = window.setTimeout(save, 400);
  }
}

function save() {
  saveTimer = 0;
  if (state.card) savePainting(state.card.name, painting());
  document.dispatchEvent(new Event("easel:saved"));
}

/** Resolves once the save waiting, if any, is written. @returns {Promise<void>} */
function saved() {
  if (!saveTimer) return Promise.resolve();
  return new Promise((done) => document.addEventListener("easel:saved", () => done(), { once: true }));
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
  if (state.card) sizes.show(state.card, canvasSizes(state.card), state.map);
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

/**
 * Scales the painting to another canvas size as one undoable step: the map
 * by nearest neighbour (exact classes), the re-rolled regions with it.
 * @param {{width: number, height: number}} size
 */
function resizeCanvas({ width, height }) {
  if (stroke || (width === state.map.width && height === state.map.height)) {
    if (state.card) sizes.show(state.card, canvasSizes(state.card), state.map); // the chooser shows the map's size
    return;
  }
  cancelOutline();
  const { rerolls, lost } = state.rerolls.resized(width, height);
  commit({ map: state.map.resized(width, height), rerolls });
  if (lost) showNotice(`${lost} re-rolled region${lost > 1 ? "s were" : " was"} too thin to keep at ${width}×${height}: gone (undo brings it back).`);
}

const sizes = new SizeChooser(ui.canvasSize, ui.canvasField, ui.canvasNote, resizeCanvas);

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

const mapScale = () => scaleOf(ui.canvas, state.map);
/** @param {{clientX: number, clientY: number}} event */
const mapPoint = (event) => pointOn(ui.canvas, state.map, event);

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

ui.saveMap.addEventListener("click", async () => {
  const png = await encodeIndexPng(state.map.width, state.map.height, state.map.data);
  download(new Blob([png], { type: "image/png" }), `${state.card?.name ?? "easel"}-map.png`);
});
// The image with its recipe inside (recipe.js): opening the file here gives back the map and settings.
ui.saveImage.addEventListener("click", async () => {
  const shown = state.shown;
  if (!shown) return;
  const png = new Uint8Array(await shown.image.arrayBuffer());
  let file = png;
  try {
    file = writeRecipe(png, shown.recipe);
  } catch {
    // Not a PNG (a server answering another format): saved as it came.
  }
  download(new Blob([file], { type: shown.image.type }), `${shown.recipe.model}-image.png`);
});

/**
 * Opens a file: an image saved here (its recipe), or a label map read by
 * the server with the rules of synthesis (index, paletted and colour PNGs),
 * at its own size when the model takes it, else at the native size.
 * @param {Blob} file
 * @param {boolean} nearest
 * @param {boolean} photoIfOffPalette a colour PNG off the palette is a photo (photo.js)
 */
async function openMapFile(file, nearest = false, photoIfOffPalette = false) {
  const card = state.card;
  if (!card) return;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const recipe = readRecipe(bytes);
    if (recipe) return await openRecipe(recipe);
    const own = pngSize(bytes);
    const keepSize = own !== null && takesSize(card, own, state.maxPixels);
    const read = await api.readLabelMap(card.name, file, { nearest, keepSize });
    messages.hideError();
    replaceMap(new LabelMap(read.width, read.height, valueCount(card), read.data));
    if (read.sourceWidth !== read.width || read.sourceHeight !== read.height) {
      showNotice(`The map was ${read.sourceWidth}×${read.sourceHeight}; it was resized to the model's ${read.width}×${read.height} (nearest neighbour).`);
    }
  } catch (error) {
    const offPalette = error instanceof api.ApiError && /nearest=true/.test(error.message) ? file : null;
    if (offPalette && photoIfOffPalette) return photos.open(file);
    showError(error, { from: "file", offPalette });
  }
}

/**
 * Opens an image saved here: its model, its map at its size (one undoable
 * step) with its re-rolled regions, its seed and its style preset.
 * @param {Recipe} recipe
 */
async function openRecipe(recipe) {
  let card = state.card;
  if (recipe.model !== card?.name) {
    card = await api.modelCard(recipe.model).catch((error) => {
      throw error instanceof api.ApiError && error.status === 404
        ? new Error(`This image was made with the model ${recipe.model}, which this server does not serve.`)
        : error;
    });
    await useModel(card, { carry: false });
  }
  const keepSize = takesSize(card, recipe, state.maxPixels);
  const read = await api.readLabelMap(card.name, new Blob([recipe.label], { type: "image/png" }), { keepSize });
  const map = new LabelMap(read.width, read.height, valueCount(card), read.data);
  const decode = async (/** @type {Recipe["regions"][number]} */ r) => ({ mask: (await decodeIndexPng(r.mask)).data, seed: r.seed });
  const masks = keepSize && card.z_per_pixel ? await Promise.all(recipe.regions.map(decode)) : [];
  messages.hideError();
  ui.seed.value = String(recipe.seed ?? 0);
  presets.select(card.styles?.some((p) => p.name === recipe.preset) ? recipe.preset : null);
  if (state.style) setStyle(null);
  commit({ map, rerolls: Rerolls.fromMasks(map, masks) });
  const settings = [recipe.seed !== null && `seed ${recipe.seed}`, recipe.preset && `style ${recipe.preset}`].filter(Boolean);
  showNotice(
    `Opened an image made with ${recipe.model}: its map (${recipe.width}×${recipe.height})${settings.length ? `, ${settings.join(", ")}` : ""}.` +
      (keepSize ? "" : ` This server does not take that size: the map was resized to ${map.width}×${map.height}.`) +
      (recipe.styleImage ? " It was made with a style image, which the file does not hold." : ""),
  );
}

ui.openMap.addEventListener("click", () => ui.mapFile.click());
ui.mapFile.addEventListener("change", () => {
  const file = ui.mapFile.files?.[0];
  ui.mapFile.value = "";
  if (file) openMapFile(file);
});

const photos = new PhotoOpener({ button: ui.openPhoto, input: ui.photoFile }, {
  card: () => state.card,
  size: () => state.map,
  replace: replaceMap,
  notice: showNotice,
  error: (error) => showError(error, { from: "file" }),
  hideError: () => messages.hideError(),
});
photos.takeDrops(ui.mapPanel, (file, photoIfOffPalette) => openMapFile(file, false, photoIfOffPalette));

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
    const saved = loadPainting(card, valueCount(card), (size) => takesSize(card, size, state.maxPixels));
    state.map = saved?.map ?? (await firstExample(card)) ?? blank(card);
    state.rerolls = saved?.rerolls ?? Rerolls.none;
    selectClass(paletteOrder(card).find((i) => i !== state.background) ?? state.background);
  }
  state.last = null;
  state.shown = null;
  checker.show(null);
  images.show(null);
  sizes.show(card, canvasSizes(card), state.map);
  ui.previewField.hidden = fixedSize(card);
  ui.saveImage.disabled = true;
  ui.result.removeAttribute("src");
  ui.resultBox.classList.remove("preview");
  ui.latency.textContent = "";
  changed(true);
}

/** The canvas sizes the server offers for `card`. @param {ModelCard} card */
function canvasSizes(card) {
  return state.models.find((m) => m.name === card.name)?.canvas_sizes;
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

/** Example maps already read, by model and URL: going back to one takes no request. @type {Map<string, LabelMap>} */
const exampleMaps = new Map();

/** @param {ModelCard} card @param {string} url */
async function exampleMap(card, url) {
  const key = `${card.name}\n${url}`;
  const known = exampleMaps.get(key);
  if (known) return known;
  const read = await api.readLabelMap(card.name, await api.blob(url));
  const map = new LabelMap(read.width, read.height, valueCount(card), read.data);
  exampleMaps.set(key, map);
  return map;
}

/** @param {ModelCard} card */
async function firstExample(card) {
  const url = ui.example.options[1]?.value;
  if (!url) return null;
  try {
    const map = await exampleMap(card, url);
    ui.example.value = url;
    return map;
  } catch (error) {
    showError(error);
    return null;
  }
}

ui.example.addEventListener("change", async () => {
  const url = ui.example.value, card = state.card;
  if (!url || !card) return;
  try {
    const map = await exampleMap(card, url);
    if (card !== state.card) return; // the model changed meanwhile
    replaceMap(map);
    messages.hideError();
  } catch (error) {
    showError(error, { from: "file" });
  }
});

ui.model.addEventListener("change", async () => {
  try {
    await useModel(await api.modelCard(ui.model.value), { carry: true });
  } catch (error) {
    showError(error);
  }
});

async function start() {
  const { models, default: first, max_pixels: maxPixels } = await api.listModels();
  state.maxPixels = maxPixels ?? Infinity;
  state.models = models;
  photos.setModels(models);
  checker.setModels(models);
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
    // How many changes the page has posted or will post (or shown a kept
    // image for): a test that expects none compares it, without waiting.
    changes: () => live.latest,
    saved,
    // The image shown, as its PNG's bytes: the page's CSP (connect-src 'self')
    // keeps a test from fetching the blob: URL of #result.
    image: async () => (state.shown ? Array.from(new Uint8Array(await state.shown.image.arrayBuffer())) : null),
    // What the image shown was made from, posted now or earlier (images.js).
    shown: () => {
      const r = state.shown?.recipe;
      return r ? { model: r.model, width: r.width, height: r.height, seed: r.seed, preset: r.preset, regions: r.regions.length } : null;
    },
  },
});
