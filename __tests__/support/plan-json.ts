// Terraform JSON plans (`terraform show -json <planfile>`, format 1.2) and their text, built for
// the review tests: the shapes Terraform 1.11 prints (resource_changes with previous_address,
// importing and forget; resource_drift; output_changes; the provider's labels blocks), in sizes
// no hand-written fixture reaches.

export interface ResourceChangeJson {
  address: string;
  type: string;
  actions: string[];
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  after_unknown?: Record<string, unknown>;
  before_sensitive?: Record<string, unknown> | false;
  after_sensitive?: Record<string, unknown> | false;
  replace_paths?: string[][];
  previous_address?: string;
  importing?: { id: string };
  action_reason?: string;
}

export interface PlanJsonOptions {
  drift?: ResourceChangeJson[];
  outputs?: Record<string, { actions: string[]; before: unknown; after: unknown; sensitive?: boolean }>;
  /** The plan's own time: plantimestamp(). */
  timestamp?: string;
  /** Variables by name: value, and whether the configuration declares it sensitive. */
  variables?: Record<string, { value: unknown; sensitive?: boolean }>;
}

export function planJson(changes: ResourceChangeJson[], options: PlanJsonOptions = {}): object {
  const entry = (c: ResourceChangeJson) => ({
    address: c.address,
    ...(c.previous_address ? { previous_address: c.previous_address } : {}),
    mode: 'managed',
    type: c.type,
    name: c.address.replace(/^[^.]+\./, '').replace(/\[.*$/, ''),
    provider_name: c.type === 'terraform_data' ? 'terraform.io/builtin/terraform' : 'registry.terraform.io/kreuzwerker/docker',
    change: {
      actions: c.actions,
      before: c.before ?? null,
      after: c.after ?? null,
      after_unknown: c.after_unknown ?? {},
      before_sensitive: c.before_sensitive ?? {},
      after_sensitive: c.after_sensitive ?? {},
      ...(c.replace_paths ? { replace_paths: c.replace_paths } : {}),
      ...(c.importing ? { importing: c.importing } : {}),
    },
    ...(c.action_reason ? { action_reason: c.action_reason } : {}),
  });
  const variables = options.variables ?? {};
  return {
    format_version: '1.2',
    terraform_version: '1.11.4',
    variables: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, { value: v.value }])),
    planned_values: { root_module: {} },
    resource_drift: (options.drift ?? []).map(entry),
    resource_changes: changes.map(entry),
    output_changes: Object.fromEntries(
      Object.entries(options.outputs ?? {}).map(([name, o]) => [
        name,
        {
          actions: o.actions,
          before: o.before,
          after: o.after,
          after_unknown: false,
          before_sensitive: o.sensitive ?? false,
          after_sensitive: o.sensitive ?? false,
        },
      ]),
    ),
    configuration: {
      root_module: { variables: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, v.sensitive ? { sensitive: true } : {}])) },
    },
    timestamp: options.timestamp ?? '2026-12-05T10:00:00Z',
    applyable: true,
    complete: true,
    errored: false,
  };
}

/** The provider's labels blocks, with the stack's role label. */
export const labels = (role: string, stack = 'wayshub') => [
  { label: 'wayshub.role', value: role },
  { label: 'wayshub.stack', value: stack },
];

/** YYMMDDhhmmss of an RFC 3339 time: formatdate("YYMMDDhhmmss", plantimestamp()). */
const stampOf = (time: string) => time.replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d).*$/, '$1$2$3$4$5$6');

/**
 * A rollout of `count` replicas of one tier to a new image: each replaced, new one first, under
 * a new name stamped with the plan's time (constructs/engines/containers/replica-containers.ts).
 */
export function replicaRollout(tier: string, count: number, opts: { from: string; to: string; planTime: string; prefix?: string }): ResourceChangeJson[] {
  const prefix = opts.prefix ?? 'wayshub';
  return Array.from({ length: count }, (_, i) => {
    const common = {
      restart: 'unless-stopped',
      memory: 256,
      memory_swap: 256,
      destroy_grace_seconds: 10,
      labels: labels('app', prefix),
      env: [`PORT=${tier === 'api' ? 5000 : 3000}`, 'NODE_ENV=production'],
      wait: true,
      wait_timeout: 60,
      // What else the provider prints for each container: a real plan's text is this long.
      attach: false,
      cpu_shares: 0,
      dns: [],
      entrypoint: [],
      init: false,
      ipc_mode: 'private',
      log_driver: 'json-file',
      log_opts: { 'max-file': '3', 'max-size': '10m' },
      logs: false,
      max_retry_count: 0,
      must_run: true,
      network_mode: 'bridge',
      privileged: false,
      publish_all_ports: false,
      read_only: true,
      remove_volumes: true,
      rm: false,
      security_opts: ['no-new-privileges:true'],
      shm_size: 64,
      start: true,
      stop_signal: 'SIGTERM',
      stop_timeout: 0,
      tmpfs: { '/tmp': 'rw,noexec,nosuid,size=16m' },
      capabilities: [{ add: [], drop: ['ALL'] }],
      healthcheck: [{ test: ['CMD', 'node', '/healthcheck.js'], interval: '5s', timeout: '3s', retries: 3, start_period: '10s' }],
      networks_advanced: [{ name: `${prefix}-net`, aliases: [`${prefix}-${tier}`], ipv4_address: '', ipv6_address: '' }],
    };
    return {
      address: `docker_container.${tier}[${i}]`,
      type: 'docker_container',
      actions: ['create', 'delete'],
      before: { ...common, id: `c0ffee${i}`, name: `${prefix}-${tier}-261201090000-${i + 1}`, hostname: `h${i}`, image: opts.from },
      after: { ...common, name: `${prefix}-${tier}-${stampOf(opts.planTime)}-${i + 1}`, image: opts.to },
      after_unknown: { id: true, hostname: true, network_data: true, container_logs: true, exit_code: true },
      replace_paths: [['image']],
    };
  });
}

/** Terraform's text of a plan, as `terraform show -no-color` prints it, near enough in size and shape. */
export function planText(changes: readonly ResourceChangeJson[]): string {
  const blocks = changes.map((c) => {
    const verb = c.actions.join() === 'create,delete' ? 'must be replaced' : c.actions.join() === 'delete' ? 'will be destroyed' : 'will be updated in-place';
    const sign = c.actions.join() === 'create,delete' ? '+/-' : c.actions.join() === 'delete' ? '-' : '~';
    const lines = Object.entries(c.after ?? c.before ?? {}).map(([k, v]) => {
      const before = c.before?.[k];
      const value = JSON.stringify(v);
      return before !== undefined && JSON.stringify(before) !== value ? `      ~ ${k} = ${JSON.stringify(before)} -> ${value}` : `        ${k} = ${value}`;
    });
    return [`  # ${c.address} ${verb}`, `${sign} resource "${c.type}" "${c.address.replace(/^[^.]+\./, '')}" {`, ...lines, '    }', ''].join('\n');
  });
  return [
    'Terraform will perform the following actions:',
    '',
    ...blocks,
    `Plan: ${changes.length} to add, 0 to change, ${changes.length} to destroy.`,
    '',
  ].join('\n');
}
