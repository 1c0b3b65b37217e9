// `npm run upsert-comment -- <comment.md>`: puts the plan comment on the pull request, editing the
// one that carries the marker (review/plan-comment.ts) instead of adding another. Reads
// GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name) and PR_NUMBER; GITHUB_API_URL when it is not
// api.github.com (GitHub Enterprise).
import * as fs from 'node:fs';

import { GitHub, GitHubError } from '../review/github';
import { COMMENT_LIMIT, PLAN_COMMENT_MARKER } from '../review/plan-comment';

function fail(message: string, code = 2): never {
  console.error(`upsert-comment: ${message}`);
  process.exit(code);
}

export async function upsertComment(body: string, env: Readonly<Record<string, string | undefined>>): Promise<'created' | 'updated'> {
  const pr = env.PR_NUMBER;
  let github: GitHub;
  try {
    github = new GitHub(env);
  } catch (e) {
    fail((e as Error).message);
  }
  if (!pr || !/^\d{1,9}$/.test(pr)) fail(`invalid PR_NUMBER: ${JSON.stringify(pr)}; allowed: a pull request number`);
  if (!body.startsWith(PLAN_COMMENT_MARKER)) fail('the comment does not start with the plan comment marker: write it with npm run plan-comment');
  if (body.length > COMMENT_LIMIT)
    fail(`the comment has ${body.length} characters; GitHub takes at most 65,536: write it with npm run plan-comment, which cuts it`);
  try {
    const ours = await github.planComment(Number(pr));
    if (ours) {
      await github.call('PATCH', `/repos/${github.repo}/issues/comments/${ours.id}`, { body });
      return 'updated';
    }
    await github.call('POST', `/repos/${github.repo}/issues/${pr}/comments`, { body });
    return 'created';
  } catch (e) {
    if (e instanceof GitHubError) fail(e.message, 1);
    throw e;
  }
}

async function main(argv: string[]): Promise<void> {
  if (argv.length !== 1) fail('usage: npm run upsert-comment -- <comment.md>');
  if (!fs.existsSync(argv[0])) fail(`${argv[0]} does not exist: write it with npm run plan-comment`);
  const outcome = await upsertComment(fs.readFileSync(argv[0], 'utf8'), process.env);
  console.error(`upsert-comment: ${outcome} the plan comment on pull request ${process.env.PR_NUMBER}`);
}

if (require.main === module) void main(process.argv.slice(2));
