// The proxy's Prometheus metrics on one host: nginx writes a line per request into a file in a
// volume both mount (nginx/render.ts), mtail turns the lines into metrics per site and replica
// (metrics/wayshub.mtail) and serves /metrics on the host address and port of the settings; a
// one-shot marker per deploy writes the deploy's revision and time into the same volume.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Construct } from 'constructs';
import { DataResource, Fn, ITerraformDependable, Token } from 'cdktf';

import { healthcheckLabel } from '../../docker/healthcheck-label';
import { Container, Image, Network, Volume } from '../../docker/provider';
import { NO_NEW_PRIVILEGES, ROLE_LABEL, ROTATED_LOGS, containerCapabilities, labelBlocks, terraformLiteral } from '../../docker/labels';
import { MetricsSettings } from '../../settings';
import { StackOutput } from '../engine';
import { METRICS_DIR, METRICS_LOG } from '../nginx-proxy';

const EXPORTER_PORT = 3903;
const SOURCES = path.join(__dirname, 'metrics');
/** Built at deploy when no image is given. */
const BUILD_CONTEXT = path.resolve(__dirname, '../../../docker/metrics');
const BUILT_IMAGE = 'wayshub-metrics:mtail';

const EXPORTER_HEALTH = { test: ['CMD-SHELL', `test -f ${METRICS_LOG}`], interval: '10s', timeout: '3s', startPeriod: '5s', retries: 3 };

export const METRICS_ROLE = 'metrics';

export interface MetricsExporterProps {
  /** Prefix of the names: `<name>-metrics`, `<name>-metrics-log`, `<name>-deployed-<run>`. */
  readonly name: string;
  readonly settings: MetricsSettings;
  /** The stack's network: Prometheus in a container there may scrape `<name>-metrics:3903` too. */
  readonly network: Network;
}

const read = (name: string) => terraformLiteral(fs.readFileSync(path.join(SOURCES, name), 'utf8'));

export class MetricsExporter extends Construct {
  /** Shared by the proxy, which writes its lines there, and the exporter. */
  readonly volume: Volume;
  readonly container: Container;
  /** Replaced on every apply: its run is the deploy's (addDeployMarker). */
  deployRun?: DataResource;
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: MetricsExporterProps) {
    super(scope, id);
    this.prefix = props.name;
    const labels = labelBlocks({ [ROLE_LABEL]: METRICS_ROLE });
    const s = props.settings;
    this.volume = new Volume(this, 'log', { name: `${props.name}-metrics-log`, labels });
    const image = new Image(this, 'image', {
      name: s.image ?? BUILT_IMAGE,
      keepLocally: true,
      buildAttribute: s.image ? undefined : { context: terraformLiteral(BUILD_CONTEXT) },
    });

    this.container = new Container(this, 'container', {
      name: `${props.name}-metrics`,
      image: image.imageId,
      entrypoint: ['/bin/sh', '/wayshub/metrics.sh'],
      upload: [
        { file: '/wayshub/metrics.sh', content: read('metrics.sh') },
        { file: '/wayshub/mtail/wayshub.mtail', content: read('wayshub.mtail') },
      ],
      volumes: [{ volumeName: this.volume.name, containerPath: METRICS_DIR }],
      networksAdvanced: [{ name: props.network.name, aliases: [`${props.name}-metrics`] }],
      // On the address of the settings only: the loopback unless told otherwise.
      ports: [{ internal: EXPORTER_PORT, external: s.port, ip: s.address }],
      healthcheck: EXPORTER_HEALTH,
      restart: 'unless-stopped',
      capabilities: containerCapabilities(),
      securityOpts: NO_NEW_PRIVILEGES,
      destroyGraceSeconds: 10,
      ...ROTATED_LOGS,
      // The volume keeps the role label alone: its labels are ForceNew too.
      labels: labelBlocks({ [ROLE_LABEL]: METRICS_ROLE, ...healthcheckLabel(EXPORTER_HEALTH) }),
    });
  }

  /**
   * A one-shot container per apply, after the proxy: it writes the deploy's revision (the plan's
   * time, as in the replicas' names), the proxy config's fingerprint and the time into the volume.
   * `image` needs a shell: the proxy's, which is on the host already.
   */
  addDeployMarker(proxy: ITerraformDependable, image: string, configFingerprint: string): void {
    // Like the migration job: a new run on every apply, each with a name of its own.
    this.deployRun = new DataResource(this, 'deploy_run', { triggersReplace: { at: Fn.timestamp() } });
    const revision = Fn.formatdate('YYMMDDhhmmss', Fn.plantimestamp());
    new Container(this, 'deployed', {
      name: `${this.prefix}-deployed-${Token.asString(Fn.substr(this.deployRun.id, 0, 6))}`,
      image,
      command: ['/bin/sh', '-c', `echo "deploy revision=${revision} config=${configFingerprint} at=$(date +%s)" >> ${METRICS_DIR}/deploys.log`],
      volumes: [{ volumeName: this.volume.name, containerPath: METRICS_DIR }],
      attach: true,
      logs: true,
      mustRun: false,
      restart: 'no',
      networkMode: 'none',
      capabilities: containerCapabilities(),
      securityOpts: NO_NEW_PRIVILEGES,
      ...ROTATED_LOGS,
      labels: labelBlocks({ [ROLE_LABEL]: 'deploy-marker' }),
      dependsOn: [proxy, this.container],
    });
  }

  outputs(): StackOutput[] {
    return [{ name: 'metrics_container', value: this.container.name, description: 'The Prometheus exporter (mtail) of the proxy.' }];
  }
}
