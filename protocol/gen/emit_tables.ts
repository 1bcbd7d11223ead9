/**
 * Emits the cross-message tables: the API table (api_keys.ts), header version rules (headers.ts), the error
 * table (errors.ts) and the per-folder record tables.
 *
 * @module
 */
import { type Doc, GENERATED_HEADER, importStatement, render } from "./emit_message.ts";
import { snake, type Spec } from "./schema_model.ts";

function lower(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

function apiName(req: Spec): string {
  return req.name.replace(/Request$/, "");
}

function flexibleFrom(spec: Spec): number | null {
  return spec.flexible === null ? null : spec.flexible[0];
}

function header(doc: string[]): string[] {
  return [GENERATED_HEADER, `/**`, ...doc.map((d) => ` * ${d}`), ` * @module`, ` */`];
}

/** api_keys.ts: ApiKey names, the request/response type maps and the table of codecs by key. */
export function emitApiKeys(requests: Spec[], responses: Spec[]): string {
  const byKey = new Map<number, Spec>();
  for (const r of responses) byKey.set(r.apiKey!, r);
  const reqs = [...requests].sort((a, b) => a.apiKey! - b.apiKey!);
  const out = header([
    "The API table: every API key with its name, versions, flexible-from version, listeners and codecs.",
  ]);
  out.push(`import type { Reader } from "../wire/reader.ts";`);
  out.push(`import type { Writer } from "../wire/writer.ts";`);
  out.push(`import type { MessageSchema } from "../wire/schema.ts";`);
  for (const req of reqs) {
    const res = byKey.get(req.apiKey!);
    if (!res) throw new Error(`no response for ${req.name}`);
    for (const s of [req, res]) {
      const names = [`decode${s.name}`, `encode${s.name}`, `type ${s.name}`, `${lower(s.name)}Schema`];
      names.push(s === req ? `decode${s.name}InSlices` : `encode${s.name}InSlices`);
      out.push(importStatement(names, `./messages/${snake(s.name)}.ts`));
    }
  }
  out.push("");
  out.push(`/** API keys by name, e.g. \`ApiKey.Produce === 0\`. */`);
  out.push(`export const ApiKey = {`);
  for (const req of reqs) out.push(`  ${apiName(req)}: ${req.apiKey},`);
  out.push(`} as const;`);
  out.push("");
  out.push(`/** A known API key. */`);
  out.push(`export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];`);
  out.push("");
  out.push(`/** Request body type by API key. */`);
  out.push(`export interface RequestByKey {`);
  for (const req of reqs) out.push(`  ${req.apiKey}: ${req.name};`);
  out.push(`}`);
  out.push("");
  out.push(`/** Response body type by API key. */`);
  out.push(`export interface ResponseByKey {`);
  for (const req of reqs) out.push(`  ${req.apiKey}: ${byKey.get(req.apiKey!)!.name};`);
  out.push(`}`);
  out.push("");
  out.push(`/** One API: its versions and the codecs of its request and response bodies. */`);
  out.push(`export interface ApiDescriptor<Req = any, Res = any> {`);
  out.push(`  /** The API key. */`);
  out.push(`  readonly apiKey: number;`);
  out.push(`  /** Kafka's name of the API, e.g. "Produce". */`);
  out.push(`  readonly name: string;`);
  out.push(`  /** Lowest supported version. */`);
  out.push(`  readonly minVersion: number;`);
  out.push(`  /** Highest supported version. */`);
  out.push(`  readonly maxVersion: number;`);
  out.push(`  /** First flexible version (compact encodings, tagged fields, header v2/v1), or null. */`);
  out.push(`  readonly flexibleFrom: number | null;`);
  out.push(`  /** Who serves it: "broker", "controller", "zkBroker". */`);
  out.push(`  readonly listeners: readonly string[];`);
  out.push(`  /** Writes a request body. */`);
  out.push(`  encodeRequest(w: Writer, v: Req, version: number): void;`);
  out.push(`  /** Reads a request body. */`);
  out.push(`  decodeRequest(r: Reader, version: number): Req;`);
  out.push(`  /** Reads a request body as a generator that pauses every so many array elements. */`);
  out.push(`  decodeRequestInSlices(r: Reader, version: number): Generator<void, Req>;`);
  out.push(`  /** Writes a response body. */`);
  out.push(`  encodeResponse(w: Writer, v: Res, version: number): void;`);
  out.push(`  /** Writes a response body as a generator that pauses every so many array elements. */`);
  out.push(`  encodeResponseInSlices(w: Writer, v: Res, version: number): Generator<void, void>;`);
  out.push(`  /** Reads a response body. */`);
  out.push(`  decodeResponse(r: Reader, version: number): Res;`);
  out.push(`  /** The request's field descriptor. */`);
  out.push(`  readonly requestSchema: MessageSchema;`);
  out.push(`  /** The response's field descriptor. */`);
  out.push(`  readonly responseSchema: MessageSchema;`);
  out.push(`}`);
  out.push("");
  out.push(`/** Every API by key. */`);
  out.push(
    `export const API_TABLE: { readonly [K in keyof RequestByKey]: ApiDescriptor<RequestByKey[K], ResponseByKey[K]> } = {`,
  );
  for (const req of reqs) {
    const res = byKey.get(req.apiKey!)!;
    if (res.valid[0] !== req.valid[0] || res.valid[1] !== req.valid[1]) {
      throw new Error(`${req.name}: request and response versions differ`);
    }
    const entries: [string, Doc][] = [
      ["apiKey", String(req.apiKey)],
      ["name", JSON.stringify(apiName(req))],
      ["minVersion", String(req.valid[0])],
      ["maxVersion", String(req.valid[1])],
      ["flexibleFrom", String(flexibleFrom(req))],
      ["listeners", { kind: "arr", items: req.listeners.map((l) => JSON.stringify(l)) }],
      ["encodeRequest", `encode${req.name}`],
      ["decodeRequest", `decode${req.name}`],
      ["decodeRequestInSlices", `decode${req.name}InSlices`],
      ["encodeResponse", `encode${res.name}`],
      ["encodeResponseInSlices", `encode${res.name}InSlices`],
      ["decodeResponse", `decode${res.name}`],
      ["requestSchema", `${lower(req.name)}Schema`],
      ["responseSchema", `${lower(res.name)}Schema`],
    ];
    out.push(`  ${req.apiKey}: {`);
    for (const [k, v] of entries) render(v, 2, `${k}: `, ",", out);
    out.push(`  },`);
  }
  out.push(`};`);
  out.push("");
  out.push(`/**`);
  out.push(` * The descriptor of \`apiKey\`, or undefined for a key this codec does not know.`);
  out.push(` *`);
  out.push(` * @example`);
  out.push(" * ```ts");
  out.push(` * import { apiDescriptor } from "./api_keys.ts";`);
  out.push(` * apiDescriptor(18)?.name; // "ApiVersions"`);
  out.push(" * ```");
  out.push(` */`);
  out.push(`export function apiDescriptor(apiKey: number): ApiDescriptor | undefined {`);
  out.push(
    `  return Object.hasOwn(API_TABLE, apiKey) ? (API_TABLE as Record<number, ApiDescriptor>)[apiKey] : undefined;`,
  );
  out.push(`}`);
  out.push(`\n/** Every API descriptor, by ascending key. */`);
  out.push(`export const APIS: readonly ApiDescriptor[] = Object.values(API_TABLE);`);
  return out.join("\n") + "\n";
}

/** headers.ts: which request/response header version an API version uses. */
export function emitHeaders(requests: Spec[]): string {
  const reqs = [...requests].sort((a, b) => a.apiKey! - b.apiKey!);
  const out = header([
    "Header version rules: flexible request versions use request header v2 and response header v1, older ones",
    "v1 and v0. Two exceptions: ControlledShutdown v0 uses request header v0 (no client id), and",
    "ApiVersions responses always use header v0, so a client that does not yet know the broker's versions",
    "can read them (KIP-511).",
  ]);
  out.push(`export * from "./messages/request_header.ts";`);
  out.push(`export * from "./messages/response_header.ts";`);
  out.push("");
  out.push(`/** First flexible version by API key (absent: never flexible). */`);
  out.push(`const FLEXIBLE_FROM: ReadonlyMap<number, number> = new Map([`);
  for (const r of reqs) if (r.flexible !== null) out.push(`  [${r.apiKey}, ${r.flexible[0]}],`);
  out.push(`]);`);
  out.push("");
  out.push(
    `/** True when \`apiVersion\` of \`apiKey\` is a flexible version (also for versions past the highest known). */`,
  );
  out.push(`export function isFlexible(apiKey: number, apiVersion: number): boolean {`);
  out.push(`  const from = FLEXIBLE_FROM.get(apiKey);`);
  out.push(`  return from !== undefined && apiVersion >= from;`);
  out.push(`}`);
  out.push("");
  out.push(`/**`);
  out.push(` * The request header version of an API version: 2 when flexible, else 1; 0 for ControlledShutdown v0.`);
  out.push(` *`);
  out.push(` * @example`);
  out.push(" * ```ts");
  out.push(` * import { requestHeaderVersion } from "./headers.ts";`);
  out.push(` * requestHeaderVersion(0, 9); // 2 (Produce v9 is flexible)`);
  out.push(" * ```");
  out.push(` */`);
  out.push(`export function requestHeaderVersion(apiKey: number, apiVersion: number): number {`);
  out.push(`  if (apiKey === 7 && apiVersion === 0) return 0;`);
  out.push(`  return isFlexible(apiKey, apiVersion) ? 2 : 1;`);
  out.push(`}`);
  out.push("");
  out.push(`/**`);
  out.push(` * The response header version of an API version: 1 when flexible, else 0; always 0 for ApiVersions.`);
  out.push(` *`);
  out.push(` * @example`);
  out.push(" * ```ts");
  out.push(` * import { responseHeaderVersion } from "./headers.ts";`);
  out.push(` * responseHeaderVersion(18, 3); // 0`);
  out.push(" * ```");
  out.push(` */`);
  out.push(`export function responseHeaderVersion(apiKey: number, apiVersion: number): number {`);
  out.push(`  if (apiKey === 18) return 0;`);
  out.push(`  return isFlexible(apiKey, apiVersion) ? 1 : 0;`);
  out.push(`}`);
  return out.join("\n") + "\n";
}

interface ErrorJson {
  code: number;
  name: string;
  message: string | null;
  retriable: boolean;
}

/** errors.ts: the ErrorCode names and the table of codes with their default messages. */
export function emitErrors(errors: ErrorJson[]): string {
  const sorted = [...errors].sort((a, b) => a.code - b.code);
  const out = header(["Kafka's protocol error codes (errors.json): code, name, retriable and default message."]);
  out.push("");
  out.push(`/** Error codes by name, e.g. \`ErrorCode.UNKNOWN_TOPIC_OR_PARTITION === 3\`. */`);
  out.push(`export const ErrorCode = {`);
  for (const e of sorted) out.push(`  ${e.name}: ${e.code},`);
  out.push(`} as const;`);
  out.push("");
  out.push(`/** A known error code. */`);
  out.push(`export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];`);
  out.push("");
  out.push(`/** One row of the error table. */`);
  out.push(`export interface KafkaErrorInfo {`);
  out.push(`  /** The wire code. */`);
  out.push(`  readonly code: number;`);
  out.push(`  /** Kafka's name, e.g. "NOT_LEADER_OR_FOLLOWER". */`);
  out.push(`  readonly name: string;`);
  out.push(`  /** Whether a client may retry the request as is. */`);
  out.push(`  readonly retriable: boolean;`);
  out.push(`  /** Kafka's default message, null for NONE. */`);
  out.push(`  readonly message: string | null;`);
  out.push(`}`);
  out.push("");
  out.push(`/** Every error, by ascending code. */`);
  out.push(`export const ERRORS: readonly KafkaErrorInfo[] = [`);
  for (const e of sorted) {
    const d: Doc = {
      kind: "obj",
      entries: [
        ["code", String(e.code)],
        ["name", JSON.stringify(e.name)],
        ["retriable", String(e.retriable)],
        ["message", JSON.stringify(e.message)],
      ],
    };
    render(d, 1, "", ",", out);
  }
  out.push(`];`);
  out.push("");
  out.push(`const BY_CODE: ReadonlyMap<number, KafkaErrorInfo> = new Map(ERRORS.map((e) => [e.code, e]));`);
  out.push("");
  out.push(`/**`);
  out.push(` * The table row of \`code\`, or undefined for a code this table does not know.`);
  out.push(` *`);
  out.push(` * @example`);
  out.push(" * ```ts");
  out.push(` * import { errorInfo } from "./errors.ts";`);
  out.push(` * errorInfo(3)?.name; // "UNKNOWN_TOPIC_OR_PARTITION"`);
  out.push(" * ```");
  out.push(` */`);
  out.push(`export function errorInfo(code: number): KafkaErrorInfo | undefined {`);
  out.push(`  return BY_CODE.get(code);`);
  out.push(`}`);
  return out.join("\n") + "\n";
}

/** records/<folder>/table.ts: every record schema of a folder with its codec. */
export function emitRecordTable(specs: Spec[], folder: string): string {
  const out = header([`Every record schema of ${folder}, with its codec.`]);
  out.push(`import type { RecordCodec } from "../../../wire/schema.ts";`);
  for (const s of specs) {
    out.push(
      importStatement([`decode${s.name}`, `encode${s.name}`, `${lower(s.name)}Schema`], `./${snake(s.name)}.ts`),
    );
  }
  out.push("");
  const constName = snake(folder.replace(/-records$/, "")).replace(/-/g, "_").toUpperCase() + "_RECORDS";
  out.push(`/** Every record schema of ${folder}, by name. */`);
  out.push(`export const ${constName}: readonly RecordCodec[] = [`);
  for (const s of specs) {
    render(
      {
        kind: "obj",
        entries: [["schema", `${lower(s.name)}Schema`], ["encode", `encode${s.name}`], ["decode", `decode${s.name}`]],
      },
      1,
      "",
      ",",
      out,
    );
  }
  out.push(`];`);
  return out.join("\n") + "\n";
}
