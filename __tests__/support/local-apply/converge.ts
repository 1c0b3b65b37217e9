// Converges the Docker Engine to the evaluated specs, as a second `terraform apply` with
// the docker provider would: create what is missing, replace what changed, remove what is
// no longer declared, leave the rest alone. What the harness created carries labels: the
// deployment it belongs to and a hash of the spec it was created from, so a later apply
// (even from another process, given the same deployment id) knows what it has to change.
import { promises as fs } from 'node:fs';

import {
  ContainerObject,
  EngineObject,
  build,
  connect,
  containersLabelled,
  copyTar,
  createContainer,
  createNetwork,
  createVolume,
  docker,
  exists,
  imageId,
  inspectContainer,
  logsTail,
  networksLabelled,
  remove,
  removeNetwork,
  removeVolume,
  start,
  stop,
  volumesLabelled,
  waitExit,
} from './docker-cli';
import { ContainerSpec, ImageSpec, NetworkSpec, VolumeSpec } from './docker-spec';
import { Json, canonical, isObject, parseJson, sha256 } from './json-value';
import { Actions, isCreateThenDelete, removalStep, resourceOf } from './plan-order';
import { tarOf } from './upload-tar';

export const LABELS = {
  deployment: 'wayshub.local-apply/deployment',
  spec: 'wayshub.local-apply/spec',
  address: 'wayshub.local-apply/address',
  graceSeconds: 'wayshub.local-apply/destroy-grace-seconds',
  removeVolumes: 'wayshub.local-apply/remove-volumes',
} as const;

export type Log = (line: string) => void;

export interface Desired {
  /** Creation rank of each docker resource (`docker_container.app`): dependencies first. */
  rank: Map<string, number>;
  networks: NetworkSpec[];
  volumes: VolumeSpec[];
  images: ImageSpec[];
  /** In creation order: a container comes after everything it depends on. */
  containers: ContainerSpec[];
  /** Container resources with lifecycle.create_before_destroy (`docker_container.app`). */
  createBeforeDestroy?: ReadonlySet<string>;
  /**
   * Terraform's planned actions per instance (`docker_container.app[0]` → ["create","delete"]):
   * the order in which old containers go (plan-order.ts).
   */
  planned?: ReadonlyMap<string, Actions>;
  /** Names of engine objects Terraform forgot (`terraform state rm`): never changed or removed. */
  forgotten?: ReadonlySet<string>;
  /** Runs once the networks and volumes exist, before any container is created (e.g. the Swarm services a container depends on). */
  beforeContainers?: () => Promise<void>;
}

export interface ContainerRef {
  id: string;
  name: string;
}

const MUST_RUN_SETTLE_MS = 500;

export async function converge(desired: Desired, deployment: string, log: Log): Promise<Map<string, ContainerRef>> {
  const owned = `${LABELS.deployment}=${deployment}`;
  for (const list of [desired.networks, desired.volumes, desired.containers]) refuseDuplicateNames(list);
  // Images first: a container's spec includes the id of the image it runs.
  for (const image of desired.images) await realizeImage(image, log);

  const networkHash = new Map(desired.networks.map((n) => [n.name, sha256(canonical(n.attrs))]));
  const volumeHash = new Map(desired.volumes.map((v) => [v.name, sha256(canonical(v.attrs))]));
  const containerHash = new Map<string, string>();
  const imageIds = new Map<string, string | undefined>();
  for (const c of desired.containers) {
    if (!imageIds.has(c.image)) imageIds.set(c.image, await imageId(c.image));
    containerHash.set(c.name, await hashContainer(c, imageIds.get(c.image), networkHash, volumeHash));
  }

  const known = ownedStill(desired.forgotten);
  const [haveContainers, haveNetworks, haveVolumes] = await Promise.all([
    containersLabelled(owned).then(known),
    networksLabelled(owned).then(known),
    volumesLabelled(owned).then(known),
  ]);

  // ---- plan
  const networks = await plan('network', desired.networks, networkHash, haveNetworks);
  const volumes = await plan('volume', desired.volumes, volumeHash, haveVolumes);
  const byName = new Map(haveContainers.map((c) => [c.name, c]));
  const keep = new Map<string, ContainerObject>();
  const doomed: Doomed[] = [];
  const toCreate: ContainerSpec[] = [];
  const planned = desired.planned ?? new Map<string, Actions>();
  const createBeforeDestroy = desired.createBeforeDestroy ?? new Set<string>();
  for (const spec of desired.containers) {
    const have = byName.get(spec.name);
    const hash = containerHash.get(spec.name);
    if (!have) {
      await refuseForeignContainer(spec.name, deployment);
      toCreate.push(spec);
    } else if (have.labels[LABELS.spec] !== hash) {
      if (isCreateThenDelete(planned.get(spec.address))) {
        // The provider would create the replacement first, and Docker refuses a second container of one name.
        throw new Error(
          `local-apply: ${spec.address} is planned as ["create","delete"], but its replacement keeps the name ${spec.name}, which Docker refuses twice; the name must change with the spec`,
        );
      }
      if (createBeforeDestroy.has(resourceOf(spec.address))) {
        // E.g. a rebuilt image under the same tag: the provider sees a new image id and replaces the
        // container under a new name; this harness's plan sees the tag only.
        throw new Error(
          `local-apply: ${spec.address} (${spec.name}) changed on the engine side only, which Terraform's plan does not show; with create_before_destroy the harness cannot replace it under the same name`,
        );
      }
      doomed.push({ c: have, line: `removed ${spec.name} to recreate it (spec changed)` });
      toCreate.push(spec);
    } else if (spec.start && spec.mustRun && !have.running) {
      doomed.push({ c: have, line: `removed ${spec.name} to recreate it (must_run, but it is ${have.status})` });
      toCreate.push(spec);
    } else {
      keep.set(spec.name, have);
    }
  }
  const wanted = new Set(desired.containers.map((c) => c.name));
  const afterwards: Doomed[] = [];
  for (const c of haveContainers) {
    if (wanted.has(c.name)) continue;
    const address = c.labels[LABELS.address];
    const actions = planned.get(address ?? '')?.join() ?? 'not in the plan';
    if (removalStep(address, planned, createBeforeDestroy) === 'after creating') {
      afterwards.push({ c, line: `removed ${c.name} (planned ${actions}: after the new containers were up)` });
    } else doomed.push({ c, line: `removed ${c.name} (planned ${actions})` });
  }

  // ---- act: containers out, then networks and volumes, then containers in
  await removeContainers(doomed, desired.rank, log);
  for (const n of networks.remove) {
    await removeNetwork(n.name);
    log(`removed network ${n.name} (${networks.reason.get(n.name) ?? 'surplus'})`);
  }
  for (const v of volumes.remove) {
    await removeVolume(v.name);
    log(`removed volume ${v.name} (${volumes.reason.get(v.name) ?? 'surplus'})`);
  }
  for (const n of networks.create) {
    await createNetwork(n.name, [...ownLabels(deployment, networkHash.get(n.name), n.address), ...n.createArgs]);
    log(`created network ${n.name}`);
  }
  for (const v of volumes.create) {
    await createVolume(v.name, [...ownLabels(deployment, volumeHash.get(v.name), v.address), ...v.createArgs]);
    log(`created volume ${v.name}`);
  }
  for (const n of networks.keep) log(`kept network ${n.name} (unchanged)`);
  for (const v of volumes.keep) log(`kept volume ${v.name} (unchanged)`);

  await desired.beforeContainers?.();
  const result = new Map<string, ContainerRef>();
  const replaced = new Set(doomed.map((d) => d.c.name));
  for (const spec of desired.containers) {
    const kept = keep.get(spec.name);
    if (kept) {
      log(`kept ${spec.name} (unchanged)`);
      result.set(spec.name, { id: kept.id, name: spec.name });
      continue;
    }
    const id = await createAndStart(spec, deployment, containerHash.get(spec.name) ?? '');
    log(`${replaced.has(spec.name) ? 'recreated' : 'created'} ${spec.name}`);
    result.set(spec.name, { id, name: spec.name });
  }
  await checkStillRunning(toCreate, result);
  await removeContainers(afterwards, desired.rank, log);
  return result;
}

/** Removes every container, network (and, when asked, volume) the deployment owns. */
export async function teardown(
  deployment: string,
  opts: { volumes: boolean; rank: Map<string, number>; forgotten?: ReadonlySet<string> },
  log: Log,
): Promise<void> {
  const owned = `${LABELS.deployment}=${deployment}`;
  const known = ownedStill(opts.forgotten);
  await removeContainers(
    known(await containersLabelled(owned)).map((c) => ({ c, line: `removed ${c.name}` })),
    opts.rank,
    log,
  );
  for (const n of known(await networksLabelled(owned))) {
    await removeNetwork(n.name);
    log(`removed network ${n.name}`);
  }
  if (opts.volumes) {
    for (const v of known(await volumesLabelled(owned))) {
      await removeVolume(v.name);
      log(`removed volume ${v.name}`);
    }
  }
}

/** Drops from a list of labelled engine objects those Terraform forgot (they stay, untouched). */
function ownedStill(forgotten: ReadonlySet<string> | undefined) {
  return <T extends { name: string }>(list: T[]): T[] => list.filter((o) => !forgotten?.has(o.name));
}

// Names are the engine's identity: the provider's second create would fail on a conflict.
function refuseDuplicateNames(specs: { kind: string; name: string; address: string }[]): void {
  const seen = new Map<string, string>();
  for (const s of specs) {
    const other = seen.get(s.name);
    if (other) throw new Error(`local-apply: ${other} and ${s.address} both name their ${s.kind} ${s.name}`);
    seen.set(s.name, s.address);
  }
}

// ------------------------------------------------------------------ images

async function realizeImage(image: ImageSpec, log: Log): Promise<void> {
  if (image.build) {
    // Always build: the layer cache makes an unchanged context cheap, and a changed one
    // gives a new image id, which replaces the containers running it (as the provider does).
    const t0 = Date.now();
    await build(image.build.args, image.build.context);
    log(`built image ${image.name} (${seconds(t0)})`);
    return;
  }
  if (!(await imageId(image.name))) {
    throw new Error(`local-apply: ${image.address}: image ${image.name} is not present locally; build it first (no registry can be reached)`);
  }
}

// ------------------------------------------------------------------ hashes

async function hashContainer(c: ContainerSpec, id: string | undefined, networks: Map<string, string>, volumes: Map<string, string>): Promise<string> {
  if (!id) throw new Error(`local-apply: ${c.address}: image ${c.image} is not present locally; build it first`);
  // Upload sources are files on the host: their bytes, not their names, decide.
  const sources: Json[] = [];
  for (const u of c.uploads) if (!Buffer.isBuffer(u.content)) sources.push(sha256((await fs.readFile(u.content.source)).toString('base64')));
  const uses = (names: string[], hashes: Map<string, string>): Json => names.map((n) => hashes.get(n) ?? `external:${n}`);
  return sha256(
    canonical({
      attrs: c.attrs,
      image: id,
      sources,
      networks: uses(c.networks, networks),
      volumes: uses(c.volumes, volumes),
    }),
  );
}

// ------------------------------------------------------------ networks/volumes

interface Plan<T> {
  create: T[];
  keep: T[];
  remove: EngineObject[];
  reason: Map<string, string>;
}

async function plan<T extends NetworkSpec | VolumeSpec>(
  kind: 'network' | 'volume',
  specs: T[],
  hashes: Map<string, string>,
  have: EngineObject[],
): Promise<Plan<T>> {
  const p: Plan<T> = { create: [], keep: [], remove: [], reason: new Map() };
  const byName = new Map(have.map((o) => [o.name, o]));
  for (const spec of specs) {
    const existing = byName.get(spec.name);
    if (!existing) {
      p.create.push(spec);
    } else if (existing.labels[LABELS.spec] === hashes.get(spec.name)) {
      p.keep.push(spec);
    } else {
      p.remove.push(existing);
      p.reason.set(spec.name, 'replaced (spec changed)');
      p.create.push(spec);
    }
  }
  const wanted = new Set(specs.map((s) => s.name));
  p.remove.push(...have.filter((o) => !wanted.has(o.name)));
  for (const spec of p.create) {
    if (!byName.has(spec.name) && (await exists(kind, spec.name))) {
      throw new Error(`local-apply: ${spec.address}: a ${kind} named ${spec.name} exists but was not created by this deployment; remove it first`);
    }
  }
  return p;
}

// ------------------------------------------------------------- containers

async function refuseForeignContainer(name: string, deployment: string): Promise<void> {
  if (await exists('container', name)) {
    throw new Error(`local-apply: a container named ${name} exists but was not created by deployment ${deployment}; remove it first`);
  }
}

function ownLabels(deployment: string, hash: string | undefined, address: string): string[] {
  return ['--label', `${LABELS.deployment}=${deployment}`, '--label', `${LABELS.spec}=${hash ?? ''}`, '--label', `${LABELS.address}=${address}`];
}

async function createAndStart(spec: ContainerSpec, deployment: string, hash: string): Promise<string> {
  const id = await createContainer([
    '--name',
    spec.name,
    ...ownLabels(deployment, hash, spec.address),
    '--label',
    `${LABELS.graceSeconds}=${spec.destroyGraceSeconds}`,
    '--label',
    `${LABELS.removeVolumes}=${spec.removeVolumes}`,
    ...spec.createArgs,
    spec.image,
    ...spec.commandArgs,
  ]);
  for (const n of spec.extraNetworks) await connect(n.name, id, n.aliases, n.ipv4, n.ipv6);
  // Files go in before the process starts, as with the provider.
  if (spec.uploads.length > 0) {
    const files = [];
    for (const u of spec.uploads) {
      const content = Buffer.isBuffer(u.content) ? u.content : await fs.readFile(u.content.source);
      files.push({ path: u.file, mode: u.mode, content });
    }
    await copyTar(id, tarOf(files));
  }
  if (!spec.start) return id;
  await start(id);
  if (spec.attach) {
    // Like the provider: wait for the end of the run. The exit status matters only through a
    // postcondition, which fails the apply before anything that depends on this container.
    const code = await waitExit(id);
    if (spec.exitCodeCheck !== undefined && code !== 0) {
      throw new Error(
        `local-apply: Resource postcondition failed: ${spec.exitCodeCheck} (${spec.address} exited with ${code}); last logs:\n${await logsTail(id, 30)}`,
      );
    }
    return id;
  }
  if (spec.mustRun) await assertRunning(spec, id);
  if (spec.waitSeconds !== null) await waitHealthy(spec, id, spec.waitSeconds);
  return id;
}

async function assertRunning(spec: ContainerSpec, id: string): Promise<void> {
  const state = await inspectContainer(id);
  if (!state.running) {
    throw new Error(
      `local-apply: ${spec.address}: container ${spec.name} is ${state.status} right after start (must_run); last logs:\n${await logsTail(id, 30)}`,
    );
  }
}

// A process that dies shortly after starting (bad config) fails the apply, as with the
// provider, which watches a new container for a moment before reporting success.
async function checkStillRunning(created: ContainerSpec[], refs: Map<string, ContainerRef>): Promise<void> {
  const watched = created.filter((c) => c.start && c.mustRun);
  if (watched.length === 0) return;
  await sleep(MUST_RUN_SETTLE_MS);
  for (const spec of watched) {
    const ref = refs.get(spec.name);
    if (ref) await assertRunning(spec, ref.id);
  }
}

/** The output of the container's last healthcheck, on one line. */
async function lastHealthOutput(id: string): Promise<string> {
  const health = parseJson(await docker(['inspect', '-f', '{{json .State.Health}}', id]).catch(() => 'null'));
  const log = isObject(health) && Array.isArray(health.Log) ? health.Log : [];
  const last = log[log.length - 1];
  const output = isObject(last) && typeof last.Output === 'string' ? last.Output.trim().replace(/\s+/g, ' ') : '';
  return output ? JSON.stringify(output.slice(0, 300)) : 'nothing yet';
}

/**
 * A container created and started that never became healthy. The provider has set its id by
 * then (resource_docker_container_funcs.go:424, the wait at :542-575), so Terraform keeps it,
 * tainted: the local apply taints its terraform_data the same way.
 */
export class NotHealthyError extends Error {
  constructor(
    message: string,
    /** `docker_container.app[0]` */
    readonly address: string,
  ) {
    super(message);
  }
}

async function waitHealthy(spec: ContainerSpec, id: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const state = await inspectContainer(id);
    if (state.health === 'healthy') return;
    if (state.health === undefined) {
      // The provider's own words (resource_docker_container_funcs.go:551).
      throw new NotHealthyError(
        `local-apply: ${spec.address}: you have supplied a 'wait' argument, but the container does not have a healthcheck defined`,
        spec.address,
      );
    }
    if (Date.now() > deadline || !state.running) {
      throw new NotHealthyError(
        `local-apply: ${spec.address}: ${spec.name} is not healthy after ${timeoutSeconds} s (${state.status}/${state.health}); ` +
          `its healthcheck last said: ${await lastHealthOutput(id)}; see: docker logs ${spec.name}\nlast logs:\n${await logsTail(id, 30)}`,
        spec.address,
      );
    }
    await sleep(250);
  }
}

// Dependents go first, as Terraform destroys them: by the resources' creation rank (ones
// no longer declared first), then newest first. The replicas of one resource stop
// together, each with its grace period, so in-flight requests can finish.
interface Doomed {
  c: ContainerObject;
  line: string;
}

async function removeContainers(doomed: Doomed[], rank: Map<string, number>, log: Log): Promise<void> {
  const groups = new Map<string, Doomed[]>();
  for (const d of doomed) {
    const resource = resourceOf(d.c.labels[LABELS.address] ?? d.c.name);
    groups.set(resource, [...(groups.get(resource) ?? []), d]);
  }
  const newest = (g: Doomed[]): string =>
    g
      .map((d) => d.c.created)
      .sort()
      .reverse()[0] ?? '';
  const rankOf = (resource: string): number => rank.get(resource) ?? Number.MAX_SAFE_INTEGER;
  const ordered = [...groups.entries()].sort(([ra, a], [rb, b]) => rankOf(rb) - rankOf(ra) || newest(b).localeCompare(newest(a))).map(([, group]) => group);
  for (const group of ordered) {
    await Promise.all(
      group.map(async ({ c, line }) => {
        const grace = Number(c.labels[LABELS.graceSeconds] ?? '0');
        await stop(c.id, Number.isFinite(grace) ? grace : 0);
        await remove(c.id, c.labels[LABELS.removeVolumes] !== 'false');
        log(line);
      }),
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function seconds(t0: number): string {
  return `${((Date.now() - t0) / 1000).toFixed(2)}s`;
}
