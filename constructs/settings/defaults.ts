// The defaults of every setting left out, and the limits more than one concern checks against.

/** Oldest nginx with `resolve` on upstream servers in the open-source build. */
export const MIN_NGINX_VERSION = [1, 27, 3] as const;
export const MAX_REPLICAS = 20;

export const DEFAULTS = {
  name: 'wayshub',
  domain: 'wayshub.localhost',
  replicas: 3,
  dockerHost: 'unix:///var/run/docker.sock',
  appImage: 'wayshub-frontend:latest',
  appPort: 3000,
  backendPort: 5000,
  backendReplicas: 2,
  apiSubdomain: 'api',
  nginxImage: 'nginx:1.30-alpine',
  httpPort: 80,
  httpsPort: 443,
  maxBodySize: '10m',
  /** The API's uploads: a short video (a minute of 1080p is 60 to 100 MB). */
  apiMaxBodySize: '100m',
  hstsMaxAgeSeconds: 31536000,
  proxyMemoryMb: 256,
  /**
   * A file in a volume: no line goes through Docker's log pipeline, which cost the proxy its lead
   * over HAProxy on small answers (bench/results/). The guide reads it with `docker exec`.
   */
  accessLog: 'file' as const,
  /** With Swarm: a task's file would be on whichever node runs it; `docker service logs` has them all. */
  swarmAccessLog: 'docker' as const,
  /** Seconds a replica or the proxy has to finish its requests once told to stop. */
  drainSeconds: 30,
  /** Seconds a new replica has to become healthy. */
  healthTimeoutSeconds: 60,
  /** Seconds MySQL has to shut down cleanly (InnoDB) before it is killed. */
  dbStopGraceSeconds: 60,
  certbotImage: 'certbot/certbot:v3.0.1',
  dbImage: 'mysql:8.0',
  /** Every day at 03:00 UTC. */
  backupSchedule: '03:00',
  backupKeepDaily: 7,
  backupKeepWeekly: 4,
  backupS3Region: 'us-east-1',
  rcloneImage: 'rclone/rclone:1.68.2',
  metricsPort: 9145,
  metricsAddress: '127.0.0.1',
} as const;
