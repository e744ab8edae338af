// deno-lint-ignore-file no-console
/** Severity of a log event. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Fields attached to an event, printed as key=value. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A leveled logger that writes one line per event. */
export interface Logger {
  /** Logs a debug event. */
  debug(event: string, fields?: LogFields): void;
  /** Logs an info event. */
  info(event: string, fields?: LogFields): void;
  /** Logs a warning. */
  warn(event: string, fields?: LogFields): void;
  /** Logs an error. */
  error(event: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

// deno-lint-ignore no-control-regex
const NEEDS_QUOTES = /[\s"=\\\x00-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

/** Quotes a value when it holds spaces, quotes or control characters, so a line stays parseable. */
export function formatValue(value: string | number | boolean): string {
  const text = String(value);
  if (text !== "" && !NEEDS_QUOTES.test(text)) return text;
  const escaped = text.replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `"${escaped}"`;
}

/** Formats an event as `level=L event=E k=v ...`. */
export function formatEvent(level: LogLevel, event: string, fields: LogFields = {}): string {
  const parts = [`level=${level}`, `event=${formatValue(event)}`];
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) parts.push(`${key}=${formatValue(value)}`);
  }
  return parts.join(" ");
}

/** Creates a logger writing to `write` (stderr by default), dropping events below `level`. */
export function createLogger(
  options: { level?: LogLevel; write?: (line: string) => void } = {},
): Logger {
  const min = ORDER[options.level ?? "info"];
  const write = options.write ?? ((line: string) => console.error(line));
  const at = (level: LogLevel) => (event: string, fields?: LogFields) => {
    if (ORDER[level] >= min) write(formatEvent(level, event, fields));
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
