// What a synthesis request says about style, for each choice the Style panel allows.

import { test } from "node:test";
import assert from "node:assert/strict";
import { initialPreset, styleOptions, toggle } from "../src/presets.js";

const vae = { z_dim: 8, has_encoder: true };
const zOnly = { z_dim: 8, has_encoder: false };
const plain = { z_dim: null, has_encoder: false };
const photo = new Blob(["a photo"]);

test("a model with neither z nor an encoder is sent no style fields", () => {
  assert.deepEqual(styleOptions(plain, { seed: 5, preset: null, image: null }), {});
  assert.deepEqual(styleOptions(plain, { seed: 5, preset: "noon", image: photo }), {});
});

test("without a preset the seed is sent, and the style image to models with an encoder", () => {
  assert.deepEqual(styleOptions(vae, { seed: 0, preset: null, image: null }), { seed: 0, style: null });
  assert.deepEqual(styleOptions(vae, { seed: 7, preset: null, image: photo }), { seed: 7, style: photo });
  assert.deepEqual(styleOptions(zOnly, { seed: 7, preset: null, image: photo }), { seed: 7, style: null });
});

test("a preset with seed 0 is the look itself: its name and no seed", () => {
  assert.deepEqual(styleOptions(vae, { seed: 0, preset: "noon", image: null }), { style_preset: "noon" });
  assert.deepEqual(styleOptions(zOnly, { seed: 0, preset: "noon", image: null }), { style_preset: "noon" });
});

test("a preset with another seed asks for a variation around the look", () => {
  assert.deepEqual(styleOptions(vae, { seed: 1234, preset: "noon", image: null }), { style_preset: "noon", seed: 1234 });
});

test("a preset is never sent with a style image (the server refuses the pair)", () => {
  const options = styleOptions(vae, { seed: 3, preset: "dawn", image: photo });
  assert.equal("style" in options, false);
  assert.equal(options.style_preset, "dawn");
});

test("clicking a preset chooses it; clicking the chosen one again deselects it", () => {
  assert.equal(toggle(null, "noon"), "noon");
  assert.equal(toggle("noon", "dawn"), "dawn");
  assert.equal(toggle("dawn", "dawn"), null);
});

test("a model starts with its first preset chosen, its own look; without presets or z, none", () => {
  const styles = [{ name: "noon", z: [0] }, { name: "dawn", z: [1] }];
  assert.equal(initialPreset({ z_dim: 1, styles }), "noon");
  assert.equal(initialPreset({ z_dim: 1, styles: [] }), null);
  assert.equal(initialPreset({ z_dim: 1 }), null);
  assert.equal(initialPreset({ z_dim: null, styles }), null, "presets need z");
});
