// Issue 17's photos in headless Chromium against a real server: "Open
// photo…" and a photo dropped on the map become the painting (one undo
// step, the canvas's size) through the default model's segmenter; a model
// without one reads photos through landscapes' and carries the classes by
// name; maps dropped on the map still open as maps.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import {
  startServer, startBrowser, openPainter, eventually, decodeGrayPng, encodeGrayPng, nextImage,
  clearTo, mapOf, heldOutScenes, repo, screenshots,
} from "./support.mjs";

/** @type {{url: string, stop: () => void}} */
let server;
/** @type {import("playwright-core").Browser} */
let browser;
/** @type {{photo: string, label: string}[]} */
let scenes;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
  scenes = heldOutScenes(2, 256);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const SKY = 0, CLOUDS = 1, WATER = 9; // landscapes classes (server/data/classes/landscapes-12.tsv)

/** Share of pixels where `ours` and `truth` agree. */
function accuracy(ours, truth) {
  let same = 0;
  for (let i = 0; i < truth.length; i++) if (ours[i] === truth[i]) same++;
  return same / truth.length;
}

/** Drops the file at `path` on the map panel, as a file dragged from the desktop. */
async function drop(page, path, name, type) {
  const transfer = await page.evaluateHandle(([bytes, name, type]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], name, { type }));
    return dt;
  }, [[...readFileSync(path)], name, type]);
  await page.dispatchEvent("#map-panel", "drop", { dataTransfer: transfer });
}

test("Open photo… turns a photo into the painting at the canvas size, as one undo step", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  assert.equal(await page.isVisible("#open-photo"), true, "landscapes reads photos");
  await clearTo(page, "sky");
  let src = await nextImage(page, await page.getAttribute("#result", "src"));
  const before = await mapOf(page);
  const truth = decodeGrayPng(readFileSync(scenes[0].label));
  await page.setInputFiles("#photo-file", scenes[0].photo);
  await page.waitForSelector("#notice-text >> text=/Opened the photo \\(256×256\\) as a map/");
  const map = await mapOf(page);
  assert.deepEqual([map.width, map.height], [256, 256]);
  const score = accuracy(map.data, truth.values);
  assert.ok(score >= 0.8, `the map recovers the scene's classes: pixel accuracy ${score.toFixed(3)}`);
  src = await nextImage(page, src);
  await page.keyboard.press("Control+z");
  assert.deepEqual(await mapOf(page), before, "one undo step brings the painting back");
  await page.keyboard.press("Control+Shift+z");
  assert.deepEqual(await mapOf(page), map);
  assert.equal(await page.isVisible("#error"), false);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a photo dropped on the map becomes the painting; a dropped map is still a map", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  // A panorama canvas: the square photo is scaled to cover it and centre-cropped.
  const wide = await page.locator("#canvas-size option").nth(1).getAttribute("value");
  const [w, h] = wide.split("x").map(Number);
  await page.selectOption("#canvas-size", wide);
  await eventually(async () => (await mapOf(page)).width === w, () => "the canvas did not change");
  await drop(page, scenes[1].photo, "scene.jpg", "image/jpeg");
  await page.waitForSelector(`#notice-text >> text=/scaled to cover ${w}×${h} and centre-cropped/`);
  const map = await mapOf(page);
  assert.deepEqual([map.width, map.height], [w, h]);
  assert.ok(new Set(map.data).size >= 2, "a scene, not a blank");

  const values = Array.from({ length: w * h }, (_, i) => (i % w < w / 2 ? SKY : WATER));
  const path = join(tmpdir(), `easel-dropped-map-${process.pid}.png`);
  writeFileSync(path, encodeGrayPng(w, h, values));
  await drop(page, path, "map.png", "image/png");
  await eventually(async () => (await mapOf(page)).data.join() === values.join(), () => "the dropped map did not open");
  assert.equal(await page.isVisible("#error"), false);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a model without a segmenter reads photos through landscapes' and carries the classes by name", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  const list = await (await fetch(`${server.url}/api/v1/models`)).json();
  const has = Object.fromEntries(list.models.map((m) => [m.name, m.has_segmenter]));
  assert.deepEqual([has.landscapes, has.coco182], [true, false]);
  await page.selectOption("#model", "coco182");
  await eventually(async () => (await page.evaluate(() => window.easel.model())) === "coco182", () => "model not switched");
  assert.equal(await page.isVisible("#open-photo"), true, "another model reads photos for it");
  await page.setInputFiles("#photo-file", scenes[0].photo);
  await page.waitForSelector("#notice-text >> text=/coco182 reads no photos, so landscapes read it/");
  // Every class the map holds is where a landscapes class goes in coco182 (its COCO-Stuff name).
  const landscapes = await (await fetch(`${server.url}/api/v1/models/landscapes`)).json();
  const coco = await (await fetch(`${server.url}/api/v1/models/coco182`)).json();
  const carried = new Set(landscapes.classes.map((c) => coco.classes.findIndex((k) => k.name === (c.coco_stuff ?? c.name))));
  const map = await mapOf(page);
  const strays = [...new Set(map.data)].filter((v) => !carried.has(v));
  assert.deepEqual(strays, [], "classes the carry does not make");
  assert.equal(await page.isVisible("#error"), false);
  assert.deepEqual(errors, []);
  await context.close();
});

test("Open photo… reads a real photograph into a map: the sky above, the lake below; screenshot", async () => {
  const { page, errors, context } = await openPainter(browser, server.url, { width: 1280, height: 800 });
  const wide = await page.locator("#canvas-size option").nth(1).getAttribute("value");
  const [w, h] = wide.split("x").map(Number);
  await page.selectOption("#canvas-size", wide);
  await eventually(async () => (await mapOf(page)).width === w, () => "the canvas did not change");
  let src = await page.getAttribute("#result", "src");
  // Evening Glow by Ian Hex (KDE's wallpapers, LGPL-3.0; tests/fixtures/photos).
  await page.setInputFiles("#photo-file", join(repo, "tests/fixtures/photos/evening_glow.jpg"));
  await page.waitForSelector("#notice-text >> text=/Opened the photo \\(960×540\\)/");
  const map = await mapOf(page);
  assert.deepEqual([map.width, map.height], [w, h]);
  /** Share of rows `from`..`to` (fractions of the height) whose pixels are in `classes`. */
  const share = (from, to, classes) => {
    let hit = 0, all = 0;
    for (let y = Math.floor(from * h); y < Math.floor(to * h); y++) {
      for (let x = 0; x < w; x++, all++) if (classes.includes(map.data[y * w + x])) hit++;
    }
    return hit / all;
  };
  const sky = share(0, 0.2, [SKY, CLOUDS]), lake = share(0.45, 0.6, [WATER]);
  assert.ok(sky > 0.9, `the sky: ${sky.toFixed(2)}`);
  assert.ok(lake > 0.8, `the lake: ${lake.toFixed(2)}`);
  src = await nextImage(page, src);
  assert.equal(await page.isVisible("#error"), false);
  assert.deepEqual(errors, []);
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, "open-photo-1280x800.png") });
  await context.close();
});
