import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";

export type Strength = Schemas["PasswordStrength"];

const LABELS = ["very weak", "weak", "fair", "strong", "very strong"];

/** What the meter says: the server's assessment (zxcvbn and the policy), in words. */
export function describeStrength(password: string, s: Strength | undefined): { label: string; detail?: string; value: number; ok: boolean } {
  if (!password) return { label: "type a passphrase", value: 0, ok: false };
  if (!s) return { label: "checking…", value: 0, ok: false };
  const label = LABELS[Math.max(0, Math.min(4, s.score))];
  const detail = s.problem ?? s.warning ?? s.suggestions[0] ?? undefined;
  return { label: s.acceptable ? label : `${label}, not accepted`, detail, value: s.score / 4, ok: s.acceptable };
}

/**
 * The server's assessment of `password` for `username`, asked 250 ms after the last
 * keystroke: the same rules the server applies on submit, so the meter never promises
 * a password the server then refuses.
 */
export function usePasswordStrength(password: string, username: string): Strength | undefined {
  const [result, setResult] = useState<{ password: string; strength: Strength }>();
  useEffect(() => {
    if (!password) return;
    let current = true;
    const timer = window.setTimeout(() => {
      unwrap(api.POST("/auth/password-strength", { body: { password, username } })).then(
        (strength) => current && setResult({ password, strength }),
        () => undefined,
      );
    }, 250);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [password, username]);
  // An answer for an earlier text is not shown for the current one.
  return result?.password === password ? result.strength : undefined;
}
