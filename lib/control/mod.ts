/**
 * control/: the control socket: request/response protocol v1 (pure), the server and the client.
 * @module
 */
export { DaemonUnreachableError, sendRequest } from "./client.ts";
export { formatRequest, serveControl } from "./control.ts";
export type {
  BannedEntry,
  ControlCommand,
  ControlHandler,
  ControlRequest,
  ControlResponse,
  ControlServer,
  JailFileStatus,
  JailStatus,
  StatusReport,
} from "./control.ts";
