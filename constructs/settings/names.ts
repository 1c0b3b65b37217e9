// Setting names as the user sees them in an error line: the property, and its environment
// variable if it has one.

export const NAMES = {
  name: 'name',
  domain: 'domain (WAYSHUB_DOMAIN)',
  serverAliases: 'serverAliases (WAYSHUB_SERVER_ALIASES)',
  replicas: 'replicas',
  dockerHost: 'dockerHost (DOCKER_HOST)',
  engine: 'engine (WAYSHUB_ENGINE)',
  swarmEncrypt: 'swarm.encryptNetwork (WAYSHUB_SWARM_ENCRYPT)',
  backendReplicas: 'backend.replicas',
  apiSubdomain: 'backend.subdomain (WAYSHUB_API_SUBDOMAIN)',
  backendSecretEnv: 'backend.secretEnv (WAYSHUB_BACKEND_SECRET_ENV)',
  database: 'database.enabled (WAYSHUB_DATABASE)',
  dbImage: 'database.image (WAYSHUB_DB_IMAGE)',
  dbAllowDestroy: 'database.allowDestroy (WAYSHUB_DB_ALLOW_DESTROY)',
  migrateCommand: 'database.migrateCommand (WAYSHUB_MIGRATE_COMMAND)',
  dbName: 'database.databaseName',
  dbUser: 'database.user',
  nginxImage: 'proxy.image (WAYSHUB_NGINX_IMAGE)',
  httpPort: 'proxy.httpPort (WAYSHUB_HTTP_PORT)',
  lbMethod: 'proxy.loadBalancing (WAYSHUB_LB_METHOD)',
  maxBodySize: 'proxy.maxBodySize (WAYSHUB_MAX_BODY_SIZE)',
  httpsPort: 'proxy.httpsPort (WAYSHUB_HTTPS_PORT)',
  hsts: 'proxy.hstsMaxAgeSeconds (WAYSHUB_HSTS_MAX_AGE)',
  rateLimit: 'proxy.rateLimit (WAYSHUB_RATE_LIMIT)',
  realIpFrom: 'proxy.realIp.trustedFrom (WAYSHUB_REAL_IP_FROM)',
  realIpHeader: 'proxy.realIp.header (WAYSHUB_REAL_IP_HEADER)',
  tlsMode: 'tls.mode (WAYSHUB_TLS)',
  tlsCert: 'tls.certFile (WAYSHUB_TLS_CERT)',
  tlsKey: 'tls.keyFile (WAYSHUB_TLS_KEY)',
  acmeEmail: 'tls.email (WAYSHUB_ACME_EMAIL)',
  acmeDirectory: 'tls.directoryUrl (WAYSHUB_ACME_DIRECTORY)',
  acmeCa: 'tls.caFile (WAYSHUB_ACME_CA_FILE)',
  certbotImage: 'tls.certbotImage (WAYSHUB_CERTBOT_IMAGE)',
} as const;

/** Setting names of a replica set as the user sees them: `app.port (WAYSHUB_APP_PORT)`. */
export function appNames(role: 'app' | 'backend') {
  const env = role === 'app' ? 'APP' : 'BACKEND';
  return {
    image: `${role}.image (WAYSHUB_${env}_IMAGE)`,
    buildContext: `${role}.buildContext (WAYSHUB_${env}_BUILD_CONTEXT)`,
    port: `${role}.port (WAYSHUB_${env}_PORT)`,
    healthPath: `${role}.healthPath (WAYSHUB_${env}_HEALTH_PATH)`,
    healthcheck: `${role}.healthcheck`,
    memoryMb: `${role}.memoryMb`,
    env: `${role}.env`,
    addCapabilities: `${role}.addCapabilities`,
    drainSeconds: `${role}.drainSeconds`,
    healthTimeoutSeconds: `${role}.healthTimeoutSeconds`,
  };
}
