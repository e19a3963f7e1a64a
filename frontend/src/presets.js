// @ts-check
// Style presets: the looks a model's card ships (`styles`), as a strip of
// buttons in the Style panel, and what a chosen one puts in a request. One
// preset at most is chosen; it stands for the style, so it excludes a style
// image, and the seed then picks a variation around it (seed 0: the look itself).

import * as api from "./api.js";

/** @typedef {import("./api.js").ModelCard} ModelCard */
/** @typedef {import("./api.js").StylePreset} StylePreset */

/**
 * The style fields of a synthesis request (api.synthesize's options).
 * Models with neither z nor an encoder take none; a chosen preset is sent
 * with the seed only when that is not 0, and never with the style image.
 * @param {Pick<ModelCard, "z_dim" | "has_encoder">} card
 * @param {{seed: number, preset: string | null, image: Blob | null}} choice
 * @returns {{seed?: number, style_preset?: string, style?: Blob | null}}
 */
export function styleOptions(card, { seed, preset, image }) {
  if (card.z_dim === null && !card.has_encoder) return {};
  if (preset !== null) return seed === 0 ? { style_preset: preset } : { style_preset: preset, seed };
  return { seed, style: card.has_encoder ? image : null };
}

/**
 * The preset chosen when a model is picked: its card's first, the model's own
 * look (the server's default too), or none.
 * @param {Pick<ModelCard, "z_dim" | "styles">} card
 */
export function initialPreset(card) {
  return card.z_dim !== null ? card.styles?.[0]?.name ?? null : null;
}

/**
 * The preset chosen once `clicked` is clicked: clicking the chosen one again
 * deselects it (back to plain seeds).
 * @param {string | null} chosen @param {string} clicked
 */
export function toggle(chosen, clicked) {
  return chosen === clicked ? null : clicked;
}

export class PresetStrip {
  /**
   * @param {HTMLElement} strip the element the buttons go in
   * @param {(chosen: string | null) => void} picked told after a click changed the choice
   */
  constructor(strip, picked) {
    this.strip = strip;
    /** @type {string | null} */
    this.chosen = null;
    /** Thumbnails fetched as blobs (see `picture`), released when the strip is rebuilt. @type {string[]} */
    this.blobUrls = [];
    strip.addEventListener("click", (event) => {
      const name = event.target instanceof Element ? event.target.closest("button")?.dataset.preset : undefined;
      if (name === undefined) return;
      this.select(toggle(this.chosen, name));
      picked(this.chosen);
    });
  }

  /**
   * Shows `card`'s presets with the first chosen: presets belong to one
   * model, and its first is its own look. @param {ModelCard} card
   */
  show(card) {
    for (const url of this.blobUrls.splice(0)) URL.revokeObjectURL(url);
    const presets = card.z_dim !== null ? card.styles ?? [] : [];
    this.strip.replaceChildren(...presets.map((preset) => this.button(card.name, preset)));
    this.strip.hidden = presets.length === 0;
    this.select(initialPreset(card));
  }

  /** Deselects without telling: the caller is changing the style itself (a style image). */
  clear() {
    this.select(null);
  }

  /** @param {string | null} name */
  select(name) {
    this.chosen = name;
    for (const button of this.strip.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.preset === name));
    }
  }

  /** @param {string} model @param {StylePreset} preset */
  button(model, preset) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "preset";
    button.dataset.preset = preset.name;
    button.title = preset.description ?? preset.name;
    button.setAttribute("aria-label", preset.name);
    button.setAttribute("aria-pressed", "false");
    const label = document.createElement("span");
    label.className = "preset-name";
    label.textContent = preset.name;
    button.append(preset.thumbnail ? this.picture(model, preset.name, preset.thumbnail) : swatch(preset.name), label);
    return button;
  }

  /**
   * The preset's thumbnail. A server with an API token refuses a plain <img>
   * request (it cannot carry the token), so a picture that fails is fetched
   * once more as the API does; one that still fails becomes a swatch.
   * @param {string} model @param {string} name @param {string} file
   */
  picture(model, name, file) {
    const url = api.styleThumbnailUrl(model, file);
    const img = document.createElement("img");
    img.alt = name;
    const fallBack = () => img.replaceWith(swatch(name));
    img.addEventListener(
      "error",
      async () => {
        try {
          const blobUrl = URL.createObjectURL(await api.blob(url));
          this.blobUrls.push(blobUrl);
          img.addEventListener("error", fallBack, { once: true });
          img.src = blobUrl;
        } catch {
          fallBack();
        }
      },
      { once: true },
    );
    img.src = url;
    return img;
  }
}

/** A stand-in for a preset without a picture, its colour picked by its name. @param {string} name */
function swatch(name) {
  let hash = 0;
  for (const c of name) hash = (Math.imul(hash, 31) + (c.codePointAt(0) ?? 0)) >>> 0;
  const span = document.createElement("span");
  span.className = "swatch";
  span.style.background = `hsl(${hash % 360} 45% 62%)`;
  return span;
}
