// @ts-check
// The REST API as the page uses it. Every failure becomes an ApiError that
// carries the server's own message, so the page can show it as written.

import { decodeIndexPng } from "./png.js";

/**
 * @typedef {{name: string, color: string, coco_stuff?: string | null}} ClassInfo
 * @typedef {{index: number, name: string, color: string}} DontCare
 * @typedef {{name: string, description?: string, z: number[], spread?: number[], thumbnail?: string}} StylePreset
 *   a look the package ships; `thumbnail` is a file served by styleThumbnailUrl
 * @typedef {{
 *   name: string, classes: ClassInfo[], dontcare: DontCare | null,
 *   native: {width: number, height: number}, sizes?: {fixed: boolean, multiple_of: number},
 *   z_dim: number | null, z_per_pixel?: boolean, has_encoder: boolean, uses_instances: boolean,
 *   class_table: string, styles?: StylePreset[],
 * }} ModelCard
 *   sizes: fixed, only the native size; else any sides that are multiples of multiple_of
 * @typedef {{name: string, classes: number, native: {width: number, height: number},
 *   z_dim: number | null, has_encoder: boolean, has_segmenter?: boolean, canvas_sizes?: CanvasSize[]}} ModelSummary
 *   has_segmenter: it reads photos into maps (segment); canvas_sizes: the sizes the page offers
 *   (ModelCard::canvas_sizes on the server); both absent from older servers
 * @typedef {{name: string, width: number, height: number}} CanvasSize
 * @typedef {{queue: number, inference: number, total: number}} ServerTimes
 */

/** The server's own answer headers (x-easel-model, x-easel-package, x-easel-style, …). */
export const EASEL_HEADER = /^x-easel-[a-z0-9-]+$/;

export class ApiError extends Error {
  /** @param {number} status @param {string} message @param {string} type */
  constructor(status, message, type) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

/** @param {Response} response */
async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  let type = "http";
  try {
    const body = await response.json();
    message = body.error ?? message;
    type = body.error_type ?? type;
  } catch {
    // Not our JSON (a proxy's page, say): the status line is all there is.
  }
  return new ApiError(response.status, message, type);
}

const TOKEN_KEY = "easel.token";

/** @param {RequestInit | undefined} init @param {string | null} token */
function withToken(init, token) {
  if (!token) return init;
  const headers = new Headers(init?.headers);
  headers.set("authorization", `Bearer ${token}`);
  return { ...init, headers };
}

/**
 * Fetches, adding the API token when the server asked for one; a 401 asks
 * the painter for it once and retries.
 * @param {string} url @param {RequestInit} [init]
 */
async function ok(url, init) {
  let response = await fetch(url, withToken(init, localStorage.getItem(TOKEN_KEY)));
  if (response.status === 401) {
    const token = window.prompt("This server needs an API token (its --api-token):");
    if (token) {
      localStorage.setItem(TOKEN_KEY, token.trim());
      response = await fetch(url, withToken(init, token.trim()));
    }
  }
  if (!response.ok) throw await failure(response);
  return response;
}

/** A file the API serves (an example map), as a Blob. @param {string} url */
export async function blob(url) {
  return (await ok(url)).blob();
}

/**
 * The models; `max_pixels`: the most pixels a label map may have (the
 * server's --max-pixels; absent from older servers).
 * @returns {Promise<{models: ModelSummary[], default: string, max_pixels?: number}>}
 */
export async function listModels() {
  return (await ok("/api/v1/models")).json();
}

/** @param {string} name @returns {Promise<ModelCard>} */
export async function modelCard(name) {
  return (await ok(`/api/v1/models/${encodeURIComponent(name)}`)).json();
}

/** @param {string} name @returns {Promise<{name: string, url: string}[]>} */
export async function examples(name) {
  return (await (await ok(`/api/v1/models/${encodeURIComponent(name)}/examples`)).json()).examples;
}

/** Where a style preset's picture (its `thumbnail`) is served. @param {string} model @param {string} file */
export function styleThumbnailUrl(model, file) {
  return `/api/v1/models/${encodeURIComponent(model)}/styles/${encodeURIComponent(file)}`;
}

/**
 * Reads a label-map file (index, paletted or colour PNG) with the server's
 * rules and returns its class indices at the model's native size, or at
 * its own with `keepSize`.
 * @param {string} model
 * @param {Blob} file
 * @param {{nearest?: boolean, keepSize?: boolean}} [options]
 */
export async function readLabelMap(model, file, options = {}) {
  const params = new URLSearchParams();
  if (options.nearest) params.set("nearest", "true");
  if (options.keepSize) params.set("size", "input");
  const query = params.toString() ? `?${params}` : "";
  const response = await ok(`/api/v1/models/${encodeURIComponent(model)}/label-map${query}`, {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: file,
  });
  const header = (/** @type {string} */ name) => Number(response.headers.get(name));
  const bytes = new Uint8Array(await response.arrayBuffer());
  const width = header("x-width"), height = header("x-height");
  const data = header("x-bytes-per-value") === 2 ? bigEndian16(bytes) : bytes;
  return {
    width,
    height,
    data,
    sourceWidth: header("x-source-width"),
    sourceHeight: header("x-source-height"),
  };
}

/**
 * A photo read into a map of `model`'s classes by its segmenter, at
 * width×height: the photo scaled to cover it and centre-cropped. Returns
 * the class indices and the photo's own size. `judge`: read it with the
 * model's judge (the segmenter that scores runs) rather than its
 * real-photo segmenter, as for a generated image.
 * @param {string} model
 * @param {Blob} photo a PNG, JPEG or WebP whose `type` says which
 * @param {{width: number, height: number, judge?: boolean}} size
 * @param {AbortSignal} [signal]
 */
export async function segment(model, photo, { width, height, judge = false }, signal) {
  const params = new URLSearchParams({ width: String(width), height: String(height) });
  if (judge) params.set("judge", "true");
  const response = await ok(`/api/v1/models/${encodeURIComponent(model)}/segment?${params}`, {
    method: "POST",
    headers: { "content-type": photo.type },
    body: photo,
    signal,
  });
  const header = (/** @type {string} */ name) => Number(response.headers.get(name));
  const map = await decodeIndexPng(new Uint8Array(await response.arrayBuffer()));
  return { ...map, sourceWidth: header("x-source-width"), sourceHeight: header("x-source-height") };
}

/** @param {Uint8Array} bytes */
function bigEndian16(bytes) {
  const out = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (bytes[2 * i] << 8) | bytes[2 * i + 1];
  return out;
}

/**
 * @param {string} model
 * @param {Uint8Array<ArrayBuffer>} labelPng grayscale PNG of class indices
 * @param {{seed?: number, style_preset?: string, style?: Blob | null,
 *   regions?: {mask: Uint8Array<ArrayBuffer>, seed: number}[]}} options
 *   style_preset: one of the card's `styles`, by name (alone its look, with
 *   a seed a variation around it); regions: each a grayscale PNG of the map's size, nonzero inside, whose z
 *   is drawn from its seed (models with z per pixel); later ones over earlier
 * @param {AbortSignal} signal
 * @returns {Promise<{image: Blob, times: ServerTimes, headers: Record<string, string>}>}
 *   headers: the answer's x-easel-* headers (EASEL_HEADER), whichever the server sends
 */
export async function synthesize(model, labelPng, options, signal) {
  const form = new FormData();
  form.append("label", new Blob([labelPng], { type: "image/png" }), "label.png");
  form.append("encoding", "index");
  if (options.seed !== undefined) form.append("seed", String(options.seed));
  if (options.style_preset !== undefined) form.append("style_preset", options.style_preset);
  if (options.style) form.append("style", options.style, "style");
  for (const [i, region] of (options.regions ?? []).entries()) {
    form.append("region_mask", new Blob([region.mask], { type: "image/png" }), `region-${i + 1}.png`);
    form.append("region_seed", String(region.seed));
  }
  // Sent as bytes rather than as the FormData itself: the same request, but
  // one whose body developer tools (and the browser tests) can read.
  const encoded = new Response(form);
  const response = await ok(`/api/v1/models/${encodeURIComponent(model)}/synthesize`, {
    method: "POST",
    headers: { "content-type": encoded.headers.get("content-type") ?? "multipart/form-data" },
    body: await encoded.arrayBuffer(),
    signal,
  });
  const time = (/** @type {string} */ name) => Number(response.headers.get(name) ?? NaN);
  /** @type {Record<string, string>} */
  const headers = {};
  response.headers.forEach((value, name) => {
    if (EASEL_HEADER.test(name)) headers[name] = value;
  });
  return {
    image: await response.blob(),
    times: { queue: time("x-queue-time"), inference: time("x-inference-time"), total: time("x-total-time") },
    headers,
  };
}
