// @ts-check
// The help overlay: every shortcut and gesture of the page (shortcuts.js's
// HELP) in a modal <dialog>, which keeps the focus inside while open and
// closes on Escape; a click outside it closes it too, and the focus goes
// back to where it was.

import { HELP } from "./shortcuts.js";

export class HelpOverlay {
  /** @param {HTMLDialogElement} dialog @param {HTMLElement} list where the sections go */
  constructor(dialog, list) {
    this.dialog = dialog;
    /** What had the focus before the overlay opened. @type {Element | null} */
    this.returnFocus = null;
    list.replaceChildren(...HELP.map(({ title, rows }) => section(title, rows)));
    // A click on the backdrop is a click on the dialog itself, outside its box.
    dialog.addEventListener("click", (event) => {
      if (event.target !== dialog) return;
      const box = dialog.getBoundingClientRect();
      const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) dialog.close();
    });
    dialog.addEventListener("close", () => {
      if (this.returnFocus instanceof HTMLElement) this.returnFocus.focus();
      this.returnFocus = null;
    });
  }

  get open() {
    return this.dialog.open;
  }

  show() {
    if (this.dialog.open) return;
    this.returnFocus = document.activeElement;
    this.dialog.showModal();
  }
}

/** @param {string} title @param {readonly (readonly [readonly string[], string])[]} rows */
function section(title, rows) {
  const part = document.createElement("section");
  const heading = document.createElement("h3");
  heading.textContent = title;
  const table = document.createElement("table");
  for (const [ways, what] of rows) {
    const row = table.insertRow();
    const keys = document.createElement("th");
    keys.scope = "row";
    ways.forEach((way, i) => {
      const kbd = document.createElement("kbd");
      kbd.textContent = way;
      keys.append(...(i ? [" or ", kbd] : [kbd]));
    });
    row.append(keys);
    row.insertCell().textContent = what;
  }
  part.append(heading, table);
  return part;
}
