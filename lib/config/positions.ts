/**
 * Where each key of a TOML text is: smol-toml gives values but no positions, so this small
 * scanner maps key paths to the line:column of their key and value, for `file:line:col`
 * problem lines. It reads only text smol-toml already accepted, so it need not reject anything.
 * @module
 */

/** A key path: table and key names, and array indexes (`["jail", "sshd", "logpath", 0]`). */
export type Path = readonly (string | number)[];

/** A 1-based line and column in the text. */
export interface Pos {
  /** 1-based line. */
  line: number;
  /** 1-based column, in UTF-16 code units. */
  col: number;
}

/** Where a key path is: its key (or table header) and its value. */
export interface KeyPos {
  /** The key's first character, or the `[` of a table header. */
  key: Pos;
  /** The value's first character (a header's position for tables). */
  value: Pos;
}

/** Key paths (joined with NUL) to the positions of their key and value. */
export type PosIndex = Map<string, KeyPos>;

/** The {@link PosIndex} key of a path (NUL cannot occur in a TOML key, so ids are unique). */
export function pathId(path: Path): string {
  return path.join("\u0000");
}

/** Scans (valid) TOML text and records where every key, table header and array element is. */
export function indexPositions(text: string): PosIndex {
  const index: PosIndex = new Map();
  const s = text;
  let i = 0;
  let line = 1;
  let col = 1;
  const peek = (o = 0): string | undefined => s[i + o];
  const adv = (): void => {
    if (s[i] === "\n") {
      line++;
      col = 1;
    } else {
      col++;
    }
    i++;
  };
  const pos = (): Pos => ({ line, col });
  const skipWs = (): void => {
    while (peek() === " " || peek() === "\t") adv();
  };
  const skipToEol = (): void => {
    while (i < s.length && peek() !== "\n") adv();
  };
  const skipWsNl = (): void => {
    for (;;) {
      const c = peek();
      if (c === " " || c === "\t" || c === "\n" || c === "\r") adv();
      else if (c === "#") skipToEol();
      else return;
    }
  };
  const setIfAbsent = (path: Path, at: KeyPos): void => {
    const id = pathId(path);
    if (!index.has(id)) index.set(id, at);
  };
  const readKey = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipWs();
      const c = peek();
      if (c === '"' || c === "'") {
        const start = i;
        adv();
        while (i < s.length && peek() !== c && peek() !== "\n") {
          if (c === '"' && peek() === "\\") adv();
          adv();
        }
        adv();
        const raw = s.slice(start, i);
        let key = raw.slice(1, -1);
        if (c === '"') {
          try {
            key = String(JSON.parse(raw));
          } catch {
            // keep the raw text
          }
        }
        parts.push(key);
      } else {
        const start = i;
        while (i < s.length && /[A-Za-z0-9_-]/.test(s[i] as string)) adv();
        if (i === start) return parts;
        parts.push(s.slice(start, i));
      }
      skipWs();
      if (peek() !== ".") return parts;
      adv();
    }
  };
  const skipString = (quote: string): void => {
    const triple = s.startsWith(quote.repeat(3), i);
    if (triple) {
      adv(), adv(), adv();
      while (i < s.length && !s.startsWith(quote.repeat(3), i)) {
        if (quote === '"' && peek() === "\\") adv();
        adv();
      }
      adv(), adv(), adv();
      while (peek() === quote) adv();
      return;
    }
    adv();
    while (i < s.length && peek() !== quote && peek() !== "\n") {
      if (quote === '"' && peek() === "\\") adv();
      adv();
    }
    if (peek() === quote) adv();
  };
  const readValue = (path: Path, keyPos: Pos, depth: number): void => {
    index.set(pathId(path), { key: keyPos, value: pos() });
    const c = peek();
    if (c === '"' || c === "'") {
      skipString(c);
    } else if (c === "[" && depth < 64) {
      adv();
      for (let n = 0;; n++) {
        skipWsNl();
        if (peek() === "]" || i >= s.length) break;
        const start = i;
        const at = pos();
        readValue([...path, n], at, depth + 1);
        skipWsNl();
        if (peek() === ",") adv();
        else if (peek() !== "]" || i === start) break;
      }
      if (peek() === "]") adv();
    } else if (c === "{" && depth < 64) {
      adv();
      for (;;) {
        skipWs();
        if (peek() === "}" || i >= s.length) break;
        const at = pos();
        const key = readKey();
        if (key.length === 0) break;
        skipWs();
        if (peek() === "=") adv();
        skipWs();
        for (let k = 1; k < key.length; k++) {
          setIfAbsent([...path, ...key.slice(0, k)], { key: at, value: at });
        }
        readValue([...path, ...key], at, depth + 1);
        skipWs();
        if (peek() === ",") adv();
        else break;
      }
      if (peek() === "}") adv();
    } else {
      while (i < s.length && !/[,\]}#\r\n]/.test(s[i] as string)) adv();
    }
  };

  let table: string[] = [];
  while (i < s.length) {
    skipWs();
    const c = peek();
    if (c === undefined) break;
    if (c === "\n" || c === "\r") {
      adv();
      continue;
    }
    if (c === "#") {
      skipToEol();
      continue;
    }
    const start = pos();
    if (c === "[") {
      adv();
      if (peek() === "[") adv();
      table = readKey();
      const at = { key: start, value: start };
      for (let k = 1; k < table.length; k++) setIfAbsent(table.slice(0, k), at);
      index.set(pathId(table), at);
      skipToEol();
      continue;
    }
    const key = readKey();
    if (key.length === 0) {
      skipToEol();
      continue;
    }
    skipWs();
    if (peek() === "=") adv();
    skipWs();
    const full = [...table, ...key];
    for (let k = table.length + 1; k < full.length; k++) {
      setIfAbsent(full.slice(0, k), { key: start, value: start });
    }
    readValue(full, start, 0);
    skipToEol();
  }
  return index;
}
