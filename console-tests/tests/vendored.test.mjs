// The uPlot files compiled into the ferry binary (gateway/src/console/ui/vendor/) are the
// ones of the version this package locks: `npm ci` here, then copy them with
// `cp node_modules/uplot/dist/uPlot.{iife.min.js,min.css} ../gateway/src/console/ui/vendor/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "../lib/fleet.mjs";

test("the vendored uPlot is the locked npm package's", () => {
  const lock = JSON.parse(readFileSync(join(root, "console-tests/package-lock.json"), "utf8"));
  const version = lock.packages["node_modules/uplot"].version;
  for (const file of ["uPlot.iife.min.js", "uPlot.min.css"]) {
    const vendored = readFileSync(join(root, "gateway/src/console/ui/vendor", file));
    const locked = readFileSync(join(root, "console-tests/node_modules/uplot/dist", file));
    assert.ok(vendored.equals(locked), `${file} differs from uplot ${version}: copy it again`);
  }
});
