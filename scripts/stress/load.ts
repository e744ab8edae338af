/**
 * Stress scenario "load": mixed maillog traffic (noise, one-off failures from ever new
 * addresses, and attackers that fail 3 times) appended at 50,000 lines/s for 60 s to one jail's
 * log. The daemon's read offset (`status` files[].offset) must keep up with the file size (no
 * backlog growth, caught up soon after the writer stops); ban latency (third failure written ->
 * `event=ban` logged) is reported as p50/p99.
 * @module
 */
import {
  mb,
  percentile,
  runStandalone,
  sleep,
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
import { botAddress } from "./botnet.ts";

/** Ticks per second of the writer. */
const TICKS = 10;

/** The i-th attacker address (banned after 3 failures). */
function attacker(i: number): string {
  return `198.18.${(i >>> 8) & 255}.${i & 255}`;
}

/** One tick of mixed traffic: `lines` lines, with `attackers` attackers' 3 failures at the end. */
export function trafficTick(
  seconds: number,
  lines: number,
  counters: { noise: number; bots: number; attackers: number },
  attackers: number,
): { text: string; attackerAddrs: string[] } {
  const h = syslogHeader(seconds);
  const out: string[] = [];
  const attackerAddrs: string[] = [];
  const failureLines = attackers * 3;
  for (let i = 0; i < lines - failureLines; i++) {
    const k = counters.noise++;
    const r = k % 10;
    if (r === 9) {
      out.push(saslFailure(botAddress(counters.bots++ % 16_000_000), seconds).slice(0, -1));
    } else if (r < 4) {
      out.push(
        `${h} postfix/smtpd[${k % 90000}]: connect from mail${k % 997}.example.net[192.0.2.${
          k % 250
        }]`,
      );
    } else if (r < 7) {
      out.push(
        `${h} postfix/smtpd[${k % 90000}]: disconnect from mail${k % 997}.example.net[192.0.2.${
          k % 250
        }] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5`,
      );
    } else if (r === 7) {
      out.push(
        `${h} dovecot: imap-login: Login: user=<u${k % 5000}>, method=PLAIN, rip=192.0.2.${
          k % 250
        }, lip=192.0.2.1, mpid=${k}, TLS`,
      );
    } else {
      out.push(
        `${h} postfix/smtpd[${k % 90000}]: NOQUEUE: reject: RCPT from unknown[203.0.113.${
          k % 250
        }]: 554 5.7.1 <x${k}@example.org>: Relay access denied; from=<a@b> to=<x@example.org> proto=ESMTP helo=<x>`,
      );
    }
  }
  for (let a = 0; a < attackers; a++) {
    const addr = attacker(counters.attackers++);
    attackerAddrs.push(addr);
    out.push(...saslFailure(addr, seconds).repeat(3).slice(0, -1).split("\n"));
  }
  return { text: out.join("\n") + "\n", attackerAddrs };
}

/** Runs the scenario. */
export function run(options: StressOptions): Promise<StressResult[]> {
  const rate = options.quick ? 20_000 : 50_000;
  const duration = options.quick ? 5 : 60;
  const attackersPerSecond = 10;
  return withTempDir("bw-load-", async (dir) => {
    const results: StressResult[] = [];
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "");
    const config = `${dir}/jails.toml`;
    const socket = `${dir}/banwatch.sock`;
    await Deno.writeTextFile(
      config,
      `${globalSection(dir, { pollInterval: "1s" })}
[jail.mail]
enabled = true
logpath = "${log}"
filter = "postfix-sasl"
maxretry = 3
findtime = "10m"
bantime = "1h"
table = "bw-mail"
`,
    );
    const written = new Map<string, number>();
    const latencies: number[] = [];
    const daemon = startDaemon(config, ["--dry-run"], {
      ...STRESS_DAEMON,
      onLine: (line) => {
        const m = /^level=info event=ban jail=mail addr=(198\.18\.\S+) /.exec(line);
        if (!m) return;
        const t0 = written.get(m[1]!);
        if (t0 !== undefined) {
          latencies.push(performance.now() - t0);
          written.delete(m[1]!);
        }
      },
    });
    const problems: string[] = [];
    const lagSamples: Array<{ t: number; lag: number }> = [];
    let linesWritten = 0;
    let bytesWritten = 0;
    let catchUp = NaN;
    let attackersWritten = 0;
    const file = await Deno.open(log, { write: true, append: true });
    try {
      await daemon.waitFor(/event=started/, 30);
      const counters = { noise: 0, bots: 0, attackers: 0 };
      const perTick = rate / TICKS;
      const attackersPerTick = attackersPerSecond / TICKS;
      const enc = new TextEncoder();
      const start = performance.now();
      let sampling = Promise.resolve();
      for (let tick = 0; tick < duration * TICKS; tick++) {
        const due = start + (tick * 1000) / TICKS;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait / 1000);
        const n = Math.floor((tick + 1) * attackersPerTick) - Math.floor(tick * attackersPerTick);
        const { text, attackerAddrs } = trafficTick(Date.now() / 1000, perTick, counters, n);
        const bytes = enc.encode(text);
        const t0 = performance.now();
        for (const a of attackerAddrs) written.set(a, t0);
        let off = 0;
        while (off < bytes.length) off += await file.write(bytes.subarray(off));
        linesWritten += perTick;
        bytesWritten += bytes.length;
        attackersWritten += attackerAddrs.length;
        if (tick % TICKS === TICKS - 1) {
          // Once a second: how far behind is the daemon? (sampled without blocking the writer)
          const t = (performance.now() - start) / 1000;
          const size = bytesWritten;
          sampling = sampling.then(async () => {
            const jails = await statusJails(socket, 5).catch(() => undefined);
            const offset = jails?.[0]?.files[0]?.offset;
            if (offset !== undefined) lagSamples.push({ t, lag: size - offset });
          });
        }
      }
      const writeSeconds = (performance.now() - start) / 1000;
      await sampling;
      const stopAt = performance.now();
      const caught = await until(async () => {
        const jails = await statusJails(socket, 5).catch(() => undefined);
        return (jails?.[0]?.files[0]?.offset ?? -1) >= bytesWritten;
      }, 60);
      catchUp = (performance.now() - stopAt) / 1000;
      if (!caught) {
        problems.push("the daemon did not catch up within 60 s after the writer stopped");
      }
      if (writeSeconds > duration * 1.1) {
        problems.push(
          `the writer itself fell behind: ${duration} s of traffic took ${
            writeSeconds.toFixed(1)
          } s`,
        );
      }
      await until(() => written.size === 0, 10);
      if (written.size > 0) {
        problems.push(`${written.size} of ${attackersWritten} attackers never banned`);
      }
    } catch (error) {
      problems.push(`scenario error: ${(error as Error).message.split("\n")[0]}`);
    } finally {
      file.close();
      const code = await daemon.stop();
      if (code !== 0) problems.push(`daemon exit ${code}`);
      const traces = stackTraceLines(daemon.lines().join("\n"));
      if (traces.length > 0) problems.push(`stack trace: ${traces[0]}`);
    }
    // Backlog growth: compare the mean lag of the first and the last third of the run.
    const third = Math.max(1, Math.floor(lagSamples.length / 3));
    const mean = (xs: Array<{ lag: number }>) =>
      xs.reduce((s, x) => s + x.lag, 0) / Math.max(1, xs.length);
    const early = mean(lagSamples.slice(0, third));
    const late = mean(lagSamples.slice(-third));
    const bytesPerSecond = bytesWritten / duration;
    const maxLag = Math.max(0, ...lagSamples.map((s) => s.lag));
    // Growth = the late backlog exceeds the early one by more than one second of traffic.
    const growing = late > early + bytesPerSecond;
    if (growing) {
      problems.push(`backlog grew from ${mb(early / 1024)} to ${mb(late / 1024)} behind`);
    }
    if (lagSamples.length < duration / 2) problems.push(`only ${lagSamples.length} status samples`);
    results.push({
      name: `load: ${rate.toLocaleString("en-US")} lines/s for ${duration} s`,
      figure:
        `${linesWritten.toLocaleString("en-US")} lines (${mb(bytesWritten / 1024)}); backlog ` +
        `early ${(early / bytesPerSecond).toFixed(2)} s, late ${
          (late / bytesPerSecond).toFixed(2)
        } s, ` +
        `max ${(maxLag / bytesPerSecond).toFixed(2)} s of input; caught up ${
          catchUp.toFixed(1)
        } s after; ` +
        `peak RSS ${mb(daemon.peakRssKiB())}`,
      pass: problems.length === 0,
      ...(problems.length > 0 ? { detail: problems.join("\n") } : {}),
    });
    results.push({
      name: "load: ban latency",
      figure:
        `p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${
          percentile(latencies, 99).toFixed(0)
        } ms, ` +
        `max ${
          Math.max(0, ...latencies).toFixed(0)
        } ms over ${latencies.length} bans (poll_interval 1s)`,
      pass: latencies.length > 0 && latencies.length === attackersWritten,
      ...(latencies.length !== attackersWritten
        ? { detail: `${latencies.length} of ${attackersWritten} attackers' bans seen` }
        : {}),
    });
    return results;
  });
}

if (import.meta.main) await runStandalone(run);
