// @ts-check
// PNG files as the page writes and reads them: label maps as grayscale PNGs
// of class indices (8-bit, or 16-bit when the model has more than 256 label
// values; rows unfiltered, so the same map always gives the same bytes), and
// text chunks (tEXt, iTXt) added to an image and read back (recipe.js).

/** @type {Uint32Array | null} */
let crcTable = null;

/** The CRC-32 of PNG chunks (ISO 3309, as zlib's). @param {Uint8Array} bytes */
export function crc32(bytes) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = crcTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * A whole chunk: length, type, data, CRC.
 * @param {string} type
 * @param {Uint8Array} data
 */
export function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** @param {Uint8Array<ArrayBuffer>} bytes @returns {Promise<Uint8Array<ArrayBuffer>>} zlib-wrapped deflate */
async function deflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * A grayscale PNG whose pixel values are `indices`.
 * @param {number} width
 * @param {number} height
 * @param {Uint8Array | Uint16Array} indices row-major, one per pixel
 * @returns {Promise<Uint8Array<ArrayBuffer>>}
 */
export async function encodeIndexPng(width, height, indices) {
  const depth = indices instanceof Uint16Array ? 16 : 8;
  const rowBytes = width * (depth / 8);
  const raw = new Uint8Array(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const row = y * (rowBytes + 1);
    raw[row] = 0; // filter: none
    if (depth === 8) {
      raw.set(indices.subarray(y * width, (y + 1) * width), row + 1);
    } else {
      for (let x = 0; x < width; x++) {
        const v = indices[y * width + x];
        raw[row + 1 + 2 * x] = v >> 8;
        raw[row + 2 + 2 * x] = v & 0xff;
      }
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = depth;
  header[9] = 0; // grayscale
  return concat([
    new Uint8Array(SIGNATURE),
    chunk("IHDR", header),
    chunk("IDAT", await deflate(raw)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** The PNG file signature. */
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** @param {Uint8Array} bytes */
function isPng(bytes) {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * The chunks of a PNG file in order, each checked against its CRC.
 * @param {Uint8Array} bytes
 * @returns {{type: string, data: Uint8Array}[]}
 */
export function readChunks(bytes) {
  if (!isPng(bytes)) throw new Error("not a PNG file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  /** @type {{type: string, data: Uint8Array}[]} */
  const chunks = [];
  let at = 8;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw new Error("the PNG file ends inside a chunk");
    const length = view.getUint32(at);
    if (length > bytes.length - at - 12) throw new Error("the PNG file ends inside a chunk");
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (view.getUint32(at + 8 + length) !== crc32(bytes.subarray(at + 4, at + 8 + length))) {
      throw new Error(`the PNG file's ${type} chunk fails its CRC`);
    }
    chunks.push({ type, data: bytes.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
    if (type === "IEND") break;
  }
  if (chunks[0]?.type !== "IHDR") throw new Error("the PNG file does not start with IHDR");
  return chunks;
}

/** A PNG's size from its header, or null when `bytes` is not a PNG. @param {Uint8Array} bytes */
export function pngSize(bytes) {
  if (!isPng(bytes) || bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * A text chunk: tEXt when the text is plain ASCII (every tool shows it),
 * else uncompressed iTXt, whose text is UTF-8. Keywords are 1 to 79
 * printable ASCII characters without spaces at the ends.
 * @param {string} keyword @param {string} text
 */
export function textChunk(keyword, text) {
  if (!/^[\x21-\x7e]([\x20-\x7e]{0,77}[\x21-\x7e])?$/.test(keyword) || keyword.includes("  ")) {
    throw new Error(`"${keyword}" cannot be a PNG keyword`);
  }
  const key = Uint8Array.from(keyword, (c) => c.charCodeAt(0));
  if (/^[\n\x20-\x7e]*$/.test(text)) {
    return chunk("tEXt", concat([key, new Uint8Array([0]), Uint8Array.from(text, (c) => c.charCodeAt(0))]));
  }
  // keyword, 0, compression flag 0, method 0, empty language tag, 0, empty translated keyword, 0, text
  return chunk("iTXt", concat([key, new Uint8Array([0, 0, 0, 0, 0]), new TextEncoder().encode(text)]));
}

/**
 * The texts of a PNG's tEXt chunks and uncompressed iTXt chunks by keyword
 * (compressed ones, and zTXt, are not read: easel writes none).
 * @param {Uint8Array} bytes
 * @returns {Map<string, string>}
 */
export function readText(bytes) {
  /** @type {Map<string, string>} */
  const texts = new Map();
  for (const { type, data } of readChunks(bytes)) {
    if (type !== "tEXt" && type !== "iTXt") continue;
    const end = data.indexOf(0);
    if (end < 1) continue;
    const keyword = latin1(data.subarray(0, end));
    if (type === "tEXt") {
      texts.set(keyword, latin1(data.subarray(end + 1)));
      continue;
    }
    if (data[end + 1] !== 0) continue;
    const language = data.indexOf(0, end + 3);
    const translated = language < 0 ? -1 : data.indexOf(0, language + 1);
    if (translated < 0) continue;
    texts.set(keyword, new TextDecoder("utf-8", { fatal: false }).decode(data.subarray(translated + 1)));
  }
  return texts;
}

/**
 * `png` with `chunks` (whole chunks, as textChunk makes) inserted after its
 * header, before the image data.
 * @param {Uint8Array} png @param {Uint8Array[]} chunks
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function withChunks(png, chunks) {
  const [header] = readChunks(png);
  const split = 8 + 12 + header.data.length;
  return concat([png.subarray(0, split), ...chunks, png.subarray(split)]);
}

/** @param {Uint8Array<ArrayBuffer>} bytes @returns {Promise<Uint8Array<ArrayBuffer>>} zlib-wrapped deflate, undone */
async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The values of an 8- or 16-bit grayscale PNG (such as encodeIndexPng
 * writes), any row filter, not interlaced.
 * @param {Uint8Array} png
 * @returns {Promise<{width: number, height: number, data: Uint8Array | Uint16Array}>}
 */
export async function decodeIndexPng(png) {
  const chunks = readChunks(png);
  const header = new DataView(chunks[0].data.buffer, chunks[0].data.byteOffset, chunks[0].data.byteLength);
  const width = header.getUint32(0), height = header.getUint32(4);
  const depth = header.getUint8(8), colour = header.getUint8(9), interlace = header.getUint8(12);
  if (colour !== 0 || (depth !== 8 && depth !== 16) || interlace !== 0) {
    throw new Error("not an 8- or 16-bit grayscale PNG without interlacing");
  }
  const raw = await inflate(concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
  const bpp = depth / 8, stride = width * bpp;
  if (raw.length < height * (stride + 1)) throw new Error("the PNG file's image data is short");
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    if (filter > 4) throw new Error(`row ${y} has filter ${filter}`);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? rows[y * stride + i - bpp] : 0;
      const b = y > 0 ? rows[(y - 1) * stride + i] : 0;
      const c = i >= bpp && y > 0 ? rows[(y - 1) * stride + i - bpp] : 0;
      rows[y * stride + i] = (raw[y * (stride + 1) + 1 + i] + predict(filter, a, b, c)) & 0xff;
    }
  }
  if (depth === 8) return { width, height, data: rows };
  const data = new Uint16Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (rows[2 * i] << 8) | rows[2 * i + 1];
  return { width, height, data };
}

/** PNG's row filters: the value each predicts from left, up and up-left. @param {number} filter @param {number} a @param {number} b @param {number} c */
function predict(filter, a, b, c) {
  if (filter === 0) return 0;
  if (filter === 1) return a;
  if (filter === 2) return b;
  if (filter === 3) return (a + b) >> 1;
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Bytes as the characters of the same codes (tEXt is Latin-1). @param {Uint8Array} bytes */
export function latin1(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return text;
}

/** @param {Uint8Array[]} parts @returns {Uint8Array<ArrayBuffer>} */
function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
