// Decides whether the end-to-end tests can run: they need a Docker Engine and terraform, and
// some a PostgreSQL server. In CI (CI=true) a missing one is a failure, never a skip: a green
// run must mean they ran.
import { spawnSync } from 'node:child_process';

import { TEST_S3, s3Answers } from './s3';

/** The PostgreSQL server the state tests use (scripts/postgres-up.sh makes it), unless PG_CONN_STR names another. */
export function testPgConnStr(): string {
  return process.env.WAYSHUB_E2E_PG_CONN_STR || 'postgres://wayshub_state:wayshub-state-local-only@127.0.0.1:5432/wayshub_state?sslmode=disable';
}

export interface E2ENeeds {
  /** A PostgreSQL server at testPgConnStr(). */
  postgres?: boolean;
  /** Root, with dockerd, containerd and ip: more Docker Engines in network namespaces (scripts/swarm-lab.sh). */
  engines?: boolean;
  /** Root, with ip and nsenter: processes in network namespaces of their own (__tests__/support/vms). */
  namespaces?: boolean;
  /** An S3 server on this machine (scripts/s3-up.sh). */
  s3?: boolean;
}

/** What the e2e tests lack on this machine (empty when they can run). */
export function missing(needs: E2ENeeds = {}): string[] {
  const out: string[] = [];
  if (needs.postgres && spawnSync('pg_isready', ['-q', '-d', testPgConnStr()], { stdio: 'ignore' }).status !== 0) {
    out.push('no PostgreSQL server answers (run: bash scripts/postgres-up.sh)');
  }
  if (needs.engines) {
    if (process.getuid?.() !== 0) out.push('more Docker Engines in network namespaces need root');
    for (const tool of ['dockerd', 'containerd', 'ip', 'nsenter']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0)
        out.push(`\`${tool}\` is not on PATH (apt-get install docker.io iproute2 util-linux)`);
    }
  }
  if (needs.namespaces) {
    if (process.getuid?.() !== 0) out.push('network namespaces need root');
    for (const tool of ['ip', 'nsenter']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0)
        out.push(`\`${tool}\` is not on PATH (apt-get install iproute2 util-linux)`);
    }
  }
  if (needs.s3 && !s3Answers()) out.push(`no S3 server answers on port ${TEST_S3.port} (run: bash scripts/s3-up.sh, after npm ci)`);
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
    out.push('no Docker Engine answers `docker info` (run: bash scripts/docker-up.sh)');
  }
  if (spawnSync('terraform', ['version'], { stdio: 'ignore' }).status !== 0) {
    out.push('`terraform` is not on PATH (install Terraform >= 1.5)');
  }
  return out;
}

/** `describe` for tests on the real engine: runs, fails in CI, or skips with one line. */
export function describeE2E(name: string, body: () => void, needs: E2ENeeds = {}): void {
  const why = missing(needs);
  if (why.length === 0) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test(`has a Docker Engine and terraform${needs.postgres ? ', and PostgreSQL' : ''}${needs.engines ? ', and can run more engines' : ''}${needs.namespaces ? ', and network namespaces' : ''}${needs.s3 ? ', and an S3 server' : ''}`, () => {
        throw new Error(`e2e tests cannot run: ${why.join('; ')}`);
      });
    });
  } else {
    console.warn(`skipping e2e "${name}": ${why.join('; ')}`);
    describe.skip(name, body);
  }
}
