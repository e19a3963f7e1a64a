// Re-roll regions and the undo history that holds them, without a browser.

import { test } from "node:test";
import assert from "node:assert/strict";
import { History } from "../src/history.js";
import { LabelMap } from "../src/labelmap.js";
import { Rerolls } from "../src/rerolls.js";

const map = { width: 4, height: 2 };

/** The ids of a region map, row by row. @param {Rerolls} rerolls */
const ids = (rerolls) => Array.from(rerolls.regions?.data ?? []);

test("each stroke takes a new id over older ones and keeps its seed", () => {
  const first = Rerolls.none.withRegion(map, 11);
  first.regions.paintSegment(0, 0, 1, 0, 1, first.id);
  const second = first.rerolls.withRegion(map, 22);
  second.regions.paintSegment(1, 0, 2, 0, 1, second.id);
  assert.deepEqual(ids(second.rerolls), [1, 2, 2, 0, 0, 0, 0, 0]);
  assert.deepEqual(second.rerolls.seeds, [11, 22]);
  assert.deepEqual(ids(first.rerolls), [1, 1, 0, 0, 0, 0, 0, 0], "the older re-rolls are not changed");
  assert.ok(second.regions.data instanceof Uint16Array);
});

test("masks are 0/1 maps in stroke order, one per region still showing", () => {
  let rerolls = Rerolls.none;
  for (const [seed, x0, x1] of [[5, 0, 0], [6, 3, 3], [7, 0, 0]]) {
    const next = rerolls.withRegion(map, seed);
    next.regions.paintSegment(x0, 0, x1, 1, 1, next.id);
    rerolls = next.rerolls;
  }
  // The third stroke covered the first entirely: its seed is not sent.
  assert.deepEqual(
    rerolls.masks().map(({ mask, seed }) => ({ mask: Array.from(mask), seed })),
    [
      { mask: [0, 0, 0, 1, 0, 0, 0, 1], seed: 6 },
      { mask: [1, 0, 0, 0, 1, 0, 0, 0], seed: 7 },
    ],
  );
  assert.deepEqual(Rerolls.none.masks(), []);
});

test("a new stroke drops regions painted over and renumbers the rest in order", () => {
  let rerolls = Rerolls.none;
  for (const [seed, x] of [[1, 0], [2, 1], [3, 0]]) {
    const next = rerolls.withRegion(map, seed);
    next.regions.paintSegment(x, 0, x, 1, 1, next.id);
    rerolls = next.rerolls;
  }
  assert.deepEqual(rerolls.seeds, [1, 2, 3], "seed 1, painted over, stays until the next stroke");
  const next = rerolls.withRegion(map, 4);
  assert.deepEqual(next.rerolls.seeds, [2, 3, 4]);
  assert.equal(next.id, 3);
  assert.deepEqual(ids(next.rerolls), [2, 1, 0, 0, 2, 1, 0, 0]);
});

test("regions of another size are not carried into a stroke", () => {
  const small = Rerolls.none.withRegion(map, 1);
  small.regions.paintSegment(0, 0, 0, 0, 1, small.id);
  assert.equal(small.rerolls.fits({ width: 8, height: 2 }), false);
  assert.equal(Rerolls.none.fits({ width: 8, height: 2 }), true);
  const big = small.rerolls.withRegion({ width: 8, height: 2 }, 2);
  assert.deepEqual(big.rerolls.seeds, [2]);
  assert.equal(big.regions.width, 8);
});

test("saved re-rolls are read back only when they fit the map", () => {
  const ids = new Uint16Array([0, 1, 2, 2, 0, 0, 0, 1]);
  assert.deepEqual(Rerolls.read(map, ids, [9, 8]).seeds, [9, 8]);
  assert.equal(Rerolls.read(map, ids, [9]), Rerolls.none, "an id without a seed");
  assert.equal(Rerolls.read(map, ids, [9, -1]), Rerolls.none, "a negative seed");
  assert.equal(Rerolls.read({ width: 2, height: 2 }, ids, [9, 8]), Rerolls.none, "another size");
  assert.equal(Rerolls.read(map, new Uint8Array(8), []), Rerolls.none, "not 16-bit ids");
});

test("rewrite converts every step and drops steps that no longer differ", () => {
  const history = new History(10);
  // Map objects a, b, c; the step from a to a' only re-rolled (same map object).
  const a = new LabelMap(1, 1, 2), b = new LabelMap(1, 1, 2), c = new LabelMap(1, 1, 2);
  history.record({ map: a, rerolls: "none" });
  history.record({ map: a, rerolls: "r1" });
  history.record({ map: b, rerolls: "r1" });
  // current: {b, r2}; redo: {c, r2} then {c, r3} (redo pops the last pushed first).
  history.redoStack = [{ map: c, rerolls: "r3" }, { map: c, rerolls: "r2" }];
  const now = history.rewrite(
    { map: b, rerolls: "r2" },
    (step) => ({ map: step.map, rerolls: "none" }),
    (x, y) => x.map === y.map,
  );
  assert.deepEqual(now, { map: b, rerolls: "none" });
  assert.deepEqual(history.undoStack.map((s) => s.map), [a]);
  assert.deepEqual(history.redoStack.map((s) => s.map), [c]);
  assert.equal(history.undo(now)?.map, a);
});

/** Re-rolls on `map` (4×2) from strokes of [seed, x0, y0, x1, y1], each 1 pixel wide. */
function strokes(list) {
  let rerolls = Rerolls.none;
  for (const [seed, x0, y0, x1, y1] of list) {
    const next = rerolls.withRegion(map, seed);
    next.regions.paintSegment(x0, y0, x1, y1, 1, next.id);
    rerolls = next.rerolls;
  }
  return rerolls;
}

test("a canvas resize scales the regions with the map, nearest, each keeping its seed", () => {
  const rerolls = strokes([[5, 0, 0, 0, 1], [6, 3, 0, 3, 0]]);
  assert.deepEqual(ids(rerolls), [1, 0, 0, 2, 1, 0, 0, 0]);
  const { rerolls: big, lost } = rerolls.resized(8, 4);
  assert.equal(lost, 0);
  assert.deepEqual(big.seeds, [5, 6]);
  assert.deepEqual(ids(big), [
    1, 1, 0, 0, 0, 0, 2, 2,
    1, 1, 0, 0, 0, 0, 2, 2,
    1, 1, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 0, 0, 0, 0, 0,
  ]);
  assert.deepEqual(ids(big.resized(4, 2).rerolls), ids(rerolls), "twice and back is exact");
  assert.deepEqual(ids(rerolls), [1, 0, 0, 2, 1, 0, 0, 0], "the re-rolls resized are not changed");
});

test("a region too thin to keep a pixel goes with its seed, and is counted", () => {
  const rerolls = strokes([[5, 0, 0, 0, 1], [6, 3, 0, 3, 0]]);
  // 2×1 takes source columns 0 and 2 of row 0: region 1 stays, region 2 (column 3) goes.
  const { rerolls: small, lost } = rerolls.resized(2, 1);
  assert.equal(lost, 1);
  assert.deepEqual(ids(small), [1, 0]);
  assert.deepEqual(small.seeds, [5]);
  const gone = strokes([[6, 3, 0, 3, 0]]).resized(2, 1);
  assert.equal(gone.rerolls, Rerolls.none, "no region left: none");
  assert.equal(gone.lost, 1);
  assert.deepEqual(Rerolls.none.resized(8, 4), { rerolls: Rerolls.none, lost: 0 });
});

test("re-rolls from posted masks: later masks over earlier, covered ones gone, wrong sizes none", () => {
  const mask = (...on) => Uint8Array.from({ length: 8 }, (_, i) => (on.includes(i) ? 1 : 0));
  const back = Rerolls.fromMasks(map, [{ mask: mask(0, 1, 4), seed: 5 }, { mask: mask(1, 2), seed: 6 }]);
  assert.deepEqual(ids(back), [1, 2, 2, 0, 1, 0, 0, 0]);
  assert.deepEqual(back.seeds, [5, 6]);
  const covered = Rerolls.fromMasks(map, [{ mask: mask(3), seed: 5 }, { mask: mask(0), seed: 6 }, { mask: mask(3, 7), seed: 7 }]);
  assert.deepEqual(ids(covered), [1, 0, 0, 2, 0, 0, 0, 2]);
  assert.deepEqual(covered.seeds, [6, 7]);
  assert.equal(Rerolls.fromMasks(map, []), Rerolls.none);
  assert.equal(Rerolls.fromMasks(map, [{ mask: new Uint8Array(6), seed: 1 }]), Rerolls.none, "another size");
  assert.equal(Rerolls.fromMasks(map, [{ mask: mask(), seed: 1 }]), Rerolls.none, "an empty mask");
  const strokesBack = strokes([[5, 0, 0, 1, 0], [6, 1, 0, 2, 1]]);
  assert.deepEqual(ids(Rerolls.fromMasks(map, strokesBack.masks())), ids(strokesBack), "masks() and back");
});
