// Issue 17's Check in headless Chromium against a real server: with the
// toggle on, the image shown goes back through landscapes' segmenter; the
// page shades where it reads another class than painted, over the image at
// its size, and lists each painted class's agreement. Off hides both.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startBrowser, openPainter, mapOf, nextImage, shownImage } from "./support.mjs";

/** @type {{url: string, stop: () => void}} */
let server;
/** @type {import("playwright-core").Browser} */
let browser;

before(async () => {
  server = await startServer();
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test("Check shades the image where a segmenter disagrees and lists each class's agreement", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  assert.equal(await page.isVisible("#check-field"), true, "landscapes has a segmenter");
  assert.equal(await page.isChecked("#check"), false, "off by default");
  assert.equal(await page.isVisible("#check-overlay"), false);
  await page.check("#check");
  await page.waitForSelector("#check-overlay", { state: "visible" });
  await page.waitForSelector("#check-list li");

  const card = await (await fetch(`${server.url}/api/v1/models/landscapes`)).json();
  const map = await mapOf(page);
  const onMap = new Set(map.data.filter((v) => v < card.classes.length).map((v) => card.classes[v].name));
  const items = await page.locator("#check-list li").allTextContents();
  assert.equal(items.length, onMap.size, `one line per class on the map: ${items.join("; ")}`);
  for (const item of items) {
    const match = /^(.+): (\d+)% rendered as (.+)$/.exec(item);
    assert.ok(match, `a line reads "class: N% rendered as class": ${item}`);
    assert.equal(match[1], match[3]);
    assert.ok(onMap.has(match[1]), `${match[1]} is on the map`);
    const share = Number(match[2]);
    assert.ok(share >= 0 && share <= 100, `${share} is a percentage`);
  }

  const image = await shownImage(page);
  const overlay = await page.evaluate(() => {
    const c = /** @type {HTMLCanvasElement} */ (document.getElementById("check-overlay"));
    return [c.width, c.height];
  });
  assert.deepEqual(overlay, [image.width, image.height], "the overlay has the image's size");

  await page.uncheck("#check");
  assert.equal(await page.isVisible("#check-overlay"), false);
  assert.equal(await page.isVisible("#check-list"), false);
  assert.equal(await page.isVisible("#error"), false);
  assert.deepEqual(errors, []);
  await context.close();
});

test("Check on a model without a segmenter reads the image with another model's, classes carried by name", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  /** @type {string[]} */
  const segmentedBy = [];
  /** @type {string[]} */
  const unjudged = [];
  page.on("request", (r) => {
    const found = /\/api\/v1\/models\/([^/]+)\/segment/.exec(r.url());
    if (found) segmentedBy.push(found[1]);
    if (found && !r.url().includes("judge=true")) unjudged.push(r.url());
  });
  const src = await page.getAttribute("#result", "src");
  await page.selectOption("#model", "coco182");
  await nextImage(page, src);
  assert.equal(await page.isVisible("#check-field"), true, "landscapes' segmenter serves the other models");
  await page.check("#check");
  await page.waitForSelector("#check-list li");

  const card = await (await fetch(`${server.url}/api/v1/models/coco182`)).json();
  const map = await mapOf(page);
  const onMap = new Set(map.data.filter((v) => v < card.classes.length).map((v) => card.classes[v].name));
  const items = await page.locator("#check-list li").allTextContents();
  assert.equal(items.length, onMap.size, `one line per class on the map: ${items.join("; ")}`);
  for (const item of items) {
    const match = /^(.+): (\d+)% rendered as (.+)$/.exec(item);
    assert.ok(match && onMap.has(match[1]), `a line names a coco182 class on the map: ${item}`);
  }
  assert.ok(segmentedBy.length > 0 && segmentedBy.every((m) => m === "landscapes"), `segmented by ${segmentedBy}`);
  assert.deepEqual(unjudged, [], "generated images are read by the judge, as runs are scored");
  assert.deepEqual(errors, []);
  await context.close();
});
