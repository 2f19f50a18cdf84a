// The `Deno` namespace a function gets on the local stack: the one the edge runtime gives a user
// worker, not plain Deno's. supabase/edge-runtime replaces the global `Deno` of a user worker with
// `denoOverrides` (ext/runtime/js/bootstrap.js, `ObjectDefineProperty(globalThis, "Deno",
// readOnly(denoOverrides))`, line 616), an object built in ext/runtime/js/denoOverrides.js, then
// changes some of its members for user workers (bootstrap.js lines 676-775). So:
// - only the members listed there exist (USER_WORKER_MEMBERS): `Deno.listenTls`,
//   `Deno.listenDatagram`, `Deno.run`, `Deno.watchFs`, `Deno.openKv`, `Deno.ppid`, … are undefined;
// - `Deno.listen` opens no socket (ext/runtime/ops/net.rs, op_net_listen, lines 114-128: it
//   answers 0.0.0.0:9999) and its accept takes the worker's incoming-request channel (op_net_accept,
//   lines 130-228); a Unix listener is unsupported (op_net_unsupported, lines 28-40 and 232-234).
//   Here accept never takes a request (the host's requests go only to the function's handler) and
//   waits until the listener is closed;
// - `Deno.Command` spawns nothing (ext/os/os.js, DenoCommand, lines 1-26), and the OS calls answer
//   fixed values (os.js lines 28-68; execPath from bootstrap.js line 716);
// - file system calls outside the allowed list throw PermissionDenied "Deno.<name> is blocklisted"
//   (bootstrap.js lines 405-420 and 677-702); the synchronous ones in the allowed list work only
//   while the module loads (`allowIfRuntimeIsInInit`, lines 703-713 and 744-757);
// - `Deno.exit`, `Deno.kill`, `Deno.addSignalListener`, `Deno.removeSignalListener` do nothing
//   (`mock`, lines 698-701 and 736-743);
// - `Deno.permissions` answers "granted" to every query (ext/runtime/js/permissions.js, opQuery,
//   opRequest, opRevoke), and `Deno.args` is empty (bootstrap.js line 578).
// Line numbers are those of supabase/edge-runtime's main at commit b1edf453 (2026-04-30).

/** Members of a user worker's Deno namespace (denoOverrides.js lines 12-118; bootstrap.js lines 574-587). */
export const USER_WORKER_MEMBERS = [
  // denoOverrides
  "createHttpClient",
  "serve",
  "serveHttp",
  "upgradeWebSocket",
  "listen",
  "connect",
  "connectTls",
  "startTls",
  "resolveDns",
  "permissions",
  "Permissions",
  "PermissionStatus",
  "errors",
  "refTimer",
  "unrefTimer",
  "isatty",
  "stdout",
  "stderr",
  "stdin",
  // osCallsVars
  "gid",
  "uid",
  "hostname",
  "loadavg",
  "osUptime",
  "osRelease",
  "systemMemoryInfo",
  "consoleSize",
  "Command",
  "version",
  "networkInterfaces",
  "execPath",
  // set after runtimeStart
  "build",
  "env",
  "pid",
  "args",
  "mainModule",
  // user worker additions
  "kill",
  "exit",
  "addSignalListener",
  "removeSignalListener",
  "memoryUsage",
] as const;

/** fsVars of denoOverrides.js (lines 27-90): every one blocklisted for user workers unless allowed below. */
export const FILE_SYSTEM_MEMBERS = [
  "writeFileSync",
  "writeFile",
  "writeTextFileSync",
  "writeTextFile",
  "readTextFile",
  "readTextFileSync",
  "readFile",
  "readFileSync",
  "chmodSync",
  "chmod",
  "chown",
  "chownSync",
  "copyFileSync",
  "cwd",
  "makeTempDirSync",
  "makeTempDir",
  "makeTempFileSync",
  "makeTempFile",
  "mkdirSync",
  "mkdir",
  "chdir",
  "copyFile",
  "readDirSync",
  "readDir",
  "readLinkSync",
  "readLink",
  "realPathSync",
  "realPath",
  "removeSync",
  "remove",
  "renameSync",
  "rename",
  "statSync",
  "lstatSync",
  "stat",
  "lstat",
  "truncateSync",
  "truncate",
  "ftruncateSync",
  "ftruncate",
  "futime",
  "futimeSync",
  "File",
  "FsFile",
  "open",
  "openSync",
  "create",
  "createSync",
  "seek",
  "seekSync",
  "fstatSync",
  "fstat",
  "fsyncSync",
  "fsync",
  "fdatasyncSync",
  "fdatasync",
  "symlink",
  "symlinkSync",
  "link",
  "linkSync",
  "utime",
  "utimeSync",
] as const;

/** File system calls a user worker keeps (bootstrap.js lines 680-696). */
const FILE_SYSTEM_ALLOWED = new Set([
  "cwd",
  "open",
  "lstat",
  "stat",
  "realPath",
  "realPathSync",
  "create",
  "remove",
  "writeFile",
  "writeTextFile",
  "readFile",
  "readTextFile",
  "mkdir",
  "makeTempDir",
  "makeTempFile",
  "readDir",
]);

/** Synchronous file system calls a user worker may make only while its module loads (bootstrap.js lines 703-713). */
const FILE_SYSTEM_ALLOWED_WHILE_LOADING = new Set([
  "lstatSync",
  "statSync",
  "removeSync",
  "writeFileSync",
  "writeTextFileSync",
  "readFileSync",
  "readTextFileSync",
  "mkdirSync",
  "makeTempDirSync",
  "makeTempFileSync",
  "readDirSync",
]);

const SUBPROCESS_REFUSED = "Spawning subprocesses is not allowed on Supabase Edge Runtime.";

/** ext/os/os.js's DenoCommand: constructible, and every way of running it fails. */
class DenoCommand {
  constructor(readonly command: string | URL, readonly options?: unknown) {}
  output(): Promise<never> {
    return Promise.reject(new Error(SUBPROCESS_REFUSED));
  }
  outputSync(): never {
    throw new Error(SUBPROCESS_REFUSED);
  }
  spawn(): never {
    throw new Error(SUBPROCESS_REFUSED);
  }
}

/** The listener op_net_listen hands back: no socket, 0.0.0.0:9999, and an accept that takes nothing here. */
class NoopListener implements AsyncIterable<never> {
  readonly addr = { transport: "tcp" as const, hostname: "0.0.0.0", port: 9999 };
  readonly rid = -1;
  #closed = Promise.withResolvers<never>();
  #isClosed = false;

  accept(): Promise<never> {
    return this.#closed.promise;
  }
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    // What op_net_accept answers once the listener's cancellation token fires.
    this.#closed.reject(new Deno.errors.BadResource("duplex stream channel is closed"));
    this.#closed.promise.catch(() => {});
  }
  ref(): void {}
  unref(): void {}
  async *[Symbol.asyncIterator](): AsyncGenerator<never> {
    try {
      while (true) yield await this.accept();
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) return;
      throw error;
    }
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Hosted projects refuse outbound connections to the mail submission ports (Supabase's Edge
 * Functions limits: "Outbound connections to ports 25 and 587 are not allowed"). It is the
 * platform's network policy, not the runtime's code, so the runtime's source has no line for it;
 * fetch already refuses both as "bad ports" (Fetch Standard, port blocking).
 */
export const BLOCKED_EGRESS_PORTS: readonly number[] = [25, 587];

function allowedEgress<T extends { port: number }>(options: T): T {
  if (BLOCKED_EGRESS_PORTS.includes(Number(options?.port))) {
    throw new Deno.errors.ConnectionRefused(
      `Outbound connections to port ${options.port} are not allowed on Supabase Edge Functions`,
    );
  }
  return options;
}

function notSupported(): never {
  // deno_core's not_supported(), as JavaScript sees it.
  throw new Deno.errors.NotSupported("The operation is not supported");
}

/** The runtime's Permissions: every state is "granted" (ext/runtime/js/permissions.js). */
class GrantedPermissions {
  #status(): Deno.PermissionStatus {
    const status = Object.assign(new EventTarget(), { state: "granted", partial: false, onchange: null });
    return status as unknown as Deno.PermissionStatus;
  }
  query(_desc: unknown) {
    return Promise.resolve(this.#status());
  }
  querySync(_desc: unknown) {
    return this.#status();
  }
  request(_desc: unknown) {
    return Promise.resolve(this.#status());
  }
  requestSync(_desc: unknown) {
    return this.#status();
  }
  revoke(_desc: unknown) {
    return Promise.resolve(this.#status());
  }
  revokeSync(_desc: unknown) {
    return this.#status();
  }
}

export interface UserWorkerOptions {
  /** The host's Deno.serve, which serves the function's handler. */
  serve: (...args: unknown[]) => unknown;
  /** Deno.resolveDns pointed at the stack's DNS server. */
  resolveDns: typeof Deno.resolveDns;
  /** True while the function's module loads (the runtime's op_is_runtime_init). */
  loading: () => boolean;
}

/** A Deno namespace shaped as the edge runtime's user worker namespace, from plain Deno's `real`. */
export function userWorkerDeno(real: typeof Deno, options: UserWorkerOptions): Record<string, unknown> {
  const startedAt = Date.now();
  const source = real as unknown as Record<string, unknown>;
  const namespace: Record<string, unknown> = {
    createHttpClient: real.createHttpClient,
    serve: options.serve,
    serveHttp: source.serveHttp,
    upgradeWebSocket: real.upgradeWebSocket,
    listen: (listenOptions: { transport?: string } = {}) => {
      if (listenOptions.transport === "unix" || listenOptions.transport === "unixpacket") notSupported();
      return new NoopListener();
    },
    connect: (connectOptions: Deno.ConnectOptions) => real.connect(allowedEgress(connectOptions)),
    connectTls: (connectOptions: Deno.ConnectTlsOptions) => real.connectTls(allowedEgress(connectOptions)),
    startTls: real.startTls,
    resolveDns: options.resolveDns,
    permissions: new GrantedPermissions(),
    Permissions: real.Permissions,
    PermissionStatus: real.PermissionStatus,
    errors: real.errors,
    refTimer: source.refTimer,
    unrefTimer: source.unrefTimer,
    isatty: () => false,
    stdout: real.stdout,
    stderr: real.stderr,
    stdin: real.stdin,
    gid: () => 1000,
    uid: () => 1000,
    hostname: () => "localhost",
    loadavg: () => [0, 0, 0],
    osUptime: () => Math.floor(Math.abs(Date.now() - startedAt) / 1000),
    osRelease: () => "0.0.0-00000000-generic",
    systemMemoryInfo: () => ({ total: 0, free: 0, available: 0, buffers: 0, cached: 0, swapTotal: 0, swapFree: 0 }),
    consoleSize: () => ({ columns: 80, rows: 24 }),
    Command: DenoCommand,
    version: {
      deno: `supabase-edge-runtime-local (compatible with Deno v${real.version.deno})`,
      v8: real.version.v8,
      typescript: real.version.typescript,
    },
    networkInterfaces: () => [
      {
        family: "IPv4",
        name: "lo",
        address: "127.0.0.1",
        netmask: "255.0.0.0",
        scopeid: null,
        cidr: "127.0.0.1/8",
        mac: "00:00:00:00:00:00",
      },
      {
        family: "IPv4",
        name: "eth0",
        address: "10.0.0.10",
        netmask: "255.255.255.0",
        scopeid: null,
        cidr: "10.0.0.10/24",
        mac: "00:00:00:00:00:01",
      },
    ],
    execPath: () => "/bin/edge-runtime",
    build: real.build,
    env: real.env,
    pid: real.pid,
    args: [],
    mainModule: real.mainModule,
    kill: () => {},
    exit: () => {},
    addSignalListener: () => {},
    removeSignalListener: () => {},
    memoryUsage: real.memoryUsage,
  };
  for (const name of FILE_SYSTEM_MEMBERS) {
    const original = source[name];
    // Members plain Deno no longer has (Deno.File) are absent, as in the runtime's list.
    if (original === undefined) continue;
    if (FILE_SYSTEM_ALLOWED.has(name)) {
      namespace[name] = original;
    } else if (FILE_SYSTEM_ALLOWED_WHILE_LOADING.has(name)) {
      namespace[name] = (...args: unknown[]) => {
        if (!options.loading()) {
          throw new real.errors.PermissionDenied(`Deno.${name} is blocklisted on the current context`);
        }
        return (original as (...args: unknown[]) => unknown)(...args);
      };
    } else {
      namespace[name] = () => {
        throw new real.errors.PermissionDenied(`Deno.${name} is blocklisted`);
      };
    }
  }
  return namespace;
}
