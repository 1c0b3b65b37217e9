// The few calls of GitHub's REST API the review scripts make, with the token and repository
// from the environment a workflow gives them: GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name), and
// GITHUB_API_URL when it is not api.github.com (GitHub Enterprise).
import { PLAN_COMMENT_MARKER } from './plan-comment';

export interface IssueComment {
  id: number;
  body?: string;
}

export interface PullRequest {
  number: number;
  merged_at?: string | null;
  merge_commit_sha?: string | null;
  head?: { sha?: string };
}

export class GitHubError extends Error {}

export class GitHub {
  readonly repo: string;
  private readonly api: string;
  private readonly token: string;

  /** Throws a GitHubError with one line when the environment lacks what the calls need. */
  constructor(env: Readonly<Record<string, string | undefined>>) {
    const { GITHUB_TOKEN: token, GITHUB_REPOSITORY: repo } = env;
    if (!token) throw new GitHubError('GITHUB_TOKEN is not set');
    if (!repo || !/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new GitHubError(`invalid GITHUB_REPOSITORY: ${JSON.stringify(repo)}; allowed: owner/name`);
    this.token = token;
    this.repo = repo;
    this.api = env.GITHUB_API_URL ?? 'https://api.github.com';
  }

  async call(method: string, route: string, payload?: object): Promise<unknown> {
    const url = `${this.api}${route}`;
    const res = await fetch(url, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        Accept: 'application/vnd.github+json',
        'Content-Type': 'application/json',
        'User-Agent': 'wayshub-edge',
      },
      body: payload ? JSON.stringify(payload) : undefined,
    });
    if (!res.ok) throw new GitHubError(`${method} ${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    return res.json();
  }

  /** The plan comment of a pull request (the one that starts with the marker), if it has one. */
  async planComment(pr: number): Promise<IssueComment | undefined> {
    // A PR's comments come 100 a page.
    for (let page = 1; page <= 50; page++) {
      const comments = (await this.call('GET', `/repos/${this.repo}/issues/${pr}/comments?per_page=100&page=${page}`)) as IssueComment[];
      const ours = comments.find((c) => c.body?.startsWith(PLAN_COMMENT_MARKER));
      if (ours || comments.length < 100) return ours;
    }
    return undefined;
  }
}
