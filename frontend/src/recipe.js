// @ts-check
// An image's recipe: what was posted to make it (the model, the size, the
// seed, the style preset, the label map and the re-rolled regions) and the
// server's x-easel-* answer headers. "Save image" writes it into the PNG's
// text chunks; opening such a file restores the painting and its settings.

import { EASEL_HEADER } from "./api.js";
import { encodeIndexPng, latin1, readText, textChunk, withChunks } from "./png.js";

/** @typedef {import("./labelmap.js").LabelMap} LabelMap */
/**
 * @typedef {{
 *   model: string, width: number, height: number,
 *   seed: number | null, preset: string | null, styleImage: boolean,
 *   label: Uint8Array<ArrayBuffer>, regions: {mask: Uint8Array<ArrayBuffer>, seed: number}[],
 *   headers: Record<string, string>,
 * }} Recipe
 *   seed and preset: as posted (null: not sent); styleImage: whether a style
 *   image was posted (the file does not hold it); label: the index PNG
 *   posted; regions: each re-rolled region's mask PNG and seed, as posted
 */

/** The version of the keywords below; a file of another is not read as a recipe. */
export const RECIPE_FORMAT = "1";

/**
 * The recipe of a request about to be posted. The map and masks are encoded
 * before the first await, so a stroke that goes on painting into `map`
 * changes nothing here.
 * @param {string} model @param {LabelMap} map
 * @param {{mask: Uint8Array<ArrayBuffer>, seed: number}[]} masks re-rolled regions as 0/1 maps
 * @param {{seed?: number, style_preset?: string, style?: Blob | null}} style what styleOptions sends
 * @returns {Promise<Recipe>}
 */
export async function recipeFor(model, map, masks, style) {
  const { width, height } = map;
  const [label, ...pngs] = await Promise.all([
    encodeIndexPng(width, height, map.data),
    ...masks.map(({ mask }) => encodeIndexPng(width, height, mask)),
  ]);
  return {
    model, width, height,
    seed: style.seed ?? null,
    preset: style.style_preset ?? null,
    styleImage: Boolean(style.style),
    label,
    regions: masks.map(({ seed }, i) => ({ mask: pngs[i], seed })),
    headers: {},
  };
}

/**
 * `png` with its recipe in text chunks after the header: Software, then
 * easel:format, easel:model, easel:size (WxH), easel:seed and
 * easel:style-preset when sent, easel:style-image when one was, the
 * x-easel-* headers under their own names, easel:label-map (the index PNG
 * in base64) and easel:regions (JSON: [{seed, mask}], masks in base64).
 * @param {Uint8Array} png @param {Recipe} recipe
 */
export function writeRecipe(png, recipe) {
  /** @type {[string, string][]} */
  const texts = [
    ["Software", "easel"],
    ["easel:format", RECIPE_FORMAT],
    ["easel:model", recipe.model],
    ["easel:size", `${recipe.width}x${recipe.height}`],
  ];
  if (recipe.seed !== null) texts.push(["easel:seed", String(recipe.seed)]);
  if (recipe.preset !== null) texts.push(["easel:style-preset", recipe.preset]);
  if (recipe.styleImage) texts.push(["easel:style-image", "used; not in this file"]);
  for (const [name, value] of Object.entries(recipe.headers)) if (EASEL_HEADER.test(name)) texts.push([name, value]);
  texts.push(["easel:label-map", btoa(latin1(recipe.label))]);
  if (recipe.regions.length) {
    const regions = recipe.regions.map(({ seed, mask }) => ({ seed, mask: btoa(latin1(mask)) }));
    texts.push(["easel:regions", JSON.stringify(regions)]);
  }
  return withChunks(png, texts.map(([keyword, text]) => textChunk(keyword, text)));
}

/**
 * The recipe in a PNG file, or null when it holds none (any other PNG, a
 * file that is not a PNG, a chunk failing its CRC, another format).
 * @param {Uint8Array} bytes
 * @returns {Recipe | null}
 */
export function readRecipe(bytes) {
  try {
    const texts = readText(bytes);
    const size = /^([1-9]\d*)x([1-9]\d*)$/.exec(texts.get("easel:size") ?? "");
    const model = texts.get("easel:model");
    const label = texts.get("easel:label-map");
    if (texts.get("easel:format") !== RECIPE_FORMAT || !size || !model || !label) return null;
    const seed = texts.get("easel:seed");
    /** @type {Record<string, string>} */
    const headers = {};
    for (const [name, value] of texts) if (EASEL_HEADER.test(name)) headers[name] = value;
    return {
      model,
      width: Number(size[1]),
      height: Number(size[2]),
      seed: seed !== undefined && /^\d{1,15}$/.test(seed) ? Number(seed) : null,
      preset: texts.get("easel:style-preset") ?? null,
      styleImage: texts.has("easel:style-image"),
      label: fromBase64(label),
      regions: readRegions(texts.get("easel:regions")),
      headers,
    };
  } catch {
    return null;
  }
}

/** @param {string | undefined} text @returns {Recipe["regions"]} */
function readRegions(text) {
  if (text === undefined) return [];
  const regions = JSON.parse(text);
  if (!Array.isArray(regions)) throw new Error("easel:regions is not a list");
  return regions.map((region) => {
    if (!Number.isSafeInteger(region?.seed) || region.seed < 0 || typeof region.mask !== "string") {
      throw new Error("a region without a seed or a mask");
    }
    return { seed: region.seed, mask: fromBase64(region.mask) };
  });
}

/** @param {string} text */
function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
