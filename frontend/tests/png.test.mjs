// PNG chunks as the page writes and reads them, checked against zlib's CRC
// and inflate, and index PNGs round-tripped through the page's own decoder.

import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32 as zlibCrc32, deflateSync, inflateSync } from "node:zlib";
import {
  chunk, crc32, decodeIndexPng, encodeIndexPng, pngSize, readChunks, readText, textChunk, withChunks,
} from "../src/png.js";

const bytes = (text) => Uint8Array.from(Buffer.from(text, "latin1"));

test("crc32 is ISO 3309's, as zlib's", () => {
  assert.equal(crc32(bytes("123456789")), 0xcbf43926);
  assert.equal(crc32(bytes("IEND")), 0xae426082);
  const random = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919 + 13) & 0xff);
  assert.equal(crc32(random), zlibCrc32(random));
});

test("a chunk is its length, type, data and the CRC of type and data", () => {
  assert.deepEqual([...chunk("IEND", new Uint8Array(0))], [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
});

test("ASCII text becomes tEXt, byte for byte", () => {
  const out = textChunk("Software", "easel");
  const data = bytes("Software\0easel");
  const crc = zlibCrc32(bytes("tEXtSoftware\0easel"));
  assert.deepEqual([...out], [0, 0, 0, 14, ...bytes("tEXt"), ...data, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
});

test("other text becomes uncompressed iTXt in UTF-8", () => {
  const out = textChunk("easel:model", "paysage-été");
  const data = [...bytes("easel:model"), 0, 0, 0, 0, 0, ...Buffer.from("paysage-été", "utf8")];
  assert.equal(Buffer.from(out.subarray(4, 8)).toString("latin1"), "iTXt");
  assert.equal(new DataView(out.buffer).getUint32(0), data.length);
  assert.deepEqual([...out.subarray(8, 8 + data.length)], data);
  assert.equal(new DataView(out.buffer).getUint32(8 + data.length), zlibCrc32(out.subarray(4, 8 + data.length)));
});

test("keywords are 1 to 79 printable ASCII characters, no spaces at the ends or doubled", () => {
  for (const bad of ["", " easel", "easel ", "a  b", "x".repeat(80), "été", "a\nb"]) {
    assert.throws(() => textChunk(bad, "v"), /cannot be a PNG keyword/, JSON.stringify(bad));
  }
  for (const good of ["a", "x".repeat(79), "x-easel-model", "easel:label-map", "a b"]) textChunk(good, "v");
});

test("text chunks go after the header; the texts read back; the image data is untouched", async () => {
  const png = await encodeIndexPng(3, 2, new Uint8Array([0, 1, 2, 3, 4, 5]));
  const added = [textChunk("Software", "easel"), textChunk("easel:model", "paysage-été"), textChunk("Comment", "two\nlines")];
  const file = withChunks(png, added);
  assert.deepEqual(readChunks(file).map((c) => c.type), ["IHDR", "tEXt", "iTXt", "tEXt", "IDAT", "IEND"]);
  assert.deepEqual(Object.fromEntries(readText(file)), { Software: "easel", "easel:model": "paysage-été", Comment: "two\nlines" });
  const idat = (p) => readChunks(p).find((c) => c.type === "IDAT").data;
  assert.deepEqual(idat(file), idat(png));
  assert.equal(file.length, png.length + added.reduce((n, c) => n + c.length, 0));
  assert.deepEqual(Object.fromEntries(readText(png)), {}, "a PNG without text reads as none");
});

test("a chunk that fails its CRC, a cut file or another file is refused", async () => {
  const png = withChunks(await encodeIndexPng(3, 2, new Uint8Array(6)), [textChunk("Software", "easel")]);
  const flipped = png.slice();
  flipped[42] ^= 1; // inside the tEXt chunk's data (signature 8, IHDR 25, length and type 8)
  assert.throws(() => readChunks(flipped), /tEXt chunk fails its CRC/);
  assert.throws(() => readChunks(png.subarray(0, 45)), /ends inside a chunk/);
  assert.throws(() => readChunks(bytes("GIF89a and so on")), /not a PNG/);
});

test("pngSize reads the header's width and height", async () => {
  assert.deepEqual(pngSize(await encodeIndexPng(5, 3, new Uint8Array(15))), { width: 5, height: 3 });
  assert.equal(pngSize(bytes("not a png at all, not at all")), null);
  assert.equal(pngSize(new Uint8Array(0)), null);
});

test("index PNGs round-trip through the decoder, 8- and 16-bit, and zlib reads what the encoder wrote", async () => {
  const small = Uint8Array.from({ length: 7 * 5 }, (_, i) => (i * 37) % 256);
  const png = await encodeIndexPng(7, 5, small);
  const decoded = await decodeIndexPng(png);
  assert.deepEqual([decoded.width, decoded.height], [7, 5]);
  assert.ok(decoded.data instanceof Uint8Array);
  assert.deepEqual([...decoded.data], [...small]);
  const raw = inflateSync(readChunks(png).find((c) => c.type === "IDAT").data);
  assert.equal(raw.length, 5 * (7 + 1), "one filter byte and seven values a row");

  const wide = Uint16Array.from({ length: 6 * 4 }, (_, i) => (i * 2749) % 65536);
  const decodedWide = await decodeIndexPng(await encodeIndexPng(6, 4, wide));
  assert.ok(decodedWide.data instanceof Uint16Array);
  assert.deepEqual([...decodedWide.data], [...wide]);
});

/** An 8-bit grayscale PNG whose row y uses filter y % 5 (none, sub, up, average, Paeth), written here. */
function filteredPng(width, height, values) {
  const raw = Buffer.alloc(height * (width + 1));
  const at = (x, y) => (x < 0 || y < 0 ? 0 : values[y * width + x]);
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    raw[y * (width + 1)] = filter;
    for (let x = 0; x < width; x++) {
      const a = at(x - 1, y), b = at(x, y - 1), c = at(x - 1, y - 1);
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter];
      raw[y * (width + 1) + 1 + x] = (values[y * width + x] - predicted) & 0xff;
    }
  }
  const header = new Uint8Array(13);
  new DataView(header.buffer).setUint32(0, width);
  new DataView(header.buffer).setUint32(4, height);
  header[8] = 8;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header), chunk("IDAT", deflateSync(raw)), chunk("IEND", new Uint8Array(0)),
  ]);
}

test("the decoder undoes every row filter", async () => {
  const values = Array.from({ length: 9 * 10 }, (_, i) => (i * i * 31 + 7) % 256);
  const decoded = await decodeIndexPng(new Uint8Array(filteredPng(9, 10, values)));
  assert.deepEqual([...decoded.data], values);
});
