// @ts-check
// The palette: a button per class, landscape classes first, each with a lock
// toggle beside it (no tool paints over a locked class), and a search box
// whose Enter picks the first class found.

import { cocoName, paletteOrder } from "./classes.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {import("./locks.js").ClassLocks} ClassLocks */

const SVG = "http://www.w3.org/2000/svg";

export class Palette {
  /**
   * @param {HTMLUListElement} list
   * @param {HTMLInputElement} search
   * @param {{select: (cls: number) => void, lock: (cls: number) => void}} actions
   *   what a click on a class, or on its lock, asks for
   */
  constructor(list, search, actions) {
    this.list = list;
    this.search = search;
    list.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest("button") : null;
      if (button?.dataset.class) actions.select(Number(button.dataset.class));
      else if (button?.dataset.lock) actions.lock(Number(button.dataset.lock));
    });
    search.addEventListener("input", () => this.filter());
    search.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      const first = this.buttons("class").find((button) => !button.closest("li")?.hidden);
      if (first) actions.select(Number(first.dataset.class));
    });
  }

  /** @param {ModelCard} card @param {ClassLocks} locks */
  build(card, locks) {
    this.list.replaceChildren(...paletteOrder(card).map((i) => item(card, i)));
    this.showLocks(locks);
    this.filter();
  }

  /** Shows `cls` as the current class. @param {number} cls */
  select(cls) {
    for (const button of this.buttons("class")) {
      const on = button.dataset.class === String(cls);
      button.setAttribute("aria-pressed", String(on));
      if (on) button.scrollIntoView({ block: "nearest" });
    }
  }

  /** @param {ClassLocks} locks */
  showLocks(locks) {
    for (const button of this.buttons("lock")) {
      const on = locks.has(Number(button.dataset.lock));
      button.setAttribute("aria-pressed", String(on));
      button.title = on ? `${button.dataset.name} is locked: click to unlock (L)` : `Lock ${button.dataset.name}: no tool paints over it (L)`;
    }
  }

  filter() {
    const query = this.search.value.trim().toLowerCase();
    for (const button of this.buttons("class")) {
      const item = /** @type {HTMLElement} */ (button.parentElement);
      item.hidden = query !== "" && !(button.dataset.search ?? "").includes(query);
    }
  }

  /** The class buttons, or the lock buttons. @param {"class" | "lock"} kind */
  buttons(kind) {
    return [...this.list.querySelectorAll("button")].filter((button) => button.dataset[kind] !== undefined);
  }
}

/** A class's entry: its button and its lock. @param {ModelCard} card @param {number} i */
function item(card, i) {
  const c = card.classes[i];
  const entry = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.class = String(i);
  button.dataset.search = `${c.name} ${cocoName(c)}`.toLowerCase();
  button.title = c.coco_stuff && c.coco_stuff !== c.name ? `${c.name} (COCO-Stuff: ${c.coco_stuff})` : c.name;
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = c.color;
  button.append(swatch, c.name);
  const lock = document.createElement("button");
  lock.type = "button";
  lock.className = "lock";
  lock.dataset.lock = String(i);
  lock.dataset.name = c.name;
  lock.setAttribute("aria-label", `Lock ${c.name}`);
  lock.append(padlock());
  entry.append(button, lock);
  return entry;
}

/** A padlock drawn in the text colour. */
function padlock() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const shackle = document.createElementNS(SVG, "path");
  shackle.setAttribute("d", "M5 7.5V5a3 3 0 0 1 6 0v2.5");
  const body = document.createElementNS(SVG, "rect");
  for (const [name, value] of Object.entries({ x: "3", y: "7.5", width: "10", height: "7", rx: "1.5" })) body.setAttribute(name, value);
  svg.append(shackle, body);
  return svg;
}
