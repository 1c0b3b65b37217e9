// Swarm resources of the kreuzwerker/docker 3.6.2 schema (docker_service, docker_secret,
// docker_config) as docker CLI commands: the flags of `docker service create`, and for a
// service that exists, the flags of `docker service update` that move its current spec (from
// `docker service inspect`) to the declared one. Pure: no I/O. Every attribute set must be
// implemented here; anything else is refused by name.
import { Attrs, csvField, pushHealthcheck, pushValue, shellQuote } from './attrs';
import { Json, JsonObject, isObject } from './json-value';

export const SWARM_TYPES = ['docker_service', 'docker_secret', 'docker_config'] as const;

export const SWARM_KNOWN: Record<(typeof SWARM_TYPES)[number], readonly string[]> = {
  docker_service: ['name', 'labels', 'task_spec', 'mode', 'update_config', 'rollback_config', 'endpoint_spec', 'converge_config'],
  docker_secret: ['name', 'data', 'labels'],
  docker_config: ['name', 'data'],
};

/** A Docker secret or config: immutable, so a new content needs a new name. */
export interface SwarmObjectSpec {
  kind: 'secret' | 'config';
  address: string;
  name: string;
  /** The bytes, decoded from the attribute's base64. */
  data: Buffer;
  labels: Record<string, string>;
  attrs: JsonObject;
}

/** One entry of a list the CLI edits with `--x-add` and `--x-rm`: its key for -rm, its value for -add. */
interface ListEntry {
  /** What `--x-rm` takes. */
  key: string;
  /** What `--x-add` (and create's `--x`) takes; equal strings mean equal entries. */
  value: string;
}

/** The lists of a service spec, in the CLI's terms. */
interface ServiceLists {
  env: ListEntry[];
  label: ListEntry[];
  'container-label': ListEntry[];
  constraint: ListEntry[];
  network: ListEntry[];
  publish: ListEntry[];
  mount: ListEntry[];
  secret: ListEntry[];
  config: ListEntry[];
}

const LIST_FLAGS: Record<keyof ServiceLists, { create: string; add: string; rm: string }> = {
  env: { create: '--env', add: '--env-add', rm: '--env-rm' },
  label: { create: '--label', add: '--label-add', rm: '--label-rm' },
  'container-label': { create: '--container-label', add: '--container-label-add', rm: '--container-label-rm' },
  constraint: { create: '--constraint', add: '--constraint-add', rm: '--constraint-rm' },
  network: { create: '--network', add: '--network-add', rm: '--network-rm' },
  publish: { create: '--publish', add: '--publish-add', rm: '--publish-rm' },
  mount: { create: '--mount', add: '--mount-add', rm: '--mount-rm' },
  secret: { create: '--secret', add: '--secret-add', rm: '--secret-rm' },
  config: { create: '--config', add: '--config-add', rm: '--config-rm' },
};

export interface ServiceSpec {
  kind: 'service';
  address: string;
  name: string;
  image: string;
  /** `replicated` or `global`: Swarm can't change it on a running service. */
  mode: 'replicated' | 'global';
  /** Flags both create and update take with the same meaning (the whole value is set). */
  settings: string[];
  /** Set only at creation; a change of these is refused (the provider would recreate the service). */
  createOnly: string[];
  /** `dnsrr` or `vip`, when declared; Swarm can't change it on a running service either. */
  endpointMode: string | undefined;
  lists: ServiceLists;
  /** Capabilities, compared as they are: update can't set them exactly. */
  capabilities: { add: string[]; drop: string[] };
  args: string[];
  /** With converge_config: wait (`--detach=false`) at most this long. */
  convergeSeconds: number | null;
  notes: string[];
  attrs: JsonObject;
}

export function swarmObjectSpec(kind: 'secret' | 'config', address: string, attrs: JsonObject): SwarmObjectSpec {
  const a = new Attrs(attrs, address);
  const name = a.requiredStr('name');
  const base64 = a.requiredStr('data');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw new Error(`local-apply: ${address}: \`data\` must be base64, as the provider requires`);
  const labels: Record<string, string> = {};
  for (const l of a.blocks('labels')) {
    labels[l.requiredStr('label')] = l.requiredStr('value');
    l.finish();
  }
  a.finish();
  return { kind, address, name, data: Buffer.from(base64, 'base64'), labels, attrs };
}

export function serviceSpec(address: string, attrs: JsonObject): ServiceSpec {
  const a = new Attrs(attrs, address);
  const name = a.requiredStr('name');
  const settings: string[] = [];
  const createOnly: string[] = [];
  const notes: string[] = [];
  const lists: ServiceLists = { env: [], label: [], 'container-label': [], constraint: [], network: [], publish: [], mount: [], secret: [], config: [] };
  lists.label = labelEntries(a);

  // ---- mode
  let mode: ServiceSpec['mode'] = 'replicated';
  const m = a.block('mode');
  if (m) {
    const replicated = m.block('replicated');
    if (m.bool('global')) mode = 'global';
    else if (replicated) pushValue(settings, '--replicas', String(replicated.num('replicas') ?? 1));
    replicated?.finish();
    m.finish();
  }
  createOnly.push('--mode', mode);

  // ---- task
  const t = a.block('task_spec');
  if (!t) throw new Error(`local-apply: ${address}: \`task_spec\` is required`);
  const c = t.block('container_spec');
  if (!c) throw new Error(`local-apply: ${address}: \`task_spec.container_spec\` is required`);
  const image = c.requiredStr('image');
  const command = c.strList('command');
  // The CLI's entrypoint is one string split like a shell would: quote each word.
  if (command.length > 0) pushValue(settings, '--entrypoint', command.map(shellQuote).join(' '));
  const args = c.strList('args');
  for (const [key, value] of Object.entries(c.strMap('env')).sort(([x], [y]) => x.localeCompare(y))) lists.env.push({ key, value: `${key}=${value}` });
  lists['container-label'] = labelEntries(c);
  pushValue(settings, '--hostname', c.str('hostname'));
  pushValue(settings, '--user', c.str('user'));
  pushValue(settings, '--workdir', c.str('dir'));
  pushValue(settings, '--stop-signal', c.str('stop_signal'));
  pushValue(settings, '--stop-grace-period', c.duration('stop_grace_period'));
  settings.push(`--read-only=${c.bool('read_only')}`);
  const capabilities = { add: c.strList('cap_add'), drop: c.strList('cap_drop') };
  pushHealthcheck(settings, c, notes, address);
  for (const mount of c.blocks('mounts')) lists.mount.push(mountEntry(mount));
  for (const s of c.blocks('secrets')) lists.secret.push(fileEntry(s, 'secret'));
  for (const s of c.blocks('configs')) lists.config.push(fileEntry(s, 'config'));
  c.finish();

  for (const n of t.blocks('networks_advanced')) {
    const network = n.requiredStr('name');
    const aliases = n.strList('aliases');
    n.finish();
    lists.network.push({ key: network, value: [`name=${network}`, ...aliases.map((alias) => `alias=${alias}`)].map(csvField).join(',') });
  }
  const placement = t.block('placement');
  if (placement) {
    for (const constraint of placement.strList('constraints')) lists.constraint.push({ key: constraint, value: constraint });
    placement.finish();
  }
  const resources = t.block('resources');
  if (resources) {
    const limits = resources.block('limits');
    if (limits) {
      const bytes = limits.num('memory_bytes');
      if (bytes !== undefined) settings.push('--limit-memory', `${bytes}b`);
      const nanoCpus = limits.num('nano_cpus');
      if (nanoCpus !== undefined) settings.push('--limit-cpu', String(nanoCpus / 1e9));
      limits.finish();
    }
    resources.finish();
  }
  const restart = t.block('restart_policy');
  if (restart) {
    pushValue(settings, '--restart-condition', restart.str('condition'));
    pushValue(settings, '--restart-delay', restart.duration('delay'));
    pushValue(settings, '--restart-max-attempts', restart.num('max_attempts')?.toString());
    pushValue(settings, '--restart-window', restart.duration('window'));
    restart.finish();
  }
  const log = t.block('log_driver');
  if (log) {
    settings.push('--log-driver', log.requiredStr('name'));
    for (const [k, v] of Object.entries(log.strMap('options'))) settings.push('--log-opt', `${k}=${v}`);
    log.finish();
  }
  t.finish();

  // ---- rollouts
  for (const [block, prefix] of [
    ['update_config', '--update'],
    ['rollback_config', '--rollback'],
  ] as const) {
    const u = a.block(block);
    if (!u) continue;
    pushValue(settings, `${prefix}-parallelism`, u.num('parallelism')?.toString());
    pushValue(settings, `${prefix}-delay`, u.duration('delay') ?? (u.str('delay') === undefined ? undefined : '0s'));
    pushValue(settings, `${prefix}-failure-action`, u.str('failure_action'));
    pushValue(settings, `${prefix}-monitor`, u.duration('monitor'));
    pushValue(settings, `${prefix}-max-failure-ratio`, u.str('max_failure_ratio'));
    pushValue(settings, `${prefix}-order`, u.str('order'));
    u.finish();
  }

  // ---- endpoint
  const e = a.block('endpoint_spec');
  let endpointMode: string | undefined;
  if (e) {
    endpointMode = e.str('mode');
    if (endpointMode !== undefined) createOnly.push('--endpoint-mode', endpointMode);
    for (const p of e.blocks('ports')) {
      const target = p.requiredNum('target_port');
      const published = p.num('published_port');
      const protocol = p.str('protocol') ?? 'tcp';
      const publishMode = p.str('publish_mode') ?? 'ingress';
      p.finish();
      lists.publish.push({
        key: String(target),
        value: [`mode=${publishMode}`, `target=${target}`, ...(published === undefined ? [] : [`published=${published}`]), `protocol=${protocol}`].join(','),
      });
    }
    e.finish();
  }

  const converge = a.block('converge_config');
  let convergeSeconds: number | null = null;
  if (converge) {
    convergeSeconds = seconds(converge.duration('timeout') ?? '3m');
    converge.duration('delay'); // how often the provider polls; the CLI follows the tasks itself
    converge.finish();
  }
  a.finish();
  return { kind: 'service', address, name, image, mode, settings, createOnly, endpointMode, lists, capabilities, args, convergeSeconds, notes, attrs };
}

/** `docker service create` arguments, without `--detach` and the harness's labels. */
export function serviceCreateArgs(spec: ServiceSpec): string[] {
  const args = ['--name', spec.name, ...spec.createOnly, ...spec.settings];
  for (const c of spec.capabilities.add) args.push('--cap-add', c);
  for (const c of spec.capabilities.drop) args.push('--cap-drop', c);
  for (const [list, flags] of Object.entries(LIST_FLAGS) as [keyof ServiceLists, (typeof LIST_FLAGS)[keyof ServiceLists]][]) {
    for (const entry of spec.lists[list]) args.push(flags.create, entry.value);
  }
  return [...args, spec.image, ...spec.args];
}

/** A running service as `docker service inspect` shows it, in the same terms as ServiceSpec. */
export interface CurrentService {
  mode: 'replicated' | 'global';
  endpointMode: string;
  lists: ServiceLists;
  capabilities: { add: string[]; drop: string[] };
  args: string[];
}

/**
 * `docker service update` arguments (without `--detach` and the service name) that take the
 * current service to the spec: every setting as declared, and each list's entries that differ
 * removed and added. A change the CLI can't make is refused.
 */
export function serviceUpdateArgs(spec: ServiceSpec, current: CurrentService, ownLabels: readonly ListEntry[]): string[] {
  const refuse = (what: string): never => {
    throw new Error(`local-apply: ${spec.address}: changing ${what} of a running service is not implemented by this harness (remove the service first)`);
  };
  if (current.mode !== spec.mode) refuse('the mode');
  if (spec.endpointMode !== undefined && current.endpointMode !== spec.endpointMode) refuse('the endpoint mode');
  // The engine stores CHOWN as CAP_CHOWN.
  const caps = (x: string[]) => x.map((c) => c.toUpperCase().replace(/^CAP_/, '')).sort();
  const sameSet = (x: string[], y: string[]) => caps(x).join() === caps(y).join();
  if (!sameSet(spec.capabilities.add, current.capabilities.add) || !sameSet(spec.capabilities.drop, current.capabilities.drop)) refuse('the capabilities');

  const args = ['--image', spec.image, ...spec.settings, '--args', spec.args.map(shellQuote).join(' ')];
  for (const [list, flags] of Object.entries(LIST_FLAGS) as [keyof ServiceLists, (typeof LIST_FLAGS)[keyof ServiceLists]][]) {
    const wanted = list === 'label' ? [...spec.lists.label, ...ownLabels] : spec.lists[list];
    const have = current.lists[list];
    const wantedValues = new Set(wanted.map((e) => e.value));
    const haveValues = new Set(have.map((e) => e.value));
    // The CLI adds env and labels before it removes, and `--mount-rm T --mount-add ...,target=T`
    // leaves no mount at T (measured): an entry changed in place is only added (the add replaces
    // it); removals are for the keys that go.
    const replacedInPlace = list === 'env' || list === 'label' || list === 'container-label' || list === 'mount';
    const wantedKeys = new Set(wanted.map((e) => e.key));
    for (const e of have) {
      if (wantedValues.has(e.value)) continue;
      if (replacedInPlace && wantedKeys.has(e.key)) continue;
      args.push(flags.rm, e.key);
    }
    for (const e of wanted) if (!haveValues.has(e.value)) args.push(flags.add, e.value);
  }
  return args;
}

/** Reads `docker service inspect` output into the terms of ServiceSpec; `networkNames` maps ids to names. */
export function currentService(inspect: Json, networkNames: ReadonlyMap<string, string>): CurrentService {
  const o = obj(inspect);
  const spec = obj(o.Spec);
  const task = obj(spec.TaskTemplate);
  const c = obj(task.ContainerSpec);
  const lists: ServiceLists = { env: [], label: [], 'container-label': [], constraint: [], network: [], publish: [], mount: [], secret: [], config: [] };
  for (const entry of strings(c.Env)) {
    const at = entry.indexOf('=');
    lists.env.push({ key: at < 0 ? entry : entry.slice(0, at), value: entry });
  }
  lists.label = Object.entries(obj(spec.Labels)).map(([k, v]) => ({ key: k, value: `${k}=${text(v)}` }));
  lists['container-label'] = Object.entries(obj(c.Labels)).map(([k, v]) => ({ key: k, value: `${k}=${text(v)}` }));
  lists.constraint = strings(obj(task.Placement).Constraints).map((x) => ({ key: x, value: x }));
  for (const n of list(task.Networks)) {
    const id = text(n.Target);
    const name = networkNames.get(id) ?? id;
    lists.network.push({ key: id, value: [`name=${name}`, ...strings(n.Aliases).map((alias) => `alias=${alias}`)].map(csvField).join(',') });
  }
  for (const p of list(obj(spec.EndpointSpec).Ports)) {
    const published = typeof p.PublishedPort === 'number' && p.PublishedPort > 0 ? [`published=${p.PublishedPort}`] : [];
    lists.publish.push({
      key: text(p.TargetPort),
      value: [`mode=${text(p.PublishMode ?? 'ingress')}`, `target=${text(p.TargetPort)}`, ...published, `protocol=${text(p.Protocol ?? 'tcp')}`].join(','),
    });
  }
  for (const mount of list(c.Mounts)) lists.mount.push(currentMount(mount));
  for (const s of list(c.Secrets)) lists.secret.push(currentFile(s, 'secret'));
  for (const s of list(c.Configs)) lists.config.push(currentFile(s, 'config'));
  return {
    mode: isObject(obj(spec.Mode).Global) ? 'global' : 'replicated',
    endpointMode: text(obj(spec.EndpointSpec).Mode ?? 'vip'),
    lists,
    capabilities: { add: strings(c.CapabilityAdd), drop: strings(c.CapabilityDrop) },
    args: strings(c.Args),
  };
}

// ------------------------------------------------------------------ entries

function labelEntries(a: Attrs): ListEntry[] {
  return a.blocks('labels').map((l) => {
    const entry = { key: l.requiredStr('label'), value: `${l.requiredStr('label')}=${l.requiredStr('value')}` };
    l.finish();
    return entry;
  });
}

function mountEntry(m: Attrs): ListEntry {
  const type = m.requiredStr('type');
  const target = m.requiredStr('target');
  const source = m.str('source');
  const fields = [`type=${type}`, ...(source === undefined ? [] : [`source=${source}`]), `target=${target}`];
  if (m.bool('read_only')) fields.push('readonly=true');
  const tmpfs = m.block('tmpfs_options');
  if (tmpfs) {
    const size = tmpfs.num('size_bytes');
    if (size !== undefined) fields.push(`tmpfs-size=${size}`);
    tmpfs.finish();
  }
  m.finish();
  return { key: target, value: fields.map(csvField).join(',') };
}

function currentMount(m: JsonObject): ListEntry {
  const target = text(m.Target);
  const fields = [`type=${text(m.Type)}`, ...(m.Source ? [`source=${text(m.Source)}`] : []), `target=${target}`];
  if (m.ReadOnly === true) fields.push('readonly=true');
  const size = obj(m.TmpfsOptions).SizeBytes;
  if (typeof size === 'number') fields.push(`tmpfs-size=${size}`);
  return { key: target, value: fields.map(csvField).join(',') };
}

function fileEntry(s: Attrs, kind: 'secret' | 'config'): ListEntry {
  const name = s.requiredStr(`${kind}_name`);
  s.accept(`${kind}_id`); // the id is the name here (tf-rewrite answers .id with the name)
  const target = s.requiredStr('file_name');
  const mode = s.num('file_mode');
  const uid = s.str('file_uid') ?? '0';
  const gid = s.str('file_gid') ?? '0';
  s.finish();
  return { key: name, value: fileValue(name, target, uid, gid, mode ?? 0o444) };
}

function currentFile(s: JsonObject, kind: 'secret' | 'config'): ListEntry {
  const name = text(kind === 'secret' ? s.SecretName : s.ConfigName);
  const file = obj(s.File);
  return { key: name, value: fileValue(name, text(file.Name), text(file.UID ?? '0'), text(file.GID ?? '0'), Number(file.Mode ?? 0o444)) };
}

function fileValue(name: string, target: string, uid: string, gid: string, mode: number): string {
  return [`source=${name}`, `target=${target}`, `uid=${uid}`, `gid=${gid}`, `mode=0${mode.toString(8)}`].map(csvField).join(',');
}

function seconds(duration: string): number {
  let total = 0;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(n) * units[unit];
  return total;
}

const obj = (v: Json | undefined): JsonObject => (isObject(v) ? v : {});
const text = (v: Json | undefined): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
const list = (v: Json | undefined): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);
const strings = (v: Json | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
