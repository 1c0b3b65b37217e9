// Variants of the test app for rollout scenarios: the same image with one Dockerfile line more
// (a version, a SIGTERM behaviour, a wrong port), tagged <repo>:<tag>.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { dockerBuild } from './images';

/** The rollout scenarios' images: v1 and v2 drain on SIGTERM and differ in one variable; "bad"
 *  listens on 3999, not on the app port: it never becomes healthy. */
export const ROLLOUT_VARIANTS = {
  v1: 'ENV APP_VERSION=1 ON_SIGTERM=graceful',
  v2: 'ENV APP_VERSION=2 ON_SIGTERM=graceful',
  bad: 'ENV PORT=3999',
} as const;

/** Builds `FROM base` + one line for each tag; `variants` maps a tag to its line, e.g. `ENV APP_VERSION=2`. */
export async function buildAppVariants(base: string, repo: string, variants: Readonly<Record<string, string>>): Promise<void> {
  const context = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-app-variants-'));
  try {
    for (const [tag, line] of Object.entries(variants)) {
      fs.writeFileSync(path.join(context, 'Dockerfile'), `FROM ${base}\n${line}\n`);
      const built = await dockerBuild(path.join(context, 'Dockerfile'), context, `${repo}:${tag}`);
      if (built.code !== 0) throw new Error(`building ${repo}:${tag} failed: ${built.stderr}`);
    }
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}
