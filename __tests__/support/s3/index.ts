// S3 for the backup tests, without any registry: the S3 server is s3rver (an npm package, a
// devDependency) that scripts/s3-up.sh starts on this machine, and the client is Debian's
// rclone in an image built like the other test images (the stack's default is rclone's own).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { chroot, debootstrap, dropOtherTags, imageLabels, importRootfs, Log, seconds, withLock } from '../test-images';

/** What scripts/s3-up.sh serves: its port, the keys it accepts, the bucket the tests use. */
export const TEST_S3 = {
  port: Number(process.env.WAYSHUB_E2E_S3_PORT || 4569),
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
  bucket: 'wayshub-backups',
} as const;

/** Whether the S3 server answers on this machine. */
export function s3Answers(): boolean {
  return spawnSync('curl', ['-s', '-o', '/dev/null', '--max-time', '3', `http://127.0.0.1:${TEST_S3.port}/`]).status === 0;
}

const REPO = 'wayshub-e2e/rclone';
const SUITE = 'bookworm';
const PACKAGES: readonly string[] = ['rclone', 'ca-certificates'];
const RECIPE = '1';
const RECIPE_LABEL = 'wayshub-e2e.rclone-recipe';
const LOCK_DIR = path.join(os.tmpdir(), 'wayshub-e2e-rclone-image.lock');

function rcloneTag(): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([RECIPE, SUITE, PACKAGES]))
    .digest('hex');
  return `${REPO}:${SUITE}-${hash.slice(0, 12)}`;
}

const isBuilt = async (tag: string) => (await imageLabels(tag))?.[RECIPE_LABEL] === RECIPE;

async function buildRclone(tag: string, log: Log): Promise<string> {
  const started = Date.now();
  log(`building rclone image from Debian ${SUITE} (about 30 s) ...`);
  const rootfs = await debootstrap('rclone', SUITE, PACKAGES);
  try {
    const probe = await chroot(rootfs.dir, ['rclone', 'version']);
    const version = /rclone v(\S+)/.exec(probe.stdout)?.[1];
    if (probe.code !== 0 || !version) throw new Error(`rclone does not run in the ${SUITE} rootfs: ${probe.stderr.trim()}`);
    // Like rclone's own image: rclone is the entrypoint, and there is a POSIX shell.
    await importRootfs(rootfs.dir, tag, [`LABEL ${RECIPE_LABEL}=${RECIPE}`, `LABEL wayshub-e2e.rclone-version=${version}`, 'ENTRYPOINT ["rclone"]']);
    await dropOtherTags([tag]);
    log(`rclone image ready: ${tag} (rclone ${version}) in ${seconds(started)}`);
    return tag;
  } finally {
    await rootfs.cleanup();
  }
}

/** Debian bookworm's rclone with `rclone` as the entrypoint, tagged `wayshub-e2e/rclone:bookworm-<recipe hash>`. */
export async function ensureRcloneImage(log: Log = () => undefined): Promise<string> {
  const tag = rcloneTag();
  if (await isBuilt(tag)) return tag;
  return withLock(log, async () => ((await isBuilt(tag)) ? tag : buildRclone(tag, log)), LOCK_DIR);
}
