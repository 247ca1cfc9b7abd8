import type { ApiError } from "../api/client";

/**
 * What to say under a form field the API refused: each bad entry of a list with the API's
 * reason (which quotes the entry), else the API's sentence. Undefined when the
 * error is about another field.
 */
export function fieldMessage(error: ApiError | undefined, field: string): string | undefined {
  if (!error || error.field !== field) return undefined;
  const bad = error.invalid;
  if (bad.length === 0) return error.message;
  const total = (error.details as { invalid_count?: number } | null)?.invalid_count ?? bad.length;
  // Each reason quotes its entry ("bogus" is not an IPv4 or IPv6 address…).
  const listed = bad.map((b) => b.error).join("; ");
  return total > bad.length ? `${listed}; and ${total - bad.length} more` : listed;
}

/** Splits what a person typed into addresses: spaces, commas and new lines separate. */
export function splitIps(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
