// `npm run upsert-comment -- <comment.md>`: puts the plan comment on the pull request, editing the
// one that carries the marker (review/plan-comment.ts) instead of adding another. Reads
// GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name) and PR_NUMBER; GITHUB_API_URL when it is not
// api.github.com (GitHub Enterprise).
import * as fs from 'node:fs';

import { PLAN_COMMENT_MARKER } from '../review/plan-comment';

function fail(message: string, code = 2): never {
  console.error(`upsert-comment: ${message}`);
  process.exit(code);
}

interface Comment {
  id: number;
  body?: string;
}

export async function upsertComment(body: string, env: Readonly<Record<string, string | undefined>>): Promise<'created' | 'updated'> {
  const { GITHUB_TOKEN: token, GITHUB_REPOSITORY: repo, PR_NUMBER: pr } = env;
  const api = env.GITHUB_API_URL ?? 'https://api.github.com';
  if (!token) fail('GITHUB_TOKEN is not set');
  if (!repo || !/^[\w.-]+\/[\w.-]+$/.test(repo)) fail(`invalid GITHUB_REPOSITORY: ${JSON.stringify(repo)}; allowed: owner/name`);
  if (!pr || !/^\d{1,9}$/.test(pr)) fail(`invalid PR_NUMBER: ${JSON.stringify(pr)}; allowed: a pull request number`);
  if (!body.startsWith(PLAN_COMMENT_MARKER)) fail('the comment does not start with the plan comment marker: write it with npm run plan-comment');
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/vnd.github+json', 'Content-Type': 'application/json', 'User-Agent': 'wayshub-edge' };
  const call = async (method: string, url: string, payload?: object): Promise<unknown> => {
    const res = await fetch(url, { method, headers, body: payload ? JSON.stringify(payload) : undefined });
    if (!res.ok) fail(`${method} ${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`, 1);
    return res.json();
  };
  // The marker is on the first line of ours; a PR's comments come 100 a page.
  for (let page = 1; page <= 50; page++) {
    const comments = (await call('GET', `${api}/repos/${repo}/issues/${pr}/comments?per_page=100&page=${page}`)) as Comment[];
    const ours = comments.find((c) => c.body?.startsWith(PLAN_COMMENT_MARKER));
    if (ours) {
      await call('PATCH', `${api}/repos/${repo}/issues/comments/${ours.id}`, { body });
      return 'updated';
    }
    if (comments.length < 100) break;
  }
  await call('POST', `${api}/repos/${repo}/issues/${pr}/comments`, { body });
  return 'created';
}

async function main(argv: string[]): Promise<void> {
  if (argv.length !== 1) fail('usage: npm run upsert-comment -- <comment.md>');
  if (!fs.existsSync(argv[0])) fail(`${argv[0]} does not exist: write it with npm run plan-comment`);
  const outcome = await upsertComment(fs.readFileSync(argv[0], 'utf8'), process.env);
  console.error(`upsert-comment: ${outcome} the plan comment on pull request ${process.env.PR_NUMBER}`);
}

if (require.main === module) void main(process.argv.slice(2));
