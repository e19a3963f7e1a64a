// The keys of the page and the help overlay's list of them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HELP, TOOL_KEYS, keyCommand } from "../src/shortcuts.js";

const press = (key, modifiers = {}, typing = false) =>
  keyCommand({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...modifiers }, typing);

test("keys pick tools, sizes, locks, help and end outlines", () => {
  assert.deepEqual(press("p"), { name: "tool", tool: "polygon" });
  assert.deepEqual(press("B", { shiftKey: true }), { name: "tool", tool: "brush" });
  assert.deepEqual(press("]"), { name: "size", grow: true });
  assert.deepEqual(press("["), { name: "size", grow: false });
  assert.deepEqual(press("l"), { name: "lock" });
  assert.deepEqual(press("?", { shiftKey: true }), { name: "help" });
  assert.deepEqual(press("Enter"), { name: "close" });
  assert.deepEqual(press("Escape"), { name: "cancel" });
  assert.equal(press("x"), null);
  assert.equal(press("constructor"), null, "only the table's own keys");
});

test("undo and redo take Ctrl or Cmd; other keys with them, or with Alt, are the browser's", () => {
  assert.deepEqual(press("z", { ctrlKey: true }), { name: "undo" });
  assert.deepEqual(press("Z", { metaKey: true, shiftKey: true }), { name: "redo" });
  assert.deepEqual(press("y", { ctrlKey: true }), { name: "redo" });
  assert.equal(press("p", { ctrlKey: true }), null);
  assert.equal(press("b", { altKey: true }), null);
});

test("nothing is the page's while the painter types in a field", () => {
  for (const key of ["b", "p", "?", "Enter", "Escape", "["]) assert.equal(press(key, {}, true), null, key);
  assert.equal(press("z", { ctrlKey: true }, true), null);
});

test("the help lists every key the page answers to", () => {
  const listed = new Set(HELP.flatMap(({ rows }) => rows.flatMap(([ways]) => ways)));
  const keys = [...Object.keys(TOOL_KEYS), "l", "[", "]", "?"];
  for (const key of keys) {
    assert.notEqual(press(key), null, key);
    assert.ok(listed.has(key.toUpperCase()), `${key} is not in the help`);
  }
  for (const way of ["Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+Y", "Enter", "Esc", "Shift+click", "Alt+click", "Double-click", "Drag"]) {
    assert.ok(listed.has(way), `${way} is not in the help`);
  }
});
