// The order in which converge removes old containers, taken from Terraform's own plan: an
// instance planned as ["create","delete"] (create_before_destroy) is removed only after every
// new container is up; one planned as ["delete","create"] is removed before anything is created.
//
// Pure: it reads `terraform show -json` of a saved plan.
import { Json, isObject } from './json-value';
import type { DockerResourceInfo } from './tf-rewrite';

export type Actions = readonly string[];

/** When an old container goes: before the new containers are created, or after all of them are up. */
export type RemovalStep = 'before creating' | 'after creating';

/** The planned actions of each docker resource instance, by docker address: `docker_container.app[0]`. */
export function plannedActions(plan: Json, resources: readonly DockerResourceInfo[]): Map<string, Actions> {
  const dockerOf = new Map(resources.map((r) => [`terraform_data.${r.dataName}`, r.address]));
  const planned = new Map<string, Actions>();
  const changes = isObject(plan) && Array.isArray(plan.resource_changes) ? plan.resource_changes : [];
  for (const change of changes) {
    // A deposed object is one a failed create_before_destroy left in the state: the engine has no copy of it.
    if (!isObject(change) || typeof change.address !== 'string' || change.deposed !== undefined) continue;
    const m = /^(terraform_data\.[^[]+)(\[.*\])?$/.exec(change.address);
    const docker = m ? dockerOf.get(m[1]) : undefined;
    if (!m || !docker) continue;
    const actions = isObject(change.change) && Array.isArray(change.change.actions) ? change.change.actions : [];
    planned.set(
      `${docker}${m[2] ?? ''}`,
      actions.filter((a): a is string => typeof a === 'string'),
    );
  }
  return planned;
}

export const isCreateThenDelete = (actions: Actions | undefined): boolean => actions?.join() === 'create,delete';

/**
 * When the container Terraform knows at `address` goes. A delete alone (a scale-down) has no
 * order against the creates in the plan; Terraform's graph destroys it after them when its
 * resource has create_before_destroy, and before them otherwise. So does this.
 */
export function removalStep(address: string | undefined, planned: ReadonlyMap<string, Actions>, createBeforeDestroy: ReadonlySet<string>): RemovalStep {
  const actions = address === undefined ? undefined : planned.get(address);
  if (isCreateThenDelete(actions)) return 'after creating';
  if (actions?.join() === 'delete' && createBeforeDestroy.has(resourceOf(address ?? ''))) return 'after creating';
  return 'before creating';
}

/** `docker_container.app[2]` → `docker_container.app` */
export const resourceOf = (address: string): string => address.replace(/\[[^\]]*\]$/, '');
