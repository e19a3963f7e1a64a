// The images already made, by what was posted for them: keys, eviction and
// the blob: URLs revoked with them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ImageCache, imageKey } from "../src/images.js";

/** A recipe as the page posts it; `changes` overrides fields. */
const recipe = (changes = {}) => ({
  model: "landscapes", width: 4, height: 2, seed: 0, preset: null, styleImage: false,
  label: new Uint8Array([137, 80, 78, 71, 1, 2, 3]),
  regions: [],
  headers: {},
  ...changes,
});

test("the same request has the same key; the answer's headers are no part of it", () => {
  assert.equal(imageKey(recipe(), null), imageKey(recipe(), null));
  assert.equal(imageKey(recipe({ headers: { "x-easel-model": "a" } }), null), imageKey(recipe(), null));
  const regions = [{ mask: new Uint8Array([9, 9]), seed: 4 }];
  assert.equal(imageKey(recipe({ regions }), null), imageKey(recipe({ regions: [{ mask: new Uint8Array([9, 9]), seed: 4 }] }), null));
});

test("every field posted changes the key", () => {
  const base = imageKey(recipe(), null);
  const changed = {
    model: { model: "oasis" },
    width: { width: 8 },
    height: { height: 4 },
    seed: { seed: 1 },
    "no seed": { seed: null },
    preset: { preset: "noon" },
    "one label byte": { label: new Uint8Array([137, 80, 78, 71, 1, 2, 4]) },
    region: { regions: [{ mask: new Uint8Array([1]), seed: 4 }] },
  };
  const keys = new Set([base]);
  for (const [what, change] of Object.entries(changed)) {
    const key = imageKey(recipe(change), null);
    assert.notEqual(key, base, what);
    keys.add(key);
  }
  assert.equal(keys.size, Object.keys(changed).length + 1, "and no two changes share a key");
  const one = [{ mask: new Uint8Array([1, 0]), seed: 4 }];
  assert.notEqual(imageKey(recipe({ regions: one }), null), imageKey(recipe({ regions: [{ mask: new Uint8Array([1, 0]), seed: 5 }] }), null), "a region's seed");
  assert.notEqual(imageKey(recipe({ regions: one }), null), imageKey(recipe({ regions: [{ mask: new Uint8Array([0, 1]), seed: 4 }] }), null), "a region's mask");
});

test("bytes split differently between the map and the masks give different keys", () => {
  // Joined with "\n" (10) these would read the same without the lengths in the key.
  const a = recipe({ label: new Uint8Array([1]), regions: [{ mask: new Uint8Array([2]), seed: 0 }] });
  const b = recipe({ label: new Uint8Array([1, 10, 2]), regions: [] });
  const c = recipe({ label: new Uint8Array([1, 10]), regions: [{ mask: new Uint8Array([]), seed: 0 }] });
  assert.equal(new Set([imageKey(a, null), imageKey(b, null), imageKey(c, null)]).size, 3);
});

test("a style image counts by identity: the same Blob is the same style, an equal copy is not", () => {
  const photo = new Blob(["a photo"]);
  const copy = new Blob(["a photo"]);
  const withPhoto = imageKey(recipe({ styleImage: true }), photo);
  assert.equal(imageKey(recipe({ styleImage: true }), photo), withPhoto);
  assert.notEqual(imageKey(recipe({ styleImage: true }), copy), withPhoto);
  assert.notEqual(imageKey(recipe(), null), withPhoto);
});

/** A cache with fake blob: URLs: blob:1, blob:2, … and a list of those revoked. */
function harness(limits) {
  let made = 0;
  const revoked = [];
  const cache = new ImageCache(limits, { create: () => `blob:${++made}`, revoke: (url) => revoked.push(url) });
  const put = (key, size = 10) => cache.put(key, new Blob([new Uint8Array(size)]), { recipe: recipe(), times: { queue: 0, inference: 1, total: 2 } });
  return { cache, revoked, put, made: () => made };
}

test("put keeps the image with a URL and what made it; get finds it", () => {
  const { cache, put } = harness({ entries: 4, bytes: 1 << 20 });
  const entry = put("k1", 10);
  assert.equal(entry.url, "blob:1");
  assert.equal(entry.key, "k1");
  assert.equal(entry.bytes, 12, "the image's 10 bytes and the key's 2");
  assert.deepEqual(entry.times, { queue: 0, inference: 1, total: 2 });
  assert.equal(entry.recipe.model, "landscapes");
  assert.equal(cache.get("k1"), entry);
  assert.equal(cache.get("k2"), undefined);
  assert.equal(cache.bytes, 12);
});

test("beyond the count the least recently used goes, its URL revoked; a get makes an image recent", () => {
  const { cache, revoked, put } = harness({ entries: 2, bytes: 1 << 20 });
  put("a");
  put("b");
  put("c");
  assert.deepEqual(revoked, ["blob:1"]);
  assert.equal(cache.get("a"), undefined);
  assert.ok(cache.get("b"), "b is now the most recent");
  put("d");
  assert.deepEqual(revoked, ["blob:1", "blob:3"], "c went, not b");
  assert.deepEqual([...cache.entries.keys()], ["b", "d"]);
});

test("beyond the bytes the oldest go until it fits", () => {
  const { cache, revoked, put } = harness({ entries: 10, bytes: 250 });
  put("k1", 100);
  put("k2", 100);
  assert.equal(cache.bytes, 204);
  put("k3", 100);
  assert.deepEqual(revoked, ["blob:1"]);
  assert.equal(cache.bytes, 204);
  put("k4", 200);
  assert.deepEqual(revoked, ["blob:1", "blob:2", "blob:3"], "one 202-byte image needs the room of both");
  assert.deepEqual([...cache.entries.keys()], ["k4"]);
});

test("the image shown is never evicted, nor the newest, even over the limits", () => {
  const { cache, revoked, put } = harness({ entries: 2, bytes: 1 << 20 });
  put("a");
  cache.show("a");
  put("b");
  put("c");
  put("d");
  assert.deepEqual(revoked, ["blob:2", "blob:3"]);
  assert.deepEqual([...cache.entries.keys()], ["a", "d"]);
  cache.show("d");
  put("e");
  assert.deepEqual(revoked, ["blob:2", "blob:3", "blob:1"], "a goes once no longer shown");

  const big = harness({ entries: 10, bytes: 50 });
  big.put("x", 100);
  assert.deepEqual(big.revoked, [], "an image over the byte limit alone stays");
  big.put("y", 100);
  assert.deepEqual(big.revoked, ["blob:1"]);
  assert.deepEqual([...big.cache.entries.keys()], ["y"]);
});

test("a second image for a known key is not kept: the first, perhaps on the page, stays", () => {
  const { cache, revoked, put, made } = harness({ entries: 4, bytes: 1 << 20 });
  const first = put("k");
  const second = put("k", 30);
  assert.equal(second, first);
  assert.equal(made(), 1, "no URL made for the second");
  assert.deepEqual(revoked, []);
  assert.equal(cache.bytes, 11);
});
