// The Blocklists page: sources of addresses and networks fail2ban bans on a schedule,
// each with its last import, the entries it holds and its next run; add or edit one with
// a live preview of what the list holds; "Import now" with its progress (applied of
// total) and result; the import log with each import's details. Downloads, parsing and
// every ban happen in the scheduler: this page queues commands and reads the results.
import { useEffect, useState, type FormEvent } from "react";
import {
  Badge,
  Button,
  Card,
  Checkbox,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Dropdown,
  Field,
  Input,
  makeStyles,
  Option,
  Subtitle2,
  Text,
  Title2,
  tokens,
} from "@fluentui/react-components";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../../api/client";
import { afterCommand, useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { fieldMessage } from "../../components/fieldError";
import { useSession } from "../../session";
import { formatTime } from "../../time";
import { useCommand } from "../commands/useCommand";
import { useNotices } from "../shell/notices";
import { RequestId } from "../../components/RequestId";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0, display: "flex", flexDirection: "column", gap: "12px" },
  form: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 200px), 1fr))", gap: "12px 16px", alignItems: "start" },
  actions: { display: "flex", gap: "8px", flexWrap: "wrap", alignItems: "center" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", overflowWrap: "anywhere" },
  muted: { color: tokens.colorNeutralForeground3, fontSize: "12px" },
  preview: { display: "flex", flexDirection: "column", gap: "6px", borderTop: `1px solid ${tokens.colorNeutralStroke2}`, paddingTop: "8px" },
  entries: { fontFamily: "ui-monospace, monospace", fontSize: "12px", maxHeight: "10em", overflowY: "auto", margin: 0, padding: "4px 8px", backgroundColor: tokens.colorNeutralBackground3, borderRadius: tokens.borderRadiusMedium },
  header: { display: "flex", justifyContent: "space-between", alignItems: "center", gap: "8px", flexWrap: "wrap" },
  details: { display: "flex", flexDirection: "column", gap: "4px", fontSize: "13px" },
  // Fluent's dropdowns keep a minimum width of their own; in a grid cell they must fit it.
  fill: { minWidth: 0, width: "100%" },
});

type Source = Schemas["SourceView"];
type Import = Schemas["ImportView"];
type Spec = Schemas["ScheduleSpec"];
type Weekday = NonNullable<Spec["weekday"]>;

const WEEKDAYS: [Weekday, string][] = [
  ["mon", "Monday"],
  ["tue", "Tuesday"],
  ["wed", "Wednesday"],
  ["thu", "Thursday"],
  ["fri", "Friday"],
  ["sat", "Saturday"],
  ["sun", "Sunday"],
];
const KINDS: [Spec["kind"], string][] = [
  ["daily", "Daily"],
  ["weekly", "Weekly"],
  ["hourly", "Hourly"],
  ["interval", "Every N minutes"],
];

/** A schedule in words ("daily at 04:00"). */
export function describeSchedule(s: Spec): string {
  switch (s.kind) {
    case "interval":
      return `every ${s.minutes ?? "?"} min`;
    case "hourly":
      return `hourly at :${String(s.minute ?? 0).padStart(2, "0")}`;
    case "daily":
      return `daily at ${s.at ?? "?"}`;
    case "weekly":
      return `${WEEKDAYS.find(([d]) => d === s.weekday)?.[1] ?? "weekly"}s at ${s.at ?? "?"}`;
  }
}

function num(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : n.toLocaleString();
}

const OUTCOME_COLOR = { running: "informative", applied: "success", unchanged: "subtle", failed: "danger" } as const;

function OutcomeBadge({ i }: { i: Import }) {
  const text = i.outcome === "running" ? (i.phase === "applying" ? `applying ${num(i.done_ops)} / ${num(i.total_ops)}` : "downloading") : i.outcome;
  return (
    <Badge appearance="tint" color={OUTCOME_COLOR[i.outcome]} title={i.error ?? undefined}>
      {text}
    </Badge>
  );
}

type Draft = { name: string; url: string; format: "plain" | "csv"; column: string; jail: string; schedule: Spec; enabled: boolean };

function draftOf(s: Source | undefined, defaultJail: string): Draft {
  return {
    name: s?.name ?? "",
    url: s?.url ?? "",
    format: s?.format ?? "plain",
    column: s?.csv_column ? String(s.csv_column) : "1",
    jail: s?.jail ?? defaultJail,
    schedule: s?.schedule ?? { kind: "daily", at: "04:00" },
    enabled: s?.enabled ?? true,
  };
}

/** What the command's result says about a list (the preview). */
type Preview = { entries: number; invalid: number; allowlisted: number; lines: number; bytes: number; first_entries: string[]; invalid_samples: { line: number; text: string; reason: string }[] };

async function finished(cmd: Schemas["CommandView"]): Promise<Schemas["CommandView"]> {
  let c = cmd;
  while (c.status === "pending" || c.status === "running") {
    await new Promise((r) => setTimeout(r, 500));
    c = await unwrap(api.GET("/commands/{id}", { params: { path: { id: c.id } } }));
  }
  return c;
}

function PreviewPanel({ p }: { p: Preview }) {
  const s = useStyles();
  return (
    <div className={s.preview} aria-label="Preview">
      <Text>
        <b>{num(p.entries)}</b> entries, <b>{num(p.invalid)}</b> invalid lines, <b>{num(p.allowlisted)}</b> on the allowlist (skipped) — {num(p.lines)} lines, {num(p.bytes)} bytes
      </Text>
      {p.first_entries.length > 0 && (
        <>
          <span className={s.muted}>First {p.first_entries.length} entries</span>
          <pre className={s.entries}>{p.first_entries.join("\n")}</pre>
        </>
      )}
      {p.invalid_samples.length > 0 && (
        <>
          <span className={s.muted}>Invalid lines</span>
          <pre className={s.entries}>{p.invalid_samples.map((l) => `line ${l.line}: ${l.text}  (${l.reason})`).join("\n")}</pre>
        </>
      )}
    </div>
  );
}

/** Adds a source or changes one, with a live preview of the list as given. */
function SourceForm({ source, jails, defaultJail, onDone }: { source?: Source; jails: string[]; defaultJail: string; onDone: () => void }) {
  const s = useStyles();
  const { notify } = useNotices();
  const [d, setD] = useState<Draft>(() => draftOf(source, defaultJail));
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState<Preview>();
  const [previewError, setPreviewError] = useState<string>();
  const [previewing, setPreviewing] = useState(false);
  const set = (patch: Partial<Draft>) => setD((x) => ({ ...x, ...patch }));
  const setSchedule = (patch: Partial<Spec>) => setD((x) => ({ ...x, schedule: { ...x.schedule, ...patch } }));
  const column = d.format === "csv" ? Number(d.column) || undefined : undefined;
  const schedule: Spec = {
    kind: d.schedule.kind,
    minutes: d.schedule.kind === "interval" ? d.schedule.minutes ?? 60 : undefined,
    minute: d.schedule.kind === "hourly" ? d.schedule.minute ?? 0 : undefined,
    weekday: d.schedule.kind === "weekly" ? d.schedule.weekday ?? "mon" : undefined,
    at: d.schedule.kind === "daily" || d.schedule.kind === "weekly" ? d.schedule.at ?? "04:00" : undefined,
  };
  const runPreview = async () => {
    setPreviewing(true);
    setPreview(undefined);
    setPreviewError(undefined);
    try {
      const cmd = await finished(await unwrap(api.POST("/blocklists/preview", { params: { query: { wait: "10s" } }, body: { url: d.url.trim(), format: d.format, csv_column: column } })));
      if (cmd.status === "succeeded") setPreview(cmd.result as unknown as Preview);
      else setPreviewError(`${cmd.error_code ?? "failed"}: ${cmd.error ?? "the download failed"}`);
    } catch (e) {
      setPreviewError(asApiError(e).message);
    }
    setPreviewing(false);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const body = { name: d.name.trim(), url: d.url.trim(), format: d.format, csv_column: column, jail: d.jail, schedule, enabled: d.enabled };
    try {
      const saved = source
        ? await unwrap(api.PATCH("/blocklists/{id}", { params: { path: { id: source.id } }, body }))
        : await unwrap(api.POST("/blocklists", { body }));
      notify({ id: `bl-${saved.id}-saved`, intent: "success", title: `${source ? "Saved" : "Added"} ${saved.name}`, text: saved.enabled && !source ? "Its first import runs now." : undefined });
      afterCommand();
      onDone();
    } catch (err) {
      setError(asApiError(err));
    }
    setBusy(false);
  };
  const fieldError = (f: string) => fieldMessage(error, f);
  const known = new Set([...jails, defaultJail, d.jail]);
  const other = error && !["name", "url", "jail", "csv_column", "schedule", "schedule.at", "schedule.minutes", "schedule.weekday"].includes(error.field ?? "") ? error.message : undefined;
  return (
    <form className={s.card} onSubmit={submit} aria-label={source ? `Edit ${source.name}` : "Add a blocklist source"}>
      <Subtitle2>{source ? `Edit ${source.name}` : "Add a source"}</Subtitle2>
      <div className={s.form}>
        <Field label="Name" required validationMessage={fieldError("name")}>
          <Input className={s.fill} value={d.name} onChange={(_, v) => set({ name: v.value })} placeholder="Spamhaus DROP" maxLength={100} />
        </Field>
        <Field label="URL" required validationMessage={fieldError("url")}>
          <Input className={s.fill} value={d.url} onChange={(_, v) => set({ url: v.value })} placeholder="https://www.spamhaus.org/drop/drop.txt" type="url" />
        </Field>
        <Field label="Format" hint="Plain: one address or CIDR per line, # and ; comments (FireHOL, Spamhaus); gzip is unpacked">
          <Dropdown className={s.fill} value={d.format === "csv" ? "CSV" : "Plain"} selectedOptions={[d.format]} onOptionSelect={(_, v) => set({ format: v.optionValue === "csv" ? "csv" : "plain" })}>
            <Option value="plain">Plain</Option>
            <Option value="csv">CSV</Option>
          </Dropdown>
        </Field>
        {d.format === "csv" && (
          <Field label="Address column" validationMessage={fieldError("csv_column")}>
            <Input className={s.fill} type="number" min={1} max={64} value={d.column} onChange={(_, v) => set({ column: v.value })} />
          </Field>
        )}
        <Field label="Jail" validationMessage={fieldError("jail")} hint={d.jail === defaultJail ? "Created on the first import if missing" : undefined}>
          <Dropdown className={s.fill} value={d.jail} selectedOptions={[d.jail]} onOptionSelect={(_, v) => set({ jail: v.optionValue ?? defaultJail })}>
            {[...known].map((j) => (
              <Option key={j} value={j}>
                {j}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Schedule" validationMessage={fieldError("schedule")}>
          <Dropdown className={s.fill} value={KINDS.find(([k]) => k === d.schedule.kind)?.[1]} selectedOptions={[d.schedule.kind]} onOptionSelect={(_, v) => setSchedule({ kind: (v.optionValue ?? "daily") as Spec["kind"] })}>
            {KINDS.map(([k, label]) => (
              <Option key={k} value={k}>
                {label}
              </Option>
            ))}
          </Dropdown>
        </Field>
        {d.schedule.kind === "interval" && (
          <Field label="Minutes" hint="5 or more" validationMessage={fieldError("schedule.minutes")}>
            <Input className={s.fill} type="number" min={5} value={String(d.schedule.minutes ?? 60)} onChange={(_, v) => setSchedule({ minutes: Number(v.value) || undefined })} />
          </Field>
        )}
        {d.schedule.kind === "hourly" && (
          <Field label="Minute past the hour">
            <Input className={s.fill} type="number" min={0} max={59} value={String(d.schedule.minute ?? 0)} onChange={(_, v) => setSchedule({ minute: Number(v.value) || 0 })} />
          </Field>
        )}
        {d.schedule.kind === "weekly" && (
          <Field label="Day">
            <Dropdown className={s.fill} value={WEEKDAYS.find(([w]) => w === (d.schedule.weekday ?? "mon"))?.[1]} selectedOptions={[d.schedule.weekday ?? "mon"]} onOptionSelect={(_, v) => setSchedule({ weekday: (v.optionValue ?? "mon") as Weekday })}>
              {WEEKDAYS.map(([w, label]) => (
                <Option key={w} value={w}>
                  {label}
                </Option>
              ))}
            </Dropdown>
          </Field>
        )}
        {(d.schedule.kind === "daily" || d.schedule.kind === "weekly") && (
          <Field label="At (HH:MM)" validationMessage={fieldError("schedule.at")}>
            <Input className={s.fill} type="time" value={d.schedule.at ?? "04:00"} onChange={(_, v) => setSchedule({ at: v.value })} />
          </Field>
        )}
      </div>
      <Checkbox checked={d.enabled} onChange={(_, v) => set({ enabled: Boolean(v.checked) })} label={source ? "Enabled (imported on its schedule)" : "Enabled: import now, then on the schedule"} />
      <div className={s.actions}>
        <Button type="submit" appearance="primary" disabled={!d.name.trim() || !d.url.trim() || busy}>
          {source ? "Save" : "Add source"}
        </Button>
        <Button onClick={() => void runPreview()} disabled={!d.url.trim() || previewing}>
          {previewing ? "Downloading…" : "Preview"}
        </Button>
        <Button appearance="subtle" onClick={onDone}>
          Cancel
        </Button>
        {other && <Text role="alert">{other}</Text>}
        {error?.requestId && <RequestId id={error.requestId} />}
      </div>
      {previewError && <Text role="alert">Preview: {previewError}</Text>}
      {preview && <PreviewPanel p={preview} />}
    </form>
  );
}

/**
 * Remove a source: one never imported is deleted; one with import history is deleted
 * only with its entries unbanned and its import log (the API refuses otherwise), or
 * disabled to keep both.
 */
function RemoveSource({ source, onDone }: { source: Source; onDone: () => void }) {
  const { notify } = useNotices();
  const [open, setOpen] = useState(false);
  const imported = source.last_import !== null && source.last_import !== undefined;
  const keep = async () => {
    setOpen(false);
    try {
      if (imported) {
        await unwrap(api.PATCH("/blocklists/{id}", { params: { path: { id: source.id } }, body: { enabled: false } }));
      } else {
        await unwrap(api.DELETE("/blocklists/{id}", { params: { path: { id: source.id } } }));
      }
      notify({ id: `bl-${source.id}-rm`, intent: "success", title: imported ? `Disabled ${source.name}` : `Deleted ${source.name}` });
      afterCommand();
      onDone();
    } catch (e) {
      const error = asApiError(e);
      notify({ id: `bl-${source.id}-rm`, intent: "error", title: `Remove ${source.name}: refused`, text: error.message, requestId: error.requestId });
    }
  };
  const purge = async () => {
    setOpen(false);
    const id = `bl-${source.id}-purge`;
    notify({ id, intent: "info", title: `Delete ${source.name} and unban its entries: queued` });
    try {
      const answer = await unwrap(api.DELETE("/blocklists/{id}", { params: { path: { id: source.id }, query: { purge: true } } }));
      const cmd = "kind" in answer ? await finished(answer) : undefined;
      const unbanned = (cmd?.result as { unbanned?: number } | undefined)?.unbanned;
      if (cmd?.status === "failed") notify({ id, intent: "error", title: `Delete ${source.name}: failed`, text: cmd.error ?? undefined, requestId: cmd.request_id ?? undefined });
      else notify({ id, intent: "success", title: `Deleted ${source.name}`, text: unbanned === undefined ? undefined : `${unbanned.toLocaleString()} entries unbanned.`, requestId: cmd?.request_id ?? undefined });
      afterCommand();
    } catch (e) {
      const error = asApiError(e);
      notify({ id, intent: "error", title: `Delete ${source.name}: refused`, text: error.message, requestId: error.requestId });
    }
    onDone();
  };
  return (
    <>
      <Button size="small" onClick={() => setOpen(true)} aria-label={`Remove ${source.name}`}>
        Remove…
      </Button>
      <Dialog open={open} onOpenChange={(_, v) => setOpen(v.open)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Remove {source.name}?</DialogTitle>
            <DialogContent>
              {imported
                ? `It has been imported: its ${source.entries.toLocaleString()} entries are banned in ${source.jail}. Deleting it unbans them (those no other source or manual ban holds) and deletes its import log.${source.enabled ? " Disable it instead to keep both and stop importing." : ""}`
                : "It has never been imported; it is deleted."}
            </DialogContent>
            <DialogActions>
              <Button onClick={() => setOpen(false)}>Cancel</Button>
              {(!imported || source.enabled) && (
                <Button appearance={imported ? "secondary" : "primary"} onClick={() => void keep()}>
                  {imported ? "Disable" : "Delete"}
                </Button>
              )}
              {imported && (
                <Button appearance="primary" onClick={() => void purge()}>
                  Delete and unban
                </Button>
              )}
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </>
  );
}

function ImportDetails({ i, source }: { i: Import; source?: string }) {
  const s = useStyles();
  return (
    <div className={s.details} aria-label={`Import ${i.id}`}>
      <Text>
        Import {i.id}
        {source ? ` of ${source}` : ""}: {i.trigger}, started {formatTime(i.started_at)}
        {i.requested_by ? ` by ${i.requested_by}` : ""}
        {i.duration_ms !== null && i.duration_ms !== undefined ? `, took ${(i.duration_ms / 1000).toFixed(1)} s` : ""}.
      </Text>
      <Text>
        HTTP {i.http_status ?? "—"}, {num(i.bytes)} bytes, {num(i.entries)} entries: +{num(i.added)} banned, −{num(i.removed)} unbanned, {num(i.unchanged)} unchanged, {num(i.kept)} kept (held elsewhere), {num(i.invalid)} invalid, {num(i.allowlisted)} allowlisted; {num(i.fail2ban_calls)} fail2ban call{i.fail2ban_calls === 1 ? "" : "s"}.
      </Text>
      {i.error && (
        <Text role="alert">
          {i.error_code}: {i.error}
        </Text>
      )}
      {i.notes.map((n) => (
        <Text key={n}>{n}</Text>
      ))}
      {i.invalid_samples.length > 0 && <pre className={s.entries}>{i.invalid_samples.map((l) => `line ${l.line}: ${l.text}  (${l.reason})`).join("\n")}</pre>}
      {i.request_id && <RequestId id={i.request_id} />}
    </div>
  );
}

function ImportLog({ names }: { names: Map<number, string> }) {
  const s = useStyles();
  const [open, setOpen] = useState<number>();
  const log = useApiQuery(["blocklists", "imports"], () => unwrap(api.GET("/blocklists/imports", { params: { query: { limit: 50 } } })), { pollMs: 5_000 });
  const shown = log.data?.items.find((i) => i.id === open);
  return (
    <Card className={s.card}>
      <Subtitle2 as="h2">Import log</Subtitle2>
      <DataState label="the import log" {...log} onRetry={log.reload} empty={(l) => l.items.length === 0} emptyText="No import yet.">
        {(l) => (
          <DataTable
            label="Import log"
            rows={l.items}
            rowKey={(i) => i.id}
            columns={[
              { key: "time", header: "Started", primary: true, cell: (i) => formatTime(i.started_at) },
              { key: "source", header: "Source", primary: true, truncate: "14em", text: (i) => names.get(i.source_id) ?? `#${i.source_id}`, cell: (i) => names.get(i.source_id) ?? `#${i.source_id}` },
              { key: "outcome", header: "Outcome", primary: true, cell: (i) => <OutcomeBadge i={i} /> },
              { key: "trigger", header: "Trigger", cell: (i) => i.trigger },
              { key: "entries", header: "Entries", numeric: true, cell: (i) => num(i.entries) },
              { key: "added", header: "Added", numeric: true, cell: (i) => num(i.added) },
              { key: "removed", header: "Removed", numeric: true, cell: (i) => num(i.removed) },
              { key: "invalid", header: "Invalid", numeric: true, cell: (i) => num(i.invalid) },
              { key: "took", header: "Took", numeric: true, cell: (i) => (i.duration_ms === null || i.duration_ms === undefined ? "—" : `${(i.duration_ms / 1000).toFixed(1)} s`) },
              {
                key: "details",
                header: "Details",
                cell: (i) => (
                  <Button size="small" appearance="subtle" aria-expanded={open === i.id} onClick={() => setOpen(open === i.id ? undefined : i.id)}>
                    {open === i.id ? "Hide" : "Details"}
                  </Button>
                ),
              },
            ]}
          />
        )}
      </DataState>
      {shown && <ImportDetails i={shown} source={names.get(shown.source_id)} />}
    </Card>
  );
}

export default function BlocklistsPage() {
  const s = useStyles();
  const { can } = useSession();
  const run = useCommand();
  const operator = can("operator");
  const [editing, setEditing] = useState<Source | "new">();
  // While an import runs, its progress (applied of total) is polled every second.
  const [fast, setFast] = useState(false);
  const list = useApiQuery(["blocklists"], () => unwrap(api.GET("/blocklists")), { pollMs: fast ? 1_000 : 5_000 });
  const running = (list.data?.items ?? []).some((x) => x.last_import?.outcome === "running");
  useEffect(() => setFast(running), [running]);
  const jails = useApiQuery(["config", "jails", "", "all"], () => unwrap(api.GET("/config/jails")), { pollMs: 60_000 });
  const enabledJails = (jails.data?.items ?? []).filter((j) => j.enabled).map((j) => j.name);
  const names = new Map((list.data?.items ?? []).map((x) => [x.id, x.name]));
  const importNow = (x: Source) =>
    void run({ label: `Import ${x.name}`, send: (wait) => api.POST("/blocklists/{id}/import", { params: { path: { id: x.id }, query: { wait } } }) }).then(() => list.reload());
  const done = () => {
    setEditing(undefined);
    list.reload();
  };
  return (
    <>
      <div className={s.header}>
        <Title2 as="h1">Blocklists</Title2>
        {operator && editing === undefined && (
          <Button appearance="primary" onClick={() => setEditing("new")}>
            Add source
          </Button>
        )}
      </div>
      {list.data && (
        <Text className={s.muted}>
          Schedules run in {list.data.timezone}. Sources ban into {list.data.default_jail} unless they name another jail; only the difference with the previous import reaches fail2ban.
        </Text>
      )}
      {operator && editing !== undefined && list.data && (
        <Card className={s.card}>
          <SourceForm key={editing === "new" ? "new" : editing.id} source={editing === "new" ? undefined : editing} jails={enabledJails} defaultJail={list.data.default_jail} onDone={done} />
        </Card>
      )}
      <Card className={s.card}>
        <DataState label="the blocklist sources" {...list} onRetry={list.reload} empty={(l) => l.items.length === 0} emptyText="No blocklist source yet. Add one (a FireHOL netset, Spamhaus DROP, your own mirror): BanGUI imports it on its schedule and keeps fail2ban in line with it.">
          {(l) => (
            <DataTable
              label="Blocklist sources"
              rows={l.items}
              rowKey={(x) => x.id}
              columns={[
                {
                  key: "name",
                  header: "Source",
                  primary: true,
                  cell: (x) => (
                    <span>
                      <b>{x.name}</b>
                      {!x.enabled && (
                        <Badge appearance="outline" style={{ marginLeft: 6 }}>
                          disabled
                        </Badge>
                      )}
                      <br />
                      <span className={s.code}>{x.url}</span>
                    </span>
                  ),
                },
                { key: "last", header: "Last import", primary: true, cell: (x) => (x.last_import ? <OutcomeBadge i={x.last_import} /> : <span className={s.muted}>never</span>) },
                { key: "entries", header: "Entries", numeric: true, cell: (x) => num(x.entries) },
                { key: "jail", header: "Jail", cell: (x) => x.jail },
                { key: "schedule", header: "Schedule", cell: (x) => describeSchedule(x.schedule) },
                { key: "next", header: "Next run", cell: (x) => (x.next_run_at ? formatTime(x.next_run_at) : "—") },
                { key: "when", header: "Imported", cell: (x) => (x.last_import ? formatTime(x.last_import.started_at) : "—") },
                ...(operator
                  ? [
                      {
                        key: "actions",
                        header: "Actions",
                        cell: (x: Source) => (
                          <span className={s.actions}>
                            <Button size="small" appearance="primary" disabled={x.last_import?.outcome === "running"} onClick={() => importNow(x)} aria-label={`Import ${x.name} now`}>
                              Import now
                            </Button>
                            <Button size="small" onClick={() => setEditing(x)} aria-label={`Edit ${x.name}`}>
                              Edit
                            </Button>
                            <RemoveSource source={x} onDone={list.reload} />
                          </span>
                        ),
                      },
                    ]
                  : []),
              ]}
            />
          )}
        </DataState>
      </Card>
      <ImportLog names={names} />
    </>
  );
}
