// One app, several deployments: staging and production as stacks of their own, each with its
// own names, domain, Docker host, overrides and state schema; a single deployment stays the
// plain `wayshub` stack with local state.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { resolveDeployments } from '../../constructs/stack/deployments';
import { synthDeployments } from '../support/synth';

const TWO = [
  { env: 'staging', settings: { domain: 'staging.alvin.xyz', replicas: 2, dockerHost: 'ssh://deploy@staging.alvin.xyz' } },
  { env: 'production', settings: { domain: 'alvin.xyz', replicas: 3, dockerHost: 'ssh://deploy@alvin.xyz' } },
];

const read = (dir: string) =>
  JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')) as Record<string, Record<string, unknown>> & { terraform: { backend?: unknown } };

describe('a single deployment', () => {
  test('is the wayshub stack, with local state and the unprefixed overrides, as always', () => {
    const stacks = synthDeployments([{ settings: { domain: 'wayshub.localhost' } }], { WAYSHUB_DOMAIN: 'alvin.xyz' });
    expect(Object.keys(stacks)).toEqual(['wayshub']);
    const json = read(stacks.wayshub);
    expect(json.terraform.backend).toEqual({ local: { path: expect.stringMatching(/terraform\.wayshub\.tfstate$/) } });
    expect(JSON.stringify(json)).toContain('alvin.xyz');
  });
});

describe('staging and production', () => {
  const stacks = synthDeployments(TWO, { STAGING_WAYSHUB_APP_PORT: '8080', PRODUCTION_DOCKER_HOST: 'ssh://deploy@prod.alvin.xyz' });
  const staging = read(stacks['wayshub-staging']);
  const production = read(stacks['wayshub-production']);

  test('are two stacks, wayshub-staging and wayshub-production, each with its own name prefix and domain', () => {
    expect(Object.keys(stacks)).toEqual(['wayshub-staging', 'wayshub-production']);
    expect(JSON.stringify(staging)).toContain('"wayshub-staging-proxy"');
    expect(JSON.stringify(staging)).toContain('staging.alvin.xyz');
    expect(JSON.stringify(staging)).not.toContain('wayshub-production');
    expect(JSON.stringify(production)).toContain('"wayshub-production-proxy"');
  });

  test('each has its own Docker host and replica default, and only its own prefixed overrides', () => {
    const host = (json: typeof staging) => (json.provider as { docker: Array<{ host: string }> }).docker[0].host;
    expect(host(staging)).toBe('ssh://deploy@staging.alvin.xyz');
    expect(host(production)).toBe('ssh://deploy@prod.alvin.xyz');
    const variables = (json: typeof staging) => json.variable as Record<string, { default?: unknown }>;
    expect(variables(staging).replicas.default).toBe(2);
    expect(variables(production).replicas.default).toBe(3);
    expect(JSON.stringify(staging)).toContain('127.0.0.1:8080/');
    expect(JSON.stringify(production)).not.toContain('127.0.0.1:8080/');
  });

  test('synthesize with no secret at all: each asks for its own when it is planned', () => {
    const withBackend = TWO.map((d) => ({ ...d, settings: { ...d.settings, backend: { image: 'wayshub-backend:1' } } }));
    const both = synthDeployments(withBackend, {});
    for (const dir of Object.values(both)) {
      const variable = (read(dir).variable as Record<string, { sensitive?: boolean; default?: unknown }>).jwt_private_key;
      expect(variable).toEqual(expect.objectContaining({ sensitive: true }));
      expect(variable.default).toBeUndefined();
    }
  });

  test('an unprefixed override would reach both: it is refused with one line', () => {
    expect(() => resolveDeployments(TWO, { DOCKER_HOST: 'ssh://x@y' })).toThrow(
      'invalid DOCKER_HOST: "ssh://x@y"; main.ts declares 2 deployments (staging, production); allowed: one per deployment, as STAGING_DOCKER_HOST or PRODUCTION_DOCKER_HOST',
    );
  });

  test.each([
    [
      [{ settings: {} }, { env: 'production', settings: {} }],
      'invalid deployments[].env: undefined; allowed: a name for each deployment when there are several, e.g. staging',
    ],
    [[{ env: 'Staging!', settings: {} }], 'invalid deployments[].env: "Staging!"; allowed: 1 to 16 of a-z and 0-9, starting with a letter, e.g. staging'],
    [
      [
        { env: 'prod', settings: {} },
        { env: 'prod', settings: {} },
      ],
      'invalid deployments[].env: "prod"; it is listed twice; allowed: each name once',
    ],
  ])('bad deployments are refused with one line: %j', (deployments, line) => {
    expect(() => resolveDeployments(deployments, {})).toThrow(line);
  });
});

describe('state in PostgreSQL (WAYSHUB_STATE=pg)', () => {
  const stacks = synthDeployments(TWO, { WAYSHUB_STATE: 'pg', PG_CONN_STR: 'postgres://wayshub:s3cret-pg-pass@db:5432/state' });

  test("each stack's state lives in a schema of its own", () => {
    expect(read(stacks['wayshub-staging']).terraform.backend).toEqual({ pg: { schema_name: 'wayshub_staging' } });
    expect(read(stacks['wayshub-production']).terraform.backend).toEqual({ pg: { schema_name: 'wayshub_production' } });
  });

  test('the connection string is never in cdk.tf.json: Terraform reads PG_CONN_STR when it runs', () => {
    for (const dir of Object.values(stacks)) expect(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')).not.toContain('s3cret-pg-pass');
  });

  test('another value is refused with one line', () => {
    expect(() => resolveDeployments(TWO, { WAYSHUB_STATE: 's3' })).toThrow(
      'invalid state (WAYSHUB_STATE): "s3"; allowed: local (state files next to the stack) or pg (PostgreSQL, from PG_CONN_STR)',
    );
  });
});
