// Builds the browser bundle: node assets/build.mjs (npm run build). Output: sfa/web/static/app.js and app.css,
// committed, so that running the UI needs no Node. Deterministic for one package-lock.json.
import * as esbuild from "esbuild";

const common = { bundle: true, minify: true, logLevel: "info", legalComments: "none" };
await esbuild.build({ ...common, entryPoints: ["assets/js/app.js"], outfile: "sfa/web/static/app.js",
  format: "iife", target: ["es2020"] });
await esbuild.build({ ...common, entryPoints: ["assets/css/app.css"], outfile: "sfa/web/static/app.css" });
