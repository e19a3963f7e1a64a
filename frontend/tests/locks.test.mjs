// Class locks: no tool paints over a locked class, and locks follow the
// painting to another model's classes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { LabelMap } from "../src/labelmap.js";
import { ClassLocks } from "../src/locks.js";
import { polygonMask } from "../src/shapes.js";

/** A map from rows of digits, one class a pixel. */
function mapOf(...rows) {
  return new LabelMap(rows[0].length, rows.length, 10, Uint8Array.from(rows.join(""), Number));
}

/** The map as rows of digits. */
const rows = (map) => Array.from({ length: map.height }, (_, y) => Array.from(map.data.subarray(y * map.width, (y + 1) * map.width)).join(""));

/** Locks on `classes` of a 10-value model. */
function locks(...classes) {
  const out = new ClassLocks(10);
  for (const cls of classes) out.toggle(cls);
  return out;
}

test("a brush stroke (and the eraser, and a shift-click line: the same segment) paints round locked pixels", () => {
  const map = mapOf("0112000", "0000220");
  const changed = map.paintSegment(0, 0, 6, 0, 1, 3, locks(1).table);
  assert.deepEqual(rows(map), ["3113333", "0000220"]);
  assert.equal(changed, 5, "the two locked pixels are not counted");
  assert.equal(map.paintSegment(0, 1, 6, 1, 1, 0, locks(2).table), 0, "the background over a locked class changes nothing");
});

test("a wide stroke over a locked region leaves every one of its pixels", () => {
  const map = mapOf("00000", "01110", "01110", "00000");
  map.paintSegment(0, 0, 4, 3, 9, 5, locks(1).table);
  assert.deepEqual(rows(map), ["55555", "51115", "51115", "55555"]);
});

test("fill does nothing on a locked class and fills an unlocked one up to the locked pixels", () => {
  const map = mapOf("0010", "0010", "2210");
  assert.equal(map.fill(2, 0, 4, locks(1).table), 0);
  assert.deepEqual(rows(map), ["0010", "0010", "2210"]);
  assert.equal(map.fill(0, 0, 1, locks(1).table), 4);
  assert.deepEqual(rows(map), ["1110", "1110", "2210"], "locking a class does not stop painting it");
});

test("a polygon fill covers what its outline covers, except locked pixels", () => {
  const map = mapOf("000000", "022200", "020200", "022200", "000000");
  const mask = polygonMask([{ x: 0, y: 0 }, { x: 4, y: 0 }, { x: 4, y: 4 }, { x: 0, y: 4 }], 6, 5);
  assert.equal(map.paintMask(mask, 7, locks(2).table), 17);
  assert.deepEqual(rows(map), ["777770", "722270", "727270", "722270", "777770"]);
  assert.equal(map.paintMask(mask, 7, locks(2).table), 0, "a second fill changes nothing");
});

test("Clear keeps the locked classes; without locks it takes everything", () => {
  const map = mapOf("0123", "3210");
  map.clear(9, locks(2, 3).table);
  assert.deepEqual(rows(map), ["9923", "3299"]);
  map.clear(9);
  assert.deepEqual(rows(map), ["9999", "9999"]);
});

test("a lock toggles on and off", () => {
  const l = new ClassLocks(4);
  assert.equal(l.has(2), false);
  l.toggle(2);
  assert.equal(l.has(2), true);
  assert.deepEqual(Array.from(l.table), [0, 0, 1, 0]);
  l.toggle(2);
  assert.equal(l.has(2), false);
});

const card = (name, classes, dontcare = null) => ({ name, classes, dontcare, native: { width: 4, height: 4 } });
const landscapes = card("landscapes", [
  { name: "sky", color: "#000000", coco_stuff: "sky-other" },
  { name: "snow", color: "#000000", coco_stuff: null },
  { name: "grass", color: "#000000", coco_stuff: "grass" },
  { name: "rock", color: "#000000", coco_stuff: "rock" },
]);
const coco = card("coco", [
  { name: "grass", color: "#000000" },
  { name: "rock", color: "#000000" },
  { name: "sky-other", color: "#000000" },
], { index: 3, name: "unlabeled", color: "#000000" });

test("locks follow the classes to another model: by name, then by COCO-Stuff name; a class with no match locks nothing", () => {
  const l = new ClassLocks(4);
  for (const cls of [0, 1, 3]) l.toggle(cls); // sky, snow (no match), rock
  const moved = l.carried(landscapes, coco, 4);
  assert.deepEqual(Array.from(moved.table), [0, 1, 1, 0], "rock and sky-other locked; grass and unlabeled not");
  assert.deepEqual(Array.from(l.table), [1, 1, 0, 1], "the old locks are not changed");
  assert.deepEqual(Array.from(moved.carried(coco, landscapes, 4).table), [1, 0, 0, 1], "and back: sky and rock");
});
