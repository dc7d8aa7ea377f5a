// Bundles the cluster page's front end into ../static/dist (committed, so running the page needs no npm).
// Every output starts with a banner holding a sha256 over src/** and package-lock.json;
// tests/web/test_assets.py recomputes it and fails when someone changed a source without rebuilding.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const srcDir = join(here, "src");

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

// The same recipe as tests/web/test_assets.py: for each file (src/… paths sorted, then package-lock.json),
// its path relative to frontend/ with "/" separators, a NUL, its bytes, a NUL.
export function sourceHash() {
  const hash = createHash("sha256");
  const paths = filesUnder(srcDir).map((p) => relative(here, p).split(sep).join("/")).sort();
  for (const path of [...paths, "package-lock.json"]) {
    hash.update(path + "\0");
    hash.update(readFileSync(join(here, path)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const banner = `/* playground-assets sha256:${sourceHash()} (built from frontend/ by \`make assets\`; do not edit) */`;
const options = {
  // main.js imports playground.css (which imports xterm.css): esbuild writes playground.js and playground.css.
  entryPoints: { playground: join(srcDir, "main.js") },
  outdir: join(here, "..", "static", "dist"),
  entryNames: "[name]",
  bundle: true,
  minify: true,
  target: "es2020",
  format: "iife",
  legalComments: "none",
  banner: { js: banner, css: banner },
  logLevel: "info",
};

if (process.argv.includes("--watch")) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
