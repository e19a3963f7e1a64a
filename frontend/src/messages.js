// @ts-check
// The page's two message bars: an error, with "Match nearest colours" when
// a file was off the palette, and a notice.

/**
 * @typedef {{error: HTMLElement, errorText: HTMLElement, errorNearest: HTMLButtonElement,
 *   errorClose: HTMLButtonElement, notice: HTMLElement, noticeText: HTMLElement,
 *   noticeClose: HTMLButtonElement}} Bars
 */

/** @param {unknown} error */
function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

export class Messages {
  /** @param {Bars} bars @param {(file: Blob) => void} nearest retries an off-palette file with nearest colours */
  constructor(bars, nearest) {
    this.bars = bars;
    /** The file an off-palette error was about. @type {Blob | null} */
    this.offPalette = null;
    /** What the error shown came from: a synthesis error goes once an image comes. */
    this.from = "";
    bars.errorNearest.addEventListener("click", () => {
      if (this.offPalette) nearest(this.offPalette);
    });
    bars.errorClose.addEventListener("click", () => this.hideError());
    bars.noticeClose.addEventListener("click", () => {
      bars.notice.hidden = true;
    });
  }

  /** @param {unknown} error @param {{from?: string, offPalette?: Blob | null}} [about] */
  error(error, { from = "", offPalette = null } = {}) {
    this.bars.errorText.textContent = describe(error);
    this.offPalette = offPalette;
    this.from = from;
    this.bars.errorNearest.hidden = offPalette === null;
    this.bars.error.hidden = false;
  }

  /** Hides the error; with `from`, only an error from there. @param {string} [from] */
  hideError(from) {
    if (from !== undefined && from !== this.from) return;
    this.bars.error.hidden = true;
    this.offPalette = null;
  }

  /** @param {string} text */
  notice(text) {
    this.bars.noticeText.textContent = text;
    this.bars.notice.hidden = false;
  }
}
