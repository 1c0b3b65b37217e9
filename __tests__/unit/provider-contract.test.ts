// Every stack the settings can synthesize, checked against what kreuzwerker/docker 3.6.2 does
// with it (the table in support/provider-contract, each row citing the provider's source). A
// row that fails here is a deploy or a `cdktf diff` that would break for users.
import { WayshubSettingsInput, withEnvironment } from '../../constructs/settings';
import { DOCKER_PROVIDER_3_6_2, contractResources, contractViolations } from '../support/provider-contract/docker-3.6.2';
import { MATRIX, removeFixtures } from '../support/settings-matrix';
import { synthStack } from '../support/synth';

afterAll(removeFixtures);

const swarm = (vars: Record<string, string>): WayshubSettingsInput => withEnvironment({}, { WAYSHUB_ENGINE: 'swarm', ...vars });
// The matrix has the container engine and Swarm cases alike.
const STACKS = MATRIX;

describe('every synthesized stack keeps the provider contract', () => {
  test.each(STACKS)('%s', (_name, input) => {
    expect(contractViolations(synthStack(input).json as never)).toEqual([]);
  });
});

describe('each contract row catches what it describes', () => {
  // The stack as it was before the provider's findings were fixed, one break at a time.
  const broken: Record<string, (r: Record<string, Record<string, Record<string, unknown>>>) => void> = {
    'global-service-without-converge': (r) => {
      r.docker_service.proxy.converge_config = { delay: '1s', timeout: '5m' };
    },
    'service-tmpfs-without-size': (r) => {
      const spec = r.docker_service.proxy.task_spec as { container_spec: { mounts: Array<Record<string, unknown>> } };
      spec.container_spec.mounts[0].tmpfs_options = { size_bytes: 67108864 };
    },
    'service-network-by-id': (r) => {
      (r.docker_service.app.task_spec as { networks_advanced: Array<{ name: string }> }).networks_advanced[0].name = '${docker_network.network.name}';
    },
    'service-values-as-read': (r) => {
      (r.docker_service.app.update_config as Record<string, unknown>).max_failure_ratio = '0';
    },
    'container-stop-grace': (r) => {
      delete r.docker_container.db.destroy_grace_seconds;
    },
    'wait-needs-healthcheck': (r) => {
      r.docker_container.app.healthcheck = { test: ['NONE'] };
    },
    'healthcheck-in-a-label': (r) => {
      const app = r.docker_container.app as { healthcheck: { test: string[] } };
      app.healthcheck.test = ['CMD', 'node', '-e', 'process.exit(0)'];
    },
    'memory-swap-written': (r) => {
      delete r.docker_container.proxy.memory_swap;
    },
    'capabilities-as-stored': (r) => {
      r.docker_container.proxy.capabilities = { drop: ['ALL'], add: ['CHOWN', 'NET_BIND_SERVICE'] };
    },
    'exit-code-checked-once': (r) => {
      const loader = r.docker_container.proxy_config_loader as { lifecycle: { postcondition: Array<{ condition: string }> } };
      loader.lifecycle.postcondition[0].condition = '${self.exit_code == 0}';
    },
    'replaceable-name': (r) => {
      r.docker_container.app.name = 'wayshub-app';
    },
  };

  test('every row has a case here', () => {
    expect(Object.keys(broken).sort()).toEqual(DOCKER_PROVIDER_3_6_2.map((row) => row.id).sort());
  });

  test.each(DOCKER_PROVIDER_3_6_2.map((row) => [row.id, row.source] as const))('%s (%s)', (id) => {
    const stack =
      id.startsWith('global') || id.startsWith('service')
        ? swarm({ WAYSHUB_BACKEND_IMAGE: 'wayshub-backend:1.0' })
        : withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1' });
    const json = synthStack(stack).json as unknown as { resource: Record<string, Record<string, Record<string, unknown>>> };
    expect(contractViolations(json as never)).toEqual([]);
    broken[id](json.resource);
    const found = contractViolations(json as never);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`(${id}: `);
  });

  test('the database, which the backend depends on, is replaced create-before-destroy', () => {
    const json = synthStack(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_MIGRATE_COMMAND: 'npm run migrate' })).json as never;
    const db = contractResources(json).find((r) => r.address === 'docker_container.db');
    expect(db?.stack.get('docker_container.migrate')?.dependsOn).toContain('docker_container.db');
  });
});

describe('a changed healthcheck reaches Docker', () => {
  // The provider neither replaces nor updates a container for its healthcheck alone; the label
  // with the healthcheck's digest is ForceNew, so the replicas are replaced (a rollout).
  const containers = (vars: Record<string, string>) =>
    (synthStack(withEnvironment({}, vars)).json as unknown as { resource: { docker_container: Record<string, Record<string, unknown>> } }).resource
      .docker_container;

  test('a new health path replaces the replicas, through a label the provider replaces them on, and nothing else', () => {
    const before = containers({});
    const after = containers({ WAYSHUB_APP_HEALTH_PATH: '/healthz' });
    const changed = Object.keys(before).filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]));
    expect(changed).toEqual(['app']);
    const label = (c: Record<string, unknown>) => (c.labels as Array<{ label: string; value: string }>).find((l) => l.label === 'wayshub.healthcheck')?.value;
    expect(label(before.app)).toMatch(/^[0-9a-f]{16}$/);
    expect(label(after.app)).not.toBe(label(before.app));
  });
});
