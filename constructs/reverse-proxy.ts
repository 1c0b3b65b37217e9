// The nginx container in front of the replicas: the only container that publishes a port.
import { Construct } from 'constructs';

import { Container, Image, Network } from './docker';
import { ROLE_LABEL, labelBlocks, terraformLiteral } from './labels';
import { NginxFile, ProxyConfig, renderNginxConfig } from '../nginx/render';

export interface ReverseProxyProps {
  /** Container name, e.g. `wayshub-proxy`. */
  readonly name: string;
  /** nginx image reference (1.27.3 or newer). */
  readonly image: string;
  /** The private network shared with the replicas. */
  readonly network: Network;
  /** Sites and upstreams; rendered to nginx config files uploaded into the container. */
  readonly config: ProxyConfig;
  /**
   * Host port published for the proxy's port 80.
   * @default 80
   */
  readonly httpPort?: number;
  /**
   * Docker labels of the container (the role label is added).
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export class ReverseProxy extends Construct {
  readonly image: Image;
  readonly container: Container;
  /** The nginx config files as delivered into the container. */
  readonly files: readonly NginxFile[];
  readonly httpPort: number;

  constructor(scope: Construct, id: string, props: ReverseProxyProps) {
    super(scope, id);
    this.httpPort = props.httpPort ?? 80;
    this.files = renderNginxConfig(props.config);

    this.image = new Image(this, 'image', { name: props.image, keepLocally: true });
    this.image.overrideLogicalId(`${id}_image`);

    this.container = new Container(this, 'container', {
      name: props.name,
      image: this.image.imageId,
      restart: 'unless-stopped',
      ports: [{ internal: 80, external: this.httpPort }],
      networksAdvanced: [{ name: props.network.name }],
      // Uploaded before nginx starts; a change to any file recreates the container.
      upload: this.files.map((f) => ({ file: f.path, content: terraformLiteral(f.content) })),
      labels: labelBlocks({ ...props.labels, [ROLE_LABEL]: 'proxy' }),
    });
    this.container.overrideLogicalId(id);
  }
}
