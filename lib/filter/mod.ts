/**
 * filter/: line -> verdict, pure: fail2ban-style filters translated to JavaScript regexes,
 * compiled, matched and explained; syslog dates; the literal prefilter and date memo; sessions
 * that correlate the lines of one connection; the filter lint; the built-in filters.
 * @module
 */
export { BUILTIN_FILTERS, findBuiltinFilter } from "./builtin.ts";
export type { DateMemo } from "./date_memo.ts";
export { createDateDetector } from "./dates.ts";
export { resolveZone } from "./date_zones.ts";
export type { Zone } from "./date_zones.ts";
export { compileFilter, validateFilter } from "./compile.ts";
export { explainMiss } from "./explain.ts";
export { dateHits, matchLine } from "./match.ts";
export type { CompiledFilter, FilterError, FilterSpec, LineVerdict, NearMiss } from "./types.ts";
export { lintFilter } from "./lint.ts";
export {
  considerNearMiss,
  createNearMissTracker,
  maskShape,
  NEAR_MISS_MIN_PROGRESS,
  nearMissCandidate,
  nearMissKeys,
  rankNearMisses,
} from "./near_miss.ts";
export type { NearMissGroup, NearMissTracker } from "./near_miss.ts";
export { literalCursor, prefilteredVerdict, quickFilter } from "./prefilter.ts";
export type { LinePrefilter, QuickFilter } from "./prefilter.ts";
export { createSteerCheck, steeredHost } from "./steer.ts";
export type { SteerCheck, SteeredHost } from "./steer.ts";
export { createLineJudge, SessionTracker, usesSessions } from "./sessions.ts";
export { MAX_REPEAT, syslogRepeatCount } from "./repeat.ts";
