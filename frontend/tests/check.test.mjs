// Check: agreement per painted class and the overlay's mask, from painted
// and segmented index arrays, with and without a class mapping.

import { test } from "node:test";
import assert from "node:assert/strict";
import { agreement, agreementText, mismatchMask } from "../src/check.js";

// 3 classes plus don't-care (3); a 2×4 map.
const painted = Uint8Array.from([0, 0, 0, 0, 1, 1, 2, 3]);
const segmented = Uint8Array.from([0, 0, 0, 1, 1, 2, 2, 0]);

test("agreement counts each painted class's pixels and those read as it, most pixels first", () => {
  assert.deepEqual(agreement(painted, segmented, null, 3), [
    { cls: 0, pixels: 4, agree: 3 },
    { cls: 1, pixels: 2, agree: 1 },
    { cls: 2, pixels: 1, agree: 1 },
  ]);
});

test("agreement maps the segmenter's classes through the table; -1 never agrees", () => {
  // Segmenter classes 0→2, 1→0, 2→-1 (no match).
  const table = Int32Array.from([2, 0, -1]);
  assert.deepEqual(agreement(painted, segmented, table, 3), [
    { cls: 0, pixels: 4, agree: 1 },
    { cls: 1, pixels: 2, agree: 0 },
    { cls: 2, pixels: 1, agree: 0 },
  ]);
});

test("ties in pixel count go by class; absent classes are left out", () => {
  assert.deepEqual(agreement([2, 2, 1, 1], [2, 0, 1, 1], null, 4), [
    { cls: 1, pixels: 2, agree: 2 },
    { cls: 2, pixels: 2, agree: 1 },
  ]);
  assert.throws(() => agreement([0], [0, 0], null, 1));
});

test("the mask is the colour where the classes differ, transparent elsewhere and on don't-care", () => {
  const rgba = mismatchMask(painted, segmented, null, 3, [1, 2, 3, 4]);
  assert.equal(rgba.length, 32);
  assert.deepEqual([...rgba], [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4,
    0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0,
  ]);
  const mapped = mismatchMask(painted, segmented, Int32Array.from([2, 0, -1]), 3, [9, 9, 9, 9]);
  assert.deepEqual([...mapped].filter((_, i) => i % 4 === 0), [9, 9, 9, 0, 9, 9, 9, 0]);
  assert.deepEqual([...mismatchMask([0], [1], null, 1)], [255, 0, 200, 140]);
});

test("the list says how much of a class is rendered as it", () => {
  assert.equal(agreementText("water", { cls: 9, pixels: 100, agree: 41 }), "water: 41% rendered as water");
  assert.equal(agreementText("sky", { cls: 0, pixels: 3, agree: 2 }), "sky: 67% rendered as sky");
});
