// The painting tools of issue 17 in headless Chromium against a real server:
// the polygon / lasso fill, class locks, strokes begun beside the map, and
// the help overlay. Each check reads the map or the label map the page posts.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, startBrowser, openPainter, pixelCentre, eventually, selectClass, setSize, clearTo,
  stroke, click, mapOf, digestOf, expectedStroke, differences, changesOf,
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

const SKY = 0, GRASS = 6, WATER = 9, SAND = 10; // landscapes classes (server/data/classes/landscapes-12.tsv)
const SIZE = 256;

/**
 * The polygon rule, written out per pixel: a pixel is filled when its centre
 * is inside the outline through the corners' centres by the even-odd rule,
 * or on it.
 */
function expectedPolygon(base, corners, cls) {
  const out = base.slice();
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      let inside = false, on = false;
      for (let i = 0; i < corners.length; i++) {
        const [ax, ay] = corners[i], [bx, by] = corners[(i + 1) % corners.length];
        const cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
        if (cross === 0 && Math.min(ax, bx) <= x && x <= Math.max(ax, bx) && Math.min(ay, by) <= y && y <= Math.max(ay, by)) on = true;
        if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) inside = !inside;
      }
      if (inside || on) out[y * SIZE + x] = cls;
    }
  }
  return out;
}

/** A clean sky map with nothing in flight; returns how many maps were posted so far. */
async function startFromSky(page, posted) {
  await clearTo(page, "sky");
  await page.waitForSelector("#busy", { state: "hidden" });
  return posted.length;
}

/** Pixel indices that hold `cls` in `data`. */
const pixelsOf = (data, cls) => data.flatMap((v, i) => (v === cls ? [i] : []));

const lockButton = (page, name) => page.getByRole("button", { name: `Lock ${name}`, exact: true });

test("polygon: clicked corners, closed on the first one, fill exactly the pixels inside, as one step", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  const sent = await startFromSky(page, posted);
  const changes = await changesOf(page);
  await selectClass(page, "water");
  await page.keyboard.press("p");
  assert.equal(await page.getAttribute('.tool[data-tool="polygon"]', "aria-pressed"), "true", "P picks the polygon tool");

  const corners = [[40, 50], [200, 60], [150, 210], [30, 180]];
  for (const [x, y] of corners) await click(page, x, y);
  await page.waitForSelector("#outline.drawing");
  const outline = await page.getAttribute("#outline polyline.over", "points");
  assert.ok(outline.split(" ").length >= 4, `the outline shows its corners: ${outline}`);
  assert.equal(await changesOf(page), changes, "the outline is no change: nothing will be posted");
  assert.equal(posted.length, sent, "nothing is posted while the outline is drawn");
  assert.ok((await mapOf(page)).data.every((v) => v === SKY), "nor painted");

  await click(page, 40, 50);
  const expected = expectedPolygon(new Array(SIZE * SIZE).fill(SKY), corners, WATER);
  await eventually(
    () => posted.length > sent && differences(posted.at(-1).values, expected) === 0,
    () => `the last posted map differs from the polygon in ${differences(posted.at(-1)?.values ?? [], expected)} pixels`,
  );
  assert.deepEqual([...new Set(posted.at(-1).values)].sort((a, b) => a - b), [SKY, WATER], "exact classes, no blending");
  assert.equal(await page.isVisible("#outline"), false, "the outline is gone once filled");

  await page.keyboard.press("Control+z");
  assert.ok((await mapOf(page)).data.every((v) => v === SKY), "one undo takes the whole fill back");
  await page.keyboard.press("Control+Shift+z");
  assert.deepEqual((await mapOf(page)).data, expected);
  assert.deepEqual(errors, []);
  await context.close();
});

test("polygon: Enter and a double-click close the outline; a drag is a lasso that fills on release", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  await startFromSky(page, posted);
  await page.click('.tool[data-tool="polygon"]');
  let expected = new Array(SIZE * SIZE).fill(SKY);

  // Enter: a triangle. (A palette button has the focus: Enter closes the outline instead of pressing it.)
  await selectClass(page, "sand");
  const triangle = [[10, 10], [90, 10], [10, 90]];
  for (const [x, y] of triangle) await click(page, x, y);
  await page.keyboard.press("Enter");
  expected = expectedPolygon(expected, triangle, SAND);
  assert.deepEqual((await mapOf(page)).data, expected, "Enter fills the triangle");

  // A double-click adds its corner and closes.
  await selectClass(page, "grass");
  const quad = [[120, 20], [240, 30], [230, 120]];
  for (const [x, y] of quad) await click(page, x, y);
  const last = await pixelCentre(page, 130, 110);
  await page.mouse.dblclick(last.x, last.y);
  expected = expectedPolygon(expected, [...quad, [130, 110]], GRASS);
  assert.deepEqual((await mapOf(page)).data, expected, "the double-click's corner is the last one");

  // A lasso: press, three moves, release. Each move event is one corner.
  await selectClass(page, "water");
  const lasso = [[60, 140], [200, 150], [180, 240], [50, 230]];
  const at = await Promise.all(lasso.map(([x, y]) => pixelCentre(page, x, y)));
  await page.mouse.move(at[0].x, at[0].y);
  await page.mouse.down();
  for (const p of at.slice(1)) await page.mouse.move(p.x, p.y);
  await page.waitForSelector("#outline.drawing");
  await page.mouse.up();
  expected = expectedPolygon(expected, lasso, WATER);
  assert.deepEqual((await mapOf(page)).data, expected, "the release fills the lasso");
  await eventually(() => differences(posted.at(-1).values, expected) === 0, () => "the lassoed map was not posted");
  assert.deepEqual(errors, []);
  await context.close();
});

test("polygon: fewer than three corners, or Escape, fill nothing and post nothing", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  const sent = await startFromSky(page, posted);
  const changes = await changesOf(page);
  const start = await digestOf(page);
  const undoable = await page.isEnabled("#undo");
  await selectClass(page, "water");
  await page.keyboard.press("p");

  await click(page, 20, 20);
  await click(page, 200, 200);
  await page.keyboard.press("Enter");
  assert.equal(await page.isVisible("#outline"), false, "Enter ends a two-corner outline");
  const two = await pixelCentre(page, 60, 200);
  await click(page, 200, 60);
  await page.mouse.dblclick(two.x, two.y);
  await page.mouse.move(two.x + 40, two.y);
  await page.mouse.down();
  await page.mouse.up();
  await page.keyboard.press("Escape");

  for (const [x, y] of [[30, 30], [120, 40], [60, 140]]) await click(page, x, y);
  await page.waitForSelector("#outline.drawing");
  await page.keyboard.press("Escape");
  await page.waitForSelector("#outline", { state: "hidden" });
  await click(page, 200, 200);
  await page.keyboard.press("Escape");

  assert.equal(await digestOf(page), start, "the map is as it was");
  assert.equal(await changesOf(page), changes, "no change was made, so none will be posted");
  assert.equal(posted.length, sent, "and nothing was posted");
  assert.equal(await page.isEnabled("#undo"), undoable, "no undo step was made");
  await page.keyboard.press("Control+z");
  assert.ok((await mapOf(page)).data.some((v) => v !== SKY), "the one undo step is still the Clear");
  assert.deepEqual(errors, []);
  await context.close();
});

test("locks: a locked class survives the brush, a line, the eraser, fill, a polygon and Clear", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  await startFromSky(page, posted);
  await selectClass(page, "water");
  await setSize(page, 20);
  await stroke(page, [0, 128], [255, 128]);
  const band = pixelsOf((await mapOf(page)).data, WATER);
  assert.ok(band.length > 4000);

  const lock = lockButton(page, "water");
  assert.equal(await lock.getAttribute("aria-pressed"), "false");
  assert.match(await lock.getAttribute("title"), /Lock water/);
  await lock.click();
  assert.equal(await lock.getAttribute("aria-pressed"), "true");
  /** Every pixel of the band is still water. */
  const bandKept = async (what) => {
    const map = (await mapOf(page)).data;
    assert.deepEqual(band.filter((i) => map[i] !== WATER), [], `${what} painted over the locked water`);
    return map;
  };

  // The brush, exactly: the stroke's pixels except the water.
  await selectClass(page, "grass");
  await setSize(page, 30);
  const base = (await mapOf(page)).data;
  await stroke(page, [128, 40], [128, 220]);
  const brushed = expectedStroke(SIZE, SIZE, base, [128, 40], [128, 220], 30, GRASS).map((v, i) => (base[i] === WATER ? WATER : v));
  assert.deepEqual(await bandKept("the brush"), brushed);

  // A shift-click line across the band.
  await setSize(page, 5);
  await click(page, 40, 20);
  await click(page, 40, 240, { shift: true });
  let map = await bandKept("a line");
  assert.equal(map[230 * SIZE + 40], GRASS, "the line was drawn below the band");

  // The eraser paints the background (sky) round it.
  await page.click('.tool[data-tool="eraser"]');
  await setSize(page, 40);
  await stroke(page, [128, 60], [128, 200]);
  map = await bandKept("the eraser");
  assert.equal(map[180 * SIZE + 128], SKY, "the eraser erased the grass below the band");

  // Fill on the locked class changes nothing and makes no step.
  await selectClass(page, "sand");
  await page.click('.tool[data-tool="fill"]');
  const beforeFill = await digestOf(page);
  await click(page, 200, 128);
  assert.equal(await digestOf(page), beforeFill, "a fill on locked water does nothing");
  await click(page, 200, 20);
  map = await bandKept("the fill");
  assert.equal(map[20 * SIZE + 200], SAND, "a fill above the band still fills");

  // A polygon over the band.
  await selectClass(page, "dirt");
  await page.keyboard.press("p");
  for (const [x, y] of [[150, 90], [250, 90], [250, 170], [150, 170], [150, 90]]) await click(page, x, y);
  map = await bandKept("the polygon");
  assert.equal(map[100 * SIZE + 200], 11, "the polygon filled round the band");

  // Clear keeps it too; unlocking lets the brush over it again.
  await page.click("#clear");
  map = await bandKept("Clear");
  assert.equal(map.filter((v) => v !== SKY && v !== WATER).length, 0, "Clear took everything else");
  await lock.click();
  assert.equal(await lock.getAttribute("aria-pressed"), "false");
  await page.click('.tool[data-tool="brush"]');
  await setSize(page, 3);
  await click(page, 10, 128);
  assert.equal((await mapOf(page)).data[128 * SIZE + 10], 11, "unlocked water is painted over");

  await eventually(async () => differences(posted.at(-1).values, (await mapOf(page)).data) === 0, () => "the last map was not posted");
  assert.deepEqual(errors, []);
  await context.close();
});

test("locks: L locks the current class; locks follow the classes to another model and back", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  await selectClass(page, "grass");
  await page.locator("#map").hover();
  await page.keyboard.press("l");
  assert.equal(await lockButton(page, "grass").getAttribute("aria-pressed"), "true", "L locks the current class");
  await page.keyboard.press("l");
  assert.equal(await lockButton(page, "grass").getAttribute("aria-pressed"), "false", "and again unlocks it");
  await page.keyboard.press("l");
  await lockButton(page, "sky").click();

  const pressedLocks = () => page.locator("#palette button.lock[aria-pressed=true]").evaluateAll((bs) => bs.map((b) => b.dataset.name).sort());
  await page.selectOption("#model", "coco182");
  await eventually(async () => (await page.evaluate(() => window.easel.model())) === "coco182", () => "model not switched");
  assert.deepEqual(await pressedLocks(), ["grass", "sky-other"], "sky locks COCO-Stuff's sky-other; grass, grass");
  await page.selectOption("#model", "landscapes");
  await eventually(async () => (await page.evaluate(() => window.easel.model())) === "landscapes", () => "model not switched back");
  assert.deepEqual(await pressedLocks(), ["grass", "sky"]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a stroke begun beside the map paints from the edge where it enters", async () => {
  const { page, errors, posted, context } = await openPainter(browser, server.url);
  await startFromSky(page, posted);
  await selectClass(page, "water");
  await setSize(page, 9);
  /** A drag from `from` to `to` in one move; either may be off the map. */
  const drag = async (from, to) => {
    const a = await pixelCentre(page, ...from), b = await pixelCentre(page, ...to);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y);
    await page.mouse.up();
  };
  const sky = new Array(SIZE * SIZE).fill(SKY);

  // From a few pixels left of the map (in the panel's margin, off the canvas) across it.
  const outside = await pixelCentre(page, -4, 100);
  const canvas = await page.locator("#map").boundingBox();
  assert.ok(outside.x < canvas.x, "the stroke begins off the canvas");
  await drag([-4, 100], [60, 100]);
  let expected = expectedStroke(SIZE, SIZE, sky, [0, 100], [60, 100], 9, WATER);
  await eventually(
    () => differences(posted.at(-1).values, expected) === 0,
    () => `the posted map differs from an edge stroke in ${differences(posted.at(-1).values, expected)} pixels`,
  );

  // From below the map (over its caption), upwards: it enters at the last row.
  await drag([128, 259], [128, 200]);
  expected = expectedStroke(SIZE, SIZE, expected, [128, 255], [128, 200], 9, WATER);
  assert.deepEqual((await mapOf(page)).data, expected);

  // A drag that stays beside the map paints nothing and makes no step.
  const start = await digestOf(page);
  await page.click("#undo");
  const once = await digestOf(page);
  await page.click("#redo");
  await drag([-4, 20], [-4, 240]);
  assert.equal(await digestOf(page), start);
  await page.click("#undo");
  assert.equal(await digestOf(page), once, "the last step is still the stroke from below");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the help overlay: ? opens it with every shortcut listed; Escape or a click outside closes it", async () => {
  const { page, errors, context } = await openPainter(browser, server.url);
  await page.locator("#map").hover();
  await page.keyboard.press("?");
  const dialog = page.getByRole("dialog", { name: "Shortcuts and gestures" });
  await dialog.waitFor({ state: "visible" });
  const keys = await page.locator("#help kbd").allTextContents();
  for (const key of ["B", "F", "E", "I", "P", "R", "L", "[", "]", "?", "Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+Y",
    "Shift+click", "Alt+click", "Click", "Drag", "Double-click", "Enter", "Esc"]) {
    assert.ok(keys.includes(key), `${key} is not listed (listed: ${keys.join(", ")})`);
  }
  assert.equal(await page.evaluate(() => document.getElementById("help").contains(document.activeElement)), true, "the focus is in the dialog");
  await page.keyboard.press("p");
  assert.equal(await page.getAttribute('.tool[data-tool="brush"]', "aria-pressed"), "true", "keys do not reach the page behind it");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });

  await page.click("#help-open");
  await dialog.waitFor({ state: "visible" });
  await page.mouse.click(5, 795);
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => document.activeElement?.id), "help-open", "the focus goes back to the button");
  assert.equal(await page.getAttribute("#help-open", "aria-haspopup"), "dialog");
  assert.deepEqual(errors, []);
  await context.close();
});
