// A tiny local image for tests of the local apply, without any registry: a statically
// linked busybox (Debian's busybox-static) with its applet links, piped into
// `docker import`. Cached by tag; the tag carries the binary's hash, so a different
// busybox gives a different image.
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { docker, imageId } from './docker-cli';
import { sha256 } from './json-value';

const REPO = 'wayshub-e2e/busybox';
const CANDIDATES = ['/bin/busybox', '/usr/bin/busybox', '/usr/local/bin/busybox'];

/** Returns the tag of the busybox image, importing it on first use. */
export async function busyboxImage(log: (line: string) => void = () => undefined): Promise<string> {
  const binary = findStaticBusybox() ?? (await downloadBusyboxStatic(log));
  const tag = `${REPO}:${sha256(readFileSync(binary).toString('base64')).slice(0, 12)}`;
  if (await imageId(tag)) return tag;

  log(`importing ${tag} from ${binary} ...`);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'busybox-rootfs-'));
  try {
    await fs.mkdir(path.join(root, 'bin'));
    await fs.copyFile(binary, path.join(root, 'bin', 'busybox'));
    await fs.chmod(path.join(root, 'bin', 'busybox'), 0o755);
    // `--list-full` names each applet with its usual directory (bin/sh, usr/bin/wget, ...).
    const applets = spawnSync(binary, ['--list-full'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const applet of applets) {
      const link = path.join(root, applet);
      if (applet === 'bin/busybox') continue;
      await fs.mkdir(path.dirname(link), { recursive: true });
      await fs.symlink('/bin/busybox', link).catch(() => undefined);
    }
    for (const dir of ['etc', 'tmp', 'root', 'srv', 'var/run', 'proc', 'sys', 'dev']) {
      await fs.mkdir(path.join(root, dir), { recursive: true });
    }
    await fs.chmod(path.join(root, 'tmp'), 0o1777);
    await fs.writeFile(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    await fs.writeFile(path.join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = spawnSync('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '.'], { maxBuffer: 64 * 1024 * 1024 });
    if (tar.status !== 0) throw new Error(`tar of the busybox rootfs failed: ${tar.stderr.toString()}`);
    await docker(['image', 'import', '--change', 'CMD ["sh"]', '-', tag], tar.stdout);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
  return tag;
}

// An image with nothing else in it needs a binary with no dynamic loader.
function findStaticBusybox(): string | undefined {
  return CANDIDATES.find((p) => {
    try {
      return !hasInterpreter(readFileSync(p));
    } catch {
      return false;
    }
  });
}

/** True when an ELF file names a program interpreter (PT_INTERP): it is dynamically linked. */
function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) return true;
  const is64 = elf[4] === 2;
  const le = elf[5] === 1;
  const u16 = (o: number): number => (le ? elf.readUInt16LE(o) : elf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? elf.readUInt32LE(o) : elf.readUInt32BE(o));
  const phoff = is64 ? Number(le ? elf.readBigUInt64LE(32) : elf.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === 3) return true;
  return false;
}

// Without busybox-static installed, fetch the package from Debian's archive (no root needed).
async function downloadBusyboxStatic(log: (line: string) => void): Promise<string> {
  const dir = path.join(os.tmpdir(), 'wayshub-e2e-busybox-static');
  const binary = path.join(dir, 'root', 'bin', 'busybox');
  if (
    await fs.stat(binary).then(
      () => true,
      () => false,
    )
  )
    return binary;
  log("no static busybox on this machine: downloading Debian's busybox-static ...");
  await fs.mkdir(dir, { recursive: true });
  const dl = spawnSync('apt-get', ['download', 'busybox-static'], { cwd: dir, encoding: 'utf8' });
  const deb = (await fs.readdir(dir)).find((f) => f.startsWith('busybox-static') && f.endsWith('.deb'));
  if (dl.status !== 0 || !deb) {
    throw new Error(`no static busybox: install it (apt-get install busybox-static); apt-get download said: ${(dl.stderr ?? '').trim()}`);
  }
  const x = spawnSync('dpkg-deb', ['-x', path.join(dir, deb), path.join(dir, 'root')], { encoding: 'utf8' });
  if (x.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${x.stderr}`);
  return binary;
}
