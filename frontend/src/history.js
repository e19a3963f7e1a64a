// @ts-check
// Undo and redo as whole-map snapshots: a 256×256 map is 64 KiB, so a
// hundred steps cost a few MiB and every step restores exactly.

/** @template T */
export class History {
  /** @param {number} limit steps kept */
  constructor(limit = 100) {
    this.limit = limit;
    /** @type {T[]} */
    this.undoStack = [];
    /** @type {T[]} */
    this.redoStack = [];
  }

  /** Records the state before a change; a new change forgets the redo steps. @param {T} before */
  record(before) {
    this.undoStack.push(before);
    if (this.undoStack.length > this.limit) this.undoStack.shift();
    this.redoStack = [];
  }

  /** The state to go back to, or null; `current` becomes redoable. @param {T} current */
  undo(current) {
    const before = this.undoStack.pop();
    if (before === undefined) return null;
    this.redoStack.push(current);
    return before;
  }

  /** @param {T} current */
  redo(current) {
    const after = this.redoStack.pop();
    if (after === undefined) return null;
    this.undoStack.push(current);
    return after;
  }

  get canUndo() {
    return this.undoStack.length > 0;
  }

  get canRedo() {
    return this.redoStack.length > 0;
  }

  clear() {
    this.undoStack = [];
    this.redoStack = [];
  }
}
