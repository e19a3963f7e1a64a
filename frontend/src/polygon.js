// @ts-check
// The polygon tool's gesture: clicks add corners and a drag draws a free
// (lasso) outline; a click on the first corner, a double-click, Enter or the
// release of a drag closes it, Escape drops it. The gesture is plain state,
// tested without a browser; main.js feeds it pointer positions in map pixels
// and fills what it closes, and `drawOutline` shows it over the map.

/** @typedef {import("./shapes.js").Point} Point */

/** @param {Point} a @param {Point} b */
const distance = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);

export class PolygonGesture {
  constructor() {
    /** The corners so far, in map pixels (off the map too). @type {Point[]} */
    this.points = [];
    /** Where the pointer went down, while it is down. @type {Point | null} */
    this.pressed = null;
    /** Whether the press has become a drag: a lasso. */
    this.dragging = false;
    /** Where the pointer is, for the line to the next corner. @type {Point | null} */
    this.hover = null;
  }

  get drawing() {
    return this.points.length > 0;
  }

  /**
   * The pointer went down. On the first corner (within `near` map pixels) it
   * closes an outline of three corners or more; anywhere else it adds a corner.
   * @param {Point} point @param {number} near
   * @returns {Point[] | null} the outline to fill, when this closed one
   */
  down(point, near) {
    if (this.points.length >= 3 && distance(point, this.points[0]) <= near) return this.close();
    this.add(point);
    this.pressed = point;
    this.hover = point;
    this.dragging = false;
    return null;
  }

  /**
   * The pointer moved. A press that has moved `dragFrom` map pixels or more
   * is a drag, and every point it passes becomes a corner.
   * @param {Point} point @param {number} dragFrom
   */
  move(point, dragFrom) {
    this.hover = point;
    if (!this.pressed || (!this.dragging && distance(point, this.pressed) < dragFrom)) return;
    this.dragging = true;
    this.add(point);
  }

  /** The pointer went up: the end of a drag closes the outline. @returns {Point[] | null} */
  up() {
    const dragged = this.dragging;
    this.pressed = null;
    this.dragging = false;
    return dragged ? this.close() : null;
  }

  /**
   * Ends the outline: its corners to fill, or null when there are fewer than
   * three (nothing to fill). The gesture starts over either way.
   * @returns {Point[] | null}
   */
  close() {
    const points = this.points;
    this.cancel();
    return points.length >= 3 ? points : null;
  }

  cancel() {
    this.points = [];
    this.pressed = null;
    this.dragging = false;
    this.hover = null;
  }

  /** Adds a corner unless it repeats the last one. @param {Point} point */
  add(point) {
    const last = this.points.at(-1);
    if (!last || last.x !== point.x || last.y !== point.y) this.points.push({ x: point.x, y: point.y });
  }
}

/**
 * Shows the outline being drawn over the map: its corners joined through the
 * pixel centres, a line on to the pointer, and a ring on the first corner
 * where a click closes it. The SVG's view box is the map, and its default
 * `xMidYMid meet` places it as the canvas's `object-fit: contain` does.
 * @param {SVGSVGElement} svg with a polyline and a circle
 * @param {PolygonGesture} gesture
 * @param {{width: number, height: number}} map
 * @param {number} ring radius of the first corner's ring, in map pixels
 */
export function drawOutline(svg, gesture, map, ring) {
  svg.classList.toggle("drawing", gesture.drawing);
  if (!gesture.drawing) return;
  svg.setAttribute("viewBox", `0 0 ${map.width} ${map.height}`);
  const points = gesture.hover && !gesture.dragging ? [...gesture.points, gesture.hover] : gesture.points;
  for (const line of svg.querySelectorAll("polyline")) {
    line.setAttribute("points", points.map((p) => `${p.x + 0.5},${p.y + 0.5}`).join(" "));
  }
  const first = gesture.points[0];
  for (const circle of svg.querySelectorAll("circle")) {
    circle.setAttribute("cx", String(first.x + 0.5));
    circle.setAttribute("cy", String(first.y + 0.5));
    circle.setAttribute("r", String(ring));
  }
}
