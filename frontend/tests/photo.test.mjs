// Photos into maps: which files are photos, whose segmenter reads them, how
// another model's map is carried to the current classes, and what the page
// says about it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { carryMap, fileKind, photoNotice, photoType, segmenterFor } from "../src/photo.js";

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The first bytes of a PNG whose IHDR says colour type `colour`. */
function pngHead(colour) {
  const ihdr = [0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0, 0, 0, 1, 0, 8, colour, 0, 0, 0];
  return Uint8Array.from([...PNG, ...ihdr, 0, 0, 0, 0]);
}

const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]);
const webp = Uint8Array.from([0x52, 0x49, 0x46, 0x46, 1, 2, 0, 0, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38]);

test("photos are told by their first bytes", () => {
  assert.equal(photoType(jpeg), "image/jpeg");
  assert.equal(photoType(webp), "image/webp");
  assert.equal(photoType(pngHead(2)), "image/png");
  assert.equal(photoType(new TextEncoder().encode("GIF89a....")), null);
  assert.equal(photoType(new Uint8Array(0)), null);
});

test("a dropped JPEG or WebP is a photo, a grayscale or paletted PNG a map, an RGB PNG either", () => {
  assert.equal(fileKind(jpeg), "photo");
  assert.equal(fileKind(webp), "photo");
  assert.equal(fileKind(pngHead(0)), "map", "grayscale: class indices");
  assert.equal(fileKind(pngHead(3)), "map", "paletted: class indices");
  assert.equal(fileKind(pngHead(4)), "map", "grayscale with alpha");
  assert.equal(fileKind(pngHead(2)), "colour", "RGB: a map in the palette's colours, or a photo");
  assert.equal(fileKind(pngHead(6)), "colour");
  assert.equal(fileKind(new TextEncoder().encode("sky,grass")), null);
  assert.equal(fileKind(Uint8Array.from(PNG)), null, "too short to have a header");
});

const summary = (name, has_segmenter) => ({ name, classes: 3, native: { width: 64, height: 64 }, z_dim: null, has_encoder: false, has_segmenter });

test("a model reads photos with its own segmenter, else with another loaded model's", () => {
  const models = [summary("city", false), summary("landscapes", true), summary("coast", true)];
  assert.equal(segmenterFor("landscapes", models), "landscapes");
  assert.equal(segmenterFor("coast", models), "coast");
  assert.equal(segmenterFor("city", models), "landscapes", "the first that has one");
  assert.equal(segmenterFor("city", [summary("city", false)]), null);
  assert.equal(segmenterFor("city", [{ ...summary("old", true), has_segmenter: undefined }]), null, "older servers say nothing");
});

const card = (name, names, extra = {}) => ({
  name,
  classes: names.map((n) => (typeof n === "string" ? { name: n, color: "#000000" } : n)),
  dontcare: null,
  native: { width: 4, height: 1 },
  z_dim: null,
  has_encoder: false,
  uses_instances: false,
  class_table: name,
  ...extra,
});

test("a map from another model's segmenter is carried to the current classes by name", () => {
  const landscapes = card("landscapes", ["sky", "grass", "lava"]);
  const coast = card("coast", ["sea", { name: "meadow", color: "#00ff00", coco_stuff: "grass" }, { name: "sky", color: "#0000ff", coco_stuff: "sky-other" }]);
  const read = { width: 4, height: 1, data: Uint8Array.from([0, 1, 2, 0]) };
  const { map, lost } = carryMap(read, landscapes, coast);
  assert.deepEqual(Array.from(map.data), [2, 1, 2, 2], "sky → sky, grass → meadow (COCO-Stuff), lava → sky (the background)");
  assert.equal(map.values, 3);
  assert.deepEqual(lost, ["lava"]);
  const same = carryMap(read, landscapes, landscapes);
  assert.deepEqual(Array.from(same.map.data), [0, 1, 2, 0]);
  assert.deepEqual(same.lost, []);
  const without = carryMap({ ...read, data: Uint8Array.from([0, 1, 1, 0]) }, landscapes, coast);
  assert.deepEqual(without.lost, [], "lava was not in the photo");
});

test("the notice says how the photo was fitted and whose segmenter read it", () => {
  const own = photoNotice({ source: { width: 4032, height: 3024 }, width: 256, height: 256, by: "landscapes", into: "landscapes", lost: [], background: "sky" });
  assert.match(own, /photo \(4032×3024\) as a map, scaled to cover 256×256 and centre-cropped; undo brings/);
  assert.doesNotMatch(own, /carried/);
  const exact = photoNotice({ source: { width: 256, height: 256 }, width: 256, height: 256, by: "landscapes", into: "landscapes", lost: [], background: "sky" });
  assert.doesNotMatch(exact, /scaled/);
  const other = photoNotice({ source: { width: 640, height: 480 }, width: 256, height: 256, by: "landscapes", into: "coast", lost: ["lava"], background: "sky" });
  assert.match(other, /coast reads no photos, so landscapes read it/);
  assert.match(other, /lava had no match here and became sky\./);
});
