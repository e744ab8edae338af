/**
 * Stress scenario "botnet memory": 1,000,000 distinct addresses failing once each within
 * findtime, read by the daemon from one log (dry-run backend). Its peak RSS must stay under
 * 300 MB, `status` must count the evictions forced by `max_tracked`, and a real attacker must
 * still be banned afterwards.
 * @module
 */
import {
  mb,
  runStandalone,
  stackTraceLines,
  statusJails,
  STRESS_DAEMON,
  type StressOptions,
  type StressResult,
} from "./_common_b.ts";
import {
  globalSection,
  saslFailure,
  startDaemon,
  syslogHeader,
  until,
  withTempDir,
} from "../daemon_harness.ts";

/** The RSS bound of the issue (MB). */
export const BOTNET_RSS_LIMIT_MB = 300;

/** The i-th distinct bot address (i < 2^24): 11.0.0.1, 11.0.1.1, ... */
export function botAddress(i: number): string {
  return `${11 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.1`;
}

/** Writes `count` SASL failures from distinct addresses at `seconds` to `path`; returns its size. */
export async function writeBotnetLog(
  path: string,
  count: number,
  seconds: number,
): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  const head = `${syslogHeader(seconds)} postfix/smtpd[4242]: warning: unknown[`;
  const tail = "]: SASL LOGIN authentication failed: authentication failure\n";
  let size = 0;
  try {
    const batch = 10_000;
    for (let start = 0; start < count; start += batch) {
      let text = "";
      for (let i = start; i < Math.min(count, start + batch); i++) {
        text += head + botAddress(i) + tail;
      }
      const bytes = enc.encode(text);
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
      size += bytes.length;
    }
  } finally {
    file.close();
  }
  return size;
}

/** Runs the scenario. */
export function run(options: StressOptions): Promise<StressResult[]> {
  const count = options.quick ? 100_000 : 1_000_000;
  // The quick run lowers max_tracked so that 100k addresses still force evictions.
  const maxTracked = options.quick ? 20_000 : 100_000;
  return withTempDir("bw-botnet-", async (dir) => {
    const results: StressResult[] = [];
    const log = `${dir}/maillog`;
    const now = Date.now() / 1000;
    const size = await writeBotnetLog(log, count, now);
    const config = `${dir}/jails.toml`;
    const socket = `${dir}/banwatch.sock`;
    await Deno.writeTextFile(
      config,
      `${globalSection(dir, { extra: options.quick ? `max_tracked = ${maxTracked}` : "" })}
[jail.mail]
enabled = true
logpath = "${log}"
filter = "postfix-sasl"
maxretry = 3
findtime = "1h"
bantime = "1h"
table = "bw-mail"
`,
    );
    const started = performance.now();
    const daemon = startDaemon(config, ["--dry-run"], STRESS_DAEMON);
    const problems: string[] = [];
    let evictions = -1;
    let failing = -1;
    let seconds = NaN;
    try {
      await daemon.waitFor(/event=started/, 60);
      const caughtUp = await until(async () => {
        const jails = await statusJails(socket, 30).catch(() => undefined);
        return (jails?.[0]?.files[0]?.offset ?? 0) >= size;
      }, options.quick ? 120 : 900);
      seconds = (performance.now() - started) / 1000;
      if (!caughtUp) problems.push(`did not read the ${(size / 1e6).toFixed(0)} MB log in time`);
      const jails = await statusJails(socket, 30);
      evictions = jails[0]?.evictions ?? -1;
      failing = jails[0]?.failing ?? -1;
      if (evictions < count - maxTracked) {
        problems.push(
          `status counts ${evictions} evictions; expected at least ${count - maxTracked}`,
        );
      }
      if (failing > maxTracked) {
        problems.push(`${failing} addresses tracked (max_tracked ${maxTracked})`);
      }
      // Still banning: a real attacker after the flood.
      await Deno.writeTextFile(log, saslFailure("203.0.113.99", Date.now() / 1000).repeat(3), {
        append: true,
      });
      await daemon.waitFor(/event=ban jail=mail addr=203\.0\.113\.99 /, 30).catch(() => {
        problems.push("no ban of a real attacker after the flood");
      });
    } catch (error) {
      problems.push(`scenario error: ${(error as Error).message.split("\n")[0]}`);
    } finally {
      const code = await daemon.stop();
      if (code !== 0) problems.push(`daemon exit ${code}`);
      const traces = stackTraceLines(daemon.lines().join("\n"));
      if (traces.length > 0) problems.push(`stack trace: ${traces[0]}`);
    }
    const peak = daemon.peakRssKiB();
    if (!(peak > 0 && peak / 1024 < BOTNET_RSS_LIMIT_MB)) {
      problems.push(`peak RSS ${mb(peak)} (limit ${BOTNET_RSS_LIMIT_MB} MB)`);
    }
    results.push({
      name: `botnet: ${count.toLocaleString("en-US")} distinct addresses`,
      figure:
        `peak RSS ${mb(peak)} (< ${BOTNET_RSS_LIMIT_MB} MB), ${evictions} evictions in status, ` +
        `${failing} tracked (max_tracked ${maxTracked}), read in ${seconds.toFixed(1)} s ` +
        `(${Math.round(count / seconds)} lines/s)`,
      pass: problems.length === 0,
      ...(problems.length > 0 ? { detail: problems.join("\n") } : {}),
    });
    return results;
  });
}

if (import.meta.main) await runStandalone(run);
