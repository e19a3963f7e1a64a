// Issue 17's canvas and images in headless Chromium against a real server:
// the canvas size chooser (nearest scaling of the painting, one undo step,
// the image at the new size, the layout), its note for fixed-size models,
// images shown again with no request, and saved images that reopen into
// their map and settings.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import {
  startServer, startBrowser, openPainter, eventually, decodeGrayPng, decodeRgbPng, encodeGrayPng,
  screenshots, nextImage, shownImage, shownRecipe, clearTo, selectClass, setSize, stroke, mapOf,
  differences, pngTexts, untilSaved,
} from "./support.mjs";

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

const SKY = 0, GRASS = 6, WATER = 9; // landscapes classes (server/data/classes/landscapes-12.tsv)

/** A model's card and the server's max_pixels. */
async function cardOf(model) {
  const card = await (await fetch(`${server.url}/api/v1/models/${model}`)).json();
  const list = await (await fetch(`${server.url}/api/v1/models`)).json();
  return { card, maxPixels: list.max_pixels ?? Infinity };
}

/**
 * The sizes the chooser should offer, "WxH", by the rule restated: native;
 * 2:1 and 3:2 on the native's shorter side; twice native; each side rounded
 * to the nearest multiple of multiple_of; none over max_pixels; no repeats.
 */
function offered(card, maxPixels) {
  const { width, height } = card.native;
  const m = Math.max(1, card.sizes.multiple_of);
  const round = (v) => Math.max(1, Math.round(v / m)) * m;
  const s = Math.min(width, height);
  const out = [`${width}x${height}`];
  for (const [w, h] of [[round(2 * s), round(s)], [round(1.5 * s), round(s)], [round(2 * width), round(2 * height)]]) {
    if (w * h <= maxPixels && !out.includes(`${w}x${h}`)) out.push(`${w}x${h}`);
  }
  return out;
}

/** Nearest-neighbour scaling by the server's rule: source = ⌊dst · (in / out)⌋ in float32. */
function nearest(values, w0, h0, w1, h1) {
  const src = (d, i, o) => Math.min(i - 1, Math.floor(Math.fround(d * Math.fround(i / o))));
  const out = [];
  for (let y = 0; y < h1; y++) for (let x = 0; x < w1; x++) out.push(values[src(y, h0, h1) * w0 + src(x, w0, w1)]);
  return out;
}

const optionValues = (page) => page.locator("#canvas-size option").evaluateAll((os) => os.map((o) => o.value));

/** Clicks Save image and returns the file. */
async function saveImage(page) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save-image")]);
  return readFileSync(await download.path());
}

test("a size change keeps the painting, scaled nearest, as one undo step, and the image follows", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  const { card, maxPixels } = await cardOf("landscapes");
  assert.equal(card.sizes.fixed, false, "landscapes takes free sizes");
  await page.waitForSelector("#canvas-field:not([hidden])");
  assert.equal(await page.isVisible("#canvas-note"), false);
  const sizes = offered(card, maxPixels);
  assert.deepEqual(await optionValues(page), sizes);
  assert.ok(sizes.length >= 3, `a panorama and 3:2 at least: ${sizes}`);
  const [native, panorama, threeTwo] = sizes;
  assert.equal(await page.inputValue("#canvas-size"), native);

  // A painting with edges to check: sky, a water band, a grass blob.
  await clearTo(page, "sky");
  const { width: w0, height: h0 } = await mapOf(page);
  await selectClass(page, "water");
  await setSize(page, Math.max(3, Math.round(h0 / 16)));
  await stroke(page, [0, Math.round(h0 * 0.6)], [w0 - 1, Math.round(h0 * 0.7)]);
  await selectClass(page, "grass");
  await stroke(page, [Math.round(w0 * 0.3), Math.round(h0 * 0.2)], [Math.round(w0 * 0.35), Math.round(h0 * 0.25)]);
  const painted = (await mapOf(page)).data;
  assert.deepEqual([...new Set(painted)].sort((a, b) => a - b), [SKY, GRASS, WATER]);
  let src = await nextImage(page, null);

  // The panorama: the map scaled nearest, posted at its new size with exactly those indices.
  const [w1, h1] = panorama.split("x").map(Number);
  await page.selectOption("#canvas-size", panorama);
  const wide = nearest(painted, w0, h0, w1, h1);
  await eventually(
    () => posted.at(-1)?.width === w1 && posted.at(-1).height === h1 && differences(posted.at(-1).values, wide) === 0,
    () => `the last post was ${posted.at(-1)?.width}×${posted.at(-1)?.height}`,
  );
  assert.deepEqual([...new Set(posted.at(-1).values)].sort((a, b) => a - b), [SKY, GRASS, WATER], "exact classes, no blending");
  const map = await mapOf(page);
  assert.deepEqual([map.width, map.height], [w1, h1]);
  assert.deepEqual(map.data, wide);
  assert.deepEqual(await page.evaluate(() => { const c = document.getElementById("map"); return [c.width, c.height]; }), [w1, h1]);
  src = await nextImage(page, src);
  assert.deepEqual(await page.evaluate(() => { const img = document.getElementById("result"); return [img.naturalWidth, img.naturalHeight]; }), [w1, h1]);
  const made = await shownRecipe(page);
  assert.deepEqual([made.model, made.width, made.height], ["landscapes", w1, h1]);

  // One undo step: back to the painting as it was, at its size; redo goes forward again.
  // (The buttons: the keys are the list's own while it has the focus.)
  await page.click("#undo");
  assert.deepEqual(await mapOf(page), { width: w0, height: h0, data: painted });
  assert.equal(await page.inputValue("#canvas-size"), native, "the chooser follows the map");
  src = await nextImage(page, src);
  await page.click("#redo");
  assert.deepEqual((await mapOf(page)).data, wide);
  assert.equal(await page.inputValue("#canvas-size"), panorama);
  src = await nextImage(page, src);

  // 3:2 from the panorama: scaled from what is on the canvas.
  const [w2, h2] = threeTwo.split("x").map(Number);
  await page.selectOption("#canvas-size", threeTwo);
  const expected = nearest(wide, w1, h1, w2, h2);
  await eventually(() => posted.at(-1)?.width === w2 && differences(posted.at(-1).values, expected) === 0, () => "the 3:2 map was not posted");
  await page.waitForSelector("#busy", { state: "hidden" });
  assert.equal(await page.isVisible("#error"), false, "the server took every size offered");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a wide canvas puts the image under the map, both large at 1280×800; a phone does not scroll sideways", async () => {
  for (const [width, height, minimum, name] of [[1280, 800, 560, "painter-panorama-1280x800.png"], [390, 844, 300, "painter-panorama-390x844.png"]]) {
    const { page, errors, context } = await openPainter(browser, server.url, { width, height });
    const { card, maxPixels } = await cardOf("landscapes");
    const panorama = offered(card, maxPixels)[1];
    const side = await page.locator("#map").boundingBox();
    if (card.native.width / card.native.height < 1.25) {
      assert.equal(await page.getAttribute("#panels", "class"), "panels", "a square map: side by side");
    }
    await page.selectOption("#canvas-size", panorama);
    await page.waitForFunction((w) => document.getElementById("map").width === w, Number(panorama.split("x")[0]));
    await page.waitForSelector("#busy", { state: "hidden" });
    assert.equal(await page.getAttribute("#panels", "class"), "panels stacked");
    const map = await page.locator("#map").boundingBox(), result = await page.locator(".result-box").boundingBox();
    assert.ok(map.width >= minimum && result.width >= minimum, `${width}×${height}: map ${map.width}px, image ${result.width}px wide`);
    assert.ok(map.width > side.width, "wider than beside the image");
    assert.ok(Math.abs(map.width / map.height - 2) < 0.05, `the map's box keeps 2:1: ${map.width}×${map.height}`);
    assert.ok(result.y >= map.y + map.height, "the image is under the map");
    if (width === 1280) assert.ok(result.y + result.height <= height, "both on the first screen");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.equal(overflow, 0, "no sideways scrolling");
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, name) });
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test("a fixed-size model hides the chooser and says which size it makes; free-size fixtures show theirs", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  const { card: vae, maxPixels } = await cardOf("vae");
  assert.equal(vae.sizes.fixed, true, "the vae fixture starts from z: fixed size");
  assert.deepEqual(vae.native, { width: 256, height: 128 });
  await page.selectOption("#model", "vae");
  await page.waitForSelector("#canvas-note:not([hidden])");
  assert.equal(await page.isVisible("#canvas-field"), false);
  assert.equal(await page.textContent("#canvas-note"), "This model makes only 256×128 images.");

  await page.selectOption("#model", "oasis");
  await page.waitForSelector("#canvas-field:not([hidden])");
  assert.equal(await page.isVisible("#canvas-note"), false);
  const { card: oasis } = await cardOf("oasis");
  assert.equal(oasis.sizes.fixed, false);
  assert.deepEqual(await optionValues(page), offered(oasis, maxPixels));
  assert.deepEqual(errors, []);
  await context.close();
});

test("re-rolled regions scale with the canvas", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  let src = await page.getAttribute("#result", "src");
  await page.selectOption("#model", "oasis");
  src = await nextImage(page, src);
  const { card, maxPixels } = await cardOf("oasis");
  const { width: w0, height: h0 } = await mapOf(page);
  await page.click("#reroll-tool");
  await setSize(page, Math.round(w0 / 8));
  await stroke(page, [Math.round(w0 * 0.7), Math.round(h0 * 0.7)], [Math.round(w0 * 0.8), Math.round(h0 * 0.8)]);
  await eventually(() => posted.at(-1)?.form.has("region_mask"), () => "no region was posted");
  await page.waitForSelector("#busy", { state: "hidden" }); // the last post is the whole stroke's
  const mask = decodeGrayPng(posted.at(-1).form.get("region_mask"));
  const seed = posted.at(-1).form.get("region_seed").toString();

  const panorama = offered(card, maxPixels)[1];
  const [w1, h1] = panorama.split("x").map(Number);
  await page.selectOption("#canvas-size", panorama);
  await eventually(() => posted.at(-1)?.width === w1 && posted.at(-1).form.has("region_mask"), () => "the resized painting was not posted with its region");
  const scaled = decodeGrayPng(posted.at(-1).form.get("region_mask"));
  assert.deepEqual([scaled.width, scaled.height], [w1, h1]);
  assert.deepEqual(scaled.values.map((v) => (v ? 1 : 0)), nearest(mask.values.map((v) => (v ? 1 : 0)), w0, h0, w1, h1));
  assert.equal(posted.at(-1).form.get("region_seed").toString(), seed, "the region keeps its seed");
  assert.deepEqual(errors, []);
  await context.close();
});

test("undo, redo and an example chosen again show the image already made, with no request", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  let labelReads = 0;
  page.on("request", (request) => {
    if (request.url().includes("/label-map")) labelReads++;
  });
  const example = await page.inputValue("#example");
  assert.notEqual(example, "", "the page opened on an example");
  await page.waitForSelector("#busy", { state: "hidden" });
  const exampleSrc = await page.getAttribute("#result", "src");
  const exampleImage = await shownImage(page);

  await clearTo(page, "sky");
  const skySrc = await nextImage(page, exampleSrc);
  const skyImage = await shownImage(page);
  await selectClass(page, "water");
  await setSize(page, 12);
  await stroke(page, [10, 40], [200, 60]);
  const waterSrc = await nextImage(page, skySrc);
  const sent = posted.length;

  await page.keyboard.press("Control+z");
  await page.waitForFunction((src) => document.getElementById("result").getAttribute("src") === src, skySrc);
  assert.equal(await page.textContent("#latency"), "known image, no request");
  assert.deepEqual((await shownImage(page)).rgb, skyImage.rgb);
  await page.keyboard.press("Control+Shift+z");
  await page.waitForFunction((src) => document.getElementById("result").getAttribute("src") === src, waterSrc);

  // Back to the example: its map and its image are both known.
  const reads = labelReads;
  await page.selectOption("#example", "");
  await page.selectOption("#example", example);
  await page.waitForFunction((src) => document.getElementById("result").getAttribute("src") === src, exampleSrc);
  assert.deepEqual((await shownImage(page)).rgb, exampleImage.rgb);
  await page.waitForSelector("#busy", { state: "hidden" });
  assert.equal(posted.length, sent, "no synthesis request since the stroke");
  assert.equal(labelReads, reads, "the example map was not read again");

  // Something new is still asked for.
  await stroke(page, [30, 200], [90, 220]);
  await eventually(() => posted.length > sent, () => "a new painting was not posted");
  assert.deepEqual(errors, []);
  await context.close();
});

/** The pressed style presets. */
const pressedPresets = (page) =>
  page.locator("#style-presets button").evaluateAll((bs) => bs.filter((b) => b.getAttribute("aria-pressed") === "true").map((b) => b.dataset.preset));

test("a saved image holds its recipe and reopens into the same model, map and settings (file and drop)", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  let src = await page.getAttribute("#result", "src");
  await page.selectOption("#model", "vae");
  await page.waitForSelector("#style-presets:not([hidden])");
  src = await nextImage(page, src);
  await page.click('#style-presets button[data-preset="dawn"]');
  src = await nextImage(page, src);
  await page.fill("#seed", "7");
  await page.dispatchEvent("#seed", "change");
  src = await nextImage(page, src);
  await page.locator("#palette button[data-class]").nth(1).click();
  await setSize(page, 20);
  await stroke(page, [20, 30], [230, 100]);
  src = await nextImage(page, src);
  const painted = await mapOf(page);
  assert.deepEqual(await shownRecipe(page), { model: "vae", width: 256, height: 128, seed: 7, preset: "dawn", regions: 0 });
  const shown = await shownImage(page);

  // The file: the server's image, whole, with the recipe in text chunks.
  const file = await saveImage(page);
  const { texts, types } = pngTexts(file);
  assert.equal(types[0], "IHDR");
  assert.equal(types.at(-1), "IEND");
  assert.deepEqual(decodeRgbPng(file).rgb, shown.rgb, "the image is as shown");
  assert.equal(texts.get("Software"), "easel");
  assert.equal(texts.get("easel:format"), "1");
  assert.equal(texts.get("easel:model"), "vae");
  assert.equal(texts.get("easel:size"), "256x128");
  assert.equal(texts.get("easel:seed"), "7");
  assert.equal(texts.get("easel:style-preset"), "dawn");
  const label = decodeGrayPng(Buffer.from(texts.get("easel:label-map"), "base64"));
  assert.deepEqual([label.width, label.height], [256, 128]);
  assert.deepEqual(label.values, painted.data, "the label map itself");
  for (const [name] of texts) assert.match(name, /^(Software|easel:[a-z-]+|x-easel-[a-z0-9-]+)$/);
  const path = join(tmpdir(), `easel-recipe-${process.pid}.png`);
  writeFileSync(path, file);

  /**
   * Elsewhere: vae's painting cleared (and saved as vae's, which a switch
   * back would load), another seed, no preset; then another model.
   */
  const wander = async () => {
    await page.click("#clear");
    assert.notDeepEqual((await mapOf(page)).data, painted.data);
    await page.fill("#seed", "3");
    await page.dispatchEvent("#seed", "change");
    await page.click('#style-presets button[data-preset="dawn"]');
    assert.deepEqual(await pressedPresets(page), []);
    await untilSaved(page);
    await page.selectOption("#model", "landscapes");
    await eventually(async () => (await page.evaluate(() => window.easel.model())) === "landscapes", () => "model not switched");
    await clearTo(page, "sky");
  };
  const restored = async (how) => {
    await eventually(async () => (await page.evaluate(() => window.easel.model())) === "vae", () => `${how}: the model is not vae`);
    await eventually(async () => differences((await mapOf(page)).data, painted.data) === 0, () => `${how}: the map is not the saved one`);
    assert.equal(await page.inputValue("#seed"), "7", how);
    assert.deepEqual(await pressedPresets(page), ["dawn"], how);
    await page.waitForSelector("#notice-text >> text=/Opened an image made with vae/");
    await eventually(async () => {
      const made = await shownRecipe(page);
      return made?.model === "vae" && made.seed === 7 && made.preset === "dawn";
    }, async () => `${how}: the image shown was made from ${JSON.stringify(await shownRecipe(page))}`);
    await page.waitForSelector("#busy", { state: "hidden" });
    assert.deepEqual((await shownImage(page)).rgb, shown.rgb, `${how}: the same image`);
    assert.equal(await page.isVisible("#error"), false);
  };

  await wander();
  await page.setInputFiles("#map-file", path);
  await restored("Open map");
  await page.keyboard.press("Control+z");
  assert.notDeepEqual((await mapOf(page)).data, painted.data, "opening it was one undo step, after vae's saved painting");
  await page.keyboard.press("Control+Shift+z");
  assert.deepEqual((await mapOf(page)).data, painted.data);

  await wander();
  const transfer = await page.evaluateHandle((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], "saved.png", { type: "image/png" }));
    return dt;
  }, [...file]);
  await page.dispatchEvent("#map-panel", "drop", { dataTransfer: transfer });
  await restored("a drop");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a saved panorama reopens at its size; a map file of a size the model takes opens at its own", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  const { card, maxPixels } = await cardOf("landscapes");
  const panorama = offered(card, maxPixels)[1];
  const [w1, h1] = panorama.split("x").map(Number);
  await page.selectOption("#canvas-size", panorama);
  await page.waitForFunction((w) => document.getElementById("result").naturalWidth === w, w1);
  await page.waitForSelector("#busy", { state: "hidden" });
  const painted = await mapOf(page);
  const file = await saveImage(page);
  assert.equal(pngTexts(file).texts.get("easel:size"), `${w1}x${h1}`);
  const path = join(tmpdir(), `easel-panorama-${process.pid}.png`);
  writeFileSync(path, file);

  await page.selectOption("#canvas-size", offered(card, maxPixels)[0]);
  await clearTo(page, "sky");
  await page.setInputFiles("#map-file", path);
  await eventually(async () => (await mapOf(page)).width === w1, () => "the panorama did not come back");
  assert.deepEqual(await mapOf(page), painted);
  assert.equal(await page.inputValue("#canvas-size"), panorama);

  // A plain index map twice the native size opens as it is; one the model cannot take is resized.
  const [w2, h2] = [2 * card.native.width, 2 * card.native.height];
  const values = Array.from({ length: w2 * h2 }, (_, i) => ((i % w2) < w2 / 2 ? WATER : GRASS));
  const big = join(tmpdir(), `easel-big-${process.pid}.png`);
  writeFileSync(big, encodeGrayPng(w2, h2, values));
  await page.setInputFiles("#map-file", big);
  await eventually(async () => (await mapOf(page)).width === w2, () => "the map was not opened at its own size");
  assert.deepEqual((await mapOf(page)).data, values);
  assert.equal(await page.inputValue("#canvas-size"), `${w2}x${h2}`);
  const odd = join(tmpdir(), `easel-odd-${process.pid}.png`);
  const m = card.sizes.multiple_of;
  writeFileSync(odd, encodeGrayPng(m + 1, m, new Array((m + 1) * m).fill(WATER)));
  await page.setInputFiles("#map-file", odd);
  await page.waitForSelector(`#notice-text >> text=/resized to the model's ${card.native.width}×${card.native.height}/`);
  assert.deepEqual([(await mapOf(page)).width, (await mapOf(page)).height], [card.native.width, card.native.height]);
  assert.deepEqual(errors, []);
  await context.close();
});
