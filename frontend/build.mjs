// Bundle src/main.ts into one ES module: node build.mjs [OUTFILE]
// (default ../custom_components/liveone/frontend/liveone.js). The output depends only on the source and
// the locked packages: no timestamps, no absolute paths, no source map.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const outfile = path.resolve(process.argv[2] ?? path.join(here, "../custom_components/liveone/frontend/liveone.js"));

await build({
  absWorkingDir: here,
  entryPoints: ["src/main.ts"],
  outfile,
  bundle: true,
  format: "esm",
  target: "es2021",
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  loader: { ".css": "text" },
  logLevel: "warning",
  banner: { js: "// LiveOne panel and card. Built from frontend/ by scripts/build-frontend; do not edit." },
});
