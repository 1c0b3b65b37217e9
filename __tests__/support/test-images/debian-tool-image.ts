// An image of a few Debian bookworm packages (rclone, mtail, Prometheus...), built like the
// other test images (a debootstrap rootfs piped into `docker import`), tagged by a hash of
// what it is made of and cached by that tag.
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { Log, chroot, debootstrap, dropOtherTags, imageLabels, importRootfs, seconds, withLock } from './images';

export interface DebianToolImage {
  /** `wayshub-e2e/<name>`, and the rootfs's name. */
  readonly name: string;
  readonly packages: readonly string[];
  /** Commands that must succeed in the rootfs, e.g. `['rclone', 'version']`. */
  readonly probes: ReadonlyArray<readonly string[]>;
  /** Dockerfile instructions of the image (`ENTRYPOINT ["rclone"]`). */
  readonly changes: readonly string[];
}

const SUITE = 'bookworm';
// Bump when the build steps change.
const RECIPE = '1';
const RECIPE_LABEL = 'wayshub-e2e.tool-recipe';

export async function ensureDebianToolImage(image: DebianToolImage, log: Log = () => undefined): Promise<string> {
  const hash = createHash('sha256')
    .update(JSON.stringify([RECIPE, SUITE, image]))
    .digest('hex');
  const tag = `wayshub-e2e/${image.name}:${SUITE}-${hash.slice(0, 12)}`;
  const isBuilt = async () => (await imageLabels(tag))?.[RECIPE_LABEL] === RECIPE;
  if (await isBuilt()) return tag;
  return withLock(
    log,
    async () => {
      if (await isBuilt()) return tag;
      const started = Date.now();
      log(`building ${tag} (${image.packages.join(', ')}) from Debian ${SUITE} (about a minute) ...`);
      const rootfs = await debootstrap(image.name, SUITE, image.packages);
      try {
        for (const probe of image.probes) {
          const run = await chroot(rootfs.dir, probe);
          if (run.code !== 0) throw new Error(`${probe.join(' ')} does not run in the ${SUITE} rootfs: ${run.stderr.trim()}`);
        }
        await importRootfs(rootfs.dir, tag, [`LABEL ${RECIPE_LABEL}=${RECIPE}`, ...image.changes]);
        await dropOtherTags([tag]);
        log(`${tag} ready in ${seconds(started)}`);
        return tag;
      } finally {
        await rootfs.cleanup();
      }
    },
    path.join(os.tmpdir(), `wayshub-e2e-${image.name}-image.lock`),
  );
}
