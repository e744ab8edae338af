/**
 * control/: the control socket: request/response protocol v1 (pure), the server and the client.
 * @module
 */
export { DaemonUnreachableError, sendRequest } from "./client.ts";
export { formatRequest } from "./protocol.ts";
export type {
  BannedEntry,
  ControlCommand,
  ControlHandler,
  ControlRequest,
  ControlResponse,
  CrowdsecReport,
  FileState,
  JailFileStatus,
  JailStatus,
  StatusReport,
} from "./protocol.ts";
export { serveControl } from "./server.ts";
export type { ControlServer } from "./server.ts";
