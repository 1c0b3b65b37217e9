// `npm run plan -- [--lock-timeout 5m] <stack dir>...` plans each synthesized stack
// (cdktf.out/stacks/<stack>, after `npm run synth`) against its state, and leaves in its dir what
// `npm run plan-comment` reads:
//   plan.tfplan        the saved plan, for `npm run apply` in the same job
//   plan.json          terraform show -json plan.tfplan
//   plan.summary.json  each resource's action and changed attribute names: no values, so
//                      this (not the two above, which hold secrets) is what CI passes on
//   plan.txt           terraform show -no-color plan.tfplan, masked (review/mask-secrets.ts)
//   plan.error         what terraform printed when init or plan failed (then no plan.json)
// With --reviewed <plan.summary.json>, a plan that differs from that reviewed one fails.
// It exits 1 when a plan failed, after planning every stack. Terraform's variables (TF_VAR_*) and
// PG_CONN_STR come from the environment, as with `cdktf diff`.
//
// `npm run apply -- <stack dir>...` applies each dir's plan.tfplan exactly as it was planned (and
// reviewed); Terraform refuses it when the state has changed since ("Saved plan is stale").
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { maskSecrets } from '../review/mask-secrets';
import { PlanSummary, planDifferences, readPlanSummary, summarizePlan } from '../review/terraform-plan';

const USAGE = 'usage: npm run plan -- [--lock-timeout 5m] [--reviewed plan.summary.json] <stack dir>... (or npm run apply -- <stack dir>...)';

function fail(message: string): never {
  console.error(`plan: ${message}`);
  process.exit(2);
}

function terraform(dir: string, args: string[]): { ok: boolean; stdout: string; output: string } {
  const r = spawnSync('terraform', args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) fail(`could not run terraform: ${r.error.message}; install Terraform >= 1.5`);
  return { ok: r.status === 0, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
}

/** Plans one stack; true when the plan was made. */
export function planStack(dir: string, lockTimeout: string): boolean {
  const stack = path.basename(path.resolve(dir));
  for (const file of ['plan.tfplan', 'plan.json', 'plan.summary.json', 'plan.txt', 'plan.error']) fs.rmSync(path.join(dir, file), { force: true });
  const steps: string[][] = [
    ['init', '-input=false', '-no-color'],
    ['plan', '-input=false', '-no-color', `-lock-timeout=${lockTimeout}`, '-out=plan.tfplan'],
  ];
  for (const args of steps) {
    console.error(`plan: ${stack}: terraform ${args[0]} ...`);
    const r = terraform(dir, args);
    if (!r.ok) {
      // Masked already: CI passes this file between jobs.
      fs.writeFileSync(path.join(dir, 'plan.error'), maskSecrets(r.output));
      console.error(`plan: ${stack}: terraform ${args[0]} failed; its output is in ${path.join(dir, 'plan.error')}`);
      return false;
    }
  }
  const json = terraform(dir, ['show', '-json', 'plan.tfplan']);
  const text = terraform(dir, ['show', '-no-color', 'plan.tfplan']);
  if (!json.ok || !text.ok) {
    fs.writeFileSync(path.join(dir, 'plan.error'), maskSecrets(`${json.output}${text.output}`));
    return false;
  }
  fs.writeFileSync(path.join(dir, 'plan.json'), json.stdout);
  fs.writeFileSync(path.join(dir, 'plan.summary.json'), `${JSON.stringify(summarizePlan(JSON.parse(json.stdout)), null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'plan.txt'), maskSecrets(text.stdout));
  console.error(`plan: ${stack}: planned`);
  return true;
}

/** True when the plan just made in dir is the reviewed one (same resources, actions, attribute names). */
export function matchesReviewed(dir: string, reviewed: PlanSummary): boolean {
  const stack = path.basename(path.resolve(dir));
  const now = readPlanSummary(fs.readFileSync(path.join(dir, 'plan.summary.json'), 'utf8'), path.join(dir, 'plan.summary.json'));
  const differences = planDifferences(reviewed, now);
  if (differences.length === 0) return true;
  console.error(`plan: ${stack}: the plan differs from the one reviewed, so it is not applied; deploy again to review the new one:`);
  for (const line of differences) console.error(`  ${line}`);
  return false;
}

/** Applies the saved plan of one stack; true when it was applied. */
export function applyStack(dir: string, lockTimeout: string): boolean {
  const stack = path.basename(path.resolve(dir));
  if (!fs.existsSync(path.join(dir, 'plan.tfplan'))) fail(`${dir} has no plan.tfplan: run npm run plan first`);
  for (const args of [
    ['init', '-input=false', '-no-color'],
    ['apply', '-input=false', '-no-color', `-lock-timeout=${lockTimeout}`, 'plan.tfplan'],
  ]) {
    console.error(`apply: ${stack}: terraform ${args[0]} ...`);
    const r = terraform(dir, args);
    process.stderr.write(r.output);
    if (!r.ok) return false;
  }
  return true;
}

function main(argv: string[]): void {
  let lockTimeout = '5m';
  let apply = false;
  let reviewed: PlanSummary | undefined;
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--apply') {
      apply = true;
    } else if (argv[i] === '--reviewed') {
      const file = argv[++i];
      if (file === undefined || !fs.existsSync(file)) fail(`--reviewed needs the reviewed plan.summary.json; ${USAGE}`);
      try {
        reviewed = readPlanSummary(fs.readFileSync(file, 'utf8'), file);
      } catch (e) {
        fail((e as Error).message);
      }
    } else if (argv[i] === '--lock-timeout') {
      const value = argv[++i];
      if (value === undefined || !/^\d{1,4}(s|m)$/.test(value)) fail(`invalid --lock-timeout: ${JSON.stringify(value)}; allowed: a duration like 30s or 5m`);
      lockTimeout = value;
    } else if (argv[i].startsWith('--')) {
      fail(`unknown option ${argv[i]}; ${USAGE}`);
    } else {
      dirs.push(argv[i]);
    }
  }
  if (dirs.length === 0) fail(USAGE);
  for (const dir of dirs)
    if (!fs.existsSync(path.join(dir, 'cdk.tf.json')) && !fs.existsSync(path.join(dir, 'main.tf.json')))
      fail(`${dir} holds no synthesized stack (cdk.tf.json); run npm run synth first`);
  const failed = dirs.filter((dir) => {
    if (apply) return !applyStack(dir, lockTimeout);
    return !planStack(dir, lockTimeout) || (reviewed !== undefined && !matchesReviewed(dir, reviewed));
  });
  if (failed.length > 0) process.exit(1);
}

if (require.main === module) main(process.argv.slice(2));
