// `npm run plan-comment -- [--log-url URL] [--commit SHA] [--pending] <stack dir>...` writes the
// pull request comment for the plans of these stacks to stdout (review/plan-comment.ts renders
// it). With --pending, the comment that says they are being planned (no dir is read).
//
// Each stack dir (cdktf.out/stacks/<stack>) holds what the plan step left there:
//   plan.summary.json  what the comment needs of the plan, names and keyed hashes only (what CI
//                      passes between jobs), or
//   plan.json          terraform show -json <planfile> (holds values: never an artifact)
//   plan.txt           terraform show -no-color <planfile>
//   plan.error         what terraform plan printed, when it failed
// The stack's name is the dir's name. A dir that does not exist is a stack whose plan job ended
// before it planned (CI downloads no artifact for it): the comment says so, so it fails visibly.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { secretValuesOf } from '../review/mask-secrets';
import { StackPlan, renderPendingComment, renderPlanComment } from '../review/plan-comment';
import { PlanSummary, readPlanSummary } from '../review/terraform-plan';

const USAGE = 'usage: npm run plan-comment -- [--log-url URL] [--commit SHA] [--pending] <stack dir>...';
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

function fail(message: string, code = 2): never {
  console.error(`plan-comment: ${message}`);
  process.exit(code);
}

const read = (file: string): string | undefined => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);

export function readStack(dir: string): StackPlan {
  const stack = path.basename(path.resolve(dir));
  if (!fs.existsSync(dir)) {
    if (!STACK_NAME.test(stack)) fail(`${dir} does not exist, and ${JSON.stringify(stack)} is not a stack name; ${USAGE}`);
    return { stack, error: 'The plan job of this stack ended before it planned: no plan and no error output reached this job. Its log says why.' };
  }
  if (!fs.statSync(dir).isDirectory()) fail(`${dir} is not a directory; ${USAGE}`);
  const json = read(path.join(dir, 'plan.json'));
  const summaryText = read(path.join(dir, 'plan.summary.json'));
  const error = read(path.join(dir, 'plan.error'));
  if (json === undefined && summaryText === undefined && error === undefined) fail(`${dir} has neither plan.json nor plan.error: run the plan step first`);
  let plan: unknown;
  let summary: PlanSummary | undefined;
  try {
    // The summary first: npm run plan wrote it with the keyed hashes and the state's serial.
    if (summaryText !== undefined) summary = readPlanSummary(summaryText, path.join(dir, 'plan.summary.json'));
    else if (json !== undefined) plan = JSON.parse(json);
  } catch (e) {
    fail(e instanceof SyntaxError ? `${dir}: a plan file is not JSON: expected what npm run plan writes` : (e as Error).message);
  }
  const planned = plan !== undefined || summary !== undefined;
  return { stack, plan, summary, planText: read(path.join(dir, 'plan.txt')), error: planned ? undefined : error };
}

function main(argv: string[]): void {
  const dirs: string[] = [];
  let logUrl: string | undefined;
  let commit: string | undefined;
  let pending = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--pending') {
      pending = true;
    } else if (arg === '--log-url' || arg === '--commit') {
      const value = argv[++i];
      if (value === undefined) fail(`${arg} needs a value; ${USAGE}`);
      if (arg === '--log-url' && !/^https:\/\/[^\s<>()[\]`]+$/.test(value))
        fail(`invalid --log-url: ${JSON.stringify(value)}; allowed: an https:// URL without spaces, brackets or backticks`);
      if (arg === '--commit' && !/^[0-9a-f]{7,64}$/.test(value)) fail(`invalid --commit: ${JSON.stringify(value)}; allowed: a hex commit id`);
      if (arg === '--log-url') logUrl = value;
      else commit = value;
    } else if (arg.startsWith('--')) {
      fail(`unknown option ${arg}; ${USAGE}`);
    } else {
      dirs.push(arg);
    }
  }
  if (dirs.length === 0) fail(USAGE);
  if (pending) {
    const names = dirs.map((d) => path.basename(path.resolve(d)));
    for (const name of names) if (!STACK_NAME.test(name)) fail(`invalid stack name ${JSON.stringify(name)}; allowed: letters, digits, - and _`);
    process.stdout.write(renderPendingComment(names, { logUrl, commit }));
    return;
  }
  try {
    process.stdout.write(renderPlanComment(dirs.map(readStack), { logUrl, commit, secrets: secretValuesOf(process.env) }));
  } catch (e) {
    fail((e as Error).message, 1);
  }
}

if (require.main === module) main(process.argv.slice(2));
