// App servers the stack does not run, as the bootcamp's own answer had them: one per "VM", each
// in a network namespace of its own with an address routed from the host (10.77.<n>.2), where
// the proxy container reaches it as it would reach a machine on the LAN.
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';

// An app server on :3000 that answers with its VM's name; "slow" paths answer after ?ms=N. On
// SIGTERM it stops taking connections, answers what arrives on the open ones with
// "Connection: close", leaves idle ones for the proxy to close (closing one itself could race a
// request nginx is writing on it), and exits when none is left.
const SERVER = `
const http = require('http');
const net = require('net');
let draining = false;
const sockets = new Set();
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const ms = Math.min(Number(new URL(req.url, 'http://x').searchParams.get('ms')) || 0, 60000);
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'text/plain', ...(draining ? { Connection: 'close' } : {}) });
      res.end(process.env.VM_NAME);
    }, ms);
  });
});
server.keepAliveTimeout = 5000;
server.on('connection', (s) => { sockets.add(s); s.on('close', () => { sockets.delete(s); if (draining && sockets.size === 0) process.exit(0); }); });
process.on('SIGTERM', () => {
  draining = true;
  // net.Server's close only stops listening; http.Server's would also close idle connections.
  net.Server.prototype.close.call(server);
  if (sockets.size === 0) process.exit(0);
  setTimeout(() => process.exit(0), 15000).unref();
});
server.listen(3000, '0.0.0.0', () => console.log('listening'));
`;

export class AppServerVm {
  readonly address: string;
  private readonly ns: string;
  private readonly hostLink: string;
  private process?: ChildProcess;

  constructor(
    readonly name: string,
    private readonly subnet: number,
  ) {
    this.ns = `wvm-${name}`;
    this.hostLink = `veth-wvm${subnet}`;
    this.address = `10.77.${subnet}.2`;
  }

  /** The namespace, its link to the host and its route back. */
  create(): void {
    this.destroy();
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
    ip('netns', 'add', this.ns);
    ip('link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.ns);
    ip('addr', 'add', `10.77.${this.subnet}.1/24`, 'dev', this.hostLink);
    ip('link', 'set', this.hostLink, 'up');
    ip('-n', this.ns, 'addr', 'add', `${this.address}/24`, 'dev', 'eth0');
    ip('-n', this.ns, 'link', 'set', 'eth0', 'up');
    ip('-n', this.ns, 'link', 'set', 'lo', 'up');
    ip('-n', this.ns, 'route', 'add', 'default', 'via', `10.77.${this.subnet}.1`);
  }

  /** Starts the app server; resolves once it listens. */
  start(): Promise<void> {
    const child = spawn('nsenter', [`--net=/var/run/netns/${this.ns}`, process.execPath, '-e', SERVER], {
      env: { ...process.env, VM_NAME: this.name },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.process = child;
    return new Promise((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('listening')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`app server ${this.name} exited with ${code}`)));
    });
  }

  /** SIGTERM: it drains and exits; resolves when it has. */
  stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  destroy(): void {
    this.process?.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', this.ns], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', this.hostLink], { stdio: 'ignore' });
  }
}
