/**
 * The version guard every generated top-level codec calls first.
 *
 * @module
 */
import { ProtocolError } from "../protocol_error.ts";

/**
 * Throws ProtocolError "unsupported_version" unless `version` is an integer in `[lowest, highest]`.
 *
 * @example
 * ```ts
 * import { checkVersion } from "./version.ts";
 * checkVersion("ProduceRequest", 9, 0, 11); // ok
 * ```
 */
export function checkVersion(name: string, version: number, lowest: number, highest: number): void {
  if (!(Number.isInteger(version) && version >= lowest && version <= highest)) {
    throw new ProtocolError("unsupported_version", `${name} has no version ${version} (valid ${lowest}-${highest})`);
  }
}

/**
 * The error for a field set to a non-default value in a version that cannot carry it (and is not ignorable).
 *
 * @example
 * ```ts
 * import { notInVersion } from "./version.ts";
 * const e = notInVersion("ProduceRequest.transactionalId", 2); // e.kind === "unsupported_version"
 * ```
 */
export function notInVersion(field: string, version: number): ProtocolError {
  return new ProtocolError("unsupported_version", `${field} is not supported in version ${version}`);
}
