// `npm run synth`: the cdktf.out that `cdktf synth` writes, without the CLI's ~3 s start (it
// loads its bundle, asks terraform for its version and draws a progress UI before it runs the
// app). main.ts runs in this process, with the environment cdktf-cli 0.21 gives the app
// (@cdktf/cli-core SynthStack.synth), and afterwards this does the one thing the CLI itself
// does to cdktf.out. `cdktf diff` and `cdktf deploy` synthesize on their own and never need it.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface CdktfJson {
  app?: string;
  output?: string;
  context?: Record<string, unknown>;
  terraformModules?: Array<string | { source: string }>;
}

interface ManifestJson {
  stacks: Record<string, { annotations: Array<{ level: string; constructPath: string; message: string }> }>;
}

function fail(message: string): never {
  console.error(`synth: ${message}`);
  process.exit(1);
}

// cdktf.json from the current directory, as the CLI reads it (npm runs scripts from the
// project root); the CLI's CDKTF_<option> variables override it.
const config = JSON.parse(fs.readFileSync('cdktf.json', 'utf8')) as CdktfJson;
const app = process.env.CDKTF_APP || config.app;
const outdir = process.env.CDKTF_OUTPUT || config.output || 'cdktf.out';

// Running main.ts here is only `cdktf synth` while cdktf.json runs that same file.
if (app !== 'node --import tsx main.ts') {
  fail(`cdktf.json's app is "${app}", not "node --import tsx main.ts"; use npx cdktf synth (or update scripts/synth.ts)`);
}
// The CLI runs HCL output through its own formatter, which this does not have.
if (['true', '1'].includes(process.env.SYNTH_HCL_OUTPUT ?? '') || process.env.CDKTF_HCL === 'true') {
  fail('HCL output is only formatted by the CLI; use npx cdktf synth --hcl');
}

// Terraform variables belong to plan and apply; the CLI keeps them from the app.
for (const key of Object.keys(process.env)) if (key.startsWith('TF_VAR_')) delete process.env[key];
process.env.NODE_ENV ||= 'production';
// A CDKTF_OUTDIR or SYNTH_HCL_OUTPUT left in the shell would otherwise move or change the output.
process.env.CDKTF_OUTDIR = outdir;
process.env.SYNTH_HCL_OUTPUT = 'false';
// Error annotations: every stack is still written, then reported below and the run fails.
process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS = 'true';
// cdktf.json's context, if it has one, replaces the shell's CDKTF_CONTEXT_JSON; the CLI adds the
// local modules, which cdktf needs to copy relative module sources.
const context = config.context || (JSON.parse(process.env.CDKTF_CONTEXT_JSON || '{}') as Record<string, unknown>);
const cdktfRelativeModules = (config.terraformModules ?? []).filter((m) => /^\.\.?\//.test(typeof m === 'string' ? m : m.source));
process.env.CDKTF_CONTEXT_JSON = JSON.stringify({ ...context, cdktfRelativeModules });
// Left out, as neither changes what is written: NODE_OPTIONS=--max-old-space-size=4096 (for large
// generated provider bindings; can't apply to a running process) and TF_PLUGIN_CACHE_DIR (terraform's).

// Synthesizes. A bad setting prints its one line and exits 1 here, before anything is written,
// so the last cdktf.out stays as it was (the CLI leaves it too). A require, not an import: an
// import would be hoisted above the environment it needs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('../main');

const manifestPath = path.join(outdir, 'manifest.json');
if (!fs.existsSync(manifestPath)) fail(`main.ts did not call app.synth(): there is no ${manifestPath}`);
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as ManifestJson;

// A stack the app no longer has (renamed, removed): the CLI deletes its directory, so cdktf.out
// holds only what the manifest lists.
const stacksDir = path.join(outdir, 'stacks');
for (const entry of fs.readdirSync(stacksDir, { withFileTypes: true })) {
  if (entry.isDirectory() && !Object.hasOwn(manifest.stacks, entry.name)) {
    fs.rmSync(path.join(stacksDir, entry.name), { recursive: true });
  }
}

// Annotations, printed as the CLI prints them; an error one fails the run.
let errors = 0;
for (const stack of Object.values(manifest.stacks)) {
  for (const { level, constructPath, message } of stack.annotations) {
    const name = level.replace('@cdktf/', '').toUpperCase();
    console.log(`${name} [${constructPath}]: ${message}`);
    if (name === 'ERROR') errors += 1;
  }
}
if (errors > 0) fail('error annotations; see above');
console.log(`Generated Terraform code for the stacks: ${Object.keys(manifest.stacks).join(', ')}`);
