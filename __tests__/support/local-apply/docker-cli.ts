// The Docker Engine side of the local apply: thin wrappers over the `docker` CLI (so it
// talks to whatever engine the CLI does, DOCKER_HOST and contexts included).
import { spawn } from 'node:child_process';

import { Json, isObject, parseJson } from './json-value';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runDocker(args: readonly string[], input?: Buffer, signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // process.env as the caller sees it: under Jest a test's DOCKER_HOST is not the real process's.
    const child = spawn('docker', args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'], signal, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') return resolve({ code: -1, stdout, stderr: `${stderr}${String(signal?.reason ?? 'aborted')}` });
      reject(err.code === 'ENOENT' ? new Error('local-apply: `docker` is not on PATH') : err);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (input && child.stdin) child.stdin.end(input);
  });
}

/** Runs docker and returns its trimmed stdout; throws with docker's stderr on failure. */
export async function docker(args: readonly string[], input?: Buffer): Promise<string> {
  const r = await runDocker(args, input);
  if (r.code !== 0) {
    throw new Error(`docker ${args.slice(0, 3).join(' ')} ... failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout.trim();
}

// ----------------------------------------------------------------- inspect

export interface EngineObject {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** Creation time (RFC 3339), to remove containers newest first. */
  created: string;
}

export interface ContainerObject extends EngineObject {
  running: boolean;
  status: string;
  health: string | undefined;
}

type Kind = 'container' | 'network' | 'volume';

async function inspectAll(kind: Kind, refs: string[]): Promise<Json[]> {
  if (refs.length === 0) return [];
  const doc = parseJson(await docker([kind, 'inspect', ...refs]));
  return Array.isArray(doc) ? doc : [];
}

function labelsOf(v: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

const str = (v: Json | undefined): string => (typeof v === 'string' ? v : '');

function toContainer(j: Json): ContainerObject {
  const o = isObject(j) ? j : {};
  const config = isObject(o.Config) ? o.Config : {};
  const state = isObject(o.State) ? o.State : {};
  const health = isObject(state.Health) ? str(state.Health.Status) : undefined;
  return {
    id: str(o.Id),
    name: str(o.Name).replace(/^\//, ''),
    labels: labelsOf(config.Labels),
    created: str(o.Created),
    running: state.Running === true,
    status: str(state.Status),
    health: health || undefined,
  };
}

function toNetworkOrVolume(j: Json): EngineObject {
  const o = isObject(j) ? j : {};
  return { id: str(o.Id) || str(o.Name), name: str(o.Name), labels: labelsOf(o.Labels), created: str(o.Created) || str(o.CreatedAt) };
}

/** Containers, stopped ones included, that carry `label` (`key=value`). */
export async function containersLabelled(label: string): Promise<ContainerObject[]> {
  const ids = (await docker(['container', 'ls', '--all', '--quiet', '--no-trunc', '--filter', `label=${label}`])).split('\n').filter(Boolean);
  return (await inspectAll('container', ids)).map(toContainer);
}

export async function networksLabelled(label: string): Promise<EngineObject[]> {
  const ids = (await docker(['network', 'ls', '--quiet', '--no-trunc', '--filter', `label=${label}`])).split('\n').filter(Boolean);
  return (await inspectAll('network', ids)).map(toNetworkOrVolume);
}

export async function volumesLabelled(label: string): Promise<EngineObject[]> {
  const names = (await docker(['volume', 'ls', '--quiet', '--filter', `label=${label}`])).split('\n').filter(Boolean);
  return (await inspectAll('volume', names)).map(toNetworkOrVolume);
}

export async function inspectContainer(ref: string): Promise<ContainerObject> {
  const [c] = await inspectAll('container', [ref]);
  return toContainer(c ?? null);
}

export async function exists(kind: Kind, name: string): Promise<boolean> {
  return (await runDocker([kind, 'inspect', name])).code === 0;
}

/** The image's id, or undefined when the engine does not have it. */
export async function imageId(ref: string): Promise<string | undefined> {
  const r = await runDocker(['image', 'inspect', '--format', '{{.Id}}', ref]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

// ------------------------------------------------------------------ change

export async function build(args: readonly string[], context: string): Promise<void> {
  await docker(['build', ...args, context]);
}

export async function createNetwork(name: string, args: readonly string[]): Promise<void> {
  await docker(['network', 'create', ...args, name]);
}

export async function createVolume(name: string, args: readonly string[]): Promise<void> {
  await docker(['volume', 'create', ...args, name]);
}

export async function removeNetwork(name: string): Promise<void> {
  await docker(['network', 'rm', name]);
}

export async function removeVolume(name: string): Promise<void> {
  await docker(['volume', 'rm', name]);
}

/** `docker create`: returns the new container's id. */
export async function createContainer(args: readonly string[]): Promise<string> {
  return docker(['container', 'create', ...args]);
}

export async function connect(network: string, container: string, aliases: readonly string[], ipv4?: string, ipv6?: string): Promise<void> {
  const args = ['network', 'connect', ...aliases.flatMap((a) => ['--alias', a])];
  if (ipv4) args.push('--ip', ipv4);
  if (ipv6) args.push('--ip6', ipv6);
  await docker([...args, network, container]);
}

/** Extracts a tar archive at "/" of a (created, not necessarily started) container. */
export async function copyTar(container: string, tar: Buffer): Promise<void> {
  await docker(['container', 'cp', '-', `${container}:/`], tar);
}

export async function start(container: string): Promise<void> {
  await docker(['container', 'start', container]);
}

/** Blocks until the container's process ends; returns its exit status. */
export async function waitExit(container: string): Promise<number> {
  return Number((await docker(['container', 'wait', container])).trim());
}

/** SIGTERM (or the container's stop signal), then SIGKILL after `seconds`. */
export async function stop(container: string, seconds: number): Promise<void> {
  await docker(['container', 'stop', '--time', String(seconds), container]);
}

export async function remove(container: string, volumes: boolean): Promise<void> {
  await docker(['container', 'rm', '--force', ...(volumes ? ['--volumes'] : []), container]);
}

export async function logsTail(container: string, lines: number): Promise<string> {
  const r = await runDocker(['container', 'logs', '--tail', String(lines), container]);
  return `${r.stdout}${r.stderr}`.trim();
}

// ------------------------------------------------------------------ swarm

export interface SwarmObject {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** `docker service inspect` as it is: swarm-spec.ts reads it. */
  inspect: Json;
}

/** Services, secrets or configs that carry `label` (`key=value`). */
export async function swarmObjectsLabelled(kind: 'service' | 'secret' | 'config', label: string): Promise<SwarmObject[]> {
  const ids = (await docker([kind, 'ls', '--quiet', '--filter', `label=${label}`])).split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const doc = parseJson(await docker([kind, 'inspect', ...ids]));
  return (Array.isArray(doc) ? doc : []).map((j) => {
    const o = isObject(j) ? j : {};
    const spec = isObject(o.Spec) ? o.Spec : {};
    return { id: str(o.ID), name: str(spec.Name), labels: labelsOf(spec.Labels), inspect: j };
  });
}

/** `docker secret create` / `docker config create`, the content on stdin (never in argv). */
export async function createSwarmObject(kind: 'secret' | 'config', name: string, labels: readonly string[], data: Buffer): Promise<void> {
  await docker([kind, 'create', ...labels.flatMap((l) => ['--label', l]), name, '-'], data);
}

export async function removeSwarmObject(kind: 'service' | 'secret' | 'config', name: string): Promise<void> {
  await docker([kind, 'rm', name]);
}

/** Names of networks by id, to read a service's attachments. */
export async function networkNamesById(): Promise<Map<string, string>> {
  const lines = (await docker(['network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}}'])).split('\n').filter(Boolean);
  return new Map(lines.map((line) => line.split(' ') as [string, string]));
}

/** Runs `docker service create|update`; with a timeout it waits for convergence (`--detach=false`). */
export async function runServiceCommand(args: readonly string[], timeoutSeconds: number | null): Promise<RunResult> {
  // No registry to pin the image's digest in: each node uses its local image.
  const detach = [...(timeoutSeconds === null ? ['--detach'] : ['--detach=false', '--quiet']), '--no-resolve-image'];
  const [verb, ...rest] = args;
  if (timeoutSeconds === null) return runDocker(['service', verb, ...detach, ...rest]);
  const signal = AbortSignal.timeout(timeoutSeconds * 1000);
  return runDocker(['service', verb, ...detach, ...rest], undefined, signal);
}

/** Containers of a service's tasks that still exist on this engine (running or not). */
export async function taskContainers(service: string): Promise<string[]> {
  return (await docker(['container', 'ls', '--all', '--quiet', '--filter', `label=com.docker.swarm.service.name=${service}`])).split('\n').filter(Boolean);
}

/** `docker service ps`: each task's state and error, newest first, for error messages. */
export async function taskStates(service: string, limit: number): Promise<string> {
  const r = await runDocker(['service', 'ps', '--no-trunc', '--format', '{{.Name}} {{.Image}} {{.CurrentState}} {{.Error}}', service]);
  return r.stdout.trim().split('\n').slice(0, limit).join('\n');
}

/** Whether this engine is a manager of an active swarm (services can be created here). */
export async function isSwarmManager(): Promise<boolean> {
  const r = await runDocker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}']);
  return r.code === 0 && r.stdout.trim() === 'active true';
}
