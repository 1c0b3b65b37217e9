// N identical app containers behind one DNS alias on a private network.
import { Construct } from 'constructs';
import { Fn, Op, TerraformCount, TerraformResource, Token } from 'cdktf';

import { healthcheckLabel } from '../../docker/healthcheck-label';
import { Container, Image } from '../../docker/provider';
import { NO_NEW_PRIVILEGES, ROLE_LABEL, ROTATED_LOGS, containerCapabilities, containerEnv, labelBlocks, terraformLiteral } from '../../docker/labels';
import { DEFAULTS, DRAIN_ENV, defaultHealthcheck } from '../../settings';
import { REPLICA_CHECKS, Replicas, ReplicasProps, StackOutput, checkProps } from '../engine';

/** The container engine's replicas: named `<namePrefix>-<planned>-<n>`, found by the alias `<namePrefix>`. */
export type ReplicaContainersProps = Omit<ReplicasProps, 'name'> & { readonly namePrefix: string };

export class ReplicaContainers extends Construct implements Replicas {
  /** DNS alias shared by all replicas on the network: the one name the proxy needs. */
  readonly alias: string;
  readonly port: number;
  readonly image: Image;
  /** The counted `docker_container` resource. */
  readonly containers: Container;
  /** Names of all replica containers (a Terraform splat, known after apply). */
  readonly containerNames: string[];

  constructor(scope: Construct, id: string, props: ReplicaContainersProps) {
    super(scope, id);
    checkProps(this, { ...props, name: props.namePrefix }, REPLICA_CHECKS);
    this.alias = props.namePrefix;
    this.port = props.port;

    this.image = new Image(this, 'image', {
      // With no replica (other servers answer), no image to pull or build either.
      count: props.mayBeNone ? Token.asNumber(Fn.conditional(Op.gte(props.count, 1), 1, 0)) : undefined,
      name: props.image,
      // The image is the user's: destroying the stack must not delete it from the host.
      keepLocally: true,
      buildAttribute: props.buildContext ? { context: terraformLiteral(props.buildContext) } : undefined,
    });
    // A counted resource is referenced by index; while there is none, no replica reads it.
    const imageId = props.mayBeNone ? Token.asString(`\${${this.image.fqn}[0].image_id}`) : this.image.imageId;

    const count = TerraformCount.of(props.count);
    const drainSeconds = props.drainSeconds ?? DEFAULTS.drainSeconds;
    // The app learns its drain limit, e.g. to close WebSockets cleanly just before it is killed.
    const env = { ...props.env, [DRAIN_ENV]: String(drainSeconds) };
    const healthcheck = {
      test: (props.healthcheck ?? defaultHealthcheck(props.port)).map(terraformLiteral),
      interval: '10s',
      timeout: '3s',
      startPeriod: '10s',
      retries: 3,
    };
    // Everything of a replica but its name. A change to most of it (image, env, networks: ForceNew
    // in the provider; the healthcheck through its label) replaces the replicas; memory and
    // restart are updated in place.
    const config = {
      image: imageId,
      command: props.command?.map(terraformLiteral),
      restart: 'unless-stopped',
      // The stop timeout when a replica is removed: time to finish the requests in flight.
      destroyGraceSeconds: drainSeconds,
      env: containerEnv(env, props.stackEnv),
      memory: props.memoryMb,
      memorySwap: props.memoryMb, // as the proxy's: no swap, and a quiet plan
      networksAdvanced: [{ name: props.network.name, aliases: [this.alias] }, ...(props.extraNetworks ?? []).map((n) => ({ name: n.name }))],
      healthcheck,
      capabilities: containerCapabilities(props.addCapabilities),
      securityOpts: NO_NEW_PRIVILEGES,
      ...ROTATED_LOGS,
      labels: labelBlocks({ [ROLE_LABEL]: 'app', ...healthcheckLabel(healthcheck) }),
    };

    // A rollout starts the new replicas before it removes the old ones, and Docker refuses two
    // containers of one name. So each replica is named when it is created, after the plan's time
    // (`wayshub-app-261205004012-1`), and later plans leave the name alone (ignore_changes): a
    // replacement (a new image, a new env, a replica the provider left tainted because it never
    // became healthy) is created under a new name, and a scale-up names only the new replicas.
    // A name taken from the config alone (a revision) would be the same on a retry with the same
    // settings, and a tainted replica would block every later deploy on its name.
    const created = Fn.formatdate('YYMMDDhhmmss', Fn.plantimestamp());
    const name = `${props.namePrefix}-${created}-${Token.asString(Op.add(count.index, 1))}`;

    this.containers = new Container(this, 'container', {
      count,
      name,
      // The hostname is the container name, so logs and responses tell which replica answered.
      hostname: name,
      ...config,
      // A new replica must be healthy before the deploy goes on and the old ones are removed.
      wait: true,
      waitTimeout: props.healthTimeoutSeconds ?? DEFAULTS.healthTimeoutSeconds,
      lifecycle: { createBeforeDestroy: true, ignoreChanges: ['name', 'hostname'] },
    });

    // A counted resource is referenced as a list through a splat.
    this.containerNames = Token.asList(`\${${this.containers.fqn}[*].name}`);
  }

  get runs(): TerraformResource {
    return this.containers;
  }

  /** The image: one resource planned on every deploy. */
  get checkedOn(): TerraformResource {
    return this.image;
  }

  /** The replicas' own image, already on the host. */
  jobImage(): string {
    return this.image.imageId;
  }

  outputs(prefix: string, what: string): StackOutput[] {
    return [{ name: `${prefix}replica_names`, value: this.containerNames, description: `${what} replica containers.` }];
  }
}
