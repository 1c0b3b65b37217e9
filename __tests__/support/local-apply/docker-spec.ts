// Turns the evaluated attributes of a docker resource (kreuzwerker/docker 3.6.2 schema,
// snake_case as in the synthesized JSON) into what the docker CLI must do to realize it.
// Pure: no I/O. Every attribute that is set must be implemented here, or be listed as
// having no effect on the engine objects; anything else throws, naming the attribute.
import path from 'node:path';

import { Attrs, csvField, notImplemented, pushHealthcheck, pushLabels, pushMap, pushValue } from './attrs';
import { JsonObject } from './json-value';
import { SWARM_KNOWN, SWARM_TYPES, ServiceSpec, SwarmObjectSpec, serviceSpec, swarmObjectSpec } from './swarm-spec';

export const SUPPORTED_TYPES = ['docker_network', 'docker_volume', 'docker_image', 'docker_container', ...SWARM_TYPES] as const;
export type DockerType = (typeof SUPPORTED_TYPES)[number];

export function isSupportedType(type: string): type is DockerType {
  return (SUPPORTED_TYPES as readonly string[]).includes(type);
}

/** One evaluated instance: `docker_container.app[2]` with its attributes. */
export interface EvaluatedInstance {
  type: DockerType;
  /** The resource: `docker_container.app`. */
  resource: string;
  /** The instance: `docker_container.app[2]`. */
  address: string;
  attrs: JsonObject;
}

export interface NetworkSpec {
  kind: 'network';
  address: string;
  name: string;
  /** `docker network create` arguments, without the name and the harness's labels. */
  createArgs: string[];
  attrs: JsonObject;
}

export interface VolumeSpec {
  kind: 'volume';
  address: string;
  name: string;
  createArgs: string[];
  attrs: JsonObject;
}

export interface ImageSpec {
  kind: 'image';
  address: string;
  name: string;
  /** `docker build` arguments (tags included), and the context directory last. */
  build: { args: string[]; context: string } | null;
  attrs: JsonObject;
}

export interface NetworkAttachment {
  name: string;
  aliases: string[];
  ipv4: string | undefined;
  ipv6: string | undefined;
}

export interface Upload {
  /** Absolute path in the container. */
  file: string;
  mode: number;
  /** The bytes, or a host file to read them from (`source`). */
  content: Buffer | { source: string };
}

export interface ContainerSpec {
  kind: 'container';
  address: string;
  name: string;
  image: string;
  /** `docker create` arguments before the image, without the name and the harness's labels. */
  createArgs: string[];
  /** After the image: the rest of the entrypoint, then the command. */
  commandArgs: string[];
  /** networks_advanced after the first, connected before the container starts. */
  extraNetworks: NetworkAttachment[];
  uploads: Upload[];
  start: boolean;
  mustRun: boolean;
  /** Wait until healthy (provider `wait`), in seconds, or null. */
  waitSeconds: number | null;
  /** Wait until the process ends (provider `attach`): one-shot jobs run before what depends on them. */
  attach: boolean;
  /** With attach: the postcondition `self.exit_code == 0` and its error message. */
  exitCodeCheck?: string;
  destroyGraceSeconds: number;
  removeVolumes: boolean;
  /** Networks and volumes it uses by name: a change to a managed one replaces the container. */
  networks: string[];
  volumes: string[];
  /** Where the harness differs from the provider in a way worth a log line. */
  notes: string[];
  attrs: JsonObject;
}

export type DockerSpec = NetworkSpec | VolumeSpec | ImageSpec | ContainerSpec | ServiceSpec | SwarmObjectSpec;

// Top-level attributes each type implements or accepts; checked on the synthesized JSON
// before Terraform runs, so a stack using anything else fails before changing state.
const KNOWN: Record<DockerType, readonly string[]> = {
  ...SWARM_KNOWN,
  docker_network: ['name', 'driver', 'internal', 'attachable', 'ipv6', 'options', 'ipam_driver', 'ipam_options', 'ipam_config', 'labels', 'check_duplicate'],
  docker_volume: ['name', 'driver', 'driver_opts', 'labels'],
  docker_image: ['name', 'build', 'keep_locally', 'force_remove', 'triggers', 'timeouts'],
  docker_container: [
    'name',
    'image',
    'hostname',
    'domainname',
    'user',
    'working_dir',
    'env',
    'command',
    'entrypoint',
    'labels',
    'restart',
    'max_retry_count',
    'memory',
    'memory_swap',
    'shm_size',
    'cpu_shares',
    'cpus',
    'cpu_set',
    'cpu_period',
    'cpu_quota',
    'stop_signal',
    'stop_timeout',
    'log_driver',
    'log_opts',
    'read_only',
    'privileged',
    'publish_all_ports',
    'init',
    'tty',
    'stdin_open',
    'rm',
    'tmpfs',
    'capabilities',
    'security_opts',
    'dns',
    'dns_opts',
    'dns_search',
    'group_add',
    'sysctls',
    'storage_opts',
    'ipc_mode',
    'pid_mode',
    'userns_mode',
    'runtime',
    'cgroup_parent',
    'cgroupns_mode',
    'host',
    'ulimit',
    'devices',
    'ports',
    'volumes',
    'mounts',
    'healthcheck',
    'networks_advanced',
    'network_mode',
    'upload',
    'must_run',
    'start',
    'destroy_grace_seconds',
    'remove_volumes',
    'wait',
    'attach',
    'logs',
    'wait_timeout',
    'container_read_refresh_timeout_milliseconds',
  ],
};

/** Refuses, before anything runs, a resource type or top-level attribute the harness lacks. */
export function assertImplemented(type: string, address: string, attributes: readonly string[]): void {
  if (!isSupportedType(type)) {
    throw new Error(`local-apply: ${address}: resource type ${type} is not implemented by this harness (it knows ${SUPPORTED_TYPES.join(', ')})`);
  }
  for (const attr of attributes) {
    if (!KNOWN[type].includes(attr)) throw notImplemented(address, attr);
  }
}

export function buildSpec(instance: EvaluatedInstance, baseDir: string): DockerSpec {
  switch (instance.type) {
    case 'docker_network':
      return networkSpec(instance);
    case 'docker_volume':
      return volumeSpec(instance);
    case 'docker_image':
      return imageSpec(instance, baseDir);
    case 'docker_container':
      return containerSpec(instance, baseDir);
    case 'docker_service':
      return serviceSpec(instance.address, instance.attrs);
    case 'docker_secret':
      return swarmObjectSpec('secret', instance.address, instance.attrs);
    case 'docker_config':
      return swarmObjectSpec('config', instance.address, instance.attrs);
  }
}

// ------------------------------------------------------------------ network

function networkSpec(inst: EvaluatedInstance): NetworkSpec {
  const a = new Attrs(inst.attrs, inst.address);
  const args: string[] = [];
  pushValue(args, '--driver', a.str('driver'));
  if (a.bool('internal')) args.push('--internal');
  if (a.bool('attachable')) args.push('--attachable');
  if (a.bool('ipv6')) args.push('--ipv6');
  pushMap(args, '--opt', a.strMap('options'));
  pushValue(args, '--ipam-driver', a.str('ipam_driver'));
  pushMap(args, '--ipam-opt', a.strMap('ipam_options'));
  for (const ipam of a.blocks('ipam_config')) {
    pushValue(args, '--subnet', ipam.str('subnet'));
    pushValue(args, '--gateway', ipam.str('gateway'));
    pushValue(args, '--ip-range', ipam.str('ip_range'));
    pushMap(args, '--aux-address', ipam.strMap('aux_address'));
    ipam.finish();
  }
  pushLabels(args, a);
  a.accept('check_duplicate'); // deprecated; the engine refuses duplicate names on its own
  const name = a.requiredStr('name');
  a.finish();
  return { kind: 'network', address: inst.address, name, createArgs: args, attrs: inst.attrs };
}

// ------------------------------------------------------------------- volume

function volumeSpec(inst: EvaluatedInstance): VolumeSpec {
  const a = new Attrs(inst.attrs, inst.address);
  const args: string[] = [];
  pushValue(args, '--driver', a.str('driver'));
  pushMap(args, '--opt', a.strMap('driver_opts'));
  pushLabels(args, a);
  // The provider would invent a name; the harness needs one to find the volume again.
  const name = a.requiredStr('name');
  a.finish();
  return { kind: 'volume', address: inst.address, name, createArgs: args, attrs: inst.attrs };
}

// -------------------------------------------------------------------- image

function imageSpec(inst: EvaluatedInstance, baseDir: string): ImageSpec {
  const a = new Attrs(inst.attrs, inst.address);
  const name = a.requiredStr('name');
  // Images are inputs the tests prepared, never removed: keep_locally/force_remove only
  // matter on removal. triggers only force a rebuild, and every apply rebuilds (cached).
  a.accept('keep_locally', 'force_remove', 'triggers', 'timeouts');
  const b = a.block('build');
  let build: ImageSpec['build'] = null;
  if (b) {
    const context = path.resolve(baseDir, b.requiredStr('context'));
    const args = ['-t', name];
    for (const tag of b.strList('tag')) args.push('-t', tag);
    const dockerfile = b.str('dockerfile');
    if (dockerfile !== undefined) args.push('-f', path.resolve(context, dockerfile));
    pushMap(args, '--build-arg', { ...b.strMap('build_arg'), ...b.strMap('build_args') });
    pushMap(args, '--label', { ...b.strMap('label'), ...b.strMap('labels') });
    pushValue(args, '--target', b.str('target'));
    pushValue(args, '--network', b.str('network_mode'));
    for (const h of b.strList('extra_hosts')) args.push('--add-host', h);
    for (const c of b.strList('cache_from')) args.push('--cache-from', c);
    const shm = b.num('shm_size');
    if (shm !== undefined) args.push('--shm-size', `${shm}b`);
    if (b.bool('no_cache')) args.push('--no-cache');
    if (b.bool('pull_parent')) args.push('--pull');
    if (b.bool('force_remove')) args.push('--force-rm');
    if (!b.bool('remove', true)) args.push('--rm=false');
    if (b.bool('suppress_output')) args.push('--quiet');
    b.finish();
    build = { args, context };
  }
  a.finish();
  return { kind: 'image', address: inst.address, name, build, attrs: inst.attrs };
}

// ---------------------------------------------------------------- container

function containerSpec(inst: EvaluatedInstance, baseDir: string): ContainerSpec {
  const a = new Attrs(inst.attrs, inst.address);
  const name = a.requiredStr('name');
  const image = a.requiredStr('image');
  const args: string[] = [];
  const notes: string[] = [];

  const strings: [string, string][] = [
    ['hostname', '--hostname'],
    ['domainname', '--domainname'],
    ['user', '--user'],
    ['working_dir', '--workdir'],
    ['stop_signal', '--stop-signal'],
    ['log_driver', '--log-driver'],
    ['ipc_mode', '--ipc'],
    ['pid_mode', '--pid'],
    ['userns_mode', '--userns'],
    ['runtime', '--runtime'],
    ['cgroup_parent', '--cgroup-parent'],
    ['cgroupns_mode', '--cgroupns'],
    ['cpu_set', '--cpuset-cpus'],
    ['cpus', '--cpus'],
  ];
  for (const [attr, flag] of strings) pushValue(args, flag, a.str(attr));
  const numbers: [string, string][] = [
    ['stop_timeout', '--stop-timeout'],
    ['cpu_shares', '--cpu-shares'],
    ['cpu_period', '--cpu-period'],
    ['cpu_quota', '--cpu-quota'],
  ];
  for (const [attr, flag] of numbers) pushValue(args, flag, a.num(attr)?.toString());
  const booleans: [string, string][] = [
    ['read_only', '--read-only'],
    ['privileged', '--privileged'],
    ['publish_all_ports', '--publish-all'],
    ['init', '--init'],
    ['tty', '--tty'],
    ['stdin_open', '--interactive'],
    ['rm', '--rm'],
  ];
  for (const [attr, flag] of booleans) if (a.bool(attr)) args.push(flag);
  const lists: [string, string][] = [
    ['env', '--env'],
    ['security_opts', '--security-opt'],
    ['dns', '--dns'],
    ['dns_opts', '--dns-option'],
    ['dns_search', '--dns-search'],
    ['group_add', '--group-add'],
  ];
  for (const [attr, flag] of lists) for (const v of a.strList(attr)) args.push(flag, v);
  const maps: [string, string][] = [
    ['log_opts', '--log-opt'],
    ['sysctls', '--sysctl'],
    ['storage_opts', '--storage-opt'],
  ];
  for (const [attr, flag] of maps) pushMap(args, flag, a.strMap(attr));

  // Sizes are in MB in the provider's schema; a swap of -1 means unlimited.
  const mb = (v: number | undefined): string | undefined => (v === undefined ? undefined : `${v}m`);
  pushValue(args, '--memory', mb(a.num('memory')));
  const swap = a.num('memory_swap');
  pushValue(args, '--memory-swap', swap === -1 ? '-1' : mb(swap));
  pushValue(args, '--shm-size', mb(a.num('shm_size')));

  const restart = a.str('restart');
  const retries = a.num('max_retry_count');
  if (retries !== undefined && restart !== 'on-failure') {
    throw new Error(`local-apply: ${inst.address}: max_retry_count needs restart = "on-failure"`);
  }
  pushValue(args, '--restart', retries !== undefined ? `on-failure:${retries}` : restart);

  pushLabels(args, a);
  for (const [p, opts] of Object.entries(a.strMap('tmpfs'))) args.push('--tmpfs', opts ? `${p}:${opts}` : p);
  const caps = a.block('capabilities');
  if (caps) {
    for (const c of caps.strList('add')) args.push('--cap-add', c);
    for (const c of caps.strList('drop')) args.push('--cap-drop', c);
    caps.finish();
  }
  for (const h of a.blocks('host')) {
    args.push('--add-host', `${h.requiredStr('host')}:${h.requiredStr('ip')}`);
    h.finish();
  }
  for (const u of a.blocks('ulimit')) {
    args.push('--ulimit', `${u.requiredStr('name')}=${u.requiredNum('soft')}:${u.requiredNum('hard')}`);
    u.finish();
  }
  for (const d of a.blocks('devices')) {
    const parts = [d.requiredStr('host_path'), d.str('container_path'), d.str('permissions')];
    args.push('--device', parts.filter((p) => p !== undefined).join(':'));
    d.finish();
  }
  for (const p of a.blocks('ports')) args.push('--publish', portArg(p));
  pushHealthcheck(args, a, notes, inst.address);

  const volumes: string[] = [];
  for (const v of a.blocks('volumes')) args.push(...volumeArgs(v, volumes, baseDir));
  for (const m of a.blocks('mounts')) args.push('--mount', mountArg(m, volumes));

  const { first, extra } = networkArgs(a, args, inst.address);

  const entrypoint = a.strList('entrypoint');
  const command = a.strList('command');
  // The CLI takes one entrypoint word; the rest goes first in the command. The process
  // runs the same argv, and as with the provider the image's CMD is not inherited.
  if (entrypoint.length > 0) args.push('--entrypoint', entrypoint[0]);
  const commandArgs = [...entrypoint.slice(1), ...command];

  const uploads = a.blocks('upload').map((u) => upload(u, baseDir));

  const start = a.bool('start', true);
  const mustRun = a.bool('must_run', true);
  const wait = a.bool('wait');
  const attach = a.bool('attach');
  a.bool('logs'); // with attach, the provider copies the output into its log; no engine effect
  const waitTimeout = a.num('wait_timeout') ?? 60;
  // Unset, the provider stops with a timeout of 0: a SIGKILL (resource_docker_container_funcs.go:933-940).
  const destroyGraceSeconds = a.num('destroy_grace_seconds') ?? 0;
  const removeVolumes = a.bool('remove_volumes', true);
  a.accept('container_read_refresh_timeout_milliseconds'); // how long the provider polls; no engine effect
  a.finish();

  return {
    kind: 'container',
    address: inst.address,
    name,
    image,
    createArgs: args,
    commandArgs,
    extraNetworks: extra,
    uploads,
    start,
    mustRun,
    waitSeconds: wait ? waitTimeout : null,
    attach,
    destroyGraceSeconds,
    removeVolumes,
    networks: [first, ...extra].flatMap((n) => (n ? [n.name] : [])),
    volumes,
    notes,
    attrs: inst.attrs,
  };
}

function portArg(p: Attrs): string {
  const internal = p.requiredNum('internal');
  const external = p.num('external');
  const ip = p.str('ip') ?? '0.0.0.0';
  const protocol = p.str('protocol') ?? 'tcp';
  p.finish();
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `${host}:${external ?? ''}:${internal}/${protocol}`;
}

function volumeArgs(v: Attrs, volumes: string[], baseDir: string): string[] {
  const from = v.str('from_container');
  const volumeName = v.str('volume_name');
  const hostPath = v.str('host_path');
  const target = v.str('container_path');
  const ro = v.bool('read_only');
  v.finish();
  if (from !== undefined) return ['--volumes-from', from];
  if (target === undefined) throw new Error(`local-apply: ${v.at}: volumes needs container_path (or from_container)`);
  if (volumeName !== undefined) volumes.push(volumeName);
  const source = volumeName ?? (hostPath === undefined ? undefined : path.resolve(baseDir, hostPath));
  const spec = [source, target, ro ? 'ro' : undefined].filter((p) => p !== undefined).join(':');
  return ['--volume', spec];
}

function mountArg(m: Attrs, volumes: string[]): string {
  const type = m.requiredStr('type');
  const fields: string[] = [`type=${type}`, `target=${m.requiredStr('target')}`];
  const source = m.str('source');
  if (source !== undefined) {
    fields.push(`source=${source}`);
    if (type === 'volume') volumes.push(source);
  }
  if (m.bool('read_only')) fields.push('readonly');
  const bind = m.block('bind_options');
  if (bind) {
    const propagation = bind.str('propagation');
    if (propagation !== undefined) fields.push(`bind-propagation=${propagation}`);
    bind.finish();
  }
  const tmpfs = m.block('tmpfs_options');
  if (tmpfs) {
    const size = tmpfs.num('size_bytes');
    const mode = tmpfs.num('mode');
    if (size !== undefined) fields.push(`tmpfs-size=${size}`);
    if (mode !== undefined) fields.push(`tmpfs-mode=${mode.toString(8)}`); // the provider's mode is an integer file mode
    tmpfs.finish();
  }
  const vol = m.block('volume_options');
  if (vol) {
    if (vol.bool('no_copy')) fields.push('volume-nocopy');
    const driver = vol.str('driver_name');
    if (driver !== undefined) fields.push(`volume-driver=${driver}`);
    for (const [k, v] of Object.entries(vol.strMap('driver_options'))) fields.push(`volume-opt=${k}=${v}`);
    for (const l of vol.blocks('labels')) {
      fields.push(`volume-label=${l.requiredStr('label')}=${l.requiredStr('value')}`);
      l.finish();
    }
    vol.finish(); // subpath needs Engine API 1.45: refused
  }
  m.finish();
  return fields.map(csvField).join(',');
}

// The provider creates the container on the default bridge, disconnects it, and connects
// every networks_advanced entry; creating on the first and connecting the rest before the
// start gives the same attachments.
function networkArgs(a: Attrs, args: string[], address: string): { first: NetworkAttachment | undefined; extra: NetworkAttachment[] } {
  const attachments = a.blocks('networks_advanced').map((n): NetworkAttachment => {
    const att = { name: n.requiredStr('name'), aliases: n.strList('aliases'), ipv4: n.str('ipv4_address'), ipv6: n.str('ipv6_address') };
    n.finish();
    return att;
  });
  const mode = a.str('network_mode');
  if (attachments.length === 0) {
    pushValue(args, '--network', mode);
    return { first: undefined, extra: [] };
  }
  if (mode !== undefined && mode !== 'bridge') {
    throw new Error(`local-apply: ${address}: network_mode = "${mode}" together with networks_advanced is not implemented`);
  }
  const [first, ...extra] = attachments;
  args.push('--network', first.name);
  for (const alias of first.aliases) args.push('--network-alias', alias);
  pushValue(args, '--ip', first.ipv4);
  pushValue(args, '--ip6', first.ipv6);
  return { first, extra };
}

function upload(u: Attrs, baseDir: string): Upload {
  const file = u.requiredStr('file');
  const content = u.str('content');
  const base64 = u.str('content_base64');
  const source = u.str('source');
  const permissions = u.str('permissions');
  const executable = u.bool('executable');
  u.accept('source_hash'); // only a trigger for replacement, and it is part of the hashed spec
  u.finish();
  const set = [content, base64, source].filter((v) => v !== undefined).length;
  if (set !== 1) throw new Error(`local-apply: ${u.at}: exactly one of content, content_base64 or source must be set`);
  if (!path.isAbsolute(file)) throw new Error(`local-apply: ${u.at}: file must be an absolute path, got ${file}`);
  if (permissions !== undefined && !/^0?[0-7]{3}$/.test(permissions)) {
    throw new Error(`local-apply: ${u.at}: permissions must be an octal mode like "0644", got ${permissions}`);
  }
  // As the provider: `permissions` wins, then executable (0744), else 0644.
  const mode = permissions !== undefined ? parseInt(permissions, 8) : executable ? 0o744 : 0o644;
  const bytes: Upload['content'] =
    content !== undefined
      ? Buffer.from(content, 'utf8')
      : base64 !== undefined
        ? Buffer.from(base64, 'base64')
        : { source: path.resolve(baseDir, source ?? '') };
  return { file, mode, content: bytes };
}
