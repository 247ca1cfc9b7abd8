// After `vite build`: a brotli (.br) and a gzip (.gz) copy beside every text file of
// dist/ of at least 1 kB, at the highest settings (made once at build time, served many
// times: bangui-api picks the copy the browser's Accept-Encoding allows). A copy that
// would not be smaller is not written.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { extname, join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const DIST = new URL("../dist/", import.meta.url).pathname;
const TEXT = new Set([".js", ".css", ".html", ".svg", ".json", ".txt", ".map"]);
const MIN = 1024;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let raw = 0;
let br = 0;
let gz = 0;
for (const path of files(DIST)) {
  if (!TEXT.has(extname(path))) continue;
  const data = readFileSync(path);
  if (data.length < MIN) continue;
  const b = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT },
  });
  const g = gzipSync(data, { level: 9 });
  raw += data.length;
  if (b.length < data.length) {
    writeFileSync(`${path}.br`, b);
    br += b.length;
  }
  if (g.length < data.length) {
    writeFileSync(`${path}.gz`, g);
    gz += g.length;
  }
}
console.log(`compressed ${(raw / 1024).toFixed(0)} kB of text: brotli ${(br / 1024).toFixed(0)} kB, gzip ${(gz / 1024).toFixed(0)} kB`);
