// An image's recipe in its PNG: written into text chunks and read back
// exactly; other files hold none.

import { test } from "node:test";
import assert from "node:assert/strict";
import { LabelMap } from "../src/labelmap.js";
import { chunk, decodeIndexPng, encodeIndexPng, readChunks, readText, textChunk, withChunks } from "../src/png.js";
import { readRecipe, recipeFor, writeRecipe } from "../src/recipe.js";
import { Rerolls } from "../src/rerolls.js";

/** The image a server answered: any PNG (here an 8-bit grayscale one). */
const image = () => encodeIndexPng(4, 2, new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80]));
const map = () => new LabelMap(4, 2, 12, new Uint8Array([0, 0, 9, 9, 6, 6, 6, 9]));

test("recipeFor encodes the map and masks as posted, with the style fields sent", async () => {
  const masks = [{ mask: new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0]), seed: 11 }];
  const recipe = await recipeFor("oasis", map(), masks, { style_preset: "dawn", seed: 7, style: null });
  assert.deepEqual(recipe.label, await encodeIndexPng(4, 2, map().data));
  assert.deepEqual(recipe.regions, [{ mask: await encodeIndexPng(4, 2, masks[0].mask), seed: 11 }]);
  assert.deepEqual(
    { ...recipe, label: null, regions: null },
    { model: "oasis", width: 4, height: 2, seed: 7, preset: "dawn", styleImage: false, label: null, regions: null, headers: {} },
  );
  const plain = await recipeFor("landscapes", map(), [], {});
  assert.deepEqual([plain.seed, plain.preset, plain.styleImage, plain.regions], [null, null, false, []]);
  assert.equal((await recipeFor("vae", map(), [], { seed: 3, style: new Blob(["x"]) })).styleImage, true);
});

test("the map cannot change under a recipe being encoded", async () => {
  const painted = map();
  const pending = recipeFor("landscapes", painted, [], {});
  painted.data.fill(3); // a stroke goes on painting into the same map
  assert.deepEqual((await decodeIndexPng((await pending).label)).data, map().data);
});

test("written and read back, a recipe is the same, with the server's headers", async () => {
  const masks = [{ mask: new Uint8Array([0, 1, 1, 0, 0, 1, 1, 0]), seed: 2 ** 31 - 1 }];
  const recipe = await recipeFor("oasis", map(), masks, { style_preset: "golden-hour", seed: 123456 });
  recipe.headers = { "x-easel-model": "oasis", "x-easel-package": "sha256:0f", "x-easel-style": "golden-hour+123456" };
  const file = writeRecipe(await image(), recipe);
  assert.deepEqual(readRecipe(file), recipe);
  const texts = readText(file);
  assert.deepEqual([...texts.keys()], [
    "Software", "easel:format", "easel:model", "easel:size", "easel:seed", "easel:style-preset",
    "x-easel-model", "x-easel-package", "x-easel-style", "easel:label-map", "easel:regions",
  ]);
  assert.equal(texts.get("Software"), "easel");
  assert.equal(texts.get("easel:format"), "1");
  assert.equal(texts.get("easel:size"), "4x2");
  assert.equal(texts.get("easel:seed"), "123456");
  assert.equal(texts.get("easel:label-map"), Buffer.from(recipe.label).toString("base64"));
  assert.deepEqual(JSON.parse(texts.get("easel:regions")), [{ seed: 2147483647, mask: Buffer.from(recipe.regions[0].mask).toString("base64") }]);
  // The image is the server's, untouched: same header and data, text chunks added.
  const kept = (bytes) => readChunks(bytes).filter((c) => !["tEXt", "iTXt"].includes(c.type)).map((c) => [c.type, [...c.data]]);
  assert.deepEqual(kept(file), kept(await image()));
});

test("what was not sent is not written; headers that are not the server's own are not kept", async () => {
  const recipe = await recipeFor("landscapes", map(), [], {});
  recipe.headers = { "content-type": "image/png", "x-easel-model": "landscapes" };
  const file = writeRecipe(await image(), recipe);
  const texts = readText(file);
  for (const absent of ["easel:seed", "easel:style-preset", "easel:style-image", "easel:regions", "content-type"]) {
    assert.equal(texts.has(absent), false, absent);
  }
  assert.deepEqual(readRecipe(file), { ...recipe, headers: { "x-easel-model": "landscapes" } });
});

test("a style image is noted, not stored; names beyond ASCII go in iTXt and come back", async () => {
  const recipe = await recipeFor("paysage-été", map(), [], { seed: 5, style: new Blob(["photo"]) });
  const file = writeRecipe(await image(), recipe);
  assert.equal(readChunks(file).filter((c) => c.type === "iTXt").length, 1);
  const read = readRecipe(file);
  assert.equal(read.model, "paysage-été");
  assert.equal(read.styleImage, true);
  assert.equal(read.seed, 5);
});

test("the regions read back make the same re-rolls", async () => {
  const m = map();
  let rerolls = Rerolls.none;
  for (const [seed, x] of [[5, 0], [6, 2]]) {
    const next = rerolls.withRegion(m, seed);
    next.regions.paintSegment(x, 0, x + 1, 1, 1, next.id);
    rerolls = next.rerolls;
  }
  const file = writeRecipe(await image(), await recipeFor("oasis", m, rerolls.masks(), { seed: 0 }));
  const read = readRecipe(file);
  const masks = await Promise.all(read.regions.map(async (r) => ({ mask: (await decodeIndexPng(r.mask)).data, seed: r.seed })));
  const back = Rerolls.fromMasks(m, masks);
  assert.deepEqual([...back.regions.data], [...rerolls.regions.data]);
  assert.deepEqual(back.seeds, [5, 6]);
});

test("other PNGs, other files, damaged recipes and other formats hold no recipe", async () => {
  const recipe = await recipeFor("landscapes", map(), [], { seed: 1 });
  const file = writeRecipe(await image(), recipe);
  assert.equal(readRecipe(await image()), null, "a PNG without one");
  assert.equal(readRecipe(new TextEncoder().encode("GIF89a……")), null, "not a PNG");
  const damaged = file.slice();
  damaged[45] ^= 0x20; // "Software" becomes "SoftWare": the chunk fails its CRC
  assert.equal(readRecipe(damaged), null, "a chunk failing its CRC");
  const image0 = await image();
  const texts = (entries) => withChunks(image0, entries.map(([k, v]) => textChunk(k, v)));
  const label = Buffer.from(recipe.label).toString("base64");
  const base = [["easel:format", "1"], ["easel:model", "landscapes"], ["easel:size", "4x2"], ["easel:label-map", label]];
  assert.ok(readRecipe(texts(base)), "the four needed keywords make a recipe");
  assert.equal(readRecipe(texts([["easel:format", "2"], ...base.slice(1)])), null, "another format");
  for (const i of [1, 2, 3]) assert.equal(readRecipe(texts(base.filter((_, j) => j !== i))), null, `without ${base[i][0]}`);
  assert.equal(readRecipe(texts([...base.slice(0, 2), ["easel:size", "4×2"], base[3]])), null, "a size not WxH");
  assert.equal(readRecipe(texts([...base, ["easel:regions", "{\"not\": \"a list\"}"]])), null, "regions not a list");
  assert.equal(readRecipe(texts([...base, ["easel:regions", "[{\"seed\": -1, \"mask\": \"\"}]"]])), null, "a negative seed");
  assert.equal(readRecipe(texts([...base.slice(0, 3), ["easel:label-map", "not base64!"]])), null, "a label map not base64");
  assert.equal(readRecipe(texts([...base, ["easel:seed", "seven"]])).seed, null, "a seed not a number is no seed");
  // A compressed iTXt is not read (easel writes none): its keyword is as good as absent.
  const compressed = chunk("iTXt", new Uint8Array([...new TextEncoder().encode("easel:model"), 0, 1, 0, 0, 0, 120, 156]));
  assert.equal(readRecipe(withChunks(image0, [compressed, ...[base[0], base[2], base[3]].map(([k, v]) => textChunk(k, v))])), null);
});
