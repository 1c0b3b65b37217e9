// Setting names as the user sees them in an error line: the property, and its environment
// variable if it has one (from the schema: nameOf).
import { nameOf } from './schema';

/** The settings the checks name, by the key they use. */
const PATHS = {
  name: 'name',
  domain: 'domain',
  serverAliases: 'serverAliases',
  replicas: 'replicas',
  dockerHost: 'dockerHost',
  engine: 'engine',
  swarmEncrypt: 'swarm.encryptNetwork',
  backendReplicas: 'backend.replicas',
  apiSubdomain: 'backend.subdomain',
  apiMaxBodySize: 'backend.maxBodySize',
  backendSecretEnv: 'backend.secretEnv',
  database: 'database.enabled',
  dbImage: 'database.image',
  dbAllowDestroy: 'database.allowDestroy',
  migrateCommand: 'database.migrateCommand',
  dbName: 'database.databaseName',
  dbUser: 'database.user',
  backup: 'backup.enabled',
  backupSchedule: 'backup.schedule',
  backupKeepDaily: 'backup.keepDaily',
  backupKeepWeekly: 'backup.keepWeekly',
  backupDrill: 'backup.drill',
  backupS3: 'backup.s3.url',
  backupS3Endpoint: 'backup.s3.endpoint',
  backupS3Region: 'backup.s3.region',
  backupS3Image: 'backup.s3.image',
  metrics: 'metrics.enabled',
  metricsPort: 'metrics.port',
  metricsAddress: 'metrics.address',
  metricsImage: 'metrics.image',
  nginxImage: 'proxy.image',
  httpPort: 'proxy.httpPort',
  lbMethod: 'proxy.loadBalancing',
  maxBodySize: 'proxy.maxBodySize',
  maintenance: 'proxy.maintenance',
  accessLog: 'proxy.accessLog',
  httpsPort: 'proxy.httpsPort',
  hsts: 'proxy.hstsMaxAgeSeconds',
  rateLimit: 'proxy.rateLimit',
  realIpFrom: 'proxy.realIp.trustedFrom',
  realIpHeader: 'proxy.realIp.header',
  tlsMode: 'tls.mode',
  tlsCert: 'tls.certFile',
  tlsKey: 'tls.keyFile',
  acmeEmail: 'tls.email',
  acmeDirectory: 'tls.directoryUrl',
  acmeCa: 'tls.caFile',
  certbotImage: 'tls.certbotImage',
} as const;

/** `NAMES.httpPort` is `proxy.httpPort (WAYSHUB_HTTP_PORT)`; read when a check runs, after the schema is loaded. */
export const NAMES = new Proxy({} as Record<keyof typeof PATHS, string>, {
  get: (_target, key: string) => nameOf(PATHS[key as keyof typeof PATHS]),
});

/** Setting names of a replica set as the user sees them: `app.port (WAYSHUB_APP_PORT)`. */
export function appNames(role: 'app' | 'backend') {
  const name = (key: string) => nameOf(`${role}.${key}`);
  return {
    image: name('image'),
    buildContext: name('buildContext'),
    port: name('port'),
    healthPath: name('healthPath'),
    healthcheck: name('healthcheck'),
    memoryMb: name('memoryMb'),
    env: name('env'),
    addCapabilities: name('addCapabilities'),
    drainSeconds: name('drainSeconds'),
    healthTimeoutSeconds: name('healthTimeoutSeconds'),
    servers: name('servers'),
    command: name('command'),
  };
}
