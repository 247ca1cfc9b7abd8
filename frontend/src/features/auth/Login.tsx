import { useRef, useState, type FormEvent } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router-dom";
import { Button, Field, Input, MessageBar, MessageBarBody } from "@fluentui/react-components";
import { api, asApiError, unwrap } from "../../api/client";
import { useSession } from "../../session";
import { AuthCard } from "./AuthCard";
import { RequestId } from "../../components/RequestId";

/** Only same-site relative paths are followed after sign-in. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}

export function Login() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const { session, setupRequired, refresh } = useSession();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<{ text: string; requestId?: string }>();
  const passwordRef = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  if (setupRequired) return <Navigate to="/setup" replace />;
  if (session) return <Navigate to={safeNext(params.get("next"))} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(api.POST("/auth/login", { body: { username, password } }));
      await refresh();
      navigate(safeNext(params.get("next")), { replace: true });
    } catch (e) {
      const err = asApiError(e);
      // A refused password is never left in the field to be resubmitted or read over a shoulder.
      setPassword("");
      passwordRef.current?.focus();
      if (err.code === "invalid_credentials") setError({ text: "Wrong username or password.", requestId: err.requestId });
      else if (err.code === "rate_limited") {
        const wait = (err.details as { retry_after?: number } | undefined)?.retry_after;
        setError({ text: `Too many failed attempts. Try again${wait ? ` in ${wait} s` : " later"}.`, requestId: err.requestId });
      } else setError({ text: err.message, requestId: err.requestId });
    } finally {
      setBusy(false);
    }
  };
  return (
    <AuthCard title="Sign in to BanGUI" subtitle="Monitor and manage fail2ban.">
      <form onSubmit={submit} style={{ display: "flex", flexDirection: "column", gap: 12 }}>
        <Field label="Username" required>
          <Input value={username} onChange={(_, d) => setUsername(d.value)} autoComplete="username" autoFocus />
        </Field>
        <Field label="Password" required>
          <Input ref={passwordRef} type="password" value={password} onChange={(_, d) => setPassword(d.value)} autoComplete="current-password" />
        </Field>
        {error && (
          <MessageBar intent="error" role="alert">
            <MessageBarBody>
              {error.text}
              {error.requestId && <RequestId id={error.requestId} />}
            </MessageBarBody>
          </MessageBar>
        )}
        <Button type="submit" appearance="primary" disabled={busy || !username || !password}>
          {busy ? "Signing in…" : "Sign in"}
        </Button>
      </form>
    </AuthCard>
  );
}
