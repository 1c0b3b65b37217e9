// Decides whether the end-to-end tests can run: they need a Docker Engine and terraform.
// In CI (CI=true) a missing one is a failure, never a skip: a green run must mean they ran.
import { spawnSync } from 'node:child_process';

/** What the e2e tests lack on this machine (empty when they can run). */
export function missing(): string[] {
  const out: string[] = [];
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
    out.push('no Docker Engine answers `docker info` (run: bash scripts/docker-up.sh)');
  }
  if (spawnSync('terraform', ['version'], { stdio: 'ignore' }).status !== 0) {
    out.push('`terraform` is not on PATH (install Terraform >= 1.5)');
  }
  return out;
}

/** `describe` for tests on the real engine: runs, fails in CI, or skips with one line. */
export function describeE2E(name: string, body: () => void): void {
  const why = missing();
  if (why.length === 0) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('has a Docker Engine and terraform', () => {
        throw new Error(`e2e tests cannot run: ${why.join('; ')}`);
      });
    });
  } else {
    console.warn(`skipping e2e "${name}": ${why.join('; ')}`);
    describe.skip(name, body);
  }
}
