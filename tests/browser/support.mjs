// Shared pieces of the browser tests: a real `easel serve` with the default
// model and three imported fixture models, headless Chromium, and PNG
// reading and writing for checking what the page posts and saves.
// playwright-core resolves from tests/browser/node_modules (this folder's
// package.json; `make browser-test-deps`).

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, symlinkSync, existsSync, rmSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateSync, deflateSync } from "node:zlib";
import { chromium } from "playwright-core";

// This file is tests/browser/support.mjs: the repository root is two up.
const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../..");
const easel = process.env.EASEL_BIN ?? join(repo, "target/release/easel");
export const shared = process.env.EASEL_SHARED_DIR ?? resolve(repo, "../shared");
export const screenshots = process.env.EASEL_SCREENSHOTS ?? join(repo, "target/screenshots");

/**
 * Starts the server on a free port with landscapes (default), coco182, vae
 * (with two style presets) and oasis (z per pixel).
 */
export async function startServer() {
  if (!existsSync(easel)) throw new Error(`no easel binary at ${easel}: run \`make build\` or set EASEL_BIN`);
  const models = mkdtempSync(join(tmpdir(), "easel-browser-"));
  symlinkSync(join(repo, "models/landscapes"), join(models, "landscapes"));
  for (const [fixture, name] of [["coco182_tiny", "coco182"], ["vae_tiny", "vae"]]) {
    execFileSync(easel, ["import", join(shared, "fixtures/spade", fixture, "checkpoint"), "--out", join(models, name)], { stdio: "pipe" });
  }
  execFileSync(easel, ["import", join(shared, "fixtures/oasis_tiny/checkpoint"), "--out", join(models, "oasis")], { stdio: "pipe" });
  addStylePresets(join(models, "vae"));
  const child = spawn(easel, ["serve", "--models", models, "--bind", "127.0.0.1:0", "--default", "landscapes"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`easel serve did not start:\n${log}`)), 60_000);
    const read = (/** @type {Buffer} */ chunk) => {
      log += chunk;
      const found = log.match(/at (http:\/\/[0-9.:]+)/);
      if (found) {
        clearTimeout(timer);
        ok(found[1]);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => fail(new Error(`easel serve exited with ${code}:\n${log}`)));
  });
  return {
    url,
    stop() {
      child.kill("SIGTERM");
      rmSync(models, { recursive: true, force: true });
    },
  };
}

/**
 * Gives an imported package two style presets in its card (docs/model-card.md,
 * `styles`): noon, with a description and a thumbnail in styles/, and dawn
 * with neither.
 * @param {string} pkg
 */
function addStylePresets(pkg) {
  const cardFile = join(pkg, "model.json");
  const card = JSON.parse(readFileSync(cardFile, "utf8"));
  const z = (value) => new Array(card.z_dim).fill(value);
  card.styles = [
    { name: "noon", description: "high sun", z: z(0.8), thumbnail: "noon.png" },
    { name: "dawn", z: z(-0.8) },
  ];
  writeFileSync(cardFile, JSON.stringify(card, null, 2));
  mkdirSync(join(pkg, "styles"), { recursive: true });
  writeFileSync(join(pkg, "styles/noon.png"), encodeRgbPng(16, 16, (x, y) => [250, 230 - 6 * y, 60 + 6 * x]));
}

/**
 * Synthetic scenes that training never saw (seed 1, as
 * training/evaluate_default_v2.sh holds them out), rendered by `easel
 * dataset synth`: each scene's photo (JPEG) and its label map (PNG).
 * @param {number} count @param {number} size
 * @returns {{photo: string, label: string}[]}
 */
export function heldOutScenes(count, size) {
  const out = mkdtempSync(join(tmpdir(), "easel-scenes-"));
  execFileSync(easel, ["dataset", "synth", "--out", out, "--count", String(count), "--size", String(size),
    "--seed", "1", "--test-fraction", "1"], { stdio: "pipe" });
  return Array.from({ length: count }, (_, i) => {
    const id = String(i).padStart(6, "0");
    return { photo: join(out, "test_img", `${id}.jpg`), label: join(out, "test_label", `${id}.png`) };
  });
}

export async function startBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

/**
 * A fresh page on the painter, ready, with its first image shown. Page
 * errors are collected; `labels` gathers the index maps the page posts.
 * @param {import("playwright-core").Browser} browser
 * @param {string} url
 * @param {{width: number, height: number}} [viewport]
 */
export async function openPainter(browser, url, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // `form` holds each field's last value; `fields` all of them in order (region_mask, region_seed, … repeat).
  /** @type {{width: number, height: number, values: number[], form: Map<string, Buffer>, fields: [string, Buffer][]}[]} */
  const posted = [];
  page.on("request", (request) => {
    if (!request.url().endsWith("/synthesize")) return;
    const fields = parseMultipart(request.headers()["content-type"], request.postDataBuffer());
    const form = new Map(fields);
    const label = form.get("label");
    if (label) posted.push({ ...decodeGrayPng(label), form, fields });
  });
  await page.goto(url);
  await page.evaluate(() => window.easel.ready);
  await page.waitForSelector("#result[src]");
  return { context, page, errors, posted };
}

/** Client coordinates of the centre of map pixel (x, y). */
export async function pixelCentre(page, x, y) {
  return page.evaluate(([x, y]) => {
    const canvas = document.getElementById("map");
    const rect = canvas.getBoundingClientRect();
    const w = canvas.clientWidth, h = canvas.clientHeight;
    const scale = Math.min(w / canvas.width, h / canvas.height);
    return {
      x: rect.left + canvas.clientLeft + (w - canvas.width * scale) / 2 + (x + 0.5) * scale,
      y: rect.top + canvas.clientTop + (h - canvas.height * scale) / 2 + (y + 0.5) * scale,
    };
  }, [x, y]);
}

/**
 * Waits for the image of the newest change: #result shows another image than
 * `previous` (its src) and no request is in flight. Returns the new src.
 */
export async function nextImage(page, previous) {
  await page.waitForFunction((previous) => {
    const src = document.getElementById("result").getAttribute("src");
    return src && src !== previous && document.getElementById("busy").hidden;
  }, previous);
  return page.getAttribute("#result", "src");
}

/** The image the page shows, decoded to RGB bytes. */
export async function shownImage(page) {
  const bytes = await page.evaluate(() => window.easel.image());
  if (!bytes) throw new Error("the page shows no image");
  return decodeRgbPng(Buffer.from(bytes));
}

/**
 * What the image shown was made from (model, width, height, seed, preset,
 * regions: how many), whether it was posted now or shown again from the
 * images the page keeps.
 */
export const shownRecipe = (page) => page.evaluate(() => window.easel.shown());

/**
 * How many changes the page has posted or will post: unchanged, nothing
 * was or will be posted, and a test need not wait to see that.
 */
export const changesOf = (page) => page.evaluate(() => window.easel.changes());

/** Waits for the page's next change (a map opened, an example chosen) from `previous` changes. */
export async function nextChange(page, previous) {
  await page.waitForFunction((previous) => window.easel.changes() > previous, previous);
}

/** Waits until the painting's pending save, if any, is in local storage. */
export const untilSaved = (page) => page.evaluate(() => window.easel.saved());

/** Waits until `check()` is true, polling; fails with `explain()`. */
export async function eventually(check, explain, timeout = 10_000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out: ${await explain()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The fields of a multipart body, in order. @param {string} contentType @param {Buffer | null} body @returns {[string, Buffer][]} */
export function parseMultipart(contentType, body) {
  const fields = [];
  const boundary = contentType?.match(/boundary=(.+)$/)?.[1];
  if (!boundary || !body) return fields;
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(at + delimiter.length + 2, next - 2);
    const split = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, split).toString();
    const name = head.match(/name="([^"]+)"/)?.[1];
    if (name) fields.push([name, part.subarray(split + 4)]);
    at = next;
  }
  return fields;
}

/** Channels per pixel by PNG colour type: grayscale, RGB, RGBA. */
const CHANNELS = { 0: 1, 2: 3, 6: 4 };

/** A non-paletted PNG (8- or 16-bit, any filter) → its unfiltered rows. @param {Buffer} png */
function decodePng(png) {
  let at = 8;
  let width = 0, height = 0, depth = 0, colour = -1;
  const idat = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString("latin1", at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      colour = data[9];
      if (data[12] !== 0) throw new Error("interlaced PNGs are not read here");
    } else if (type === "IDAT") idat.push(data);
    at += 12 + length;
  }
  const channels = CHANNELS[colour];
  if (!channels || (depth !== 8 && depth !== 16)) throw new Error(`not an 8/16-bit grey, RGB or RGBA PNG (colour ${colour}, depth ${depth})`);
  const raw = inflateSync(Buffer.concat(idat));
  const bpp = (channels * depth) / 8, stride = width * bpp;
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= bpp ? rows[y * stride + i - bpp] : 0;
      const b = y > 0 ? rows[(y - 1) * stride + i] : 0;
      const c = i >= bpp && y > 0 ? rows[(y - 1) * stride + i - bpp] : 0;
      const paeth = () => {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      };
      const predictor = [0, a, b, (a + b) >> 1, filter === 4 ? paeth() : 0][filter];
      rows[y * stride + i] = (x + predictor) & 0xff;
    }
  }
  return { width, height, depth, colour, rows };
}

/** Grayscale PNG (8- or 16-bit, any filter) → values. @param {Buffer} png */
export function decodeGrayPng(png) {
  const { width, height, depth, colour, rows } = decodePng(png);
  if (colour !== 0) throw new Error(`not a grayscale PNG (colour ${colour})`);
  const values = [];
  for (let i = 0; i < width * height; i++) values.push(depth === 8 ? rows[i] : (rows[2 * i] << 8) | rows[2 * i + 1]);
  return { width, height, depth, values };
}

/** 8-bit RGB PNG (any filter) → `rgb`, three bytes a pixel, row by row. @param {Buffer} png */
export function decodeRgbPng(png) {
  const { width, height, depth, colour, rows } = decodePng(png);
  if (colour !== 2 || depth !== 8) throw new Error(`not an 8-bit RGB PNG (colour ${colour}, depth ${depth})`);
  return { width, height, rgb: rows };
}

/** Values → 8-bit grayscale PNG (filter none). */
export function encodeGrayPng(width, height, values) {
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = values[y * width + x];
  return pngFile(width, height, 8, 0, [], raw);
}

/** Values → 8-bit RGB PNG. @param {(x: number, y: number) => number[]} colour */
export function encodeRgbPng(width, height, colour) {
  const raw = Buffer.alloc(height * (3 * width + 1));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(colour(x, y), y * (3 * width + 1) + 1 + 3 * x);
  }
  return pngFile(width, height, 8, 2, [], raw);
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** PNG's CRC-32 of a chunk's type and data. */
function crc(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The tEXt and uncompressed iTXt texts of a PNG by keyword, in file order,
 * and the types of its chunks; a chunk failing its CRC throws.
 * @param {Buffer} png
 */
export function pngTexts(png) {
  const texts = new Map();
  const types = [];
  let at = 8;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString("latin1", at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (png.readUInt32BE(at + 8 + length) !== crc(png.subarray(at + 4, at + 8 + length))) throw new Error(`the ${type} chunk fails its CRC`);
    types.push(type);
    const end = data.indexOf(0);
    if (type === "tEXt") texts.set(data.toString("latin1", 0, end), data.toString("latin1", end + 1));
    if (type === "iTXt" && data[end + 1] === 0) {
      const language = data.indexOf(0, end + 3);
      texts.set(data.toString("latin1", 0, end), data.toString("utf8", data.indexOf(0, language + 1) + 1));
    }
    at += 12 + length;
  }
  return { texts, types };
}

function pngFile(width, height, depth, colour, extra, raw) {
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, "latin1");
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = depth;
  header[9] = colour;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    ...extra,
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Class index by name in a model's card. */
export async function classIndex(url, model, name) {
  const card = await (await fetch(`${url}/api/v1/models/${model}`)).json();
  const i = card.classes.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`${model} has no class ${name}`);
  return i;
}

// ---- painting through the page (landscapes unless said) ------------------

/** Picks a class by its name in the palette. */
export async function selectClass(page, name) {
  await page.locator("#palette button", { hasText: new RegExp(`^${name}$`) }).click();
}

/** Sets the brush size as the slider would. */
export async function setSize(page, size) {
  await page.evaluate((size) => {
    const input = /** @type {HTMLInputElement} */ (document.getElementById("size"));
    input.value = String(size);
    input.dispatchEvent(new Event("input"));
  }, size);
}

/** Clears the map to a class: it becomes the background class, then Clear. */
export async function clearTo(page, name) {
  await page.selectOption("#background", { label: name });
  await page.click("#clear");
}

/** A drag from pixel to pixel in one pointer move, so the path is exactly the segment. */
export async function stroke(page, [x0, y0], [x1, y1], modifiers = {}) {
  const a = await pixelCentre(page, x0, y0), b = await pixelCentre(page, x1, y1);
  if (modifiers.shift) await page.keyboard.down("Shift");
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  if (x1 !== x0 || y1 !== y0) await page.mouse.move(b.x, b.y);
  await page.mouse.up();
  if (modifiers.shift) await page.keyboard.up("Shift");
}

/** A click on the centre of map pixel (x, y), with shift or alt held if asked. */
export async function click(page, x, y, modifiers = {}) {
  const p = await pixelCentre(page, x, y);
  if (modifiers.shift) await page.keyboard.down("Shift");
  if (modifiers.alt) await page.keyboard.down("Alt");
  await page.mouse.click(p.x, p.y);
  if (modifiers.shift) await page.keyboard.up("Shift");
  if (modifiers.alt) await page.keyboard.up("Alt");
}

/** The map as `{width, height, data}`, class indices row by row. */
export const mapOf = (page) => page.evaluate(() => window.easel.map());

/** A digest of the map, computed in the page (cheaper than moving the map). */
export const digestOf = (page) =>
  page.evaluate(() => {
    let h = 2166136261;
    for (const v of window.easel.map().data) h = Math.imul(h ^ v, 16777619);
    return h >>> 0;
  });

/** The brush rule, written out independently: pixel centres within size/2 of the segment between pixel centres. */
export function expectedStroke(width, height, base, [x0, y0], [x1, y1], size, cls) {
  const out = base.slice();
  const r2 = (size / 2) ** 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x1 - x0, dy = y1 - y0;
      const len2 = dx * dx + dy * dy;
      const t = len2 ? Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / len2)) : 0;
      const ex = x - (x0 + t * dx), ey = y - (y0 + t * dy);
      if (ex * ex + ey * ey <= r2) out[y * width + x] = cls;
    }
  }
  return out;
}

/** How many entries of `a` and `b` differ. */
export function differences(a, b) {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

