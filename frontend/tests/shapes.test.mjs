// The polygon tool's pixels and where a stroke begun beside the map enters
// it, exactly, without a browser.

import { test } from "node:test";
import assert from "node:assert/strict";
import { entryPixel, polygonMask } from "../src/shapes.js";

/** A mask as rows of "#" (covered) and "." for reading at a glance. */
function picture(mask, width) {
  const rows = [];
  for (let i = 0; i < mask.length; i += width) rows.push(Array.from(mask.subarray(i, i + width), (v) => (v ? "#" : ".")).join(""));
  return rows;
}

const corners = (...xy) => xy.map(([x, y]) => ({ x, y }));

test("a rectangle covers its corners and its edges, inclusive", () => {
  const mask = polygonMask(corners([1, 1], [4, 1], [4, 3], [1, 3]), 6, 5);
  assert.deepEqual(picture(mask, 6), [
    "......",
    ".####.",
    ".####.",
    ".####.",
    "......",
  ]);
});

test("a triangle covers the pixels whose centres are inside or on its edges, and no others", () => {
  const mask = polygonMask(corners([0, 0], [4, 0], [0, 4]), 6, 6);
  assert.deepEqual(picture(mask, 6), [
    "#####.",
    "####..",
    "###...",
    "##....",
    "#.....",
    "......",
  ]);
});

test("a thin diagonal takes only the centres on it or inside it", () => {
  // The long edges pass through centres (0,0), (2,1), (4,2), (6,3) and (1,0) … (7,3).
  const mask = polygonMask(corners([0, 0], [1, 0], [7, 3], [6, 3]), 8, 4);
  assert.deepEqual(picture(mask, 8), [
    "##......",
    "..##....",
    "....##..",
    "......##",
  ]);
});

test("corners off the map cover the part that is on it", () => {
  const mask = polygonMask(corners([-3, -3], [2, -3], [2, 2], [-3, 2]), 5, 4);
  assert.deepEqual(picture(mask, 5), [
    "###..",
    "###..",
    "###..",
    ".....",
  ]);
  assert.equal(polygonMask(corners([-9, -9], [-2, -9], [-2, -2]), 4, 4).some((v) => v), false, "wholly off the map");
});

test("fewer than three corners cover nothing", () => {
  assert.equal(polygonMask([], 4, 4).some((v) => v), false);
  assert.equal(polygonMask(corners([0, 0], [3, 3]), 4, 4).some((v) => v), false);
});

test("a pentagram leaves its centre empty by the even-odd rule", () => {
  const mask = polygonMask(corners([10, 0], [16, 19], [0, 7], [20, 7], [4, 19]), 21, 20);
  const at = (x, y) => mask[y * 21 + x];
  assert.equal(at(10, 10), 0, "the centre is crossed twice: outside");
  assert.equal(at(10, 2), 1, "the top point");
  assert.equal(at(3, 8), 1, "the left arm");
  assert.equal(at(10, 18), 0, "between the two lower points");
});

/** The rule written out per pixel: even-odd by a ray to the right, or on an edge. */
function coveredByRule(points, x, y) {
  let inside = false;
  for (let i = 0; i < points.length; i++) {
    const a = points[i], b = points[(i + 1) % points.length];
    const cross = (b.x - a.x) * (y - a.y) - (b.y - a.y) * (x - a.x);
    const within = Math.min(a.x, b.x) <= x && x <= Math.max(a.x, b.x) && Math.min(a.y, b.y) <= y && y <= Math.max(a.y, b.y);
    if (cross === 0 && within) return true;
    if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

test("random outlines, self-crossing ones included, cover exactly what the rule says", () => {
  let seed = 12345;
  const random = (n) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const width = 20, height = 16;
  for (let round = 0; round < 300; round++) {
    const points = Array.from({ length: 3 + random(10) }, () => ({ x: random(28) - 4, y: random(24) - 4 }));
    const mask = polygonMask(points, width, height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        assert.equal(mask[y * width + x], coveredByRule(points, x, y) ? 1 : 0, `pixel ${x},${y} of ${JSON.stringify(points)}`);
      }
    }
  }
});

test("a stroke begun left of the map enters at the left edge, on its own row", () => {
  assert.deepEqual(entryPixel({ x: -3.5, y: 100.5 }, { x: 60.5, y: 100.5 }, 256, 256), { x: 0, y: 100 });
});

test("a stroke begun right of or below the map enters at the last column or row", () => {
  assert.deepEqual(entryPixel({ x: 300, y: 10.2 }, { x: 200, y: 10.2 }, 256, 256), { x: 255, y: 10 });
  assert.deepEqual(entryPixel({ x: 40.7, y: 270 }, { x: 40.7, y: 250 }, 256, 256), { x: 40, y: 255 });
});

test("a slanting stroke enters where it crosses the edge, not at the edge point nearest its start", () => {
  // From (-10, -10) towards (10, 30): below the top-left corner's row, it crosses x = 0 at y = 10.
  assert.deepEqual(entryPixel({ x: -10, y: -10 }, { x: 10, y: 30 }, 64, 64), { x: 0, y: 10 });
  // Past the corner: it crosses y = 0 first, at x = 5.
  assert.deepEqual(entryPixel({ x: 0, y: -10 }, { x: 10, y: 10 }, 64, 64), { x: 5, y: 0 });
});

test("a start on the map is its own pixel; a segment that misses the map enters nowhere", () => {
  assert.deepEqual(entryPixel({ x: 12.3, y: 4.9 }, { x: 90, y: 90 }, 64, 64), { x: 12, y: 4 });
  assert.equal(entryPixel({ x: -5, y: -5 }, { x: 300, y: -1 }, 64, 64), null, "passes above");
  assert.equal(entryPixel({ x: -5, y: 10 }, { x: -1, y: 60 }, 64, 64), null, "stays left of it");
  assert.equal(entryPixel({ x: -5, y: 70 }, { x: -5, y: 80 }, 64, 64), null, "parallel to a side, outside");
});
