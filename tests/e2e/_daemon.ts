/**
 * Test helpers that run the real daemon (`main.ts run`) as a child process with the compile's
 * permission flags, write syslog lines, and wait for what the daemon logs or does.
 * @module
 */
import { RUN_FLAGS } from "../../scripts/flags.ts";
import { syslogHeader as header } from "../../scripts/gen_maillog.ts";
import { ROOT } from "../_helpers.ts";
import { type FakeIpfw, installFakeIpfw } from "../_fake_ipfw.ts";

/** A running `banwatch run` child. */
export interface DaemonProcess {
  /** The child process. */
  child: Deno.ChildProcess;
  /** Everything it wrote to stderr so far (one event per line). */
  readonly stderr: () => string;
  /** Resolves once stderr holds a line matching `re` (rejects after `timeout` seconds). */
  waitFor(re: RegExp, timeout?: number): Promise<string>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/** Starts `main.ts run -c config` with TZ=UTC. */
export function startDaemon(config: string, extraArgs: readonly string[] = []): DaemonProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...RUN_FLAGS, `${ROOT}main.ts`, "run", "-c", config, ...extraArgs],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { TZ: "UTC", NO_COLOR: "1" },
  }).spawn();
  let text = "";
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      const line = text.split("\n").find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(i, 1);
        w.resolve(line);
      }
    }
  };
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      text += dec.decode(chunk, { stream: true });
      check();
    }
  })();
  let exit: Promise<number> | undefined;
  return {
    child,
    stderr: () => text,
    waitFor(re, timeout = 15) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`timed out waiting for ${re} in daemon stderr:\n${text}`));
        }, timeout * 1000);
        waiters.push({
          re,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        check();
      });
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exit) {
        try {
          child.kill(signal);
        } catch {
          // already gone
        }
        exit = child.status.then((s) => s.signal ? 128 : s.code);
      }
      const code = await exit;
      await reading;
      return code;
    },
  };
}

/** An RFC 3164 syslog header for `seconds` (UTC), e.g. `Nov  3 20:04:17 mx`. */
export function syslogHeader(seconds: number, host = "mx"): string {
  return header(seconds, host);
}

/** A postfix SASL failure line for `addr` at `seconds`. */
export function saslFailure(addr: string, seconds = Date.now() / 1000, pid = 4242): string {
  return `${
    syslogHeader(seconds)
  } postfix/smtpd[${pid}]: warning: unknown[${addr}]: SASL LOGIN authentication failed: authentication failure\n`;
}

/** Appends text to a file (creating it). */
export async function append(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { append: true, create: true });
}

/** Polls `probe` until it returns true (rejects after `timeout` seconds). */
export async function eventually(
  probe: () => Promise<boolean> | boolean,
  what: string,
  timeout = 15,
): Promise<void> {
  const end = Date.now() + timeout * 1000;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Writes a jails.toml for a postfix-sasl jail on `log` banning into the fake ipfw. */
export async function writeConfig(
  dir: string,
  options: { log: string; ipfw: string; maxretry?: number; bantime?: string; extra?: string },
): Promise<string> {
  const path = `${dir}/jails.toml`;
  await Deno.writeTextFile(
    path,
    `[global]
state_dir = "${dir}/state"
socket = "${dir}/banwatch.sock"
ipfw_path = "${options.ipfw}"
poll_interval = 1

[jail.mail]
enabled = true
logpath = "${options.log}"
filter = "postfix-sasl"
maxretry = ${options.maxretry ?? 3}
findtime = "1h"
bantime = "${options.bantime ?? "1h"}"
backend = "ipfw"
table = "bw-mail"
${options.extra ?? ""}
`,
  );
  return path;
}

/** A temp dir with the ipfw double, an empty maillog and a jails.toml for it. */
export interface DaemonFixture {
  /** The temp dir (removed afterwards). */
  dir: string;
  /** The installed ipfw double. */
  fake: FakeIpfw;
  /** The (empty) log the jail reads. */
  log: string;
  /** The jails.toml path. */
  config: string;
}

/** Runs `fn` with a fresh {@link DaemonFixture}; the directory is removed afterwards. */
export async function withDaemonFixture(
  options: {
    maxretry?: number;
    bantime?: string;
    extra?: string;
    fakeEnv?: Record<string, string>;
  },
  fn: (f: DaemonFixture) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bw-daemon-" });
  try {
    const fake = await installFakeIpfw(dir, options.fakeEnv ? { env: options.fakeEnv } : {});
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "");
    const config = await writeConfig(dir, {
      log,
      ipfw: fake.path,
      ...(options.maxretry === undefined ? {} : { maxretry: options.maxretry }),
      ...(options.bantime === undefined ? {} : { bantime: options.bantime }),
      ...(options.extra === undefined ? {} : { extra: options.extra }),
    });
    await fn({ dir, fake, log, config });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
