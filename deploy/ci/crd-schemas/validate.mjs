// Validates custom resources (KEDA ScaledObject / TriggerAuthentication, Prometheus Operator
// ServiceMonitor, ...) against the CRD OpenAPI schemas compiled into the @kubernetes-models
// packages pinned in package.json: required fields, types, enums and formats. (Those schemas,
// like the CRDs themselves, allow unknown fields, so a misspelt optional key is not caught.)
//
// Usage: node validate.mjs RESOURCES.json, where the file holds a JSON array of
// {"source": "file name", "resource": {...}}. Exits 1 if any resource is invalid or of a kind
// without a schema here.

import { readFileSync } from "node:fs";

const packages = {
  "keda.sh": "@kubernetes-models/keda",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

const entries = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failed = 0;
for (const { source, resource } of entries) {
  const [group, version] = String(resource.apiVersion ?? "").split("/");
  const name = `${resource.kind}/${resource.metadata?.name ?? "?"}`;
  const pkg = packages[group];
  let model;
  try {
    if (!pkg || !version) throw new Error(`no schema package for apiVersion ${resource.apiVersion}`);
    model = (await import(`${pkg}/${group}/${version}/${resource.kind}`))[resource.kind];
    if (typeof model !== "function") throw new Error(`${pkg} has no ${resource.kind} in ${group}/${version}`);
  } catch (error) {
    console.log(`ERROR ${source}: ${name}: no CRD schema: ${error.message}`);
    failed++;
    continue;
  }
  try {
    new model(resource).validate();
    console.log(`ok    ${source}: ${name} (${resource.apiVersion})`);
  } catch (error) {
    console.log(`ERROR ${source}: ${name}: ${error.message}`);
    failed++;
  }
}
console.log(`${entries.length - failed} valid, ${failed} invalid custom resources`);
process.exit(failed ? 1 : 0);
