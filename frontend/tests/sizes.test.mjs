// Canvas sizes: what a model takes and what the page offers, exactly.

import { test } from "node:test";
import assert from "node:assert/strict";
import { LabelMap } from "../src/labelmap.js";
import { STACK_FROM, fixedSize, parseSizeValue, previewSize, sizeChoices, sizeOptions, sizeValue, takesSize } from "../src/sizes.js";

const free = (width, height, multiple_of = 32) => ({ native: { width, height }, sizes: { fixed: false, multiple_of } });
const landscapes = free(256, 256);
const vae = { native: { width: 256, height: 128 }, sizes: { fixed: true, multiple_of: 32 } };
const MAX = 16 << 20; // the server's default --max-pixels

/** Each option as "label = W×H". */
const listed = (options) => options.map((o) => `${o.label} = ${o.width}×${o.height}`);

// The server's canvas_sizes for a free 256² model (ModelCard::canvas_sizes, tested in Rust).
const SERVED = [
  { name: "native", width: 256, height: 256 },
  { name: "panorama", width: 512, height: 256 },
  { name: "3:2", width: 384, height: 256 },
  { name: "double", width: 512, height: 512 },
];

test("the server's canvas sizes are offered in its order, each labelled with what it is", () => {
  assert.deepEqual(listed(sizeOptions(landscapes, SERVED)), [
    "native 256×256 = 256×256",
    "panorama 2:1 512×256 = 512×256",
    "3:2 384×256 = 384×256",
    "2× native 512×512 = 512×512",
  ]);
  assert.deepEqual(sizeOptions(landscapes, SERVED).map((o) => o.name), ["native", "panorama", "3:2", "double"]);
  assert.deepEqual(listed(sizeOptions(landscapes, [{ name: "wide", width: 768, height: 256 }])), ["wide 768×256 = 768×256"], "a name the page does not know is shown as it is");
});

test("without the server's list (an older server) the native size alone is offered", () => {
  assert.deepEqual(listed(sizeOptions(landscapes, undefined)), ["native 256×256 = 256×256"]);
  assert.deepEqual(listed(sizeOptions(vae, [])), ["native 256×128 = 256×128"]);
});

test("a fixed-size model, or a card without sizes, is fixed", () => {
  assert.equal(fixedSize(vae), true);
  assert.equal(fixedSize({ native: { width: 64, height: 64 } }), true);
  assert.equal(fixedSize(landscapes), false);
});

test("takesSize: multiples of multiple_of within max_pixels; the native size always; fixed models nothing else", () => {
  const cases = [
    [landscapes, 512, 256, MAX, true],
    [landscapes, 512, 288, MAX, true],
    [landscapes, 500, 256, MAX, false],
    [landscapes, 512, 250, MAX, false],
    [landscapes, 0, 256, MAX, false],
    [landscapes, 512, 512, 262_144, true],
    [landscapes, 512, 512, 262_143, false],
    [landscapes, 256, 256, 10, true],
    [vae, 256, 128, MAX, true],
    [vae, 512, 256, MAX, false],
    [vae, 128, 128, MAX, false],
  ];
  for (const [card, width, height, max, expected] of cases) {
    assert.equal(takesSize(card, { width, height }, max), expected, `${width}×${height}, max ${max}`);
  }
});

test("the chooser lists the map's own size after the options when it is none of them", () => {
  const choices = sizeChoices(landscapes, SERVED, { width: 640, height: 480 });
  assert.deepEqual(choices.map((o) => o.name), ["native", "panorama", "3:2", "double", "map"]);
  assert.deepEqual(choices.at(-1), { name: "map", label: "this map 640×480", width: 640, height: 480 });
  assert.equal(sizeChoices(landscapes, SERVED, { width: 384, height: 256 }).length, 4);
});

test("size values read back, and only as written", () => {
  assert.equal(sizeValue({ width: 512, height: 256 }), "512x256");
  assert.deepEqual(parseSizeValue("512x256"), { width: 512, height: 256 });
  for (const bad of ["512×256", "512x", "x256", "512x256x2", "-512x256", ""]) assert.equal(parseSizeValue(bad), null, bad);
});

test("wide maps stack the image under the map: the panorama and 3:2 do, native and twice native do not", () => {
  const stacks = (o) => o.width / o.height >= STACK_FROM;
  assert.deepEqual(sizeOptions(landscapes, SERVED).map(stacks), [false, true, true, false]);
});

test("a painting scaled to another size takes each pixel from the nearest source pixel (the server's rule)", () => {
  const map = new LabelMap(4, 2, 12, Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]));
  // source x = ⌊x · 4/6⌋: 0 0 1 2 2 3
  assert.deepEqual([...map.resized(6, 2).data], [0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7]);
  const double = map.resized(8, 4);
  assert.deepEqual([...double.data.subarray(0, 8)], [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.deepEqual([...double.data.subarray(16, 24)], [4, 4, 5, 5, 6, 6, 7, 7]);
  assert.ok(double.resized(4, 2).equals(map), "twice native and back is the painting again");
  assert.deepEqual([...new Set(map.resized(6, 3).data)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7], "only classes that were there");
});

test("a preview is three quarters of each side in the model's multiple, and a size the model takes", () => {
  const card = free(256, 256);
  assert.deepEqual(previewSize(card, { width: 256, height: 256 }), { width: 192, height: 192 });
  assert.deepEqual(previewSize(card, { width: 512, height: 256 }), { width: 384, height: 192 });
  assert.deepEqual(previewSize(card, { width: 384, height: 256 }), { width: 288, height: 192 });
  // 352 · 0.75 = 264 and 224 · 0.75 = 168 are not multiples of 32: the nearest ones.
  assert.deepEqual(previewSize(card, { width: 352, height: 224 }), { width: 256, height: 160 });
  for (const side of [64, 96, 160, 224, 288, 320, 416, 480, 512]) {
    const preview = previewSize(card, { width: side, height: 256 });
    assert.ok(preview && takesSize(card, preview, 512 * 512), `${side}×256 → ${JSON.stringify(preview)}`);
  }
});

test("no preview for fixed-size models or maps too small to halve", () => {
  assert.equal(previewSize({ native: { width: 256, height: 256 }, sizes: { fixed: true, multiple_of: 1 } }, { width: 256, height: 256 }), null);
  assert.equal(previewSize({ native: { width: 256, height: 256 } }, { width: 256, height: 256 }), null, "a card without sizes is fixed");
  assert.equal(previewSize(free(256, 256), { width: 64, height: 64 }), null, "48 rounds back up to 64");
  assert.deepEqual(previewSize(free(256, 256), { width: 64, height: 128 }), { width: 64, height: 96 });
});
