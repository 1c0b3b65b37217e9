// `npm run reviewed-plan -- --commit <sha> --out reviewed.json`: for a commit on main, finds the
// pull request it merged and the plan its comment shows, and writes that plan's review records
// (review/plan-comment.ts keeps them in the comment), for `npm run plan -- --reviewed
// reviewed.json`. It refuses, with one line and exit 1, when there is nothing reviewed to hold
// the deploy to: a commit pushed to main without a pull request, a PR without a plan comment,
// a comment without records (a failed plan, or one made without WAYSHUB_REVIEW_KEY), or a
// comment for an older push than the one merged.
// Reads GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL (review/github.ts).
import * as fs from 'node:fs';

import { GitHub, GitHubError, PullRequest } from '../review/github';
import { readReviewRecords } from '../review/plan-comment';

const USAGE = 'usage: npm run reviewed-plan -- --commit <merge commit sha> --out <reviewed.json>';

function fail(message: string, code = 2): never {
  console.error(`reviewed-plan: ${message}`);
  process.exit(code);
}

export async function reviewedPlan(commit: string, env: Readonly<Record<string, string | undefined>>): Promise<{ pr: number; records: object }> {
  const github = new GitHub(env);
  const pulls = (await github.call('GET', `/repos/${github.repo}/commits/${commit}/pulls`)) as PullRequest[];
  const pr = pulls.find((p) => p.merged_at && p.merge_commit_sha === commit);
  if (!pr) throw new GitHubError(`${commit} is not the merge of a pull request, so nobody reviewed its plan: change main through pull requests`);
  const comment = await github.planComment(pr.number);
  if (!comment?.body) throw new GitHubError(`pull request #${pr.number} has no plan comment: re-run its Plan workflow, then this deploy`);
  const records = readReviewRecords(comment.body);
  if (!records || Object.keys(records).length === 0)
    throw new GitHubError(
      `the plan comment of #${pr.number} holds no reviewed plan (a plan failed, or ran without WAYSHUB_REVIEW_KEY): re-run its Plan workflow, then this deploy`,
    );
  const head = pr.head?.sha;
  for (const [stack, record] of Object.entries(records)) {
    if (!head || record.commit !== head)
      throw new GitHubError(
        `the plan of ${stack} on #${pr.number} is for ${record.commit ?? 'an unknown commit'}, but ${head ?? 'another commit'} was merged: its last push was never planned; re-run its Plan workflow, then this deploy`,
      );
  }
  return { pr: pr.number, records };
}

async function main(argv: string[]): Promise<void> {
  let commit: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--commit') commit = argv[++i];
    else if (argv[i] === '--out') out = argv[++i];
    else fail(`unknown argument ${JSON.stringify(argv[i])}; ${USAGE}`);
  }
  if (!commit || !/^[0-9a-f]{40}$/.test(commit)) fail(`invalid --commit: ${JSON.stringify(commit)}; allowed: a full 40-hex commit id; ${USAGE}`);
  if (!out) fail(USAGE);
  try {
    const { pr, records } = await reviewedPlan(commit, process.env);
    fs.writeFileSync(out, `${JSON.stringify(records, null, 2)}\n`);
    console.error(`reviewed-plan: the plan reviewed on #${pr} (${Object.keys(records).join(', ')}) is in ${out}`);
  } catch (e) {
    if (e instanceof GitHubError) fail(e.message, 1);
    throw e;
  }
}

if (require.main === module) void main(process.argv.slice(2));
