// N identical app tasks as one Swarm service (WAYSHUB_ENGINE=swarm): the counterpart of
// ReplicaContainers. Swarm gives what plain containers can't: a task joins the service's DNS only
// once it is healthy, updates start the new task before stopping the old one and roll back by
// themselves when new tasks fail, and tasks of a lost node are started on the others.
import { Construct } from 'constructs';
import { TerraformResource } from 'cdktf';

import { Image, Network, Service } from '../../docker/provider';
import { ROLE_LABEL, ROTATED_TASK_LOGS, labelBlocks, terraformLiteral } from '../../docker/labels';
import { ReplicaContainersProps } from '../containers/replica-containers';
import { REPLICA_CHECKS, Replicas, StackOutput, checkProps } from '../engine';
import { DEFAULTS, DRAIN_ENV, defaultHealthcheck } from '../../settings';
import { NO_FAILURES_TOLERATED, serviceDuration } from './service-values';

// No build context: a build happens on one node, and every node must pull the image. No health
// timeout: the converge timeout bounds the wait.
export type ReplicaServiceProps = Omit<ReplicaContainersProps, 'namePrefix' | 'buildContext' | 'healthTimeoutSeconds' | 'network' | 'extraNetworks'> & {
  /** The service's name, e.g. `wayshub-app`; nginx reaches its tasks at `tasks.<name>`. */
  readonly name: string;
  /** The overlay network the proxy reaches the tasks on. */
  readonly network: Network;
  /**
   * More networks each task joins, e.g. the database's.
   * @default none
   */
  readonly extraNetworks?: readonly Network[];
  /**
   * Swarm placement constraints, e.g. `node.labels.zone == a`.
   * @default none: any node
   */
  readonly constraints?: readonly string[];
};

/** Health probe timing of a task: a task is in DNS once healthy, and a failing one is seen in ~25 s. */
const TASK_HEALTHCHECK = { interval: '5s', timeout: '3s', startPeriod: '10s', retries: 3 } as const;

export class ReplicaService extends Construct implements Replicas {
  /** `tasks.<name>`: Swarm's DNS answers it with the address of every healthy task. */
  readonly alias: string;
  readonly port: number;
  readonly service: Service;
  /** The service's name. */
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: ReplicaServiceProps) {
    super(scope, id);
    checkProps(this, props, REPLICA_CHECKS);
    this.serviceName = props.name;
    this.alias = `tasks.${props.name}`;
    this.port = props.port;
    const drainSeconds = props.drainSeconds ?? DEFAULTS.drainSeconds;
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...props.env, [DRAIN_ENV]: String(drainSeconds) })) env[key] = terraformLiteral(value);
    // The stack's own, after the user's: references stay references.
    for (const [key, value] of Object.entries(props.stackEnv ?? {})) env[key] = value.synthesized;
    const labels = labelBlocks({ [ROLE_LABEL]: 'app' });

    this.service = new Service(this, 'service', {
      name: props.name,
      labels,
      taskSpec: {
        containerSpec: {
          image: props.image,
          command: props.command?.map(terraformLiteral),
          // Swarm's template: wayshub-app.<slot>.<task id>, as the task's container is named, so
          // logs and responses tell which task answered.
          hostname: '{{.Task.Name}}',
          env,
          labels,
          healthcheck: { test: (props.healthcheck ?? defaultHealthcheck(props.port)).map(terraformLiteral), ...TASK_HEALTHCHECK },
          // Time to finish the requests in flight after SIGTERM; Swarm has taken the task out of DNS before.
          stopGracePeriod: serviceDuration(drainSeconds),
          capDrop: ['ALL'],
          capAdd: props.addCapabilities?.length ? [...props.addCapabilities] : undefined,
        },
        // By id, as Docker stores it and the provider reads it back (see ProxyService).
        networksAdvanced: [props.network, ...(props.extraNetworks ?? [])].map((n) => ({ name: n.id })),
        placement: props.constraints?.length ? { constraints: [...props.constraints] } : undefined,
        resources: props.memoryMb ? { limits: { memoryBytes: props.memoryMb * 1024 * 1024 } } : undefined,
        restartPolicy: { condition: 'any', delay: '2s' },
        logDriver: ROTATED_TASK_LOGS,
      },
      mode: { replicated: { replicas: props.count } },
      // Each task's own address in DNS (no virtual IP, which needs IPVS): nginx balances itself.
      endpointSpec: { mode: 'dnsrr' },
      // One task at a time, the new one healthy before the old one stops (a task with a
      // healthcheck counts as running only once healthy); a new task that fails, or fails within
      // the monitor window after, rolls the whole service back.
      updateConfig: { parallelism: 1, delay: '2s', order: 'start-first', failureAction: 'rollback', monitor: '10s', maxFailureRatio: NO_FAILURES_TOLERATED },
      rollbackConfig: { parallelism: 1, delay: '0s', order: 'start-first', failureAction: 'pause', monitor: '10s', maxFailureRatio: NO_FAILURES_TOLERATED },
      // The deploy waits until every task runs, and fails when Swarm rolled the update back.
      convergeConfig: { delay: '1s', timeout: '10m' },
    });
  }

  get runs(): TerraformResource {
    return this.service;
  }

  get checkedOn(): TerraformResource {
    return this.service;
  }

  /** Tasks pull the image on their nodes; a plain container on the manager needs it there too. */
  jobImage(scope: Construct, image: string): string {
    const migrationImage = new Image(scope, 'migrate_image', { name: image, keepLocally: true });
    return migrationImage.imageId;
  }

  outputs(prefix: string, what: string): StackOutput[] {
    return [{ name: `${prefix}service_name`, value: this.serviceName, description: `The ${what.toLowerCase()} service.` }];
  }
}
