// `npm run prepare`: compiles src/ to dist/ (JavaScript + .d.ts) so that users need nothing
// but `npm install`. npm runs it on `npm install` / `npm ci` here, before `npm pack`, and —
// in the source folder, without its devDependencies — when another package installs this
// one as a `file:` dependency (examples/node does). In that last case the pinned build
// tools are first installed from this package's own package-lock.json.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit" });

if (!existsSync(tsc)) {
  const npm = process.env.npm_execpath;
  const args = ["ci", "--ignore-scripts", "--no-audit", "--no-fund"];
  if (npm) run(process.execPath, [npm, ...args]);
  else run("npm", args);
}
run(process.execPath, [tsc, "-p", "tsconfig.build.json"]);
