/**
 * fail2ban/: a fail2ban setup -> banwatch: its INI dialect, filter and jail conversion, and
 * the agreement with fail2ban's own sample annotations.
 * @module
 */
export {
  checkSampleAgreement,
  formatImportProblem,
  importFail2ban,
  importFail2banFilter,
} from "./import.ts";
export type { Agreement, ImportResult } from "./import.ts";
export type { IniIo } from "./ini.ts";
