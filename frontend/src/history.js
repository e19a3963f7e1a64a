// @ts-check
// Undo and redo as whole snapshots: a 256×256 map is 64 KiB, so a hundred
// steps cost a few MiB and every step restores exactly. Snapshots are never
// changed once recorded, so neighbouring steps can share what they did not
// change.

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

  /**
   * Rewrites every step and `current` with `convert` (for another model's
   * classes, say) and drops each step that `same` finds no different from
   * its neighbour on the way to `current`: undo or redo would step to it
   * with nothing to show. Returns the rewritten `current`.
   * @param {T} current
   * @param {(step: T) => T} convert
   * @param {(a: T, b: T) => boolean} same
   */
  rewrite(current, convert, same) {
    const now = convert(current);
    // In time order: undoStack[0], …, undoStack[n - 1], now, redoStack[m - 1], …, redoStack[0].
    const undo = this.undoStack.map(convert);
    const redo = this.redoStack.map(convert);
    this.undoStack = undo.filter((step, i) => !same(step, undo[i + 1] ?? now));
    this.redoStack = redo.filter((step, i) => !same(step, redo[i + 1] ?? now));
    return now;
  }

  clear() {
    this.undoStack = [];
    this.redoStack = [];
  }
}
