// `npm run plan -- [--lock-timeout 5m] <stack dir>...` plans each synthesized stack
// (cdktf.out/stacks/<stack>, after `npm run synth`) against its state, and leaves in its dir what
// `npm run plan-comment` reads:
//   plan.tfplan        the saved plan, for `npm run apply` in the same job
//   plan.json          terraform show -json plan.tfplan
//   plan.summary.json  each resource's action and changed attribute names: no values, so
//                      this (not the two above, which hold secrets) is what CI passes on
//   plan.txt           terraform show -no-color plan.tfplan, masked (review/mask-secrets.ts)
//   plan.error         what terraform printed when init or plan failed (then no plan.json)
// Everything it writes or prints is masked by value (the plan's sensitive values and the
// secrets in its environment: TF_VAR_*, PG_CONN_STR ...) and by name.
// With WAYSHUB_REVIEW_KEY set, the summary holds a keyed hash of each change and the state's
// serial, so a deploy can prove it applies the values that were reviewed.
// --no-refresh plans without reading the Docker host (terraform plan -refresh=false, and the
// provider's daemon check off): what a pull request's plan does, with no Docker credentials.
// With --reviewed <file> (a plan.summary.json, or the records npm run reviewed-plan wrote), a
// plan that differs from the reviewed one fails.
// It exits 1 when a plan failed, after planning every stack. Terraform's variables (TF_VAR_*) and
// PG_CONN_STR come from the environment, as with `cdktf diff`.
//
// `npm run apply -- <stack dir>...` applies each dir's plan.tfplan exactly as it was planned (and
// reviewed); Terraform refuses it when the state has changed since ("Saved plan is stale").
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { maskSecrets, secretValuesOf, sensitiveValuesOf } from '../review/mask-secrets';
import { PlanSummary, ReviewRecord, StateVersion, planDifferences, readPlanSummary, summarizePlan } from '../review/terraform-plan';

const USAGE =
  'usage: npm run plan -- [--lock-timeout 5m] [--no-refresh] [--reviewed plan.summary.json|reviewed.json] <stack dir>... (or npm run apply -- <stack dir>...)';

/** The job's own secrets: masked wherever they appear in what this script writes or prints. */
const ENV_SECRETS = secretValuesOf(process.env);

function fail(message: string): never {
  console.error(`plan: ${message}`);
  process.exit(2);
}

function terraform(dir: string, args: string[], env: Record<string, string> = {}): { ok: boolean; stdout: string; output: string } {
  const r = spawnSync('terraform', args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', ...env },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) fail(`could not run terraform: ${r.error.message}; install Terraform >= 1.5`);
  return { ok: r.status === 0, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
}

export interface PlanOptions {
  lockTimeout: string;
  /** Plan without reading the Docker host: a pull request's plan, which holds no Docker credentials. */
  refresh: boolean;
}

/**
 * The provider lock file, committed at the project's root (docs/review.md: "Set-up on GitHub"):
 * copied into the stack before init, which then refuses a provider whose checksum it lacks.
 */
const LOCK_FILE = path.join(__dirname, '..', '.terraform.lock.hcl');

function initArgs(dir: string): string[] {
  if (!fs.existsSync(LOCK_FILE)) return ['init', '-input=false', '-no-color'];
  fs.copyFileSync(LOCK_FILE, path.join(dir, '.terraform.lock.hcl'));
  return ['init', '-input=false', '-no-color', '-lockfile=readonly'];
}

/** The state's version (lineage and serial) as Terraform reads it; undefined before the first apply. */
function stateVersion(dir: string): StateVersion | undefined {
  const r = terraform(dir, ['state', 'pull']);
  if (!r.ok || r.stdout.trim() === '') return undefined;
  const state = JSON.parse(r.stdout) as { lineage?: unknown; serial?: unknown };
  return typeof state.lineage === 'string' && typeof state.serial === 'number' ? { lineage: state.lineage, serial: state.serial } : undefined;
}

/** Plans one stack; true when the plan was made. */
export function planStack(dir: string, options: PlanOptions): boolean {
  const stack = path.basename(path.resolve(dir));
  for (const file of ['plan.tfplan', 'plan.json', 'plan.summary.json', 'plan.txt', 'plan.error']) fs.rmSync(path.join(dir, file), { force: true });
  // Without a refresh the provider needs no Docker host at all; the variable turns its ping off.
  const env: Record<string, string> = options.refresh ? {} : { TF_VAR_docker_daemon_check: 'false' };
  const steps: string[][] = [
    initArgs(dir),
    ['plan', '-input=false', '-no-color', `-lock-timeout=${options.lockTimeout}`, ...(options.refresh ? [] : ['-refresh=false']), '-out=plan.tfplan'],
  ];
  for (const args of steps) {
    console.error(`plan: ${stack}: terraform ${args[0]} ...`);
    const r = terraform(dir, args, env);
    if (!r.ok) {
      // Masked already: CI passes this file between jobs.
      fs.writeFileSync(path.join(dir, 'plan.error'), maskSecrets(r.output, ENV_SECRETS));
      console.error(`plan: ${stack}: terraform ${args[0]} failed; its output is in ${path.join(dir, 'plan.error')}`);
      return false;
    }
  }
  const json = terraform(dir, ['show', '-json', 'plan.tfplan']);
  const text = terraform(dir, ['show', '-no-color', 'plan.tfplan']);
  if (!json.ok || !text.ok) {
    fs.writeFileSync(path.join(dir, 'plan.error'), maskSecrets(`${json.output}${text.output}`, ENV_SECRETS));
    return false;
  }
  const plan = JSON.parse(json.stdout) as unknown;
  const secrets = [...ENV_SECRETS, ...sensitiveValuesOf(plan)];
  const summary = summarizePlan(plan, { key: process.env.WAYSHUB_REVIEW_KEY || undefined, state: stateVersion(dir), refreshed: options.refresh });
  fs.writeFileSync(path.join(dir, 'plan.json'), json.stdout);
  fs.writeFileSync(path.join(dir, 'plan.summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'plan.txt'), maskSecrets(text.stdout, secrets));
  console.error(
    `plan: ${stack}: planned${summary.state ? ` against state serial ${summary.state.serial}` : ''}${summary.changes.some((c) => c.digest) ? ', with a keyed hash of each change' : ''}`,
  );
  return true;
}

/** True when the plan just made in dir is the reviewed one (same changes; with digests, same values and state). */
export function matchesReviewed(dir: string, reviewed: PlanSummary | ReviewRecord): boolean {
  const stack = path.basename(path.resolve(dir));
  const now = readPlanSummary(fs.readFileSync(path.join(dir, 'plan.summary.json'), 'utf8'), path.join(dir, 'plan.summary.json'));
  const differences = planDifferences(reviewed, now);
  if (differences.length === 0) return true;
  console.error(
    `plan: ${stack}: the plan differs from the one reviewed, so it is not applied. Plan the pull request again (re-run its Plan workflow, or push), review the new plan, then deploy:`,
  );
  for (const line of differences) console.error(`  ${line}`);
  return false;
}

/** The reviewed plan of one stack: a plan.summary.json, or that stack's record in a reviewed.json. */
function reviewedFor(file: string, dir: string): PlanSummary | ReviewRecord {
  const stack = path.basename(path.resolve(dir));
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (Array.isArray(parsed.changes)) return readPlanSummary(JSON.stringify(parsed), file);
  const record = parsed[stack] as ReviewRecord | undefined;
  if (!record || typeof record.changes !== 'object')
    fail(`${file} has no reviewed plan of ${stack}: its pull request's comment shows none (did that plan fail?)`);
  return record;
}

/** Applies the saved plan of one stack; true when it was applied. */
export function applyStack(dir: string, lockTimeout: string): boolean {
  const stack = path.basename(path.resolve(dir));
  if (!fs.existsSync(path.join(dir, 'plan.tfplan'))) fail(`${dir} has no plan.tfplan: run npm run plan first`);
  for (const args of [initArgs(dir), ['apply', '-input=false', '-no-color', `-lock-timeout=${lockTimeout}`, 'plan.tfplan']]) {
    console.error(`apply: ${stack}: terraform ${args[0]} ...`);
    const r = terraform(dir, args);
    process.stderr.write(maskSecrets(r.output, ENV_SECRETS));
    if (!r.ok) return false;
  }
  return true;
}

function main(argv: string[]): void {
  let lockTimeout = '5m';
  let apply = false;
  let refresh = true;
  let reviewed: string | undefined;
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--apply') {
      apply = true;
    } else if (argv[i] === '--no-refresh') {
      refresh = false;
    } else if (argv[i] === '--reviewed') {
      const file = argv[++i];
      if (file === undefined || !fs.existsSync(file)) fail(`--reviewed needs the reviewed plan.summary.json or reviewed.json; ${USAGE}`);
      reviewed = file;
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
  const reviewedPlans = new Map<string, PlanSummary | ReviewRecord>();
  for (const dir of dirs) {
    if (reviewed === undefined) continue;
    try {
      reviewedPlans.set(dir, reviewedFor(reviewed, dir));
    } catch (e) {
      fail(
        e instanceof SyntaxError ? `${reviewed} is not JSON: expected a plan.summary.json or the reviewed.json of npm run reviewed-plan` : (e as Error).message,
      );
    }
  }
  const failed = dirs.filter((dir) => {
    if (apply) return !applyStack(dir, lockTimeout);
    const r = reviewedPlans.get(dir);
    return !planStack(dir, { lockTimeout, refresh }) || (r !== undefined && !matchesReviewed(dir, r));
  });
  if (failed.length > 0) process.exit(1);
}

if (require.main === module) main(process.argv.slice(2));
