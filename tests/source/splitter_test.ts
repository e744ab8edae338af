import { createLineSplitter, type SplitLine } from "../../lib/source/splitter.ts";
import { assertEquals, assertOk, assertThrows } from "../_assert.ts";

const enc = new TextEncoder();

function texts(lines: SplitLine[]): string[] {
  return lines.map((l) => l.text);
}

Deno.test("createLineSplitter() splits a chunk into lines with end offsets", () => {
  const s = createLineSplitter();
  const lines = s.push(enc.encode("one\ntwo\nthree\n"));
  assertEquals(lines, [
    { text: "one", truncated: false, end: 4 },
    { text: "two", truncated: false, end: 8 },
    { text: "three", truncated: false, end: 14 },
  ]);
  assertEquals(s.offset, 14);
  assertEquals(s.lineStart, 14);
});

Deno.test("createLineSplitter() keeps a partial line until its newline arrives", () => {
  const s = createLineSplitter({ offset: 100 });
  assertEquals(s.push(enc.encode("fir")), []);
  assertEquals(s.lineStart, 100);
  assertEquals(s.pendingBytes, 3);
  assertEquals(s.push(enc.encode("st\nsec")), [{ text: "first", truncated: false, end: 106 }]);
  assertEquals(s.lineStart, 106);
  assertEquals(s.push(enc.encode("")), []);
  assertEquals(s.push(enc.encode("ond")), []);
  assertEquals(s.push(enc.encode("\n")), [{ text: "second", truncated: false, end: 113 }]);
  assertEquals(s.pendingBytes, 0);
  assertEquals(s.offset, 113);
});

Deno.test("createLineSplitter() does not alias the caller's reused chunk buffer", () => {
  const s = createLineSplitter();
  const buf = enc.encode("abc");
  s.push(buf);
  buf.set(enc.encode("XYZ"));
  assertEquals(texts(s.push(enc.encode("d\n"))), ["abcd"]);
});

Deno.test("createLineSplitter() strips exactly one trailing CR (CRLF lines)", () => {
  const s = createLineSplitter();
  assertEquals(texts(s.push(enc.encode("a\r\nb\r\r\n\r\nc\rd\n"))), ["a", "b\r", "", "c\rd"]);
  // CR and LF split across chunks
  assertEquals(s.push(enc.encode("e\r")), []);
  assertEquals(s.push(enc.encode("\n")), [{ text: "e", truncated: false, end: 16 }]);
});

Deno.test("createLineSplitter() decodes invalid UTF-8 as U+FFFD and keeps NUL bytes", () => {
  const s = createLineSplitter();
  const bytes = new Uint8Array([0x61, 0xff, 0xfe, 0x62, 0x00, 0x63, 0xc3, 0x0a]);
  const lines = s.push(bytes);
  assertEquals(lines, [{ text: "a\uFFFD\uFFFDb\u0000c\uFFFD", truncated: false, end: 8 }]);
});

Deno.test("createLineSplitter() joins a multi-byte character split across chunks", () => {
  const s = createLineSplitter();
  const bytes = enc.encode("é€😀\n");
  const out: SplitLine[] = [];
  for (const b of bytes) out.push(...s.push(new Uint8Array([b])));
  assertEquals(out, [{ text: "é€😀", truncated: false, end: bytes.length }]);
});

Deno.test("createLineSplitter() cuts a 1 MB line with bounded memory and resyncs after it", () => {
  const s = createLineSplitter({ maxLineBytes: 1000 });
  assertEquals(s.push(enc.encode("before\n")).length, 1);
  const chunk = new Uint8Array(64 * 1024).fill(0x78); // 'x'
  let maxPending = 0;
  for (let i = 0; i < 16; i++) {
    assertEquals(s.push(chunk), []);
    maxPending = Math.max(maxPending, s.pendingBytes);
  }
  assertEquals(maxPending, 1000);
  assertEquals(s.lineStart, 7);
  const lines = s.push(enc.encode("tail\nafter\n"));
  assertEquals(lines.length, 2);
  assertEquals(lines[0]!.text, "x".repeat(1000));
  assertEquals(lines[0]!.truncated, true);
  assertEquals(lines[0]!.end, 7 + 16 * 64 * 1024 + 5);
  assertEquals(lines[1], { text: "after", truncated: false, end: 7 + 16 * 64 * 1024 + 11 });
});

Deno.test("createLineSplitter() truncates a long line that arrives in a single chunk", () => {
  const s = createLineSplitter({ maxLineBytes: 4 });
  assertEquals(s.push(enc.encode("abcdefgh\nij\nklmn\n")), [
    { text: "abcd", truncated: true, end: 9 },
    { text: "ij", truncated: false, end: 12 },
    { text: "klmn", truncated: false, end: 17 },
  ]);
});

Deno.test("createLineSplitter() never cuts a truncated line inside a UTF-8 character", () => {
  const s = createLineSplitter({ maxLineBytes: 5 });
  // "ab€" is 5 bytes; "abc€" cut at 5 would split the 3-byte euro sign.
  const lines = s.push(enc.encode("ab€x\nabc€\n"));
  assertEquals(lines.map((l) => [l.text, l.truncated]), [["ab€", true], ["abc", true]]);
});

Deno.test("createLineSplitter() flush() emits the pending partial line", () => {
  const s = createLineSplitter();
  s.push(enc.encode("done\nhalf"));
  assertEquals(s.flush(), { text: "half", truncated: false, end: 9 });
  assertEquals(s.flush(), undefined);
  assertEquals(s.lineStart, 9);
});

Deno.test("createLineSplitter() reset() drops the partial line and moves the offset", () => {
  const s = createLineSplitter();
  s.push(enc.encode("partial"));
  s.reset(0);
  assertEquals(s.pendingBytes, 0);
  assertEquals(s.push(enc.encode("new\n")), [{ text: "new", truncated: false, end: 4 }]);
});

Deno.test("createLineSplitter() rejects a non-positive maxLineBytes", () => {
  const e = assertThrows(() => createLineSplitter({ maxLineBytes: 0 }), /maxLineBytes/);
  assertOk(e instanceof RangeError);
});

Deno.test("createLineSplitter() gives exact byte end offsets for multi-byte and invalid UTF-8 lines in one chunk", () => {
  const s = createLineSplitter({ offset: 10 });
  const bytes = new Uint8Array([
    ...enc.encode("é\r\n"), // 2-byte char, CRLF
    0xe2,
    0x82,
    0x0a, // incomplete 3-byte sequence cut by the newline
    ...enc.encode("😀x\n"), // 4-byte char (2 UTF-16 units)
    0xff,
    0x0d,
    0x0a, // lone invalid byte then CRLF
    ...enc.encode("tail€"),
  ]);
  assertEquals(s.push(bytes), [
    { text: "é", truncated: false, end: 14 },
    { text: "\uFFFD", truncated: false, end: 17 },
    { text: "😀x", truncated: false, end: 23 },
    { text: "\uFFFD", truncated: false, end: 26 },
  ]);
  assertEquals(s.lineStart, 26);
  assertEquals(s.pendingBytes, 7);
  assertEquals(s.flush(), { text: "tail€", truncated: false, end: 33 });
});

Deno.test("createLineSplitter() truncates a long non-ASCII line among short ones in one chunk", () => {
  const s = createLineSplitter({ maxLineBytes: 7 });
  assertEquals(s.push(enc.encode("ü\n€€€€\nok\n")), [
    { text: "ü", truncated: false, end: 3 },
    { text: "€€", truncated: true, end: 16 },
    { text: "ok", truncated: false, end: 19 },
  ]);
});

/** The behaviour line_splitter must keep, written the slow obvious way: one line at a time. */
function referenceSplit(bytes: Uint8Array, max: number): SplitLine[] {
  const dec = new TextDecoder("utf-8", { ignoreBOM: true });
  const out: SplitLine[] = [];
  let start = 0;
  const emit = (endByte: number, endOffset: number): void => {
    let line = bytes.subarray(start, endByte);
    let truncated = false;
    if (line.length > max) {
      truncated = true;
      let cut = max;
      // back off to a character boundary: drop an incomplete trailing sequence
      let i = cut - 1;
      while (i >= 0 && i >= cut - 4 && (line[i]! & 0xc0) === 0x80) i--;
      const lead = line[i]!;
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
      if (i >= 0 && cut - i < need) cut = i;
      line = line.subarray(0, cut);
    } else if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
    out.push({ text: dec.decode(line), truncated, end: endOffset });
  };
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      emit(i, i + 1);
      start = i + 1;
    }
  }
  if (start < bytes.length) emit(bytes.length, bytes.length);
  return out;
}

Deno.test("createLineSplitter() agrees with a line-at-a-time reference on random bytes and chunkings", () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pieces = [
    ..."abc \r\n\n\n".split("").map((c) => enc.encode(c)),
    enc.encode("é"),
    enc.encode("€"),
    enc.encode("😀"),
    new Uint8Array([0xff]),
    new Uint8Array([0xe2, 0x82]),
    new Uint8Array([0xf0]),
    new Uint8Array([0x80]),
  ];
  for (let round = 0; round < 300; round++) {
    const parts: number[] = [];
    const length = rand(300);
    while (parts.length < length) parts.push(...pieces[rand(pieces.length)]!);
    const bytes = new Uint8Array(parts);
    const max = 1 + rand(40);
    const s = createLineSplitter({ maxLineBytes: max });
    const got: SplitLine[] = [];
    for (let at = 0; at < bytes.length;) {
      const size = rand(4) === 0 ? 1 + rand(3) : 1 + rand(120);
      got.push(...s.push(bytes.slice(at, at + size)));
      at += size;
      assertOk(s.pendingBytes <= max);
    }
    const last = s.flush();
    if (last) got.push(last);
    assertEquals(got, referenceSplit(bytes, max), `round ${round}, max ${max}`);
  }
});

Deno.test("createLineSplitter() agrees with the reference on megabyte chunks (decoded in pieces)", () => {
  let seed = 777;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const words = ["mx1 postfix/smtpd[42]: ", "é", "€", "😀", "\r", "x".repeat(50)].map((w) =>
    enc.encode(w)
  );
  const invalid = [new Uint8Array([0xff]), new Uint8Array([0xe2, 0x82]), new Uint8Array([0x80])];
  for (let round = 0; round < 4; round++) {
    const parts: number[] = [];
    while (parts.length < 3 * 1024 * 1024) {
      // Mostly short lines, sometimes one longer than a decode piece (64 KiB) or the limit.
      const long = rand(200) === 0;
      const target = long ? 60_000 + rand(100_000) : rand(300);
      const start = parts.length;
      while (parts.length - start < target) {
        const w = rand(50) === 0 ? invalid[rand(invalid.length)]! : words[rand(words.length)]!;
        parts.push(...w);
      }
      parts.push(0x0a);
    }
    const bytes = new Uint8Array(parts);
    const max = 128 * 1024;
    const s = createLineSplitter({ maxLineBytes: max });
    const got: SplitLine[] = [];
    for (let at = 0; at < bytes.length;) {
      const size = 100_000 + rand(1_100_000);
      got.push(...s.push(bytes.slice(at, at + size)));
      at += size;
    }
    const last = s.flush();
    if (last) got.push(last);
    const want = referenceSplit(bytes, max);
    assertEquals(got.length, want.length, `round ${round}`);
    for (let i = 0; i < want.length; i++) assertEquals(got[i], want[i], `round ${round} line ${i}`);
  }
});
