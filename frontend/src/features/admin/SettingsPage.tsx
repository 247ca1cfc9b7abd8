// The instance settings: the time zone every time is shown in, how long a session lasts,
// and how many days of history are kept. Stored in the database and read on use: the
// API's replicas and the scheduler's retention job follow without a restart.
import { useEffect, useState, type FormEvent } from "react";
import { Button, Card, Combobox, Field, Input, Option, Text } from "@fluentui/react-components";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { RequestId } from "../../components/RequestId";
import { fieldMessage } from "../../components/fieldError";
import { useSession } from "../../session";
import { allZones } from "../../time";
import { useNotices } from "../shell/notices";
import { AdminPage, useAdminStyles } from "./common";

function SettingsForm({ current, onSaved }: { current: Schemas["SettingsView"]; onSaved: () => void }) {
  const s = useAdminStyles();
  const { notify } = useNotices();
  const { refresh } = useSession();
  const [timezone, setTimezone] = useState(current.timezone);
  const [zoneQuery, setZoneQuery] = useState(current.timezone);
  const [minutes, setMinutes] = useState(String(current.session_minutes));
  const [days, setDays] = useState(String(current.retention_days));
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setTimezone(current.timezone);
    setZoneQuery(current.timezone);
  }, [current.timezone]);
  const zones = allZones();
  const matching = zones.filter((z) => z.toLowerCase().includes(zoneQuery.toLowerCase())).slice(0, 50);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const body: Schemas["SettingsChange"] = {};
    if (timezone !== current.timezone) body.timezone = timezone;
    if (Number(minutes) !== current.session_minutes) body.session_minutes = Number(minutes);
    if (Number(days) !== current.retention_days || !current.retention_days_set) body.retention_days = Number(days);
    if (Object.keys(body).length === 0) {
      notify({ id: "settings", intent: "info", title: "Nothing changed" });
      setBusy(false);
      return;
    }
    try {
      await unwrap(api.PUT("/settings", { body }));
      notify({ id: "settings", intent: "success", title: "Settings saved", text: "They apply at once." });
      onSaved();
      // Times on every page follow the new zone.
      await refresh();
    } catch (err) {
      setError(asApiError(err));
    }
    setBusy(false);
  };
  const zoneError = fieldMessage(error, "timezone") ?? (error?.code === "invalid_timezone" ? error.message : undefined);
  const minutesError = fieldMessage(error, "session_minutes");
  const daysError = fieldMessage(error, "retention_days");
  const other = error && !zoneError && !minutesError && !daysError ? error : undefined;
  const badNumber = (v: string) => !/^\d+$/.test(v.trim());
  return (
    <form className={s.form} onSubmit={submit} aria-label="Instance settings">
      <Field label="Time zone" hint="Every time is shown in it (a browser may pick its own from the top bar)" validationMessage={zoneError} validationState={zoneError ? "error" : "none"}>
        <Combobox
          value={zoneQuery}
          selectedOptions={[timezone]}
          onChange={(e) => setZoneQuery((e.target as HTMLInputElement).value)}
          onOptionSelect={(_, d) => {
            if (d.optionValue) {
              setTimezone(d.optionValue);
              setZoneQuery(d.optionValue);
            }
          }}
        >
          {matching.map((z) => (
            <Option key={z} value={z}>
              {z}
            </Option>
          ))}
        </Combobox>
      </Field>
      <Field label="Session length (minutes)" hint="5 to 43 200; sessions slide while used" validationMessage={minutesError} validationState={minutesError ? "error" : "none"}>
        <Input type="number" min={5} max={43200} value={minutes} onChange={(_, d) => setMinutes(d.value)} />
      </Field>
      <Field
        label="History kept (days)"
        hint={current.retention_days_set ? "7 to 3 650: bans, the audit log and the import log" : "7 to 3 650; now the scheduler's BANGUI_RETENTION"}
        validationMessage={daysError}
        validationState={daysError ? "error" : "none"}
      >
        <Input type="number" min={7} max={3650} value={days} onChange={(_, d) => setDays(d.value)} />
      </Field>
      <div className={s.formActions}>
        <Button type="submit" appearance="primary" disabled={busy || badNumber(minutes) || badNumber(days) || !timezone}>
          Save
        </Button>
        {other && (
          <Text role="alert">
            {other.message} {other.requestId && <RequestId id={other.requestId} />}
          </Text>
        )}
      </div>
    </form>
  );
}

export default function SettingsPage() {
  const s = useAdminStyles();
  const settings = useApiQuery(["settings"], () => unwrap(api.GET("/settings")));
  return (
    <AdminPage tab="settings">
      <Card className={s.card}>
        <DataState label="the settings" {...settings} onRetry={settings.reload}>
          {(v) => <SettingsForm current={v} onSaved={settings.reload} />}
        </DataState>
      </Card>
    </AdminPage>
  );
}
