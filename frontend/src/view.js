// @ts-check
// The map on the screen: where a pointer is on it (the canvas shows the
// whole map in its box, letterboxed: object-fit: contain), and how the
// panels lay the map and the image out for the map's shape.

import { STACK_FROM } from "./sizes.js";

/** @typedef {{width: number, height: number}} Size */

/** Screen pixels per map pixel. @param {HTMLCanvasElement} canvas @param {Size} map */
export function mapScale(canvas, map) {
  return Math.min(canvas.clientWidth / map.width, canvas.clientHeight / map.height);
}

/**
 * Where a pointer is on the map: its pixel (`x`, `y`; off the map too) and
 * the exact position (`fx`, `fy`), the letterbox taken off first.
 * @param {HTMLCanvasElement} canvas @param {Size} map
 * @param {{clientX: number, clientY: number}} event
 */
export function mapPoint(canvas, map, event) {
  const rect = canvas.getBoundingClientRect();
  const { width, height } = map;
  const scale = mapScale(canvas, map);
  const left = rect.left + canvas.clientLeft + (canvas.clientWidth - width * scale) / 2;
  const top = rect.top + canvas.clientTop + (canvas.clientHeight - height * scale) / 2;
  const fx = (event.clientX - left) / scale, fy = (event.clientY - top) / scale;
  const x = Math.floor(fx), y = Math.floor(fy);
  return { x, y, fx, fy, inside: x >= 0 && y >= 0 && x < width && y < height };
}

/**
 * Gives the map's and the image's boxes the map's shape, and puts the image
 * under the map rather than beside it when the map is wide (STACK_FROM).
 * @param {HTMLElement} panels @param {HTMLElement[]} boxes @param {Size} map
 */
export function layOut(panels, boxes, { width, height }) {
  for (const box of boxes) box.style.setProperty("--aspect", String(width / height));
  panels.classList.toggle("stacked", width / height >= STACK_FROM);
}
