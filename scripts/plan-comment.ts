// `npm run plan-comment -- [--log-url URL] [--commit SHA] <stack dir>...` writes the pull request
// comment for the plans of these stacks to stdout (review/plan-comment.ts renders it).
//
// Each stack dir (cdktf.out/stacks/<stack>) holds what the plan step left there:
//   plan.json          terraform show -json <planfile> (holds values: never an artifact), or
//   plan.summary.json  what the comment needs of it, names only (what CI passes between jobs)
//   plan.txt           terraform show -no-color <planfile>
//   plan.error         what terraform plan printed, when it failed
// The stack's name is the dir's name.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { StackPlan, renderPlanComment } from '../review/plan-comment';
import { PlanSummary, readPlanSummary } from '../review/terraform-plan';

const USAGE = 'usage: npm run plan-comment -- [--log-url URL] [--commit SHA] <stack dir>...';

function fail(message: string, code = 2): never {
  console.error(`plan-comment: ${message}`);
  process.exit(code);
}

const read = (file: string): string | undefined => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined);

export function readStack(dir: string): StackPlan {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) fail(`${dir} is not a directory; ${USAGE}`);
  const stack = path.basename(path.resolve(dir));
  const json = read(path.join(dir, 'plan.json'));
  const summaryText = read(path.join(dir, 'plan.summary.json'));
  const error = read(path.join(dir, 'plan.error'));
  if (json === undefined && summaryText === undefined && error === undefined) fail(`${dir} has neither plan.json nor plan.error: run the plan step first`);
  let plan: unknown;
  let summary: PlanSummary | undefined;
  try {
    if (json !== undefined) plan = JSON.parse(json);
    else if (summaryText !== undefined) summary = readPlanSummary(summaryText, path.join(dir, 'plan.summary.json'));
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
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--log-url' || arg === '--commit') {
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
  try {
    process.stdout.write(renderPlanComment(dirs.map(readStack), { logUrl, commit }));
  } catch (e) {
    fail((e as Error).message, 1);
  }
}

if (require.main === module) main(process.argv.slice(2));
