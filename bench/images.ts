// The benchmark's own image: HAProxy, Caddy and wrk from Debian sid (the newest Debian has),
// built like the test images, with debootstrap and `docker import`, and cached by its recipe.
import { chroot, debootstrap, imageLabels, importRootfs, seconds } from '../__tests__/support/test-images';
import type { Log } from '../__tests__/support/test-images';

const TAG = 'wayshub-bench/tools:sid';
const RECIPE = '2';
const RECIPE_LABEL = 'wayshub-bench.recipe';
const VERSIONS_LABEL = 'wayshub-bench.versions';

export interface BenchImage {
  tag: string;
  /** `haproxy 2.9.x, caddy 2.6.x, wrk 4.2.0`, as the binaries say. */
  versions: string;
}

export async function ensureBenchImage(log: Log): Promise<BenchImage> {
  const labels = await imageLabels(TAG);
  // A label value can't hold spaces through `docker import --change`: they are stored as "_".
  if (labels?.[RECIPE_LABEL] === RECIPE && labels[VERSIONS_LABEL]) return { tag: TAG, versions: labels[VERSIONS_LABEL].replace(/_/g, ' ') };
  const started = Date.now();
  log('building the benchmark image (HAProxy, Caddy, wrk) from Debian sid ...');
  const rootfs = await debootstrap('bench-tools', 'sid', ['haproxy', 'caddy', 'wrk', 'ca-certificates']);
  try {
    const version = async (args: string[], pattern: RegExp) => {
      const r = await chroot(rootfs.dir, args);
      return pattern.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
    };
    const versions = [
      `haproxy ${await version(['haproxy', '-v'], /version (\d+\.\d+\.\d+)/)}`,
      `caddy ${await version(['caddy', 'version'], /v?(\d+\.\d+\.\d+)/)}`,
      `wrk ${await version(['wrk', '-v'], /wrk (?:debian\/)?(\d+\.\d+\.\d+)/)}`,
    ].join(', ');
    await importRootfs(rootfs.dir, TAG, [`LABEL ${RECIPE_LABEL}=${RECIPE}`, `LABEL ${VERSIONS_LABEL}=${versions.replace(/ /g, '_')}`]);
    log(`benchmark image ready: ${TAG} (${versions}) in ${seconds(started)}`);
    return { tag: TAG, versions };
  } finally {
    await rootfs.cleanup();
  }
}
