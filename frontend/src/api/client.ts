// The typed API client. Every call, reads and writes, goes through `api` (openapi-fetch
// over the generated `schema.ts`), so paths, path and query parameters, bodies and
// answers are checked by tsc against the server's OpenAPI document: a parameter sent in
// the wrong place, or a renamed field, is a compile error rather than a failed click.
// Every call carries the CSRF header the API requires for cookie sessions and a fresh
// request id, which error messages quote so one id follows a click end to end.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** Every code an error can carry: the API's (listed in its OpenAPI document) and the
 * client's own (no answer, a bug in the page, a status without an envelope). */
export type ErrorCode = Schemas["ErrorCode"] | "network_error" | "client_error" | `http_${number}`;

/** One entry the API refused inside a list field (`details.invalid` of the envelope). */
export interface InvalidEntry {
  index: number;
  value: string;
  error: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly requestId: string;
  readonly details: unknown;

  constructor(status: number, code: ErrorCode, message: string, requestId: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details;
  }

  /** The request field the API blamed (`details.field`), if it named one. */
  get field(): string | undefined {
    const f = (this.details as { field?: unknown } | null | undefined)?.field;
    return typeof f === "string" ? f : undefined;
  }

  /** The entries of a list the API refused, each with its reason. */
  get invalid(): InvalidEntry[] {
    const list = (this.details as { invalid?: unknown } | null | undefined)?.invalid;
    return Array.isArray(list) ? (list as InvalidEntry[]) : [];
  }
}

/** Any thrown value as an ApiError (a bug in the page becomes `client_error`). */
export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, "client_error", e instanceof Error ? e.message : String(e), "");
}

export const BASE = "/api/v1";

export function newRequestId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return "ui-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Listeners told about every failed call (the app uses it to go to /login or /setup). */
const failureListeners = new Set<(e: ApiError) => void>();
export function onApiFailure(fn: (e: ApiError) => void): () => void {
  failureListeners.add(fn);
  return () => failureListeners.delete(fn);
}

function fail(e: ApiError): never {
  failureListeners.forEach((l) => l(e));
  sampleFailure(e);
  throw e;
}

/** Failures not worth reporting: signing in and out, setup, and the user's own typos
 * (validation errors are answered on the form). */
const QUIET = new Set<ErrorCode>(["unauthorized", "invalid_credentials", "setup_required", "forbidden", "not_found"]);
/** One failure in five is reported, at most ten a minute from this tab. */
const SAMPLE = 0.2;
const PER_MINUTE = 10;
let reportWindow = { start: 0, sent: 0 };

/** Reports a sample of the API failures the UI handled (kind `api`, with the request id),
 * so the System page shows what users run into without a flood during an outage. */
function sampleFailure(e: ApiError) {
  if (QUIET.has(e.code) || (e.status >= 400 && e.status < 500 && e.status !== 429 && e.status !== 409)) return;
  if (Math.random() >= SAMPLE) return;
  const now = Date.now();
  if (now - reportWindow.start > 60_000) reportWindow = { start: now, sent: 0 };
  if (reportWindow.sent >= PER_MINUTE) return;
  reportWindow.sent += 1;
  void reportClientError({ kind: "api", message: `${e.code}: ${e.message}`, url: location.pathname, request_id: e.requestId || undefined });
}

const headers: Middleware = {
  onRequest({ request }) {
    request.headers.set("X-Requested-With", "bangui");
    request.headers.set("X-Request-Id", newRequestId());
    request.headers.set("Accept", "application/json");
    return request;
  },
};

/** The client: `api.GET("/jails/{name}", { params: { path: { name } } })`. */
export const api = createClient<paths>({ baseUrl: BASE, credentials: "same-origin" });
api.use(headers);

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The data of an answer, or an ApiError built from the error envelope (its code, message,
 * details and request id). A call that never got an answer is `network_error`.
 */
export async function unwrap<T>(call: Promise<Answer<T>>): Promise<NonNullable<T>> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    return fail(new ApiError(0, "network_error", "BanGUI's API did not answer. Check your connection.", ""));
  }
  const { data, error, response } = answer;
  const requestId = response.headers.get("X-Request-Id") ?? "";
  if (!response.ok) {
    const body = (error ?? {}) as Partial<Schemas["ErrorBody"]>;
    return fail(
      new ApiError(
        response.status,
        body.error_code ?? `http_${response.status}`,
        body.message ?? `The API answered ${response.status}.`,
        body.request_id ?? requestId,
        body.details,
      ),
    );
  }
  return data as NonNullable<T>;
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
