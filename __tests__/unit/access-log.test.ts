// Where the proxy's access log goes, as synthesized: a file of nginx's own in a volume, rotated
// by the proxy; with WAYSHUB_ACCESS_LOG=docker (and always with Swarm), Docker's log.
import { withEnvironment } from '../../constructs/settings';
import { ACCESS_LOG_ROTATE_MB } from '../../constructs/engines/containers/proxy-container';
import { refusalOf, settingsFromEnv } from '../support/settings-from-env';
import { synthStack, uploadedFiles } from '../support/synth';

const MAIN = '/etc/nginx/wayshub/nginx.conf';
const START = '/etc/nginx/wayshub/start.sh';

describe('settings', () => {
  test('file unless asked; docker when asked, and by default with Swarm', () => {
    expect(settingsFromEnv({}).proxy.accessLog).toBe('file');
    expect(settingsFromEnv({ WAYSHUB_ACCESS_LOG: 'docker' }).proxy.accessLog).toBe('docker');
    expect(settingsFromEnv({ WAYSHUB_ENGINE: 'swarm' }).proxy.accessLog).toBe('docker');
  });

  test.each<[string, Record<string, string>, string]>([
    [
      'a path instead of a choice',
      { WAYSHUB_ACCESS_LOG: '/var/log/nginx/access.log' },
      'invalid proxy.accessLog (WAYSHUB_ACCESS_LOG): "/var/log/nginx/access.log"; allowed: docker (each request in docker logs) or file',
    ],
    ['another spelling', { WAYSHUB_ACCESS_LOG: 'File' }, 'invalid proxy.accessLog (WAYSHUB_ACCESS_LOG): "File"; allowed: docker'],
    [
      'a file with Swarm',
      { WAYSHUB_ENGINE: 'swarm', WAYSHUB_ACCESS_LOG: 'file' },
      'invalid proxy.accessLog (WAYSHUB_ACCESS_LOG): "file"; allowed with WAYSHUB_ENGINE=swarm: docker',
    ],
  ])('%s is refused with one line', (_what, env, expected) => {
    expect(refusalOf(env)).toContain(expected);
  });
});

describe('as synthesized', () => {
  test("with WAYSHUB_ACCESS_LOG=docker, each request's line goes to stdout in 4k batches, and nothing else is made", () => {
    const { json } = synthStack(withEnvironment({ domain: 'alvin.xyz' }, { WAYSHUB_ACCESS_LOG: 'docker' }));
    const files = uploadedFiles(json);
    expect(files[MAIN]).toContain('access_log /dev/stdout wayshub buffer=4k flush=1s;');
    expect(files[START]).not.toContain('reopen');
    expect(json.resource.docker_volume.proxy_access_log).toBeUndefined();
  });

  describe('by default (WAYSHUB_ACCESS_LOG=file)', () => {
    const { json } = synthStack(withEnvironment({ domain: 'alvin.xyz' }, {}));
    const containers = json.resource.docker_container;
    const files = uploadedFiles(json);

    test('nginx writes the same line into a file, in 64k batches, and nothing to stdout', () => {
      expect(files[MAIN]).toContain('access_log /var/log/wayshub/access.log wayshub buffer=64k flush=1s;');
      expect(files[MAIN]).not.toContain('/dev/stdout wayshub');
      expect(files[MAIN]).toContain('log_format wayshub ');
    });

    test('the file is on a volume of its own, mounted by the proxy and by the loader (nginx -t opens it)', () => {
      expect(json.resource.docker_volume.proxy_access_log).toMatchObject({ name: 'wayshub-proxy-access-log' });
      const mount = { volume_name: '${docker_volume.proxy_access_log.name}', container_path: '/var/log/wayshub' };
      expect(containers.proxy.volumes).toContainEqual(mount);
      expect(containers.proxy_config_loader.volumes).toContainEqual(mount);
      // The root stays read-only: the volume is the only place the file can be.
      expect(containers.proxy.read_only).toBe(true);
    });

    test(`the proxy moves the file aside past ${ACCESS_LOG_ROTATE_MB} MB and has nginx open a new one`, () => {
      expect(files[START]).toContain(
        `if [ "$(stat -c %s /var/log/wayshub/access.log 2>/dev/null || echo 0)" -gt ${ACCESS_LOG_ROTATE_MB * 1024 * 1024} ]; then`,
      );
      expect(files[START]).toContain('mv -f /var/log/wayshub/access.log /var/log/wayshub/access.log.1');
      expect(files[START]).toContain('nginx -c /etc/nginx/wayshub/nginx.conf -s reopen');
    });
  });
});
