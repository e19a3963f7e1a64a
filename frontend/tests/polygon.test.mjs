// The polygon tool's gesture, without a browser: clicks, drags, closing and
// dropping an outline.

import { test } from "node:test";
import assert from "node:assert/strict";
import { PolygonGesture } from "../src/polygon.js";

const NEAR = 3, DRAG = 2;
const p = (x, y) => ({ x, y });

/** A click: down and up at one point. Returns what closed, if anything. */
function click(gesture, point) {
  return gesture.down(point, NEAR) ?? gesture.up();
}

test("clicks add corners; a click on the first corner closes the outline", () => {
  const g = new PolygonGesture();
  for (const point of [p(10, 10), p(40, 10), p(40, 30)]) assert.equal(click(g, point), null);
  assert.equal(g.drawing, true);
  assert.deepEqual(click(g, p(11, 12)), [p(10, 10), p(40, 10), p(40, 30)], "within NEAR of the first corner");
  assert.equal(g.drawing, false, "and it starts over");
});

test("a click further than NEAR from the first corner adds a corner", () => {
  const g = new PolygonGesture();
  for (const point of [p(10, 10), p(40, 10), p(40, 30), p(14, 10)]) click(g, point);
  assert.deepEqual(g.points, [p(10, 10), p(40, 10), p(40, 30), p(14, 10)]);
});

test("with fewer than three corners, the first corner does not close and close gives nothing", () => {
  const g = new PolygonGesture();
  click(g, p(10, 10));
  click(g, p(40, 10));
  assert.equal(click(g, p(10, 10)), null);
  assert.deepEqual(g.points, [p(10, 10), p(40, 10), p(10, 10)]);
  const two = new PolygonGesture();
  click(two, p(1, 1));
  click(two, p(5, 5));
  assert.equal(two.close(), null, "two corners fill nothing");
  assert.equal(two.drawing, false);
});

test("a second click on the same pixel (a double-click) adds no corner", () => {
  const g = new PolygonGesture();
  for (const point of [p(0, 0), p(9, 0), p(9, 9), p(9, 9)]) click(g, point);
  assert.deepEqual(g.close(), [p(0, 0), p(9, 0), p(9, 9)]);
});

test("a drag is a lasso: every point it passes is a corner and the release closes it", () => {
  const g = new PolygonGesture();
  g.down(p(5, 5), NEAR);
  // (6, 5) is less than DRAG from the press: the press is not yet a drag, and it is no corner.
  for (const point of [p(6, 5), p(20, 5), p(20, 20), p(20, 20), p(5, 20), p(6, 20)]) g.move(point, DRAG);
  assert.deepEqual(g.up(), [p(5, 5), p(20, 5), p(20, 20), p(5, 20), p(6, 20)]);
  assert.equal(g.drawing, false);
});

test("a press that moves less than DRAG is a click, not a drag", () => {
  const g = new PolygonGesture();
  g.down(p(5, 5), NEAR);
  g.move(p(6, 6), DRAG);
  assert.equal(g.up(), null);
  assert.deepEqual(g.points, [p(5, 5)]);
  g.move(p(30, 30), DRAG);
  assert.deepEqual(g.points, [p(5, 5)], "moving with no button down only shows the next line");
  assert.deepEqual(g.hover, p(30, 30));
});

test("a lasso too short for three corners fills nothing", () => {
  const g = new PolygonGesture();
  g.down(p(5, 5), NEAR);
  g.move(p(9, 5), DRAG);
  assert.equal(g.up(), null);
  assert.equal(g.drawing, false);
});

test("cancel drops the outline", () => {
  const g = new PolygonGesture();
  for (const point of [p(0, 0), p(9, 0), p(9, 9)]) click(g, point);
  g.cancel();
  assert.equal(g.drawing, false);
  assert.equal(g.close(), null);
});
