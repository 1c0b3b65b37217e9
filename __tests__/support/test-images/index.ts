// The Docker images the end-to-end tests run, built from Debian's archive without any registry
// (images.ts), with what goes into them beside it: the test app and test backend (test-app/),
// the MariaDB entrypoint (mariadb-entrypoint.sh) and the stand-in wayshub checkouts the
// Dockerfiles in docker/ are built from (dockerfile-apps/).
export { buildKitClient, dockerBuild, ensureAllTestImages, ensureTestImages } from './images';
export type { AllTestImages, BuildOptions, RunResult, TestImages } from './images';
// The rootfs-to-image steps, for images built elsewhere the same way (acme/).
export { chroot, debootstrap, docker, dropOtherTags, imageLabels, importRootfs, run, seconds, withLock } from './images';
export type { Log } from './images';
export { ROLLOUT_VARIANTS, buildAppVariants } from './app-variants';
