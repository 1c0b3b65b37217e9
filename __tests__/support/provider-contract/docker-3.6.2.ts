// What kreuzwerker/docker 3.6.2 does with the attributes this stack writes, read off its source
// (kreuzwerker/terraform-provider-docker at tag v3.6.2, commit 2f20f8c3, internal/provider/),
// each row with the file and line. `check` looks at one synthesized resource and says how the
// provider would break it, or nothing. The e2e tests prove the same rows on the provider itself
// where one is installed (WAYSHUB_PROVIDER_MIRROR); this table is what CI can check without it.
import { HEALTHCHECK_LABEL, healthcheckDigest } from '../../../constructs/docker/healthcheck-label';
import { serviceDuration } from '../../../constructs/engines/swarm/service-values';
import { JsonObject, isObject } from '../local-apply/json-value';

/** Service attributes that hold a duration the provider reads back. */
const DURATIONS = new Set(['delay', 'monitor', 'window', 'stop_grace_period', 'interval', 'timeout', 'start_period']);

export interface ContractResource {
  /** `docker_service.proxy` */
  address: string;
  type: string;
  body: JsonObject;
  /** Every docker resource of the stack, by address, and what each depends on (refs and depends_on). */
  stack: ReadonlyMap<string, { type: string; body: JsonObject; dependsOn: readonly string[] }>;
}

export interface ContractRow {
  /** Short name, used in test titles and messages. */
  id: string;
  resource: string;
  /** What the provider does, in one sentence. */
  provider: string;
  /** Where, in internal/provider/ at v3.6.2. */
  source: string;
  /** How the stack would break, or undefined when the resource is fine. */
  check(r: ContractResource): string | undefined;
}

const obj = (v: unknown): JsonObject => (isObject(v) ? v : {});
/** A scalar as text (names, targets), never an object's "[object Object]". */
const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const lifecycle = (body: JsonObject): JsonObject => obj(body.lifecycle);
/** Runs without end (a replica, the proxy, the database), unlike a one-shot job. */
const longRunning = (body: JsonObject): boolean => body.restart !== 'no' && body.attach !== true;

export const DOCKER_PROVIDER_3_6_2: readonly ContractRow[] = [
  {
    id: 'global-service-without-converge',
    resource: 'docker_service',
    provider: '`mode.global` conflicts with `converge_config`: the plan fails with "conflicts with converge_config"',
    source: 'resource_docker_service.go:782 (and :953)',
    check: ({ body }) => (obj(body.mode).global === true && body.converge_config !== undefined ? 'sets mode.global together with converge_config' : undefined),
  },
  {
    id: 'service-tmpfs-without-size',
    resource: 'docker_service',
    provider: '`tmpfs_options.size_bytes` is read as int64 from a TypeInt (an int): the provider panics on create',
    source: 'resource_docker_service_structures.go:841',
    check: ({ body }) => {
      const mounts = list(obj(obj(body.task_spec).container_spec).mounts);
      const sized = mounts.map(obj).filter((m) => obj(m.tmpfs_options).size_bytes !== undefined);
      return sized.length ? `sets tmpfs_options.size_bytes on ${sized.map((m) => text(m.target)).join(', ')}` : undefined;
    },
  },
  {
    id: 'service-network-by-id',
    resource: 'docker_service',
    provider: 'a task network is read back as the id Docker stores (`Target`) into `networks_advanced.name`, which is ForceNew',
    source: 'resource_docker_service_structures.go:518; resource_docker_service.go:701-705',
    check: ({ body }) => {
      const names = list(obj(body.task_spec).networks_advanced).map((n) => obj(n).name);
      const byName = names.filter((n) => typeof n !== 'string' || !/^\$\{docker_network\.[\w-]+\.id\}$/.test(n));
      return byName.length ? `names its network as ${byName.map(text).join(', ')}: every plan would replace the service` : undefined;
    },
  },
  {
    id: 'service-values-as-read',
    resource: 'docker_service',
    provider:
      'durations are read back as Go prints them, shortened (60 s is "1m"), and `max_failure_ratio` with one decimal ("0.0"): any other spelling shows as a change on every plan',
    source: 'resource_docker_service_structures.go:76-91, 445-466, 1306-1315',
    check: ({ body }) => {
      const found: string[] = [];
      const walk = (v: unknown, key: string, path: string): void => {
        if (path === 'converge_config') return; // not read back
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, key, `${path}[${i}]`));
        else if (isObject(v)) for (const [k, x] of Object.entries(v)) walk(x, k, path ? `${path}.${k}` : k);
        else if (typeof v === 'string') {
          const seconds = /^(\d+)s$/.exec(v);
          if (DURATIONS.has(key) && seconds && serviceDuration(Number(seconds[1])) !== v)
            found.push(`${path} = ${v} (read back as ${serviceDuration(Number(seconds[1]))})`);
          if (key === 'max_failure_ratio' && !/^\d+\.\d$/.test(v)) found.push(`${path} = ${v} (read back with one decimal)`);
        }
      };
      walk(body, '', '');
      return found.length ? `writes ${found.join(', ')}: every plan would show a change` : undefined;
    },
  },
  {
    id: 'container-stop-grace',
    resource: 'docker_container',
    provider: 'without `destroy_grace_seconds` a replaced or destroyed container is stopped with a timeout of 0, a SIGKILL',
    source: 'resource_docker_container_funcs.go:933-940',
    check: ({ body }) =>
      longRunning(body) && !(typeof body.destroy_grace_seconds === 'number' && body.destroy_grace_seconds > 0)
        ? 'runs without end but sets no destroy_grace_seconds: it would be killed, not stopped'
        : undefined,
  },
  {
    id: 'wait-needs-healthcheck',
    resource: 'docker_container',
    provider:
      '`wait = true` on a container without a healthcheck fails the create ("you have supplied a \'wait\' argument, but the container does not have a healthcheck")',
    source: 'resource_docker_container_funcs.go:542-551',
    check: ({ body }) => {
      if (body.wait !== true) return undefined;
      const test = list(obj(body.healthcheck).test);
      return test.length === 0 || test[0] === 'NONE' ? 'waits for health but has no healthcheck' : undefined;
    },
  },
  {
    id: 'healthcheck-in-a-label',
    resource: 'docker_container',
    provider:
      '`healthcheck` is neither ForceNew nor changed by the update: a container whose healthcheck alone changed keeps the old one, and every later plan shows the change again',
    source:
      'resource_docker_container.go:849-896; resource_docker_container_funcs.go:881-884 (what the update changes) and :801 (the healthcheck read back from Docker); labels are ForceNew at resource_docker_container.go:672-679',
    check: ({ body }) => {
      const h = obj(body.healthcheck);
      const test = list(h.test).map(String);
      if (test.length === 0 || test[0] === 'NONE') return undefined;
      // Never replaced: a change to its settings, the healthcheck among them, stops the plan (the database).
      if (JSON.stringify(lifecycle(body).precondition ?? []).includes('_created_with.input')) return undefined;
      const digest = healthcheckDigest({
        test,
        interval: h.interval as string | undefined,
        timeout: h.timeout as string | undefined,
        startPeriod: h.start_period as string | undefined,
        retries: h.retries as number | undefined,
      });
      const label = list(body.labels)
        .map(obj)
        .find((l) => l.label === HEALTHCHECK_LABEL);
      return label?.value === digest
        ? undefined
        : `has a healthcheck without its digest in the ${HEALTHCHECK_LABEL} label: a change to it alone would never reach Docker`;
    },
  },
  {
    id: 'memory-swap-written',
    resource: 'docker_container',
    provider: '`memory_swap` (not Computed) is read back from Docker, which sets it to twice `memory` when unset: every plan shows a change',
    source: 'resource_docker_container_funcs.go:782-786; resource_docker_container.go:688-693',
    check: ({ body }) =>
      body.memory !== undefined && body.memory_swap === undefined ? 'sets memory without memory_swap: the next plan is never quiet' : undefined,
  },
  {
    id: 'capabilities-as-stored',
    resource: 'docker_container',
    provider:
      'added capabilities are read back as Docker stores them, `CAP_` and the name, into a ForceNew block: any other spelling replaces the container on every plan',
    source: 'resource_docker_container_funcs.go:749-754; resource_docker_container.go:250-254',
    check: ({ body }) => {
      const add = list(obj(body.capabilities).add).map(String);
      const bare = add.filter((c) => !c.startsWith('CAP_') && c !== 'ALL');
      return bare.length ? `adds capabilities without the CAP_ prefix (${bare.join(', ')}): every plan would replace it` : undefined;
    },
  },
  {
    id: 'exit-code-checked-once',
    resource: 'docker_container',
    provider:
      '`exit_code` is read back into the state and stays there; Terraform checks a postcondition on it again at every plan of an unchanged container, so one failed run fails every later plan',
    source: 'resource_docker_container_funcs.go:691; resource_docker_container.go:117',
    check: ({ body }) => {
      const conditions = list(lifecycle(body).postcondition).map((c) => text(obj(c).condition));
      const replacedEveryApply = JSON.stringify(body.env ?? []).includes('timestamp()}') && !list(lifecycle(body).ignore_changes).includes('env');
      const once = (c: string) => c.includes('plantimestamp()') && list(lifecycle(body).ignore_changes).includes('env');
      return !replacedEveryApply && conditions.some((c) => c.includes('self.exit_code') && !once(c))
        ? 'checks exit_code after its run on every later plan too: one failed run would fail them all'
        : undefined;
    },
  },
  {
    id: 'replaceable-name',
    resource: 'docker_container',
    provider:
      '`name` is ForceNew and Docker refuses two containers of one name; a container that is create_before_destroy, or that one depends on (Terraform extends it), is created before its old self is gone',
    source: 'resource_docker_container.go:38-43',
    check: ({ address, body, stack }) => {
      if (typeof body.name === 'string' && body.name.includes('${')) return undefined;
      // A replacement refused at plan: by prevent_destroy, or by a precondition that compares
      // what the container was created with (kept by a terraform_data) with what is declared.
      if (lifecycle(body).prevent_destroy === true || JSON.stringify(lifecycle(body).precondition ?? []).includes('_created_with.input')) return undefined;
      const firstCreated = createBeforeDestroy(stack);
      return firstCreated.has(address) ? `is created before it is destroyed under a fixed name (${text(body.name)}): every replacement would fail` : undefined;
    },
  },
];

/** Addresses Terraform replaces create-before-destroy: those that say so, and what they depend on. */
function createBeforeDestroy(stack: ContractResource['stack']): Set<string> {
  const out = new Set<string>();
  const visit = (address: string): void => {
    if (out.has(address)) return;
    out.add(address);
    for (const dep of stack.get(address)?.dependsOn ?? []) visit(dep);
  };
  for (const [address, r] of stack) if (lifecycle(r.body).create_before_destroy === true) visit(address);
  return out;
}

/** Every docker resource of a synthesized stack, with its dependencies on the others. */
export function contractResources(json: JsonObject): ContractResource[] {
  const resource = obj(json.resource);
  const stack = new Map<string, { type: string; body: JsonObject; dependsOn: string[] }>();
  for (const [type, byName] of Object.entries(resource)) {
    if (!type.startsWith('docker_') && type !== 'terraform_data') continue;
    for (const [name, body] of Object.entries(obj(byName))) {
      const b = obj(body);
      const text = JSON.stringify({ ...b, depends_on: undefined });
      const refs = [...text.matchAll(/\b((?:docker_\w+|terraform_data)\.[\w-]+)\b/g)].map((m) => m[1]);
      stack.set(`${type}.${name}`, { type, body: b, dependsOn: [...new Set([...refs, ...list(b.depends_on).map(String)])] });
    }
  }
  return [...stack].filter(([, r]) => r.type.startsWith('docker_')).map(([address, r]) => ({ address, type: r.type, body: r.body, stack }));
}

/** How the provider would break this stack: one line per row and resource. */
export function contractViolations(json: JsonObject): string[] {
  return contractResources(json).flatMap((r) =>
    DOCKER_PROVIDER_3_6_2.filter((row) => row.resource === r.type).flatMap((row) => {
      const broken = row.check(r);
      return broken ? [`${r.address} ${broken} (${row.id}: ${row.source})`] : [];
    }),
  );
}
