// The one place that imports the Docker provider bindings, so a move to CDK Terrain
// (`cdktn`) or another provider release is a change to this file only.
// Deep imports: loading the package index costs every resource type's bindings at synth time.
export { DockerProvider } from '@cdktf/provider-docker/lib/provider';
export { Container } from '@cdktf/provider-docker/lib/container';
export { Image } from '@cdktf/provider-docker/lib/image';
export { Network } from '@cdktf/provider-docker/lib/network';
export type { NetworkConfig } from '@cdktf/provider-docker/lib/network';
export { Volume } from '@cdktf/provider-docker/lib/volume';
// Swarm mode (WAYSHUB_ENGINE=swarm).
export { Service } from '@cdktf/provider-docker/lib/service';
export { Secret } from '@cdktf/provider-docker/lib/secret';
export { Config } from '@cdktf/provider-docker/lib/config';
