// S3 for the backup tests, without any registry: the S3 server is s3rver (an npm package, a
// devDependency) that scripts/s3-up.sh starts on this machine, and the client is Debian's
// rclone in an image built like the other test images (the stack's default is rclone's own).
import { spawnSync } from 'node:child_process';

import { Log } from '../test-images';
import { ensureDebianToolImage } from '../test-images/debian-tool-image';

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

/** Debian bookworm's rclone with `rclone` as the entrypoint, as in rclone's own image (which also has a POSIX shell). */
export const ensureRcloneImage = (log?: Log): Promise<string> =>
  ensureDebianToolImage({ name: 'rclone', packages: ['rclone', 'ca-certificates'], probes: [['rclone', 'version']], changes: ['ENTRYPOINT ["rclone"]'] }, log);
