import { useEffect, useState, type FormEvent } from "react";
import { Navigate, useNavigate } from "react-router-dom";
import { Button, Dropdown, Field, Input, MessageBar, MessageBarBody, Option, ProgressBar, Text } from "@fluentui/react-components";
import { ApiError, call, type Schemas } from "../api/client";
import { useSession } from "../session";
import { browserZone, setChosenZone } from "../time";
import { AuthCard } from "./AuthCard";

/** A rough strength score 0..4: length and variety; the server has the final word. */
export function strength(password: string): number {
  if (!password) return 0;
  let score = 0;
  if (password.length >= 12) score++;
  if (password.length >= 16) score++;
  if (/[a-z]/.test(password) && /[A-Z]/.test(password)) score++;
  if (/\d/.test(password) || /[^A-Za-z0-9]/.test(password) || password.split(/\s+/).length >= 4) score++;
  return Math.min(4, score);
}

const LABELS = ["too short", "weak", "fair", "good", "strong"];
const SESSION_CHOICES = [
  [60, "1 hour"],
  [720, "12 hours"],
  [1440, "1 day"],
  [10080, "7 days"],
] as const;

export function Setup() {
  const navigate = useNavigate();
  const { refresh } = useSession();
  const [state, setState] = useState<Schemas["SetupState"]>();
  const [username, setUsername] = useState("admin");
  const [password, setPassword] = useState("");
  const [timezone, setTimezone] = useState(browserZone());
  const [minutes, setMinutes] = useState(720);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    call<Schemas["SetupState"]>("GET", "/setup").then(setState, () => setState({ completed: false }));
  }, []);
  if (state?.completed) return <Navigate to="/login" replace />;
  const score = strength(password);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await call("POST", "/setup", { body: { username, password, timezone, session_minutes: minutes } });
      setChosenZone(timezone);
      await call("POST", "/auth/login", { body: { username, password } });
      await refresh();
      navigate("/", { replace: true });
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [browserZone(), "UTC"];
  return (
    <AuthCard title="Welcome to BanGUI" subtitle="Create the first administrator. This page is gone once setup is done.">
      <form onSubmit={submit} style={{ display: "flex", flexDirection: "column", gap: 12 }}>
        <Field label="Username" required>
          <Input value={username} onChange={(_, d) => setUsername(d.value)} autoComplete="username" />
        </Field>
        <Field
          label="Password"
          required
          hint="At least 12 characters, or a passphrase of several words; common passwords are refused."
          validationState={password && score < 1 ? "warning" : "none"}
        >
          <Input type="password" value={password} onChange={(_, d) => setPassword(d.value)} autoComplete="new-password" />
        </Field>
        <div aria-live="polite">
          <ProgressBar value={score / 4} color={score >= 3 ? "success" : score >= 2 ? "warning" : "error"} aria-label="Password strength" />
          <Text size={200}>Strength: {LABELS[score]}</Text>
        </div>
        <Field label="Time zone">
          <Dropdown value={timezone} selectedOptions={[timezone]} onOptionSelect={(_, d) => d.optionValue && setTimezone(d.optionValue)}>
            {zones.map((z) => (
              <Option key={z} value={z}>
                {z}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Session length">
          <Dropdown
            value={SESSION_CHOICES.find(([m]) => m === minutes)?.[1]}
            selectedOptions={[String(minutes)]}
            onOptionSelect={(_, d) => d.optionValue && setMinutes(Number(d.optionValue))}
          >
            {SESSION_CHOICES.map(([m, label]) => (
              <Option key={m} value={String(m)}>
                {label}
              </Option>
            ))}
          </Dropdown>
        </Field>
        {error && (
          <MessageBar intent="error" role="alert">
            <MessageBarBody>{error}</MessageBarBody>
          </MessageBar>
        )}
        <Button type="submit" appearance="primary" disabled={busy || !username || password.length < 12}>
          {busy ? "Creating…" : "Create administrator"}
        </Button>
      </form>
    </AuthCard>
  );
}
