import { useEffect, useState, type FormEvent } from "react";
import { Navigate, useNavigate } from "react-router-dom";
import { Button, Dropdown, Field, Input, MessageBar, MessageBarBody, Option, ProgressBar, Text } from "@fluentui/react-components";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../../api/client";
import { ErrorText } from "../../components/DataState";
import { useSession } from "../../session";
import { ago, allZones, browserZone } from "../../time";
import { AuthCard } from "./AuthCard";
import { describeStrength, usePasswordStrength } from "./strength";

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
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const assessment = usePasswordStrength(password, username.trim());
  useEffect(() => {
    const load = () => unwrap(api.GET("/setup")).then(setState, () => undefined);
    void load();
    // The scheduler probes fail2ban every few seconds: keep the connection panel current.
    const timer = window.setInterval(load, 5000);
    return () => window.clearInterval(timer);
  }, []);
  if (state?.completed) return <Navigate to="/login" replace />;
  const meter = describeStrength(password, assessment);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(api.POST("/setup", { body: { username: username.trim(), password, timezone, session_minutes: minutes } }));
      await unwrap(api.POST("/auth/login", { body: { username: username.trim(), password } }));
      await refresh();
      navigate("/", { replace: true });
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const zones = allZones();
  return (
    <AuthCard title="Welcome to BanGUI" subtitle="Create the first administrator. This page is gone once setup is done.">
      <form onSubmit={submit} style={{ display: "flex", flexDirection: "column", gap: 12 }}>
        <Field label="Username" required>
          <Input value={username} onChange={(_, d) => setUsername(d.value)} autoComplete="username" />
        </Field>
        <Field
          label="Password"
          required
          hint="A passphrase of a few uncommon words is best: at least 12 characters, hard to guess (strong or better)."
          validationState={assessment && !assessment.acceptable ? "warning" : "none"}
        >
          <Input type="password" value={password} onChange={(_, d) => setPassword(d.value)} autoComplete="new-password" />
        </Field>
        <div aria-live="polite">
          <ProgressBar value={meter.value} color={meter.ok ? "success" : meter.value >= 0.5 ? "warning" : "error"} aria-label="Password strength" />
          <Text size={200} block>
            Strength: {meter.label}
            {meter.detail && ` — ${meter.detail}`}
          </Text>
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
        <Connection status={state?.fail2ban} />
        {error && (
          <MessageBar intent="error" role="alert" layout="multiline">
            <MessageBarBody>
              <ErrorText error={error} />
            </MessageBarBody>
          </MessageBar>
        )}
        <Button type="submit" appearance="primary" disabled={busy || !username.trim() || !meter.ok}>
          {busy ? "Creating…" : "Create administrator"}
        </Button>
      </form>
    </AuthCard>
  );
}

/** fail2ban as the scheduler sees it: the paths are the scheduler's configuration. */
function Connection({ status }: { status: Schemas["StatusView"] | null | undefined }) {
  if (!status) return null;
  const rows: [string, string][] = [
    ["Socket", status.socket ?? "—"],
    ["Version", status.version ?? "—"],
    ["Config dir", status.config_dir ?? "—"],
    ["Database", status.db_file ?? "—"],
    ["Last probe", status.checked_at ? ago(status.checked_at) : "never"],
  ];
  return (
    <section aria-label="fail2ban connection" style={{ display: "flex", flexDirection: "column", gap: 6 }}>
      <MessageBar intent={status.reachable ? "success" : "warning"}>
        <MessageBarBody>
          {status.reachable
            ? `fail2ban reachable: ${status.jail_count} jails, ${status.currently_banned} banned now.`
            : `fail2ban not reachable yet${status.error ? `: ${status.error}` : "."}`}
          {!status.scheduler_running && " The scheduler is not running."}
        </MessageBarBody>
      </MessageBar>
      <dl style={{ display: "grid", gridTemplateColumns: "auto 1fr", gap: "2px 12px", margin: 0 }}>
        {rows.map(([k, v]) => (
          <div key={k} style={{ display: "contents" }}>
            <dt>
              <Text size={200} weight="semibold">
                {k}
              </Text>
            </dt>
            <dd style={{ margin: 0, overflowWrap: "anywhere" }}>
              <Text size={200} font="monospace">
                {v}
              </Text>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
