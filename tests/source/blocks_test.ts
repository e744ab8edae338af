import { assertEquals, assertOk } from "../_assert.ts";
import { createBlockSplitter, forEachLine, type LineBlock } from "../../lib/source/blocks.ts";
import { createLineSplitter } from "../../lib/source/splitter.ts";
import { mulberry32 } from "../../scripts/gen_maillog.ts";

const enc = new TextEncoder();

interface Line {
  text: string;
  truncated: boolean;
}

function linesOf(blocks: readonly LineBlock[]): Line[] {
  const out: Line[] = [];
  for (const b of blocks) {
    if (b.kind === "line") out.push({ text: b.line.text, truncated: b.line.truncated });
    else forEachLine(b.text, (s, e) => out.push({ text: b.text.slice(s, e), truncated: false }));
  }
  return out;
}

/** Both splitters over the same bytes cut into chunks of the given sizes (cycled). */
function both(bytes: Uint8Array, sizes: readonly number[], maxLineBytes?: number) {
  const opts = maxLineBytes === undefined ? {} : { maxLineBytes };
  const lines = createLineSplitter(opts);
  const blocks = createBlockSplitter(opts);
  const want: Line[] = [];
  const got: LineBlock[] = [];
  let k = 0;
  for (let at = 0; at < bytes.length;) {
    const n = Math.max(1, sizes[k++ % sizes.length]!);
    const chunk = bytes.slice(at, at + n);
    for (const l of lines.push(chunk)) want.push({ text: l.text, truncated: l.truncated });
    got.push(...blocks.push(chunk));
    chunk.fill(0x41); // the caller reuses its buffer: nothing may be kept from it
    at += n;
  }
  const lastLine = lines.flush();
  if (lastLine) want.push({ text: lastLine.text, truncated: lastLine.truncated });
  const lastBlock = blocks.flush();
  if (lastBlock) got.push(lastBlock);
  return { want, got: linesOf(got), blocks: got };
}

/** Random bytes rich in newlines, CRs, multi-byte and invalid UTF-8, BOMs. */
function noise(seed: number, length: number): Uint8Array {
  const rand = mulberry32(seed);
  const pieces = [
    "\n",
    "\r\n",
    "\r\r\n",
    "\r",
    "abc",
    "Nov  1 00:00:00 mx1 ",
    "é",
    "日本",
    "😀",
    "\ufeff",
    " ",
    "\n\n",
  ].map((p) => enc.encode(p));
  const invalid = [[0xff], [0xc3], [0xe6, 0x97], [0xf0, 0x9f, 0x98], [0x80], [0xed, 0xa0, 0x80]]
    .map((b) => new Uint8Array(b));
  const out: number[] = [];
  while (out.length < length) {
    const r = rand();
    const p = r < 0.15
      ? invalid[Math.floor(rand() * invalid.length)]!
      : pieces[Math.floor(rand() * pieces.length)]!;
    out.push(...p);
    if (rand() < 0.02) { for (let i = Math.floor(rand() * 200); i > 0; i--) out.push(0x78); }
  }
  return new Uint8Array(out);
}

Deno.test("createBlockSplitter() gives the line splitter's lines whatever the chunking", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const bytes = noise(seed, 6000);
    for (const sizes of [[1], [2, 3, 5], [7, 64, 1], [100], [999], [65536], [4096, 13]]) {
      const { want, got } = both(bytes, sizes);
      assertEquals(got, want, `seed ${seed}, chunks ${sizes}`);
    }
  }
});

Deno.test("createBlockSplitter() cuts over-long lines as the line splitter does", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const bytes = noise(seed, 4000);
    for (const max of [1, 3, 16, 57, 200]) {
      for (const sizes of [[1], [5], [16, 17, 18], [100], [1000]]) {
        const { want, got } = both(bytes, sizes, max);
        assertEquals(got, want, `seed ${seed}, max ${max}, chunks ${sizes}`);
      }
    }
  }
});

Deno.test("createBlockSplitter() joins a line across chunks and keeps a last partial line", () => {
  const { got, blocks } = both(enc.encode("one\ntw"), [5]);
  assertEquals(got, [{ text: "one", truncated: false }, { text: "tw", truncated: false }]);
  assertEquals(blocks.map((b) => b.kind), ["lines", "line"]);
  const two = both(enc.encode("ab\ncd\r\nef\ngh"), [4, 100]);
  assertEquals(two.got.map((l) => l.text), ["ab", "cd", "ef", "gh"]);
  assertEquals(both(new Uint8Array(0), [1]).got, []);
});

Deno.test("createBlockSplitter() decodes whole runs of lines at once", () => {
  const text = "a\nb\r\nc\n".repeat(1000);
  const { blocks, got, want } = both(enc.encode(text), [65536]);
  assertEquals(got, want);
  assertEquals(blocks.length, 1);
  assertOk(blocks[0]!.kind === "lines" && blocks[0]!.text === text);
});

Deno.test("forEachLine() strips one CR before each newline", () => {
  const spans: string[] = [];
  const text = "a\r\r\n\r\n\nb\rc\n";
  forEachLine(text, (s, e) => spans.push(text.slice(s, e)));
  assertEquals(spans, ["a\r", "", "", "b\rc"]);
});
