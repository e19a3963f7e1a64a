// @ts-check
// The page's keyboard shortcuts: what each key does (`keyCommand`, which the
// page's key handler follows) and the list the help overlay shows (`HELP`),
// kept side by side so that a new shortcut is listed where it is made.

/** @typedef {"brush" | "fill" | "eraser" | "pick" | "reroll" | "polygon"} Tool */
/**
 * @typedef {{name: "undo"} | {name: "redo"} | {name: "tool", tool: Tool}
 *   | {name: "size", grow: boolean} | {name: "lock"} | {name: "help"}
 *   | {name: "close"} | {name: "cancel"}} Command
 *   "lock" toggles the current class's lock; "close" and "cancel" end an
 *   outline being drawn (Enter, Escape)
 */

/** @type {Readonly<Record<string, Tool>>} */
export const TOOL_KEYS = { b: "brush", f: "fill", e: "eraser", i: "pick", r: "reroll", p: "polygon" };

/**
 * The command a key press stands for, or null: none while the painter types
 * in a field (undo there is the field's own).
 * @param {{key: string, ctrlKey: boolean, metaKey: boolean, shiftKey: boolean, altKey: boolean}} event
 * @param {boolean} typing whether a text field, number field or list has the focus
 * @returns {Command | null}
 */
export function keyCommand(event, typing) {
  const command = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (typing) return null;
  if (command && key === "z") return { name: event.shiftKey ? "redo" : "undo" };
  if (command && key === "y") return { name: "redo" };
  if (command || event.altKey) return null;
  if (event.key === "[" || event.key === "]") return { name: "size", grow: event.key === "]" };
  if (event.key === "?") return { name: "help" };
  if (event.key === "Enter") return { name: "close" };
  if (event.key === "Escape") return { name: "cancel" };
  if (key === "l") return { name: "lock" };
  const tool = Object.hasOwn(TOOL_KEYS, key) ? TOOL_KEYS[key] : undefined;
  return tool ? { name: "tool", tool } : null;
}

/**
 * What the help overlay lists: per section, rows of [keys or gestures, what
 * they do]; each entry of the first column is one way to do it.
 * @type {readonly {title: string, rows: readonly [readonly string[], string][]}[]}
 */
export const HELP = [
  {
    title: "Tools",
    rows: [
      [["B"], "Brush"],
      [["F"], "Fill the connected region"],
      [["E"], "Eraser: paints the background class"],
      [["I", "Alt+click"], "Eyedropper: pick a class from the map"],
      [["P"], "Polygon / lasso fill"],
      [["R"], "Re-roll a region's noise (models with noise per pixel)"],
      [["[", "]"], "Brush smaller, larger"],
    ],
  },
  {
    title: "Painting",
    rows: [
      [["Shift+click"], "Straight line from the last point painted"],
      [["Drag in from beside the map"], "Paint from the edge where the stroke enters"],
      [["L"], "Lock or unlock the current class: no tool paints over a locked class"],
      [["The lock beside a class"], "Lock or unlock that class"],
      [["Ctrl+Z"], "Undo"],
      [["Ctrl+Shift+Z", "Ctrl+Y"], "Redo"],
      [["Drop a PNG on the map"], "Open it as the label map; an image saved here brings back its map and settings"],
    ],
  },
  {
    title: "Polygon / lasso",
    rows: [
      [["Click"], "Add a corner"],
      [["Drag"], "Draw a free outline; releasing fills it"],
      [["Click the first corner", "Double-click", "Enter"], "Close the outline and fill it with the current class"],
      [["Esc"], "Drop the outline"],
    ],
  },
  {
    title: "Page",
    rows: [
      [["Enter in the class search"], "Pick the first class found"],
      [["?"], "This help"],
      [["Esc", "click outside"], "Close this help"],
    ],
  },
];
