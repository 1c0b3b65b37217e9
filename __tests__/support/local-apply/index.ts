// The local apply: real Terraform on the synthesized stack with every docker resource rewritten
// to `terraform_data`, realized on the Docker Engine with the docker CLI. What the tests use is
// exported here; the files beside it are its internals:
//   local-apply.ts    LocalApply (fromStackDir / fromJson, apply, destroy)
//   tf-rewrite.ts     docker_* resources -> terraform_data, with the reference graph
//   docker-spec.ts    evaluated attributes -> what to create (refuses what it does not implement)
//   converge.ts       creates, keeps, recreates and removes networks, volumes and containers
//   plan-order.ts     which old containers go before the new ones are created, from the plan
//   terraform-cli.ts  the terraform binary and `terraform show -json`
//   docker-cli.ts     the docker binary
//   upload-tar.ts     the tar of a container's uploaded files
//   json-value.ts     JSON values, canonical form, sha256
//   busybox-image.ts  a tiny busybox image for the local apply's own tests (e2e/local-apply)
export { LocalApply, deploymentLabel } from './local-apply';
export { LABELS } from './converge';
export type { ApplyResult, DestroyOptions, LocalApplyOptions } from './local-apply';
export { rewriteForTerraformData, rewriteWithGraph } from './tf-rewrite';
export { assertImplemented, buildSpec } from './docker-spec';
export type { ContainerSpec, EvaluatedInstance } from './docker-spec';
export { plannedActions, removalStep } from './plan-order';
export { tarOf } from './upload-tar';
export type { JsonObject } from './json-value';
export { docker, runDocker } from './docker-cli';
export { busyboxImage } from './busybox-image';
