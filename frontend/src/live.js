// @ts-check
// Live synthesis: the map is posted after each change and, during a long
// stroke, at most once per interval with one request in flight. A newer
// change aborts an older request (the server then drops it unrun), and a
// response older than the one shown is ignored, so the newest always wins.
// While a change is unsettled (the pointer is down) the request may be a
// preview, a cheaper image; a settled change always asks for the final one.
// Each settled change is newer than every preview before it, so no preview
// is ever shown after the final image it leads to.

/**
 * @template R
 * @typedef {{
 *   send: (signal: AbortSignal, preview: boolean) => Promise<R>,
 *   show: (result: R, elapsedMs: number, preview: boolean) => void,
 *   fail: (error: unknown) => void,
 *   busy: (busy: boolean) => void,
 *   previews?: () => boolean,
 *   interval?: number,
 * }} LiveOptions
 *   send: make the image (a preview when asked); previews: whether unsettled
 *   changes may ask for previews now (never, when absent)
 */

/** @template R */
export class LiveSynthesis {
  /** @param {LiveOptions<R>} options */
  constructor(options) {
    this.options = options;
    this.interval = options.interval ?? 200;
    this.latest = 0; // number of the newest change
    this.shown = 0; // number of the change whose image is shown
    /** @type {{change: number, controller: AbortController} | null} */
    this.inFlight = null;
    this.lastSent = -Infinity;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.waiting = false; // a change not yet sent
    this.settled = true; // whether the newest change is complete
  }

  /**
   * The map changed. `settled` is true when the change is complete (a stroke
   * ended, a fill, an undo): it is sent at once, cancelling older requests.
   * @param {boolean} settled
   */
  changed(settled) {
    this.latest++;
    this.waiting = true;
    this.settled = settled;
    if (settled) {
      this.inFlight?.controller.abort();
      this.send();
      return;
    }
    this.pump();
  }

  /** Sends the waiting change when nothing is in flight and the interval has passed. */
  pump() {
    if (this.inFlight || this.timer || !this.waiting) return;
    const wait = this.lastSent + this.interval - performance.now();
    if (wait <= 0) {
      this.send();
    } else {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
    }
  }

  send() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const change = this.latest;
    const preview = !this.settled && (this.options.previews?.() ?? false);
    const controller = new AbortController();
    const request = { change, controller };
    this.inFlight = request;
    this.waiting = false;
    this.lastSent = performance.now();
    const started = this.lastSent;
    this.options.busy(true);
    this.options
      .send(controller.signal, preview)
      .then(
        (result) => {
          if (change > this.shown) {
            this.shown = change;
            this.options.show(result, performance.now() - started, preview);
          }
        },
        (error) => {
          if (!controller.signal.aborted) this.options.fail(error);
        },
      )
      .finally(() => {
        if (this.inFlight !== request) return;
        this.inFlight = null;
        if (this.waiting) this.pump();
        else this.options.busy(false);
      });
  }
}
