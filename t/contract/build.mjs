// Write doc/openapi.json from doc/openapi.yaml (the source), or with
// --check fail when the committed doc/openapi.json is not what the yaml
// gives.  Either way, check that the document and doc/API.md name the
// same problem types, and that each has its schema.
//
//   node t/contract/build.mjs            regenerate doc/openapi.json
//   node t/contract/build.mjs --check    verify (deploy/dev test runs this)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const yamlPath = join(top, 'doc', 'openapi.yaml');
const jsonPath = join(top, 'doc', 'openapi.json');
const refPath = join(top, 'doc', 'API.md');
const check = process.argv.includes('--check');
const problems = [];

const doc = YAML.parse(readFileSync(yamlPath, 'utf8'), { strict: true, uniqueKeys: true });
const text = JSON.stringify(doc, null, 2) + '\n';

// The problem types: ProblemSlug's enum, the Problem* schemas' type
// constants, and the "Problem types" section of the reference.
const schemas = doc.components.schemas;
const base = 'https://api.musicplayground.dev/problems/';
const slugs = new Set(schemas.ProblemSlug.enum);
const typed = new Set();
for (const [name, s] of Object.entries(schemas)) {
  const t = s?.properties?.type?.const;
  if (!name.startsWith('Problem') || typeof t !== 'string' || t === 'about:blank') continue;
  if (!t.startsWith(base)) problems.push(`${name}: type ${t} is not under ${base}`);
  else typed.add(t.slice(base.length));
}
for (const s of slugs) if (!typed.has(s)) problems.push(`ProblemSlug ${s} has no Problem* schema`);
for (const s of typed) if (!slugs.has(s)) problems.push(`problem type ${s} is missing from ProblemSlug`);

const ref = readFileSync(refPath, 'utf8');
const section = ref.split(/^## Problem types$/m)[1]?.split(/^## /m)[0];
if (section === undefined) problems.push('doc/API.md has no "## Problem types" section');
else {
  const documented = new Set([...section.matchAll(/^### `([a-z-]+)`/gm)].map((m) => m[1]));
  for (const s of slugs) if (!documented.has(s)) problems.push(`doc/API.md, Problem types: no entry for ${s}`);
  for (const s of documented) if (!slugs.has(s)) problems.push(`doc/API.md, Problem types: ${s} is not in doc/openapi.yaml`);
}

if (check) {
  let committed = '';
  try { committed = readFileSync(jsonPath, 'utf8'); } catch { /* missing */ }
  if (committed !== text)
    problems.push('doc/openapi.json is not what doc/openapi.yaml gives: run node t/contract/build.mjs and commit it');
} else {
  writeFileSync(jsonPath, text);
}
for (const p of problems) console.error(`contract: ${p}`);
if (problems.length > 0) process.exit(1);
console.log(check ? 'contract: doc/openapi.json is in sync with doc/openapi.yaml' :
  `contract: wrote doc/openapi.json (${text.length} bytes)`);
