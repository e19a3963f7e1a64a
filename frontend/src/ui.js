// @ts-check
// The page's elements by id (index.html), checked once at start, and a
// download of a blob as a file.

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

export const ui = {
  model: el("model", HTMLSelectElement),
  example: el("example", HTMLSelectElement),
  openMap: el("open-map", HTMLButtonElement),
  mapFile: el("map-file", HTMLInputElement),
  openPhoto: el("open-photo", HTMLButtonElement),
  photoFile: el("photo-file", HTMLInputElement),
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
  canvasField: el("canvas-field", HTMLLabelElement),
  canvasSize: el("canvas-size", HTMLSelectElement),
  canvasNote: el("canvas-note", HTMLParagraphElement),
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
  panels: el("panels", HTMLElement),
  mapBox: el("map-box", HTMLDivElement),
  resultBox: el("result-box", HTMLDivElement),
  result: el("result", HTMLImageElement),
  busy: el("busy", HTMLSpanElement),
  preview: el("preview", HTMLInputElement),
  previewField: el("preview-field", HTMLLabelElement),
  check: el("check", HTMLInputElement),
  checkField: el("check-field", HTMLLabelElement),
  checkOverlay: el("check-overlay", HTMLCanvasElement),
  checkList: el("check-list", HTMLUListElement),
  latency: el("latency", HTMLSpanElement),
  search: el("class-search", HTMLInputElement),
  palette: el("palette", HTMLUListElement),
  help: el("help", HTMLDialogElement),
  helpList: el("help-list", HTMLDivElement),
  helpOpen: el("help-open", HTMLButtonElement),
};

/** Downloads `blob` as a file named `name`. @param {Blob} blob @param {string} name */
export function download(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
