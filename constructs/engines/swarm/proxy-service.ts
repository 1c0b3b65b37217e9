// The nginx proxy as a Swarm service (WAYSHUB_ENGINE=swarm): one task on every node labelled
// wayshub.proxy=true, publishing its ports on that node itself (host mode: Swarm's routing
// mesh is not needed, and where IPVS is missing it does not work). The config files are Docker
// configs whose names change with their content: a new config is a rolling update of the
// proxy, and one nginx refuses is rolled back by Swarm.
import { createHash } from 'node:crypto';
import path from 'node:path';

import { Construct } from 'constructs';
import { Fn, Token } from 'cdktf';

import { Config, Secret, Service } from '../../docker/provider';
import { ROLE_LABEL, ROTATED_TASK_LOGS, labelBlocks } from '../../docker/labels';
import { CONF_DIR, NGINX_CONF_PATH } from '../../../nginx/render';
import { ProxyProps, StackOutput } from '../engine';
import { CertificateFiles, NGINX_CAPABILITIES, NGINX_STOP_SIGNAL, NGINX_WRITABLE_MB, NginxProxyBase } from '../nginx-proxy';
import { PROXY_NODE_LABEL } from '../../settings';
import { NO_FAILURES_TOLERATED, serviceDuration } from './service-values';

const CERT_PATH = `${CONF_DIR}/tls/fullchain.pem`;
const KEY_PATH = `${CONF_DIR}/tls/privkey.pem`;

/** Names are the service's (`<name>-<hash>-<n>` for its configs); the ports are published on each proxy node. */
export interface ProxyServiceProps extends ProxyProps {
  /**
   * HTTPS with the user's certificate files, given to the proxy as Docker secrets.
   * @default HTTP only
   */
  readonly tls?: CertificateFiles;
}

export class ProxyService extends NginxProxyBase {
  readonly service: Service;
  /** One Docker config per nginx file. */
  readonly configs: readonly Config[];
  /** The certificate and the key, with `tls`. */
  readonly secrets: readonly Secret[];
  /** The service's name. */
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: ProxyServiceProps) {
    super(scope, id, props, props.tls && { certificatePath: CERT_PATH, keyPath: KEY_PATH });
    const tls = props.tls;
    this.serviceName = props.name;
    const labels = labelBlocks({ [ROLE_LABEL]: 'proxy' });

    // Configs can't change: a new content gets a new name, created before the service moves to it
    // and removed after (Docker refuses to remove a config a service still uses).
    const revision = createHash('sha256').update(JSON.stringify(this.files)).digest('hex').slice(0, 8);
    this.configs = this.files.map((file, i) => {
      const config = new Config(this, `config_${i}`, {
        name: `${props.name}-${revision}-${path.basename(file.path, '.conf')}`,
        data: Buffer.from(file.content).toString('base64'),
        lifecycle: { createBeforeDestroy: true },
      });
      return config;
    });

    // The key is read by Terraform at apply time: never in cdk.tf.json (it is in the state). The
    // names carry a hash of the files, so a renewed certificate rolls the proxy.
    this.secrets = tls
      ? [
          ['cert', tls.certFile],
          ['key', tls.keyFile],
        ].map(([kind, file]) => {
          const secret = new Secret(this, kind, {
            name: `${props.name}-${kind}-${Token.asString(Fn.substr(Fn.filesha256(file), 0, 8))}`,
            data: Fn.filebase64(file),
            labels,
            lifecycle: { createBeforeDestroy: true },
          });
          return secret;
        })
      : [];

    const ports = [
      { targetPort: 80, publishedPort: this.httpPort, publishMode: 'host' },
      ...(this.httpsPort ? [{ targetPort: 443, publishedPort: this.httpsPort, publishMode: 'host' }] : []),
    ];
    this.service = new Service(this, 'service', {
      name: props.name,
      labels,
      taskSpec: {
        containerSpec: {
          image: props.image,
          command: ['nginx', '-c', NGINX_CONF_PATH, '-g', 'daemon off;'],
          configs: this.configs.map((config, i) => ({ configId: config.id, configName: config.name, fileName: this.files[i].path })),
          secrets: this.secrets.map((secret, i) => ({
            secretId: secret.id,
            secretName: secret.name,
            fileName: i === 0 ? CERT_PATH : KEY_PATH,
            fileMode: 0o400,
          })),
          labels,
          readOnly: true,
          // No tmpfs size: provider 3.6.2 panics on `tmpfs_options.size_bytes` (an int read as
          // int64, resource_docker_service_structures.go:841; provider issue #563, open). Their pages count against the
          // task's memory limit below, which bounds them all together.
          mounts: Object.keys(NGINX_WRITABLE_MB).map((target) => ({ type: 'tmpfs', target })),
          capDrop: ['ALL'],
          capAdd: [...NGINX_CAPABILITIES],
          stopSignal: NGINX_STOP_SIGNAL,
          stopGracePeriod: serviceDuration(this.drainSeconds),
        },
        // By id: Docker stores a service's network by id, and the provider reads that back into
        // this ForceNew attribute (resource_docker_service_structures.go:518); a name would
        // replace the service on every deploy.
        networksAdvanced: [{ name: props.network.id, aliases: [...this.networkAliases] }],
        placement: { constraints: [`node.labels.${PROXY_NODE_LABEL} == true`] },
        resources: { limits: { memoryBytes: this.memoryMb * 1024 * 1024 } },
        restartPolicy: { condition: 'any', delay: '2s' },
        logDriver: ROTATED_TASK_LOGS,
      },
      mode: { global: true },
      endpointSpec: { mode: 'dnsrr', ports },
      // A node's port can't be bound twice, so each node's old task stops before its new one
      // starts: one node at a time, and a task that fails (a config nginx refuses) rolls back.
      updateConfig: { parallelism: 1, delay: '5s', order: 'stop-first', failureAction: 'rollback', monitor: '10s', maxFailureRatio: NO_FAILURES_TOLERATED },
      rollbackConfig: { parallelism: 1, delay: '0s', order: 'stop-first', failureAction: 'pause', monitor: '10s', maxFailureRatio: NO_FAILURES_TOLERATED },
      // No converge_config: the provider refuses it beside mode.global (ConflictsWith,
      // resource_docker_service.go:782), so the deploy does not wait for the proxy's tasks.
    });
  }

  outputs(): StackOutput[] {
    return [{ name: 'proxy_service', value: this.serviceName, description: 'The nginx proxy service.' }];
  }
}
