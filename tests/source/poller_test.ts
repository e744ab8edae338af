import { createLogger } from "../../lib/core/log.ts";
import {
  type Batch,
  detectChange,
  fingerprint,
  LogTail,
  type LogTailOptions,
  type SavedPosition,
} from "../../lib/source/poller.ts";
import { assertEquals, assertMatch, assertOk, assertRejects } from "../_assert.ts";
import { createRng } from "../../scripts/stress/_common_a.ts";

const enc = new TextEncoder();

/** A temp dir, a logger capturing its lines, and helpers; removed in finally. */
async function withDir(fn: (dir: string, logs: string[]) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "banwatch-poller-" });
  const logs: string[] = [];
  try {
    await fn(dir, logs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function tailOptions(logs: string[], extra: Partial<LogTailOptions> = {}): LogTailOptions {
  return {
    logger: createLogger({ level: "debug", write: (l) => logs.push(l) }),
    rotationGrace: 2,
    // The poll-count grace alone; the quiet time and the rotated name have their own tests.
    rotationQuietSeconds: 0,
    ...extra,
  };
}

/** A tail on `path` opened from `saved` (or the start), given to `fn`, then closed. */
async function withTail<T>(
  path: string,
  logs: string[],
  fn: (tail: LogTail) => Promise<T>,
  saved?: SavedPosition,
): Promise<T> {
  const tail = new LogTail(path, tailOptions(logs));
  try {
    await tail.open(saved);
    return await fn(tail);
  } finally {
    tail.close();
  }
}

async function append(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { append: true });
}

/** Polls and returns the texts; records every batch in `seen` when given. */
async function pollTexts(tail: LogTail, seen?: Batch[]): Promise<string[]> {
  const batches = await tail.poll();
  seen?.push(...batches);
  return batches.flatMap((b) => b.lines.map((l) => l.text));
}

async function pollN(tail: LogTail, n: number, seen?: Batch[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(...await pollTexts(tail, seen));
  return out;
}

function lastPosition(batches: Batch[]): SavedPosition {
  const last = batches.at(-1);
  assertOk(last, "expected at least one batch");
  return last.position;
}

async function inode(path: string): Promise<number> {
  return (await Deno.stat(path)).ino ?? 0;
}

/** newsyslog's steps 2-4 (freebsd.md §4.3): trim line, link to .0, rename a fresh file over. */
async function newsyslogRotate(log: string, stamp: string): Promise<void> {
  const turned = `${stamp} host newsyslog[1]: logfile turned over\n`;
  await append(log, turned);
  await Deno.link(log, `${log}.0`);
  const temp = `${log}.zAbC123`;
  await Deno.writeTextFile(temp, turned);
  await Deno.rename(temp, log);
}

/** newsyslog's step 6: compress .0 (simulated) and unlink it. */
async function compressDotZero(log: string): Promise<void> {
  await Deno.writeFile(`${log}.0.bz2`, await Deno.readFile(`${log}.0`));
  await Deno.remove(`${log}.0`);
}

Deno.test("fingerprint() hashes the first line, or 256 bytes, and is empty when unknown", async () => {
  assertEquals(await fingerprint(new Uint8Array()), "");
  assertEquals(await fingerprint(enc.encode("no newline yet")), "");
  const a = await fingerprint(enc.encode("first line\nsecond"));
  // The first 16 hex digits of the line's SHA-256: saved positions stay valid across versions.
  assertEquals(a, "812702a1550d251a");
  assertEquals(await fingerprint(enc.encode("first line\nother second line")), a);
  assertOk(await fingerprint(enc.encode("First line\n")) !== a);
  const long = enc.encode("x".repeat(300));
  assertEquals(await fingerprint(long), await fingerprint(long.subarray(0, 256)));
  assertOk(await fingerprint(long) !== "");
});

Deno.test("detectChange() classifies same, grown, truncated and rotated", () => {
  const saved = { dev: 1, ino: 10, offset: 100, fingerprint: "abc" };
  assertEquals(detectChange(saved, { dev: 1, ino: 10, size: 100 }), "same");
  assertEquals(detectChange(saved, { dev: 1, ino: 10, size: 150 }, "abc"), "grown");
  assertEquals(detectChange(saved, { dev: 1, ino: 10, size: 50 }, "abc"), "truncated");
  assertEquals(detectChange(saved, { dev: 1, ino: 11, size: 500 }), "rotated");
  assertEquals(detectChange(saved, { dev: 2, ino: 10, size: 500 }), "rotated");
  // same inode, different first line: a reused inode or a rewritten file
  assertEquals(detectChange(saved, { dev: 1, ino: 10, size: 500 }, "def"), "rotated");
  // unknown fingerprints are not compared
  assertEquals(detectChange(saved, { dev: 1, ino: 10, size: 500 }, ""), "grown");
  assertEquals(
    detectChange({ ...saved, fingerprint: "" }, { dev: 1, ino: 10, size: 500 }, "x"),
    "grown",
  );
});

Deno.test("LogTail.poll() returns appended lines exactly once with positions", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "a\nb\n");
    const tail = new LogTail(log, tailOptions(logs));
    try {
      await tail.open();
      const seen: Batch[] = [];
      assertEquals(await pollTexts(tail, seen), ["a", "b"]);
      assertEquals(lastPosition(seen).offset, 4);
      assertEquals(lastPosition(seen).ino, await inode(log));
      assertEquals(lastPosition(seen).path, log);
      assertEquals(await pollTexts(tail), []);
      await append(log, "c\n");
      seen.length = 0;
      assertEquals(await pollTexts(tail, seen), ["c"]);
      assertEquals(lastPosition(seen).offset, 6);
      assertEquals(await pollTexts(tail), []);
      assertEquals(tail.position?.offset, 6);
    } finally {
      tail.close();
    }
  });
});

Deno.test("LogTail.poll() holds a partial line until it is completed", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "whole\npart");
    const tail = new LogTail(log, tailOptions(logs));
    try {
      await tail.open();
      const seen: Batch[] = [];
      assertEquals(await pollTexts(tail, seen), ["whole"]);
      assertEquals(lastPosition(seen).offset, 6);
      await append(log, "ial");
      assertEquals(await pollTexts(tail), []);
      assertEquals(tail.position?.offset, 6);
      await append(log, " line\r\nnext\n");
      seen.length = 0;
      assertEquals(await pollTexts(tail, seen), ["partial line", "next"]);
      assertEquals(lastPosition(seen).offset, 25);
    } finally {
      tail.close();
    }
  });
});

/** Counts calls of the FsFile methods that cost a syscall while `fn` runs. */
async function countFileCalls(fn: () => Promise<void>): Promise<Record<string, number>> {
  const proto = Deno.FsFile.prototype;
  const names = ["read", "seek", "stat"] as const;
  const saved = names.map((n) => proto[n]);
  const calls: Record<string, number> = { read: 0, seek: 0, stat: 0 };
  names.forEach((name, i) => {
    const original = saved[i] as (...args: unknown[]) => unknown;
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value: function (this: Deno.FsFile, ...args: unknown[]): unknown {
        calls[name]!++;
        return original.apply(this, args);
      },
    });
  });
  try {
    await fn();
  } finally {
    names.forEach((name, i) => {
      Object.defineProperty(proto, name, { configurable: true, writable: true, value: saved[i] });
    });
  }
  return calls;
}

Deno.test("LogTail.poll() touches no open file while the logs are idle, then reads what is appended", async () => {
  await withDir(async (dir, logs) => {
    // a complete file, an empty one and one whose first line is still partial (unknown fingerprint)
    const contents = ["one\ntwo\n", "", "partial first line"];
    const tails = contents.map((_, i) => new LogTail(`${dir}/log${i}`, tailOptions(logs)));
    try {
      for (const [i, text] of contents.entries()) {
        await Deno.writeTextFile(`${dir}/log${i}`, text);
        await tails[i]!.open();
      }
      for (const tail of tails) await tail.poll();
      const calls = await countFileCalls(async () => {
        for (let round = 0; round < 5; round++) {
          for (const tail of tails) assertEquals(await tail.poll(), []);
        }
      });
      assertEquals(calls, { read: 0, seek: 0, stat: 0 });
      for (const [i] of contents.entries()) await append(`${dir}/log${i}`, "more\n");
      assertEquals(await pollTexts(tails[0]!), ["more"]);
      assertEquals(await pollTexts(tails[1]!), ["more"]);
      assertEquals(await pollTexts(tails[2]!), ["partial first linemore"]);
      assertOk(tails[2]!.position?.fingerprint !== "");
    } finally {
      for (const tail of tails) tail.close();
    }
  });
});

Deno.test("LogTail.poll() delivers every line exactly once across a newsyslog rotation", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "L1\nL2\n");
    const oldIno = await inode(log);
    // syslogd's descriptor on the live file; it keeps writing there until SIGHUP
    let syslogd = await Deno.open(log, { write: true, append: true });
    const tail = new LogTail(log, tailOptions(logs));
    const seen: Batch[] = [];
    try {
      await tail.open();
      const got = await pollTexts(tail, seen);
      await syslogd.write(enc.encode("L3 right before rotation\n"));
      await newsyslogRotate(log, "Jan  1 00:00:00");
      const newIno = await inode(log);
      assertOk(newIno !== oldIno);
      assertEquals(await inode(`${log}.0`), oldIno);
      got.push(...await pollTexts(tail, seen)); // detects the rotation, drains the old fd
      await syslogd.write(enc.encode("L4 old fd after rename\n"));
      await append(`${log}.0`, "L5 via .0 path\n");
      got.push(...await pollTexts(tail, seen));
      // SIGHUP: syslogd reopens the path, now the new file
      syslogd.close();
      syslogd = await Deno.open(log, { write: true, append: true });
      await syslogd.write(enc.encode("N1 new file\n"));
      got.push(...await pollN(tail, 2, seen));
      await compressDotZero(log);
      await syslogd.write(enc.encode("N2 new file\n"));
      got.push(...await pollN(tail, 3, seen));
      assertEquals(got, [
        "L1",
        "L2",
        "L3 right before rotation",
        "Jan  1 00:00:00 host newsyslog[1]: logfile turned over",
        "L4 old fd after rename",
        "L5 via .0 path",
        "Jan  1 00:00:00 host newsyslog[1]: logfile turned over",
        "N1 new file",
        "N2 new file",
      ]);
      // positions: the old inode up to its end, then the new inode from 0
      const inodes = seen.map((b) => b.position.ino);
      const firstNew = inodes.indexOf(newIno);
      assertOk(firstNew > 0);
      assertOk(inodes.slice(0, firstNew).every((i) => i === oldIno));
      assertOk(inodes.slice(firstNew).every((i) => i === newIno));
      assertEquals(seen[firstNew]!.position.offset, 0);
      const oldSize = (await Deno.stat(`${log}.0.bz2`)).size;
      assertEquals(seen[firstNew - 1]!.position.offset, oldSize);
      assertEquals(lastPosition(seen).offset, (await Deno.stat(log)).size);
      assertOk(logs.some((l) => /event=log_rotated /.test(l)));
    } finally {
      syslogd.close();
      tail.close();
    }
  });
});

Deno.test("LogTail.poll() reads the old file before the new one when rotation happened between polls", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "L1\n");
    const syslogd = await Deno.open(log, { write: true, append: true });
    const tail = new LogTail(log, tailOptions(logs, { rotationGrace: 1 }));
    try {
      await tail.open();
      const got = await pollTexts(tail);
      await syslogd.write(enc.encode("L2\n"));
      await newsyslogRotate(log, "Feb  2 00:00:00");
      await syslogd.write(enc.encode("L3\n"));
      syslogd.close();
      await append(log, "N1\n");
      await compressDotZero(log); // .0 already gone: the open descriptor still reads it
      got.push(...await pollN(tail, 4));
      assertEquals(got, [
        "L1",
        "L2",
        "Feb  2 00:00:00 host newsyslog[1]: logfile turned over",
        "L3",
        "Feb  2 00:00:00 host newsyslog[1]: logfile turned over",
        "N1",
      ]);
    } finally {
      tail.close();
    }
  });
});

Deno.test("LogTail.poll() keeps reading a rotated .0 through 15 s of quiet: a late write after 5 s is read", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "L1\n");
    let now = 1000;
    const tail = new LogTail(
      log,
      tailOptions(logs, { rotationQuietSeconds: 15, clock: () => now }),
    );
    const syslogd = await Deno.open(log, { write: true, append: true });
    try {
      await tail.open();
      const got = await pollTexts(tail);
      await newsyslogRotate(log, "Feb  2 00:00:00");
      await append(log, "N1\n");
      // Five seconds of polls without growth: .0 still names the old inode, so it is not done.
      for (let i = 0; i < 5; i++) {
        now += 1;
        got.push(...await pollTexts(tail));
      }
      // syslogd, not yet signalled, writes into the old inode.
      await syslogd.write(enc.encode("LATE\n"));
      now += 1;
      got.push(...await pollTexts(tail));
      assertEquals(got, ["L1", "Feb  2 00:00:00 host newsyslog[1]: logfile turned over", "LATE"]);
      // 14 s after the late write it still waits; at 15 s it is finished and the new file read.
      now += 14;
      got.push(...await pollN(tail, 3));
      assertEquals(got.includes("N1"), false);
      now += 1;
      got.push(...await pollN(tail, 2));
      assertEquals(got.slice(3), ["Feb  2 00:00:00 host newsyslog[1]: logfile turned over", "N1"]);
    } finally {
      syslogd.close();
      tail.close();
    }
  });
});

Deno.test("LogTail.poll() finishes a rotated file at once when .0 no longer names it (compressed)", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "L1\n");
    const now = 1000; // the clock never moves: only the rotated name can finish the file
    const tail = new LogTail(
      log,
      tailOptions(logs, { rotationQuietSeconds: 15, clock: () => now }),
    );
    const syslogd = await Deno.open(log, { write: true, append: true });
    try {
      await tail.open();
      const got = await pollTexts(tail);
      await newsyslogRotate(log, "Feb  2 00:00:00");
      await append(log, "N1\n");
      got.push(...await pollN(tail, 3));
      assertEquals(got.includes("N1"), false);
      await syslogd.write(enc.encode("L2\n"));
      await compressDotZero(log);
      got.push(...await pollN(tail, 2));
      assertEquals(got, [
        "L1",
        "Feb  2 00:00:00 host newsyslog[1]: logfile turned over",
        "L2",
        "Feb  2 00:00:00 host newsyslog[1]: logfile turned over",
        "N1",
      ]);
    } finally {
      syslogd.close();
      tail.close();
    }
  });
});

Deno.test("LogTail.open() ages a .0 rotated while stopped by its mtime: quiet long enough, it is finished at once", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "L1\n");
    const first = new LogTail(log, tailOptions(logs));
    let saved: SavedPosition;
    try {
      await first.open();
      saved = lastPosition(await first.poll());
    } finally {
      first.close();
    }
    await newsyslogRotate(log, "Feb  2 00:00:00");
    await append(log, "N1\n");
    const wall = Date.now();
    await Deno.utime(`${log}.0`, (wall - 60_000) / 1000, (wall - 60_000) / 1000);
    const now = 1000; // the monotonic clock stands still: only the mtime can age the file
    const options = { rotationQuietSeconds: 15, clock: () => now, wallClock: () => wall };
    const tail = new LogTail(log, tailOptions(logs, options));
    try {
      await tail.open(saved);
      // (after the poll-count grace of tailOptions(), 2 polls)
      assertEquals(await pollN(tail, 4), [
        "Feb  2 00:00:00 host newsyslog[1]: logfile turned over",
        "Feb  2 00:00:00 host newsyslog[1]: logfile turned over",
        "N1",
      ]);
    } finally {
      tail.close();
    }
    // Written to 5 s ago: still within the wait, the new file is not read yet.
    await Deno.utime(`${log}.0`, (wall - 5_000) / 1000, (wall - 5_000) / 1000);
    const again = new LogTail(log, tailOptions(logs, options));
    try {
      await again.open(saved);
      assertEquals((await pollN(again, 4)).includes("N1"), false);
    } finally {
      again.close();
    }
  });
});

Deno.test("LogTail resumes exactly once after a crash in the middle of a rotation", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "L1\nL2\n");
    const seen: Batch[] = [];
    const first = new LogTail(log, tailOptions(logs));
    let got: string[];
    try {
      await first.open();
      got = await pollTexts(first, seen);
      await append(log, "L3\n");
      await newsyslogRotate(log, "Mar  3 00:00:00");
      got.push(...await pollTexts(first, seen)); // old inode drained, new not read yet
    } finally {
      first.close(); // kill -9: only the persisted position survives
    }
    const saved = lastPosition(seen);
    await append(`${log}.0`, "L4 late write to old inode\n");
    await append(log, "N1\n");
    const second = new LogTail(log, tailOptions(logs));
    try {
      await second.open(saved);
      got.push(...await pollN(second, 4));
      assertEquals(got, [
        "L1",
        "L2",
        "L3",
        "Mar  3 00:00:00 host newsyslog[1]: logfile turned over",
        "L4 late write to old inode",
        "Mar  3 00:00:00 host newsyslog[1]: logfile turned over",
        "N1",
      ]);
      assertOk(logs.some((l) => /event=log_resume_rotated/.test(l)));
    } finally {
      second.close();
    }
  });
});

Deno.test("LogTail.poll() restarts at 0 after truncation", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "old one\nold two\n");
    const tail = new LogTail(log, tailOptions(logs));
    try {
      await tail.open();
      assertEquals(await pollTexts(tail), ["old one", "old two"]);
      await Deno.truncate(log, 0);
      await append(log, "new\n");
      const seen: Batch[] = [];
      assertEquals(await pollTexts(tail, seen), ["new"]);
      assertEquals(lastPosition(seen).offset, 4);
      assertOk(logs.some((l) => /event=log_truncated/.test(l)));
    } finally {
      tail.close();
    }
  });
});

Deno.test("LogTail.poll() notices a file rewritten in place past the old offset by its first line", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "first A\n");
    const tail = new LogTail(log, tailOptions(logs));
    try {
      await tail.open();
      assertEquals(await pollTexts(tail), ["first A"]);
      await Deno.truncate(log, 0);
      await append(log, "first B\nsecond B\n");
      assertEquals(await pollTexts(tail), ["first B", "second B"]);
    } finally {
      tail.close();
    }
  });
});

Deno.test("LogTail waits for a missing file with one warning and reads it when it appears", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/later.log`;
    const tail = new LogTail(log, tailOptions(logs));
    try {
      await tail.open();
      assertEquals(await pollN(tail, 3), []);
      assertEquals(tail.position, undefined);
      await Deno.writeTextFile(log, "hello\n");
      assertEquals(await pollN(tail, 2), ["hello"]);
      assertEquals(logs.filter((l) => /level=warn event=log_missing/.test(l)).length, 1);
      // removed, then recreated: one more warning for the new absence, then the new file
      await Deno.remove(log);
      assertEquals(await pollN(tail, 4), []);
      await Deno.writeTextFile(log, "again\n");
      assertEquals(await pollN(tail, 2), ["again"]);
      assertEquals(logs.filter((l) => /event=log_missing/.test(l)).length, 2);
    } finally {
      tail.close();
    }
  });
});

Deno.test("LogTail.open() resumes from a saved position on the same inode", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "a\nb\n");
    const seen: Batch[] = [];
    await withTail(log, logs, (first) => pollTexts(first, seen));
    await append(log, "c\n");
    await withTail(log, logs, async (second) => {
      assertEquals(await pollN(second, 2), ["c"]);
    }, lastPosition(seen));
    // a saved offset beyond the end of the same file means it was truncated
    await withTail(log, logs, async (third) => {
      assertEquals(await pollTexts(third), ["a", "b", "c"]);
    }, { ...lastPosition(seen), offset: 1000 });
  });
});

Deno.test("LogTail.open() finishes an uncompressed .0 rotated while stopped, then the new file", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "a\nb\n");
    const seen: Batch[] = [];
    await withTail(log, logs, (first) => pollTexts(first, seen));
    await append(log, "c before rotation\n");
    await newsyslogRotate(log, "Apr  4 00:00:00");
    await append(log, "n1\n");
    await withTail(log, logs, async (second) => {
      assertEquals(await pollN(second, 4), [
        "c before rotation",
        "Apr  4 00:00:00 host newsyslog[1]: logfile turned over",
        "Apr  4 00:00:00 host newsyslog[1]: logfile turned over",
        "n1",
      ]);
      assertEquals(second.position?.ino, await inode(log));
      assertOk(!logs.some((l) => /event=log_rotated_while_stopped/.test(l)));
    }, lastPosition(seen));
  });
});

Deno.test("LogTail.open() starts the new file at 0 with a warning when .0 is gone", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "a\n");
    const seen: Batch[] = [];
    await withTail(log, logs, (first) => pollTexts(first, seen));
    await newsyslogRotate(log, "May  5 00:00:00");
    await compressDotZero(log);
    await append(log, "n1\n");
    await withTail(log, logs, async (second) => {
      assertEquals(await pollN(second, 2), [
        "May  5 00:00:00 host newsyslog[1]: logfile turned over",
        "n1",
      ]);
      assertEquals(
        logs.filter((l) => /level=warn event=log_rotated_while_stopped/.test(l)).length,
        1,
      );
    }, lastPosition(seen));
  });
});

/**
 * syslogd writing sequence-numbered lines and newsyslog rotating its log (freebsd.md §4.3):
 * shift `.N` to `.N+1` (`keep` uncompressed names; or, with `compress`, the previous `.0` is
 * compressed = removed), append the "turned over" line, link the log to `.0`, rename a fresh
 * file onto the log. syslogd writes to the old inode until its SIGHUP ({@link Storm.hup}).
 */
class Storm {
  seq = 0;
  rotations = 0;
  maxName = -1;
  #fd: Deno.FsFile | undefined;
  #hupPending = false;
  constructor(readonly log: string, readonly keep: number, readonly compress: boolean) {}

  async start(): Promise<void> {
    await Deno.writeTextFile(this.log, "");
    this.#fd = await Deno.open(this.log, { write: true, append: true });
  }

  async write(lines: number): Promise<void> {
    let text = "";
    for (let i = 0; i < lines; i++) {
      text += `host app[7]: seq ${this.seq++} ${"x".repeat(i % 50)}\n`;
    }
    await this.#fd!.write(enc.encode(text));
  }

  async rotate(): Promise<void> {
    if (this.#hupPending) await this.hup(); // newsyslog's previous run signalled syslogd
    if (this.compress) {
      await Deno.remove(`${this.log}.0`).catch(() => {});
    } else {
      for (let n = this.keep - 2; n >= 0; n--) {
        await Deno.rename(`${this.log}.${n}`, `${this.log}.${n + 1}`).catch(() => {});
      }
    }
    const turned = `Jan  1 00:00:00 host newsyslog[1]: logfile turned over\n`;
    await append(this.log, turned);
    await Deno.link(this.log, `${this.log}.0`);
    await Deno.writeTextFile(`${this.log}.zAbC123`, turned);
    await Deno.rename(`${this.log}.zAbC123`, this.log);
    this.rotations++;
    this.#hupPending = true;
    for (let n = this.maxName + 1; n < this.keep; n++) {
      if (await Deno.stat(`${this.log}.${n}`).then(() => true, () => false)) this.maxName = n;
    }
  }

  /** SIGHUP: syslogd reopens the log by name. */
  async hup(): Promise<void> {
    this.#fd?.close();
    this.#fd = await Deno.open(this.log, { write: true, append: true });
    this.#hupPending = false;
  }

  close(): void {
    this.#fd?.close();
    this.#fd = undefined;
  }
}

/** The sequence numbers of `lines`, turned-over lines left out. */
function seqs(lines: readonly string[]): number[] {
  return lines.filter((l) => !/logfile turned over/.test(l)).map((l) => {
    const m = /seq (\d+)/.exec(l);
    assertOk(m, `unexpected line ${JSON.stringify(l)}`);
    return Number(m[1]);
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Polls until `polls` polls in a row return no line. */
async function pollUntilQuiet(tail: LogTail, seen: Batch[], polls = 4): Promise<string[]> {
  const out: string[] = [];
  for (let quiet = 0; quiet < polls;) {
    const got = await pollTexts(tail, seen);
    out.push(...got);
    quiet = got.length === 0 ? quiet + 1 : 0;
  }
  return out;
}

for (const compress of [false, true]) {
  Deno.test(`LogTail.poll() reads every line once, in order, through a rotation storm (${compress ? "compressed .0, 2" : "uncompressed .N, 3"} rotations between polls)`, async () => {
    // compressed: a file rotated in and out between two polls is unlinked by the next rotation,
    // so at most 2 rotations may separate polls; uncompressed, `.N` shifts keep every file.
    const maxBetween = compress ? 2 : 3;
    for (const seed of [1, 2, 3, 4]) {
      await withDir(async (dir, logs) => {
        const rng = createRng(seed);
        const storm = new Storm(`${dir}/maillog`, 7, compress);
        await storm.start();
        const tail = new LogTail(storm.log, tailOptions(logs));
        const seen: Batch[] = [];
        const got: string[] = [];
        let between = 0;
        let mostBetween = 0;
        try {
          await tail.open();
          for (let step = 0; step < 300; step++) {
            await storm.write(rng.int(0, 30));
            if (between < maxBetween && rng.next() < 0.4) {
              await storm.rotate();
              between++;
              if (rng.next() < 0.3) await storm.write(rng.int(1, 5)); // to the old inode
            }
            if (rng.next() < 0.3) await storm.hup();
            if (rng.next() < 0.35) {
              got.push(...await pollTexts(tail, seen));
              mostBetween = Math.max(mostBetween, between);
              between = 0;
            }
          }
          await storm.write(3);
          await storm.hup();
          await storm.write(2);
          got.push(...await pollUntilQuiet(tail, seen));
          assertEquals(seqs(got), range(storm.seq), `seed ${seed}: 0 lost, 0 duplicated, in order`);
          assertEquals(mostBetween, maxBetween, "several rotations between two polls");
          assertOk(storm.rotations > 50, `only ${storm.rotations} rotations`);
          if (!compress) assertOk(storm.maxName >= 3, "older names shifted to .N");
          // the last position is the end of the file at the path
          assertEquals(lastPosition(seen).ino, await inode(storm.log));
          assertEquals(lastPosition(seen).offset, (await Deno.stat(storm.log)).size);
          // compressed, the previous file may already be gone: a possible gap is reported
          if (!compress) assertOk(!logs.some((l) => /event=log_rotation_gap/.test(l)));
        } finally {
          storm.close();
          tail.close();
        }
      });
    }
  });
}

Deno.test("LogTail resumes exactly once after kill -9 at any moment of a rotation storm", async () => {
  let resumedRotated = 0;
  let crashes = 0;
  for (const seed of [11, 12, 13, 14, 15]) {
    await withDir(async (dir, logs) => {
      const rng = createRng(seed);
      const storm = new Storm(`${dir}/maillog`, 16, false);
      await storm.start();
      const dropped: LogTail[] = []; // killed tails: never closed until the end of the test
      let tail = new LogTail(storm.log, tailOptions(logs));
      // what the daemon persisted: each batch's lines and position in one transaction
      let saved: SavedPosition | undefined;
      const handled: number[] = [];
      const persist = (batch: Batch): void => {
        handled.push(...seqs(batch.lines.map((l) => l.text)));
        saved = batch.position;
      };
      try {
        await tail.open(saved);
        for (let step = 0; step < 300; step++) {
          await storm.write(rng.int(0, 30));
          if (rng.next() < 0.35) {
            await storm.rotate();
            if (rng.next() < 0.3) await storm.write(rng.int(1, 5));
          }
          if (rng.next() < 0.3) await storm.hup();
          if (rng.next() < 0.4) {
            const batches = await tail.poll();
            if (rng.next() < 0.1) {
              // kill -9 after persisting only some of this poll's batches
              for (const b of batches.slice(0, rng.int(0, batches.length))) persist(b);
              crashes++;
              dropped.push(tail);
              // rotations while the daemon is down
              for (let r = rng.int(0, 2); r > 0; r--) {
                await storm.write(rng.int(0, 10));
                await storm.rotate();
              }
              tail = new LogTail(storm.log, tailOptions(logs));
              await tail.open(saved);
            } else batches.forEach(persist);
          }
        }
        await storm.hup();
        await storm.write(2);
        const seen: Batch[] = [];
        await pollUntilQuiet(tail, seen);
        seen.forEach(persist);
        assertEquals(handled, range(storm.seq), `seed ${seed}: exactly once, in order`);
        assertOk(!logs.some((l) => /event=log_rotated_while_stopped/.test(l)));
        resumedRotated += logs.filter((l) => /event=log_resume_rotated/.test(l)).length;
      } finally {
        storm.close();
        tail.close();
        for (const t of dropped) t.close();
      }
    });
  }
  assertOk(crashes >= 10, `only ${crashes} crashes`);
  assertOk(
    resumedRotated >= 3,
    `a saved file was found among the rotated names only ${resumedRotated} times`,
  );
});

Deno.test("LogTail.open() resumes a saved file found at .2 and reads .1, .0 and the log after it", async () => {
  await withDir(async (dir, logs) => {
    const storm = new Storm(`${dir}/maillog`, 5, false);
    await storm.start();
    const seen: Batch[] = [];
    const first = new LogTail(storm.log, tailOptions(logs));
    try {
      await first.open();
      await storm.write(3);
      await pollTexts(first, seen);
    } finally {
      first.close();
    }
    for (let r = 0; r < 3; r++) {
      await storm.write(2);
      await storm.rotate();
      await storm.hup();
    }
    await storm.write(1);
    const saved = lastPosition(seen);
    assertEquals(await inode(`${storm.log}.2`), saved.ino);
    const second = new LogTail(storm.log, tailOptions(logs));
    try {
      await second.open(saved);
      assertEquals(seqs(await pollUntilQuiet(second, seen)), range(storm.seq).slice(3));
      assertOk(logs.some((l) => /event=log_resume_rotated .*maillog\.2/.test(l)));
    } finally {
      storm.close();
      second.close();
    }
  });
});

Deno.test("LogTail.poll() warns with a count when a file was rotated in and out unseen", async () => {
  await withDir(async (dir, logs) => {
    const storm = new Storm(`${dir}/maillog`, 7, true);
    await storm.start();
    const tail = new LogTail(storm.log, tailOptions(logs));
    const got: string[] = [];
    try {
      await tail.open();
      await storm.write(2); // 0-1: the file the tail holds
      got.push(...await pollTexts(tail));
      for (let round = 0; round < 2; round++) {
        await storm.rotate();
        await storm.hup();
        await storm.write(2); // rotated in and out before the next poll: lost
        await storm.rotate();
        await storm.hup();
        await storm.write(2); // at .0 when the tail polls: read
        await storm.rotate();
        await storm.hup();
        await storm.write(2); // at the path
        got.push(...await pollUntilQuiet(tail, []));
      }
      assertEquals(seqs(got), [0, 1, 4, 5, 6, 7, 10, 11, 12, 13]);
      const warns = logs.filter((l) => /level=warn event=log_rotation_gap/.test(l));
      assertEquals(warns.length, 2); // counts 1 and 2 (then 4, 8, …)
      assertMatch(warns[1]!, /count=2/);
    } finally {
      storm.close();
      tail.close();
    }
  });
});

Deno.test("LogTail.poll() reads at most maxBytesPerPoll and sets behind until caught up", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/big.log`;
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${"x".repeat(40)}`);
    await Deno.writeTextFile(log, lines.join("\n") + "\n");
    const tail = new LogTail(
      log,
      tailOptions(logs, { chunkBytes: 4096, maxBytesPerPoll: 16384 }),
    );
    try {
      await tail.open();
      const got: string[] = [];
      let polls = 0;
      do {
        const batches = await tail.poll();
        polls++;
        assertOk(batches.every((b) => b.lines.length <= 4096 / 10));
        got.push(...batches.flatMap((b) => b.lines.map((l) => l.text)));
      } while (tail.behind);
      assertEquals(got, lines);
      assertOk(polls >= 6, `expected several polls, got ${polls}`);
    } finally {
      tail.close();
    }
  });
});

Deno.test("LogTail.open() with startAtEnd skips existing content", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, "old\n");
    const tail = new LogTail(log, tailOptions(logs, { startAtEnd: true }));
    try {
      await tail.open();
      const seen: Batch[] = [];
      assertEquals(await pollTexts(tail, seen), []);
      assertEquals(lastPosition(seen).offset, 4); // announced so the daemon can persist it
      await append(log, "new\n");
      assertEquals(await pollTexts(tail), ["new"]);
    } finally {
      tail.close();
    }
  });
});

Deno.test("LogTail.poll() flags a truncated overlong line", async () => {
  await withDir(async (dir, logs) => {
    const log = `${dir}/maillog`;
    await Deno.writeTextFile(log, `${"y".repeat(5000)}\nok\n`);
    const tail = new LogTail(log, tailOptions(logs, { maxLineBytes: 100, chunkBytes: 512 }));
    try {
      await tail.open();
      const batches = await tail.poll();
      const lines = batches.flatMap((b) => b.lines).map(({ text, truncated }) => ({
        text,
        truncated,
      }));
      assertEquals(lines, [{ text: "y".repeat(100), truncated: true }, {
        text: "ok",
        truncated: false,
      }]);
    } finally {
      tail.close();
    }
  });
});

Deno.test("LogTail.poll() refuses to run before open()", async () => {
  const tail = new LogTail("/nonexistent/x.log", tailOptions([]));
  await assertRejects(() => tail.poll(), /not open/);
});
