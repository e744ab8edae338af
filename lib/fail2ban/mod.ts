/**
 * fail2ban/: a fail2ban setup -> banwatch: its INI dialect (ini.ts), one filter (filter.ts,
 * reading with definition.ts, written by emit.ts), the jails (jail.ts, with values.ts, their
 * actions in action.ts, the filter choice in choose.ts with evidence.ts measuring built-ins and
 * lint rewrites on the jail's logs, builtin.ts on fail2ban's samples), the problems both report
 * (problem.ts), and the agreement with fail2ban's own
 * sample annotations (agreement.ts, for tests and scripts/import_agreement.ts).
 * @module
 */
export { checkSampleAgreement } from "./agreement.ts";
export type { Agreement } from "./agreement.ts";
export {
  FAIL2BAN_TEST_NOW,
  filterFileRef,
  importFail2banFilter,
  parseFilterRef,
  readFail2banFilter,
} from "./filter.ts";
export type { Fail2banFilter } from "./filter.ts";
export { importFail2ban } from "./jail.ts";
export { formatImportProblem } from "./problem.ts";
export type { ImportResult } from "./problem.ts";
export type { IniIo } from "./ini.ts";
