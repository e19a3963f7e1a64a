// @ts-check
// The painting page: wires the label map, the tools, the palette and live
// synthesis to the DOM. The map is class indices (labelmap.js); the canvas
// only shows it in the class colours.

import * as api from "./api.js";
import { backgroundClass, colorTable, cocoName, mapClasses, paletteOrder } from "./classes.js";
import { History } from "./history.js";
import { LabelMap } from "./labelmap.js";
import { LiveSynthesis } from "./live.js";
import { encodeIndexPng } from "./png.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {"brush" | "fill" | "eraser" | "pick"} Tool */

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
  style: el("style", HTMLDivElement),
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
  /** @type {History<LabelMap>} */
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
    const png = await encodeIndexPng(state.map.width, state.map.height, state.map.data);
    const styled = card.z_dim !== null || card.has_encoder;
    const options = styled ? { seed: seedValue(), style: card.has_encoder ? state.style : null } : {};
    const result = await api.synthesize(card.name, png, options, signal);
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

let saveTimer = 0;

/** The map changed; `settled` when the change is complete. @param {boolean} settled */
function changed(settled) {
  requestRender();
  updateButtons();
  live.changed(settled);
  if (settled) {
    clearTimeout(saveTimer);
    saveTimer = window.setTimeout(autosave, 400);
  }
}

/** Replaces the map as one undoable step. @param {LabelMap} map */
function replaceMap(map) {
  state.history.record(state.map);
  state.map = map;
  state.last = null;
  changed(true);
}

function updateButtons() {
  ui.undo.disabled = !state.history.canUndo;
  ui.redo.disabled = !state.history.canRedo;
}

function undo() {
  const before = state.history.undo(state.map);
  if (!before) return;
  state.map = before;
  state.last = null;
  changed(true);
}

function redo() {
  const after = state.history.redo(state.map);
  if (!after) return;
  state.map = after;
  state.last = null;
  changed(true);
}

// ---- the painting survives a reload ---------------------------------------

/** @param {string} model */
const storageKey = (model) => `easel.map.${model}`;

function autosave() {
  if (!state.card) return;
  const { width, height, data } = state.map;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  try {
    localStorage.setItem(storageKey(state.card.name), JSON.stringify({ width, height, wide: data instanceof Uint16Array, data: btoa(text) }));
  } catch {
    // Storage full or disabled: the painting still lives in the page.
  }
}

/** @param {ModelCard} card @returns {LabelMap | null} */
function restore(card) {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(card.name)) ?? "null");
    if (!saved || saved.width !== card.native.width || saved.height !== card.native.height) return null;
    const bytes = Uint8Array.from(atob(saved.data), (c) => c.charCodeAt(0));
    const values = valueCount(card);
    const data = saved.wide ? new Uint16Array(bytes.buffer) : bytes;
    if (data.some((v) => v >= values)) return null;
    return new LabelMap(saved.width, saved.height, values, data);
  } catch {
    return null;
  }
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

/** @type {{pointer: number, before: LabelMap, x: number, y: number, cls: number, changed: number} | null} */
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
    const before = state.map.clone();
    if (state.map.fill(point.x, point.y, state.cls) > 0) {
      state.history.record(before);
      changed(true);
    }
    return;
  }
  const cls = state.tool === "eraser" ? state.background : state.cls;
  const from = event.shiftKey && state.last ? state.last : point;
  stroke = { pointer: event.pointerId, before: state.map.clone(), x: point.x, y: point.y, cls, changed: 0 };
  ui.canvas.setPointerCapture(event.pointerId);
  stroke.changed += state.map.paintSegment(from.x, from.y, point.x, point.y, brushSize(), cls);
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
    changedNow += state.map.paintSegment(stroke.x, stroke.y, point.x, point.y, brushSize(), stroke.cls);
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
  if (state.tool === "eraser" || state.tool === "pick") setTool("brush");
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
const TOOL_KEYS = { b: "brush", f: "fill", e: "eraser", i: "pick" };

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
  ui.seed.value = String(Math.floor(Math.random() * 2 ** 31));
  live.changed(true);
});
ui.styleFile.addEventListener("change", () => {
  const file = ui.styleFile.files?.[0];
  if (file) setStyle(file);
});
ui.styleClear.addEventListener("click", () => setStyle(null));

/** @param {Blob | null} file */
function setStyle(file) {
  state.style = file;
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
  ui.model.value = card.name;
  await loadExamples(card);

  if (carry && previous) {
    const { table, unmapped } = mapClasses(previous, card, state.background);
    const values = valueCount(card);
    /** @param {LabelMap} map */
    const convert = (map) => {
      const moved = map.remapped(table, values);
      return moved.width === width && moved.height === height ? moved : moved.resized(width, height);
    };
    const counts = state.map.histogram();
    const lost = unmapped.filter((name) => {
      const i = previous.classes.findIndex((c) => c.name === name);
      return counts[i < 0 ? previous.classes.length : i] > 0;
    });
    state.history.undoStack = state.history.undoStack.map(convert);
    state.history.redoStack = state.history.redoStack.map(convert);
    state.map = convert(state.map);
    const background = card.classes[state.background].name;
    showNotice(
      lost.length
        ? `Switched to ${card.name}. No class here matches ${lost.join(", ")}: painted as ${background}.`
        : `Switched to ${card.name}; every class in the painting carried over.`,
    );
    selectClass(table[state.cls] < card.classes.length ? table[state.cls] : state.background);
  } else {
    state.history.clear();
    state.map = restore(card) ?? (await firstExample(card)) ?? blank(card);
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
  },
});
