// @ts-check
// Geometry of the tools in map pixels: which pixels a closed outline covers,
// and where a stroke begun off the map enters it. Pure functions, so that
// their exact pixels are tested without a browser.

/** @typedef {{x: number, y: number}} Point */

/**
 * The pixels a closed outline covers, as a 0/1 mask of a width × height map.
 * Corners are whole pixels and stand for their centres (they may lie off the
 * map). A pixel is covered when its centre lies inside by the even-odd rule
 * or on the outline itself, so the corners clicked are painted and nothing is
 * anti-aliased. Fewer than three corners cover nothing.
 * @param {readonly Point[]} points corners, integer pixel coordinates
 * @param {number} width @param {number} height
 */
export function polygonMask(points, width, height) {
  const mask = new Uint8Array(width * height);
  const n = points.length;
  if (n < 3) return mask;
  const top = Math.max(0, Math.min(...points.map((p) => p.y)));
  const bottom = Math.min(height - 1, Math.max(...points.map((p) => p.y)));
  for (let y = top; y <= bottom; y++) {
    // Where the row of centres crosses each edge; an edge takes its upper end
    // and not its lower, so a corner on the row is crossed once or not at all.
    /** @type {number[]} */
    const crossings = [];
    for (let i = 0; i < n; i++) {
      const a = points[i], b = points[(i + 1) % n];
      if (a.y <= y !== b.y <= y) crossings.push(a.x + ((y - a.y) * (b.x - a.x)) / (b.y - a.y));
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Integer corners make each crossing a fraction with a small denominator:
      // ceil and floor are exact, and a centre on a crossing is on the outline.
      const from = Math.max(0, Math.ceil(crossings[k]));
      const to = Math.min(width - 1, Math.floor(crossings[k + 1]));
      if (from <= to) mask.fill(1, y * width + from, y * width + to + 1);
    }
  }
  // The centres on the outline that no row crossing reached: horizontal
  // edges and lower corners. An edge passes exactly through gcd(|dx|, |dy|) + 1 centres.
  for (let i = 0; i < n; i++) {
    const a = points[i], b = points[(i + 1) % n];
    const steps = gcd(Math.abs(b.x - a.x), Math.abs(b.y - a.y));
    const sx = steps ? (b.x - a.x) / steps : 0, sy = steps ? (b.y - a.y) / steps : 0;
    for (let k = 0; k <= steps; k++) {
      const x = a.x + k * sx, y = a.y + k * sy;
      if (x >= 0 && y >= 0 && x < width && y < height) mask[y * width + x] = 1;
    }
  }
  return mask;
}

/** @param {number} a @param {number} b */
function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Where a stroke from `from` to `to` first meets a width × height map, as the
 * pixel it enters at, or null when the segment misses the map. Points are
 * exact map positions (pixel x covers [x, x + 1)); a start on the map is its
 * own pixel. A stroke begun beside the map thus paints from the edge point on
 * its way in, not from the edge point nearest to where it began.
 * @param {Point} from @param {Point} to @param {number} width @param {number} height
 * @returns {Point | null}
 */
export function entryPixel(from, to, width, height) {
  // Liang–Barsky: the segment is from + t·(to − from), t in [0, 1]; each
  // side of the map bounds t from below (entering) or above (leaving).
  const dx = to.x - from.x, dy = to.y - from.y;
  let enter = 0, leave = 1;
  for (const [p, q] of [[-dx, from.x], [dx, width - from.x], [-dy, from.y], [dy, height - from.y]]) {
    if (p === 0) {
      if (q < 0) return null; // parallel to this side and outside it
    } else if (p < 0) {
      enter = Math.max(enter, q / p);
    } else {
      leave = Math.min(leave, q / p);
    }
  }
  if (enter > leave) return null;
  const x = from.x + enter * dx, y = from.y + enter * dy;
  return {
    x: Math.max(0, Math.min(width - 1, Math.floor(x))),
    y: Math.max(0, Math.min(height - 1, Math.floor(y))),
  };
}
