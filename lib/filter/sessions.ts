/**
 * Multi-line sessions, as fail2ban correlates them with `<F-MLFID>` (pure core).
 *
 * Some daemons write the address on one line of a connection and the failure on another:
 * sshd logs `Connection from 192.0.2.7 port 4711` and, later, under the same `sshd[pid]`,
 * `Disconnecting: Too many authentication failures [preauth]`. fail2ban's stock filters
 * capture that connection id as `<F-MLFID>` and mark lines that are not failures by
 * themselves with `<F-NOFAIL>`, a successful login with `<F-MLFGAINED>` and the end of a
 * connection with `<F-MLFFORGET>`. A {@link SessionTracker} keeps what each open connection
 * said and turns matchLine()'s per-line verdicts into what fail2ban reports:
 *
 * - a line without an address takes the address its connection gave earlier; with none yet,
 *   the failure is pending and is reported by the next line of the connection that brings an
 *   address (even a `<F-NOFAIL>` one);
 * - a `<F-NOFAIL>` line is a failure after all when failures are pending on its connection
 *   or the connection tried more than one user;
 * - `<F-MLFGAINED>` drops pending failures; `<F-MLFFORGET>` forgets the connection.
 *
 * Bounded: at most `maxSessions` connections (oldest evicted, counted) and none older than
 * `maxAge` seconds of line time (fail2ban keeps 100 for 5 minutes). The state is in memory
 * only: after a restart a connection's earlier lines are not known (a pending failure whose
 * last line comes after the restart is not reported).
 * @module
 */

import { parseIp } from "../core/mod.ts";
import { matchLine } from "./match.ts";
import type { CompiledFilter, LineVerdict, SessionFacts } from "./types.ts";

/** Limits of a {@link SessionTracker}. */
export interface SessionLimits {
  /** Connections remembered at once; the oldest is evicted beyond. Default 10,000. */
  readonly maxSessions?: number;
  /** Seconds (line time) a connection is remembered after its first line. Default 300. */
  readonly maxAge?: number;
}

/** Longest field value kept per connection: fields only describe, the address decides. */
const MAX_FIELD = 256;

interface Session {
  /** Line time of the connection's first line. */
  readonly born: number;
  host: string | undefined;
  readonly fields: Record<string, string>;
  /** Users tried (at most two are kept: only "more than one" matters). */
  readonly users: Set<string>;
  /** A failure without an address waits for one. */
  pending: boolean;
}

/** True when a filter captures `<F-MLFID>` anywhere, i.e. its verdicts need a tracker. */
export function usesSessions(filter: CompiledFilter): boolean {
  const all = [...filter.failregex, ...filter.ignoreregex];
  if (filter.prefregex) all.push(filter.prefregex);
  return all.some((r) => r.translated.fields.includes("mlfid"));
}

/**
 * Judges lines in order as fail2ban does: matchLine(), with sessions correlated when the filter
 * has them (a fresh {@link SessionTracker} per judge).
 * @param filter the compiled filter
 */
export function createLineJudge(
  filter: CompiledFilter,
): (line: string, now: number) => LineVerdict {
  const sessions = usesSessions(filter) ? new SessionTracker() : undefined;
  return (line, now) => {
    const verdict = matchLine(filter, line, now);
    return sessions ? sessions.resolve(verdict) : verdict;
  };
}

/** The open connections of one filter (one per jail, or per `banwatch test` run). */
export class SessionTracker {
  readonly #sessions = new Map<string, Session>();
  readonly #maxSessions: number;
  readonly #maxAge: number;
  #evictions = 0;

  /** @param limits bounds on what is remembered */
  constructor(limits: SessionLimits = {}) {
    this.#maxSessions = Math.max(1, limits.maxSessions ?? 10_000);
    this.#maxAge = limits.maxAge ?? 300;
  }

  /** Connections remembered now. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Connections dropped because `maxSessions` was reached. */
  get evictions(): number {
    return this.#evictions;
  }

  /**
   * The verdict fail2ban reports for a line, given the earlier lines of its connection.
   * Verdicts without session facts are returned unchanged.
   * @param verdict matchLine()'s verdict on the line
   */
  resolve(verdict: LineVerdict): LineVerdict {
    if (verdict.kind === "ignored") return verdict;
    const facts = verdict.session;
    if (!facts || verdict.time === undefined) return verdict;
    this.#expire(verdict.time);
    const { session, failure } = this.#merge(facts, verdict.time, fieldsOf(verdict));
    if (!failure) return verdict;
    const host = session.host;
    if (host === undefined) {
      // No address anywhere on the connection yet: the failure waits for one.
      session.pending = true;
      return verdict;
    }
    if (verdict.kind === "matched") return verdict;
    const addr = parseIp(host);
    return {
      kind: "matched",
      time: verdict.time,
      template: verdict.template ?? "",
      regex: verdict.regex ?? 0,
      addr,
      host: addr ? addr.text : host,
      fields: { ...session.fields },
      session: facts,
    };
  }

  /** Merges a line into its connection; `failure` says whether the line is a failure. */
  #merge(
    facts: SessionFacts,
    time: number,
    fields: Record<string, string>,
  ): { session: Session; failure: boolean } {
    let nofail = facts.nofail || facts.gained;
    let session = this.#sessions.get(facts.id);
    if (session) {
      if (facts.user !== undefined) addUser(session.users, facts.user);
      if (facts.gained) session.pending = false;
      if (facts.host !== undefined) session.host = facts.host;
      for (const [k, v] of Object.entries(fields)) session.fields[k] = v.slice(0, MAX_FIELD);
      if (facts.forget) this.#sessions.delete(facts.id);
    } else {
      const users = new Set<string>();
      if (facts.user !== undefined) users.add(facts.user);
      session = {
        born: time,
        host: facts.host,
        fields: Object.fromEntries(
          Object.entries(fields).map(([k, v]) => [k, v.slice(0, MAX_FIELD)]),
        ),
        users,
        pending: false,
      };
      if (!facts.forget) this.#remember(facts.id, session);
    }
    // Pending failures, or several users tried on one connection, make it a failure.
    if (session.pending || session.users.size > 1) nofail = false;
    session.pending = false;
    return { session, failure: !nofail };
  }

  #remember(id: string, session: Session): void {
    if (this.#sessions.size >= this.#maxSessions) {
      const oldest = this.#sessions.keys().next();
      if (!oldest.done) {
        this.#sessions.delete(oldest.value);
        this.#evictions++;
      }
    }
    this.#sessions.set(id, session);
  }

  #expire(now: number): void {
    // Insertion order is birth order for lines in time order; stop at the first young one.
    for (const [id, s] of this.#sessions) {
      if (s.born >= now - this.#maxAge) break;
      this.#sessions.delete(id);
    }
  }
}

function addUser(users: Set<string>, user: string): void {
  if (users.size < 2) users.add(user);
}

/** The descriptive fields of a verdict, without fail2ban's session markers. */
function fieldsOf(verdict: LineVerdict): Record<string, string> {
  if (verdict.kind !== "matched") return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(verdict.fields)) {
    if (k !== "nofail" && k !== "mlfgained" && k !== "mlfforget") out[k] = v;
  }
  return out;
}
