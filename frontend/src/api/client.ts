// The typed API client: paths and shapes come from the generated `schema.ts` (from the
// server's OpenAPI document), so a renamed field is a compile error, not a blank cell.
// Every call carries the CSRF header the API requires for cookie sessions and a fresh
// request id, which error reports quote so one id follows a click end to end.
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** Every code an error can carry: the API's (listed in its OpenAPI document) and the
 * client's own (no answer, a bug in the page, a status without an envelope). */
export type ErrorCode = Schemas["ErrorCode"] | "network_error" | "client_error" | `http_${number}`;

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly requestId: string;
  readonly details: unknown;

  constructor(status: number, code: ErrorCode, message: string, requestId: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details;
  }
}

const BASE = "/api/v1";

export function newRequestId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return "ui-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function queryString(q?: Query): string {
  if (!q) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Listeners told about every failed call (the app uses it to go to /login or /setup). */
const failureListeners = new Set<(e: ApiError) => void>();
export function onApiFailure(fn: (e: ApiError) => void): () => void {
  failureListeners.add(fn);
  return () => failureListeners.delete(fn);
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export async function call<T>(method: Method, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
  const requestId = newRequestId();
  const headers: Record<string, string> = {
    "X-Requested-With": "bangui",
    "X-Request-Id": requestId,
    Accept: "application/json",
  };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(BASE + path + queryString(opts.query), {
      method,
      headers,
      credentials: "same-origin",
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch {
    const e = new ApiError(0, "network_error", "BanGUI's API did not answer. Check your connection.", requestId);
    failureListeners.forEach((l) => l(e));
    throw e;
  }
  const rid = res.headers.get("X-Request-Id") ?? requestId;
  if (res.status === 204) return undefined as T;
  let data: unknown = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const body = (data ?? {}) as Partial<Schemas["ErrorBody"]>;
    const e = new ApiError(
      res.status,
      body.error_code ?? `http_${res.status}`,
      body.message ?? `The API answered ${res.status}.`,
      rid,
      body.details,
    );
    failureListeners.forEach((l) => l(e));
    throw e;
  }
  return data as T;
}

// Typed shortcuts for GET paths of the OpenAPI document.
type GetPaths = { [P in keyof paths]: paths[P] extends { get: unknown } ? P : never }[keyof paths];
type JsonOf<R> = R extends { content: { "application/json; charset=utf-8": infer J } }
  ? J
  : R extends { content: { "application/json": infer J } }
    ? J
    : never;
export type GetResult<P extends GetPaths> = paths[P] extends { get: { responses: { 200: infer R } } }
  ? JsonOf<R>
  : never;

/** GET a documented path; `{name}` segments are filled from `params` (encoded). */
export function get<P extends GetPaths>(path: P, params: Record<string, string> = {}, query?: Query): Promise<GetResult<P>> {
  const real = (path as string).replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k] ?? ""));
  return call<GetResult<P>>("GET", real, { query });
}

/** Reports a browser error to the API (best effort, never throws). */
export async function reportClientError(report: { message: string; stack?: string; url: string; request_id?: string; kind: string }) {
  try {
    await fetch(BASE + "/client-errors", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Requested-With": "bangui" },
      credentials: "same-origin",
      body: JSON.stringify({ ...report, message: report.message.slice(0, 2000), stack: report.stack?.slice(0, 8000) }),
    });
  } catch {
    // Nothing sensible to do: the API is away.
  }
}
