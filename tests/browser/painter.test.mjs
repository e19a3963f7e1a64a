// The painting page in headless Chromium against a real server: strokes,
// fill, undo, files, models, style and its presets, re-rolls, errors, and
// screenshots of the page.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import {
  startServer, startBrowser, openPainter, pixelCentre, eventually, decodeGrayPng,
  encodeGrayPng, encodeRgbPng, classIndex, screenshots, shared, nextImage, shownImage, shownRecipe,
  selectClass, setSize, clearTo, stroke, click, mapOf, digestOf, expectedStroke, differences,
  changesOf, nextChange, untilSaved,
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

const SKY = 0, WATER = 9, GRASS = 6; // landscapes classes (server/data/classes/landscapes-12.tsv)

test("opens with an example painted and its image shown", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  const map = await mapOf(page);
  assert.equal(map.width, 256);
  assert.ok(new Set(map.data).size >= 3, "an example with several classes is painted");
  assert.notEqual(await page.inputValue("#example"), "");
  const size = await page.evaluate(() => {
    const img = /** @type {HTMLImageElement} */ (document.getElementById("result"));
    return [img.naturalWidth, img.naturalHeight];
  });
  assert.deepEqual(size, [256, 256]);
  assert.match(await page.textContent("#latency"), /^\d+ ms \(model \d+ ms\)$/);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a stroke posts exactly the painted indices, no anti-aliasing", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  await clearTo(page, "sky");
  await selectClass(page, "water");
  await setSize(page, 9);
  const base = new Array(256 * 256).fill(SKY);
  const expected = expectedStroke(256, 256, base, [40, 100], [200, 130], 9, WATER);
  await stroke(page, [40, 100], [200, 130]);
  await eventually(
    () => posted.length > 0 && differences(posted.at(-1).values, expected) === 0,
    () => `the last posted map differs from the stroke in ${differences(posted.at(-1)?.values ?? [], expected)} pixels`,
  );
  const last = posted.at(-1);
  assert.equal(last.width, 256);
  assert.equal(last.form.get("encoding").toString(), "index");
  assert.deepEqual([...new Set(last.values)].sort(), [SKY, WATER], "only the two classes painted");
  assert.deepEqual((await mapOf(page)).data, expected);
  assert.deepEqual(errors, []);
  await context.close();
});

test("fill changes the connected region only", async () => {
  const { page, context } = await openPainter(browser, server.url);
  await clearTo(page, "sky");
  await selectClass(page, "water");
  await setSize(page, 3);
  await stroke(page, [128, 0], [128, 255]);
  await selectClass(page, "grass");
  await page.click('.tool[data-tool="fill"]');
  await click(page, 20, 20);
  const map = await mapOf(page);
  for (let y = 0; y < 256; y += 5) {
    assert.equal(map.data[y * 256 + 10], GRASS, `left of the line at y ${y}`);
    assert.equal(map.data[y * 256 + 128], WATER, `the line at y ${y}`);
    assert.equal(map.data[y * 256 + 250], SKY, `right of the line at y ${y}`);
  }
  await context.close();
});

test("undo and redo step through at least 50 changes", async () => {
  const { page, context } = await openPainter(browser, server.url);
  const start = await digestOf(page);
  await selectClass(page, "snow");
  await setSize(page, 3);
  const states = [];
  for (let i = 0; i < 55; i++) {
    await click(page, 10 + 4 * (i % 50), 20 + 8 * Math.floor(i / 50));
    states.push(await digestOf(page));
  }
  assert.equal(new Set(states).size, 55, "each click is a change");
  for (let i = 54; i >= 0; i--) {
    assert.equal(await digestOf(page), states[i], `before undo ${55 - i}`);
    await page.keyboard.press("Control+z");
  }
  assert.equal(await digestOf(page), start, "55 undos restore the start");
  await page.keyboard.press("Control+z");
  assert.equal(await digestOf(page), start, "nothing more to undo");
  assert.equal(await page.isDisabled("#undo"), true);
  await page.keyboard.press("Control+Shift+z");
  assert.equal(await digestOf(page), states[0]);
  await page.click("#redo");
  assert.equal(await digestOf(page), states[1]);
  await page.click("#undo");
  assert.equal(await digestOf(page), states[0]);
  await click(page, 5, 250);
  assert.equal(await page.isDisabled("#redo"), true, "a new change forgets the redo steps");
  await context.close();
});

test("a long stroke posts at a throttled rate while it is drawn", async () => {
  const { page, posted, context } = await openPainter(browser, server.url);
  await clearTo(page, "sky");
  await page.waitForSelector("#busy", { state: "hidden" });
  await selectClass(page, "rock");
  await setSize(page, 6);
  const before = posted.length;
  const a = await pixelCentre(page, 20, 20);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  for (let i = 1; i <= 40; i++) {
    const p = await pixelCentre(page, 20 + 5 * i, 20 + 2 * i);
    await page.mouse.move(p.x, p.y);
    await page.waitForTimeout(40);
  }
  const during = posted.length - before;
  await page.mouse.up();
  assert.ok(during >= 2, `posted ${during} times during a 1.6 s stroke`);
  assert.ok(during <= 20, `posted ${during} times for 40 moves: not throttled`);
  const final = (await mapOf(page)).data;
  await eventually(() => differences(posted.at(-1).values, final) === 0, () => "the final map was not posted");
  await page.waitForSelector("#busy", { state: "hidden" });
  await context.close();
});

test("while the pointer is down previews come at three quarters size, and the native image at release", async () => {
  const { page, posted, errors, context } = await openPainter(browser, server.url);
  await clearTo(page, "sky");
  await page.waitForSelector("#busy", { state: "hidden" });
  assert.ok(await page.isVisible("#preview-field"), "the default model's size is free");
  assert.ok(await page.isChecked("#preview"));
  await selectClass(page, "water");
  await setSize(page, 12);
  const before = posted.length;
  const a = await pixelCentre(page, 10, 180);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  for (let i = 1; i <= 20; i++) {
    const p = await pixelCentre(page, 10 + 10 * i, 180 + i);
    await page.mouse.move(p.x, p.y);
    await page.waitForTimeout(40);
  }
  // The pointer is still down: the last change goes as a preview, the painted
  // map nearest-scaled to 192² (LabelMap.resized's rule), and once it is in,
  // it is shown, and said so.
  const drawn = await mapOf(page);
  const src = (/** @type {number} */ d) => Math.floor(Math.fround(d * Math.fround(256 / 192)));
  const small = Array.from({ length: 192 * 192 }, (_, i) => drawn.data[src(Math.floor(i / 192)) * 256 + src(i % 192)]);
  await eventually(
    () => posted.length > before && posted.at(-1).width === 192 && differences(posted.at(-1).values, small) === 0,
    () => `the last map posted during the stroke: ${posted.at(-1)?.width} wide, ${differences(posted.at(-1)?.values ?? [], small)} pixels off`,
  );
  await page.waitForSelector("#busy", { state: "hidden" });
  const during = posted.slice(before);
  assert.deepEqual([...new Set(during.map((p) => `${p.width}x${p.height}`))], ["192x192"]);
  assert.match(await page.textContent("#latency"), /^preview 192×192, \d+ ms \(model \d+ ms\)$/);
  assert.ok(await page.$eval("#result-box", (box) => box.classList.contains("preview")));
  assert.equal(await page.$eval("#result", (img) => img.naturalWidth), 192);
  assert.ok(await page.isDisabled("#save-image"), "a preview is not offered for saving");

  await page.mouse.up();
  await eventually(() => posted.at(-1).width === 256, () => "no native image asked for at release");
  assert.equal(differences(posted.at(-1).values, drawn.data), 0);
  await page.waitForSelector("#busy", { state: "hidden" });
  assert.match(await page.textContent("#latency"), /^\d+ ms \(model \d+ ms\)$/);
  assert.ok(!(await page.$eval("#result-box", (box) => box.classList.contains("preview"))));
  assert.equal(await page.$eval("#result", (img) => img.naturalWidth), 256);
  assert.equal((await shownRecipe(page)).width, 256);
  assert.ok(!(await page.isDisabled("#save-image")));

  // Turned off, a stroke asks for the native size only.
  await page.uncheck("#preview");
  const off = posted.length;
  const b = await pixelCentre(page, 20, 40);
  await page.mouse.move(b.x, b.y);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) {
    const p = await pixelCentre(page, 20 + 15 * i, 40);
    await page.mouse.move(p.x, p.y);
    await page.waitForTimeout(40);
  }
  await page.mouse.up();
  await page.waitForSelector("#busy", { state: "hidden" });
  assert.ok(posted.length > off);
  assert.ok(posted.slice(off).every((p) => p.width === 256), "no preview when turned off");
  assert.deepEqual(errors, []);
  await context.close();
});

test("eraser, eyedropper, shift lines and the bracket keys", async () => {
  const { page, context } = await openPainter(browser, server.url);
  await clearTo(page, "sand");
  await page.selectOption("#background", { label: "sky" });
  await setSize(page, 5);
  await page.click('.tool[data-tool="eraser"]');
  await click(page, 30, 30);
  assert.equal((await mapOf(page)).data[30 * 256 + 30], SKY, "the eraser paints the background class");

  await page.click('.tool[data-tool="pick"]');
  await click(page, 30, 30);
  assert.equal(await page.evaluate(() => window.easel.currentClass()), SKY);
  assert.equal(await page.textContent("#current-name"), "sky");
  await click(page, 200, 200, { alt: true });
  assert.equal(await page.textContent("#current-name"), "sand", "alt-click picks too");

  await selectClass(page, "water");
  await setSize(page, 1);
  await click(page, 10, 200);
  await click(page, 110, 200, { shift: true });
  const map = await mapOf(page);
  for (let x = 10; x <= 110; x++) assert.equal(map.data[200 * 256 + x], WATER, `line pixel ${x}`);
  assert.equal(map.data[201 * 256 + 60], 10, "a 1-pixel line is one row");

  await setSize(page, 20);
  await page.locator("#map").hover();
  await page.keyboard.press("]");
  assert.equal(await page.inputValue("#size"), "24");
  await page.keyboard.press("[");
  await page.keyboard.press("[");
  assert.equal(Number(await page.inputValue("#size")) < 24, true);
  await context.close();
});

test("an index map uploaded and downloaded round-trips byte for byte", async () => {
  const { page, context } = await openPainter(browser, server.url);
  const values = Array.from({ length: 256 * 256 }, (_, i) => ((i % 256 >> 5) + ((i >> 8) >> 6) * 3) % 12);
  const file = join(tmpdir(), `easel-upload-${process.pid}.png`);
  writeFileSync(file, encodeGrayPng(256, 256, values));
  await page.setInputFiles("#map-file", file);
  await eventually(async () => differences((await mapOf(page)).data, values) === 0, () => "the uploaded map is not on the canvas");

  const save = async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save-map")]);
    return readFileSync(await download.path());
  };
  const first = await save();
  assert.deepEqual(decodeGrayPng(first).values, values, "the saved map holds the uploaded indices");
  assert.equal(decodeGrayPng(first).depth, 8);

  const again = join(tmpdir(), `easel-again-${process.pid}.png`);
  writeFileSync(again, first);
  const opened = await changesOf(page);
  await page.setInputFiles("#map-file", again);
  await nextChange(page, opened);
  const second = await save();
  assert.equal(Buffer.compare(first, second), 0, "saved, opened and saved again: the same bytes");

  const [image] = await Promise.all([page.waitForEvent("download"), page.click("#save-image")]);
  const png = readFileSync(await image.path());
  assert.equal(png.subarray(1, 4).toString(), "PNG");
  await context.close();
});

test("touch paints too (pointer events)", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const page = await context.newPage();
  await page.goto(server.url);
  await page.evaluate(() => window.easel.ready);
  await clearTo(page, "sky");
  await selectClass(page, "tree");
  await setSize(page, 5);
  const p = await pixelCentre(page, 100, 60);
  await page.touchscreen.tap(p.x, p.y);
  const map = await mapOf(page);
  assert.equal(map.data[60 * 256 + 100], 7, "the tapped pixel is tree");
  assert.equal(map.data[60 * 256 + 120], SKY);
  await context.close();
});

test("a map dropped on the canvas opens like an uploaded one", async () => {
  const { page, context } = await openPainter(browser, server.url);
  const values = Array.from({ length: 256 * 256 }, (_, i) => (i % 256 < 128 ? WATER : GRASS));
  const bytes = [...encodeGrayPng(256, 256, values)];
  const transfer = await page.evaluateHandle((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" }));
    return dt;
  }, bytes);
  await page.dispatchEvent("#map-panel", "dragover", { dataTransfer: transfer });
  assert.equal(await page.getAttribute("#map-panel", "class"), "panel dropping");
  await page.dispatchEvent("#map-panel", "drop", { dataTransfer: transfer });
  await eventually(async () => differences((await mapOf(page)).data, values) === 0, () => "the dropped map is not on the canvas");
  assert.equal(await page.getAttribute("#map-panel", "class"), "panel");
  await context.close();
});

test("a shared COCO-Stuff fixture map opens in the COCO model, resized to its size", async () => {
  const { page, context } = await openPainter(browser, server.url);
  await page.selectOption("#model", "coco182");
  await eventually(async () => (await page.evaluate(() => window.easel.model())) === "coco182", () => "model not switched");
  const fixture = join(shared, "fixtures/coco_stuff/val_label/000000000139.png");
  await page.setInputFiles("#map-file", fixture);
  // The switch's own notice may still be up: wait for the file's.
  const resized = /resized to the model's 64×64/;
  await eventually(
    async () => resized.test((await page.textContent("#notice-text")) ?? ""),
    async () => `notice: ${await page.textContent("#notice-text")}`,
  );
  const map = await mapOf(page);
  assert.equal(map.width, 64);
  assert.ok(new Set(map.data).size > 2);
  await context.close();
});

test("switching models keeps the painting, mapping classes by name and saying what was lost", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  await clearTo(page, "sky");
  await selectClass(page, "grass");
  await setSize(page, 40);
  await stroke(page, [0, 200], [255, 200]);
  const before = (await mapOf(page)).data;

  await page.selectOption("#model", "coco182");
  await page.waitForSelector("#notice:not([hidden])");
  assert.match(await page.textContent("#notice-text"), /every class in the painting carried over/);
  const sky = await classIndex(server.url, "coco182", "sky-other");
  const grass = await classIndex(server.url, "coco182", "grass");
  const coco = await mapOf(page);
  assert.equal(coco.width, 64);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const was = before[y * 4 * 256 + x * 4];
      assert.equal(coco.data[y * 64 + x], was === GRASS ? grass : sky, `pixel ${x},${y}`);
    }
  }
  await page.waitForFunction(() => /** @type {HTMLImageElement} */ (document.getElementById("result")).naturalWidth === 64);
  assert.equal(await page.textContent("#current-name"), "grass", "the current class carries over too");

  await page.selectOption("#model", "vae");
  await page.waitForSelector("#notice-text >> text=/No class here matches/");
  const notice = await page.textContent("#notice-text");
  assert.match(notice, /sky-other/);
  assert.match(notice, /grass/);
  const vae = await mapOf(page);
  assert.deepEqual([vae.width, vae.height], [256, 128]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("style controls: seeds, variations and a style image drive models with z", async () => {
  const { page, posted, context } = await openPainter(browser, server.url);
  await page.selectOption("#model", "coco182");
  await eventually(async () => (await page.evaluate(() => window.easel.model())) === "coco182", () => "model not switched");
  assert.equal(await page.isVisible("#style"), false, "a model without z has no style input");
  await page.selectOption("#model", "vae");
  await page.waitForSelector("#style:not([hidden])");
  await page.waitForFunction(() => /** @type {HTMLImageElement} */ (document.getElementById("result")).naturalWidth === 256);
  const first = await page.getAttribute("#result", "src");
  await page.fill("#seed", "7");
  await page.dispatchEvent("#seed", "change");
  await eventually(() => posted.at(-1)?.form.get("seed")?.toString() === "7", () => "seed 7 was not posted");
  await eventually(async () => (await page.getAttribute("#result", "src")) !== first, () => "the image did not change");

  await page.click("#variation");
  const seed = await page.inputValue("#seed");
  assert.notEqual(seed, "7");
  await eventually(() => posted.at(-1)?.form.get("seed")?.toString() === seed, () => "the new variation's seed was not posted");

  const style = join(tmpdir(), `easel-style-${process.pid}.png`);
  writeFileSync(style, encodeRgbPng(64, 64, (x, y) => [x * 4, y * 4, 128]));
  await page.setInputFiles("#style-file", style);
  await eventually(() => posted.at(-1)?.form.has("style"), () => "the style image was not posted");
  await page.waitForSelector("#style-preview:not([hidden])");
  await context.close();
});

/** The names of the style presets shown pressed. */
const pressedPresets = (page) =>
  page.locator("#style-presets button").evaluateAll((buttons) =>
    buttons.filter((b) => b.getAttribute("aria-pressed") === "true").map((b) => b.dataset.preset));

test("style presets: the card's looks as a strip; a seed varies around one; a style image or another model clears it", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  /** The last posted form, and one of its fields as text. */
  const last = () => posted.at(-1)?.form ?? new Map();
  const field = (name) => last().get(name)?.toString();
  const fields = () => `the last form has ${[...last().keys()].join(", ")}; style_preset ${field("style_preset")}, seed ${field("seed")}`;
  const preset = (name) => `#style-presets button[data-preset="${name}"]`;

  // The default model opens with its looks, the first chosen: its own look, posted by name.
  await page.waitForSelector("#style-presets:not([hidden])");
  assert.deepEqual(await page.locator("#style-presets button").evaluateAll((bs) => bs.map((b) => b.dataset.preset)),
    ["noon", "golden-hour", "overcast", "dawn"]);
  assert.deepEqual(await pressedPresets(page), ["noon"]);
  await eventually(() => field("style_preset") === "noon" && !last().has("seed"), fields);
  let src = await page.getAttribute("#result", "src");
  await page.selectOption("#model", "vae");
  await page.waitForSelector("#style-presets:not([hidden])");
  src = await nextImage(page, src);

  // The strip: noon with its picture and description, dawn (no picture) as a swatch.
  assert.deepEqual(await page.locator("#style-presets button").evaluateAll((bs) => bs.map((b) => b.dataset.preset)), ["noon", "dawn"]);
  assert.equal(await page.getAttribute(preset("noon"), "title"), "high sun");
  await page.waitForFunction(() => {
    const img = document.querySelector('#style-presets img[alt="noon"]');
    return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
  });
  assert.equal(await page.locator(`${preset("dawn")} img`).count(), 0);
  assert.equal(await page.locator(`${preset("dawn")} .swatch`).count(), 1);
  assert.match(await page.textContent(preset("dawn")), /dawn/);
  assert.equal(await page.inputValue("#seed"), "0");

  // Seed 0 and the first preset, chosen on arrival: the look itself, so the preset and no seed.
  assert.deepEqual(await pressedPresets(page), ["noon"]);
  await eventually(() => field("style_preset") === "noon" && !last().has("seed"), fields);
  assert.equal(await page.isVisible("#error"), false, "the server took the preset");

  // New variation: a non-zero seed around the same look.
  await page.click("#variation");
  const seed = await page.inputValue("#seed");
  assert.notEqual(seed, "0");
  await eventually(() => field("style_preset") === "noon" && field("seed") === seed, fields);
  assert.deepEqual(await pressedPresets(page), ["noon"], "a variation keeps the look");
  src = await nextImage(page, src);

  // A style image of one's own replaces the preset...
  const style = join(tmpdir(), `easel-preset-style-${process.pid}.png`);
  writeFileSync(style, encodeRgbPng(64, 64, (x, y) => [x * 4, y * 4, 128]));
  await page.setInputFiles("#style-file", style);
  await eventually(() => last().has("style") && !last().has("style_preset"), fields);
  assert.deepEqual(await pressedPresets(page), [], "no preset is pressed with a style image");

  // ...and a preset replaces the style image; clicking it again goes back to plain seeds.
  await page.click(preset("dawn"));
  await eventually(() => field("style_preset") === "dawn" && !last().has("style"), fields);
  assert.deepEqual(await pressedPresets(page), ["dawn"]);
  assert.equal(await page.isVisible("#style-preview"), false, "the style image is removed");
  await page.click(preset("dawn"));
  await eventually(() => !last().has("style_preset") && !last().has("style") && field("seed") === seed, fields);
  assert.deepEqual(await pressedPresets(page), []);

  // Presets belong to a model: another model has none, and coming back starts with its first.
  // (An image made before is shown again without posting, so these checks read what the
  // image shown was made from rather than the last request.)
  const shownIs = (model, height, preset) => eventually(async () => {
    const made = await shownRecipe(page);
    return made?.model === model && made.height === height && made.preset === preset;
  }, async () => `the image shown was made from ${JSON.stringify(await shownRecipe(page))}`);
  await page.click(preset("dawn"));
  await shownIs("vae", 128, "dawn");
  await page.selectOption("#model", "coco182");
  await eventually(async () => (await page.evaluate(() => window.easel.model())) === "coco182", () => "model not switched");
  assert.equal(await page.isVisible("#style-presets"), false);
  assert.equal(await page.locator("#style-presets button").count(), 0, "the coco182 card has no styles");
  await shownIs("coco182", 64, null);
  await page.selectOption("#model", "vae");
  await page.waitForSelector("#style-presets:not([hidden])");
  await shownIs("vae", 128, "noon");
  assert.deepEqual(await pressedPresets(page), ["noon"], "switching models reset the choice to the first look");
  await page.waitForSelector("#busy", { state: "hidden" });
  assert.equal(await page.isVisible("#error"), false);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the preset strip fits a phone's width", async () => {
  const { page, errors, context } = await openPainter(browser, server.url, { width: 390, height: 844 });
  await page.selectOption("#model", "vae");
  await page.waitForSelector("#style-presets:not([hidden])");
  await page.waitForFunction(() => {
    const img = document.querySelector('#style-presets img[alt="noon"]');
    return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
  });
  const strip = await page.locator("#style-presets").boundingBox();
  assert.ok(strip && strip.x >= 0 && strip.x + strip.width <= 390, `the strip spans ${strip?.x}..${strip && strip.x + strip.width}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.equal(overflow, 0, "no sideways scrolling");
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, "painter-presets-390x844.png") });
  assert.deepEqual(errors, []);
  await context.close();
});

/** Pixels (of a `width`-wide RGB image) where `a` and `b` differ, as a 0/1 array. */
function changedPixels(a, b, width, height) {
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    for (let c = 0; c < 3; c++) if (a[3 * i + c] !== b[3 * i + c]) out[i] = 1;
  }
  return out;
}

test("re-roll gives a region new noise, leaves the far corner untouched, and undo brings the image back", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  let src = await page.getAttribute("#result", "src");
  await page.selectOption("#model", "coco182");
  src = await nextImage(page, src);
  assert.equal(await page.isVisible("#reroll-tool"), false, "coco182 has no z per pixel: no re-roll");
  assert.equal(await page.isVisible("#reset-rerolls"), false);
  await page.selectOption("#model", "oasis");
  src = await nextImage(page, src);
  assert.equal(await page.evaluate(() => window.easel.model()), "oasis");
  await page.waitForSelector("#reroll-tool:not([hidden])");

  // A simple map: class 0 (what the landscape painting became) crossed by two bands.
  await setSize(page, 60);
  await selectClass(page, "class 5");
  await stroke(page, [0, 90], [255, 90]);
  await selectClass(page, "class 12");
  await setSize(page, 40);
  await stroke(page, [170, 0], [170, 255]);
  src = await nextImage(page, src);
  const map = (await mapOf(page)).data;
  const before = await shownImage(page);
  assert.deepEqual([before.width, before.height], [256, 256]);

  await page.click("#reroll-tool");
  await page.keyboard.press("b");
  await page.keyboard.press("r");
  assert.equal(await page.getAttribute("#reroll-tool", "aria-pressed"), "true", "R picks the re-roll tool");
  await stroke(page, [222, 222], [234, 234]);
  src = await nextImage(page, src);
  const after = await shownImage(page);

  // (a) The request: the same map and seed, plus one region and its seed.
  const form = posted.at(-1);
  assert.deepEqual(form.values, map, "re-rolling does not touch the map");
  assert.deepEqual(form.fields.map(([name]) => name).filter((n) => n.startsWith("region_")), ["region_mask", "region_seed"]);
  const seeds = await page.evaluate(() => window.easel.rerollSeeds());
  assert.equal(seeds.length, 1);
  assert.equal(form.form.get("region_seed").toString(), String(seeds[0]));
  assert.ok(Number.isInteger(seeds[0]) && seeds[0] >= 0 && seeds[0] < 2 ** 31);
  const mask = decodeGrayPng(form.form.get("region_mask"));
  assert.deepEqual([mask.width, mask.height], [256, 256]);
  const inside = [];
  mask.values.forEach((v, i) => v && inside.push(i));
  assert.ok(inside.length > 1000, `a 40-pixel brush region, not ${inside.length} pixels`);
  assert.ok(inside.every((i) => i % 256 >= 200 && i >= 200 * 256), "the region lies in x, y ≥ 200");

  // (b) The region changed.
  const changed = changedPixels(before.rgb, after.rgb, 256, 256);
  const changedInside = inside.filter((i) => changed[i]).length;
  assert.ok(changedInside > 0.9 * inside.length, `${changedInside} of ${inside.length} pixels in the region changed`);

  // (c) The top-left 64×64 cannot change, by the generator's receptive field:
  // the region's noise enters the first layer at 1/32 scale (8×8 here) by
  // nearest sampling, so only cell 7 (x, y ≥ 224) carries it there; from a
  // level-0 cell a change spreads through fc (3×3) and the two 3×3 convs of
  // each of the six blocks, ×2 upsampling between them, then conv_img:
  // 32·(1 + 2) + 16·2 + 8·2 + 4·2 + 2·2 + 1·2 + 1 = 159 px, so no further
  // left or up than 224 − 159 = 65 (the later, finer levels reach less far;
  // the SPADE convs of this fixture are 1×1 and spread nothing). Measured:
  // the first changed column is 66, the first changed row 69.
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) assert.equal(changed[y * 256 + x], 0, `pixel ${x},${y} changed`);
  }

  // (d) Undo shows again the image the previous request made (the page keeps it: no request);
  // redo the re-rolled one.
  const sent = posted.length;
  await page.keyboard.press("Control+z");
  src = await nextImage(page, src);
  assert.equal((await shownRecipe(page)).regions, 0, "no region after undo");
  assert.deepEqual((await shownImage(page)).rgb, before.rgb, "undo restores the image exactly");
  await page.keyboard.press("Control+Shift+z");
  src = await nextImage(page, src);
  assert.deepEqual((await shownImage(page)).rgb, after.rgb, "redo restores the re-rolled image exactly");
  assert.equal((await shownRecipe(page)).regions, 1);
  assert.equal(posted.length, sent, "undo and redo asked the server for nothing");
  await untilSaved(page);
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem("easel.map.oasis") ?? "null"));
  assert.deepEqual(saved?.rerolls?.seeds, seeds, "the re-rolls are saved with the painting");

  // The re-rolled region shows faintly on the map while the tool is in hand.
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, "painter-reroll-1280x800.png") });

  // Reset re-rolls is one undoable step too; painting the map keeps them.
  await page.click("#reset-rerolls");
  src = await nextImage(page, src);
  assert.deepEqual((await shownImage(page)).rgb, before.rgb);
  assert.equal(await page.isDisabled("#reset-rerolls"), true);
  await page.click("#undo");
  src = await nextImage(page, src);
  assert.deepEqual((await shownImage(page)).rgb, after.rgb);
  await selectClass(page, "class 3");
  await setSize(page, 10);
  await stroke(page, [20, 200], [60, 200]);
  src = await nextImage(page, src);
  assert.equal(posted.at(-1).form.get("region_seed")?.toString(), String(seeds[0]), "the region outlives a brush stroke");

  // Another model: re-rolls were this model's noise and go.
  await page.selectOption("#model", "coco182");
  await page.waitForSelector("#notice-text >> text=/re-rolled regions/");
  assert.equal(await page.isVisible("#reroll-tool"), false);
  assert.deepEqual(await page.evaluate(() => window.easel.rerollSeeds()), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("API errors appear in the page, with a way out", async () => {
  const { page, context } = await openPainter(browser, server.url);
  const off = join(tmpdir(), `easel-off-${process.pid}.png`);
  writeFileSync(off, encodeRgbPng(256, 256, (x) => (x < 100 ? [0x5f, 0xdb, 0xff] : [1, 2, 3])));
  await page.setInputFiles("#map-file", off);
  await page.waitForSelector("#error:not([hidden])");
  assert.match(await page.textContent("#error-text"), /not in model landscapes's palette/);
  assert.equal(await page.isVisible("#error-nearest"), true);
  await page.click("#error-nearest");
  await page.waitForSelector("#error", { state: "hidden" });
  const map = await mapOf(page);
  assert.equal(map.data[0], SKY);

  // A synthesis failure: the vae model cannot read a style "image" that is text.
  await page.selectOption("#model", "vae");
  await page.waitForSelector("#style-image:not([hidden])");
  const bad = join(tmpdir(), `easel-bad-${process.pid}.png`);
  writeFileSync(bad, "not an image");
  await page.setInputFiles("#style-file", bad);
  await page.waitForSelector("#error:not([hidden])");
  assert.match(await page.textContent("#error-text"), /style image cannot be read/);
  await page.click("#style-clear");
  await page.waitForSelector("#error", { state: "hidden" });
  await context.close();
});

test("the painting survives a reload", async () => {
  const { page, context } = await openPainter(browser, server.url);
  await clearTo(page, "sand");
  await untilSaved(page);
  await page.reload();
  await page.evaluate(() => window.easel.ready);
  assert.ok((await mapOf(page)).data.every((v) => v === 10));
  await context.close();
});

for (const [width, height, name] of [[1280, 800, "painter-1280x800.png"], [390, 844, "painter-390x844.png"]]) {
  test(`usable at ${width}×${height}; screenshot`, async () => {
    const { page, context, errors } = await openPainter(browser, server.url, { width, height });
    const changes = await changesOf(page);
    await page.selectOption("#example", { label: "mountain-lake" });
    await nextChange(page, changes);
    await page.waitForSelector("#busy", { state: "hidden" });
    const box = async (selector) => /** @type {NonNullable<Awaited<ReturnType<import("playwright-core").Locator["boundingBox"]>>>} */ (await page.locator(selector).boundingBox());
    const map = await box("#map"), result = await box(".result-box");
    assert.ok(map.width >= 170 && result.width >= 170, `map ${map.width}px, image ${result.width}px wide`);
    assert.ok(map.x + map.width <= width && result.x + result.width <= width, "both fit across");
    assert.ok(map.y + map.height <= height && result.y + result.height <= height, "both fit on the first screen");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.equal(overflow, 0, "no sideways scrolling");
    for (const selector of ['.tool[data-tool="brush"]', "#palette", "#undo", "#model"]) {
      assert.equal(await page.isVisible(selector), true, selector);
    }
    mkdirSync(screenshots, { recursive: true });
    const path = join(screenshots, name);
    await page.screenshot({ path });
    assert.ok(statSync(path).size > 10_000);
    assert.deepEqual(errors, []);
    await context.close();
  });
}
