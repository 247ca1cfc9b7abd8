// One jail's configuration: every setting with the file and line it comes from, the
// jail's override (jail.d/<name>.local) edited through a form or as raw text, a review
// of every change before it is saved (the diff and what `fail2ban-client -t` says),
// activate/deactivate, and the file's revisions with their diffs, restore and undo.
// Saving is a command: the scheduler writes, reloads and verifies, and rolls the file back
// with fail2ban's own words when fail2ban does not run it.
import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import {
  Badge,
  Button,
  Card,
  CardHeader,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  makeStyles,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Switch,
  Tab,
  TabList,
  Text,
  Textarea,
  Title2,
  Title3,
} from "@fluentui/react-components";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState, ErrorText, Pager } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { useSession } from "../../session";
import { formatTime } from "../../time";
import { useCommand } from "../commands/useCommand";
import { EnabledBadges, SourceNotes } from "./ConfigPage";
import { DiffView } from "./DiffView";

const CodeEditor = lazy(() => import("./CodeEditor"));

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0, display: "flex", flexDirection: "column", gap: "12px" },
  head: { display: "flex", flexWrap: "wrap", gap: "8px 16px", alignItems: "center" },
  actions: { display: "flex", gap: "8px", flexWrap: "wrap", alignItems: "center" },
  form: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 260px), 1fr))", gap: "12px 16px" },
  wide: { gridColumn: "1 / -1" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", whiteSpace: "pre-wrap", overflowWrap: "anywhere" },
  pre: { fontFamily: "ui-monospace, monospace", fontSize: "12px", whiteSpace: "pre-wrap", overflowWrap: "anywhere", margin: 0 },
});

type Jail = Schemas["ConfigJailView"];
type Settings = Schemas["JailSettingsInput"];
type Key = Schemas["SettingKey"];

/** The text fields of the form, in order, with how each is shown. */
const TEXT_FIELDS: { key: Key; label: string; hint?: string; lines?: boolean; wide?: boolean }[] = [
  { key: "port", label: "Port", hint: "ssh, http,https or 8000:8100" },
  { key: "filter", label: "Filter", hint: "A filter under filter.d, e.g. sshd[mode=aggressive]" },
  { key: "backend", label: "Backend", hint: "auto, polling, pyinotify or systemd" },
  { key: "maxretry", label: "Max retry", hint: "Failures within the find time that ban" },
  { key: "findtime", label: "Find time", hint: "600, 10m, 1h 30m…" },
  { key: "bantime", label: "Ban time", hint: "10m, 1d; -1 bans forever" },
  { key: "logpath", label: "Log paths", hint: "One absolute path per line", lines: true, wide: true },
  { key: "ignoreip", label: "Never ban (ignoreip)", hint: "Addresses, networks or host names, separated by spaces or lines", lines: true, wide: true },
  { key: "action", label: "Actions", hint: "fail2ban's action lines", lines: true, wide: true },
  { key: "bantime.factor", label: "bantime.factor" },
  { key: "bantime.formula", label: "bantime.formula" },
  { key: "bantime.multipliers", label: "bantime.multipliers", hint: "Whole numbers separated by spaces" },
  { key: "bantime.maxtime", label: "bantime.maxtime" },
  { key: "bantime.rndtime", label: "bantime.rndtime" },
];
const SWITCHES: { key: Key; label: string }[] = [
  { key: "enabled", label: "Enabled" },
  { key: "bantime.increment", label: "Escalate repeat offenders (bantime.increment)" },
  { key: "bantime.overalljails", label: "Count bans across all jails (bantime.overalljails)" },
];

type Form = Record<string, string>;

function formOf(jail: Jail): Form {
  const f: Form = {};
  for (const { key } of [...TEXT_FIELDS, ...SWITCHES]) f[key] = jail.settings[key]?.value ?? "";
  return f;
}

const words = (t: string) => t.split(/[\s,]+/).filter(Boolean);
const lines = (t: string) => t.split("\n").map((l) => l.trim()).filter(Boolean);

/** The changed fields as a structured change: set what was edited, unset what was cleared. */
function changeOf(initial: Form, form: Form): { settings: Settings; unset: Key[] } {
  const settings: Record<string, unknown> = {};
  const unset: Key[] = [];
  for (const { key } of SWITCHES) {
    if (form[key] !== initial[key]) settings[key] = form[key] === "true";
  }
  for (const { key } of TEXT_FIELDS) {
    const now = form[key].trim();
    if (now === initial[key].trim()) continue;
    if (!now) {
      unset.push(key);
    } else if (key === "maxretry") {
      settings[key] = Number(now);
    } else if (key === "logpath") {
      settings[key] = lines(now);
    } else if (key === "ignoreip") {
      settings[key] = words(now);
    } else {
      settings[key] = now;
    }
  }
  return { settings: settings as Settings, unset };
}

interface Review {
  body: Schemas["JailChange"];
  view?: Schemas["ValidateView"];
  error?: ApiError;
}

function ReviewDialog({ review, saving, onSave, onClose }: { review: Review | undefined; saving: boolean; onSave: () => void; onClose: () => void }) {
  const s = useStyles();
  const test = review?.view?.test;
  const passed = test?.status === "succeeded";
  const pending = test && test.status !== "succeeded" && test.status !== "failed";
  return (
    <Dialog open={review !== undefined} onOpenChange={(_, d) => !d.open && onClose()}>
      <DialogSurface style={{ maxWidth: "min(900px, 96vw)" }}>
        <DialogBody>
          <DialogTitle>Review the change</DialogTitle>
          <DialogContent style={{ display: "flex", flexDirection: "column", gap: 12 }}>
            {!review?.view && !review?.error && <Spinner size="small" label="Testing the change with fail2ban-client -t…" />}
            {review?.error && (
              <MessageBar intent="error" layout="multiline">
                <MessageBarBody>
                  <MessageBarTitle>Refused</MessageBarTitle>
                  <ErrorText error={review.error} />
                </MessageBarBody>
              </MessageBar>
            )}
            {review?.view && (
              <>
                <Text>
                  <span className={s.code}>{review.view.path}</span> would change like this:
                </Text>
                <DiffView diff={review.view.diff} label="The change" />
                {pending && <Spinner size="small" label="fail2ban is still testing…" />}
                {test?.status === "succeeded" && (
                  <MessageBar intent="success" layout="multiline">
                    <MessageBarBody>
                      <MessageBarTitle>fail2ban accepts it</MessageBarTitle>
                      <pre className={s.pre}>{String((test.result as { output?: string } | null)?.output ?? "")}</pre>
                    </MessageBarBody>
                  </MessageBar>
                )}
                {test?.status === "failed" && (
                  <MessageBar intent="error" layout="multiline">
                    <MessageBarBody>
                      <MessageBarTitle>fail2ban refuses it</MessageBarTitle>
                      <pre className={s.pre}>{test.error}</pre>
                    </MessageBarBody>
                  </MessageBar>
                )}
              </>
            )}
          </DialogContent>
          <DialogActions>
            <Button appearance="secondary" onClick={onClose}>
              Cancel
            </Button>
            <Button appearance="primary" disabled={!passed || !review?.view?.diff || saving} onClick={onSave}>
              Save and apply
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

function RevisionDiff({ id }: { id: number }) {
  const rev = useApiQuery(["config", "revision", id], () => unwrap(api.GET("/config/revisions/{id}", { params: { path: { id } } })));
  return (
    <DataState label="the revision" {...rev} onRetry={rev.reload}>
      {(r) => <DiffView diff={r.diff} label={`Revision ${id}`} />}
    </DataState>
  );
}

function Revisions({ path, admin, writable }: { path: string; admin: boolean; writable: boolean }) {
  const s = useStyles();
  const run = useCommand();
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<number>();
  const revs = useApiQuery(["config", "revisions", path, page], () => unwrap(api.GET("/config/revisions", { params: { query: { file: path, page, page_size: 10 } } })), { pollMs: 10_000 });
  const restore = (id: number, side: "after" | "before") =>
    run({
      label: side === "before" ? `Undo revision ${id}` : `Restore revision ${id}`,
      send: (wait) => api.POST("/config/revisions/{id}/restore", { params: { path: { id }, query: { side, wait } } }),
    });
  return (
    <Card className={s.card}>
      <CardHeader header={<Title3 as="h2">Revisions of {path}</Title3>} />
      <DataState label="revisions" {...revs} onRetry={revs.reload} empty={(r) => r.items.length === 0} emptyText="BanGUI has not changed this file yet.">
        {(r) => (
          <>
            <DataTable
              label="Revisions"
              rows={r.items}
              rowKey={(x) => x.id}
              columns={[
                { key: "id", header: "#", primary: true, cell: (x) => x.id },
                {
                  key: "state",
                  header: "State",
                  primary: true,
                  cell: (x) => (x.state === "applied" ? <Badge color="success">applied</Badge> : x.state === "rolled_back" ? <Badge color="danger">rolled back</Badge> : <Badge color="warning">applying</Badge>),
                },
                { key: "reason", header: "Change", cell: (x) => x.reason },
                { key: "who", header: "By", cell: (x) => x.author ?? "—" },
                { key: "at", header: "At", cell: (x) => formatTime(x.created_at) },
                { key: "error", header: "fail2ban said", wrap: true, cell: (x) => (x.error ? <span className={s.code}>{x.error}</span> : "—") },
                {
                  key: "actions",
                  header: "Actions",
                  cell: (x) => (
                    <span className={s.actions}>
                      <Button size="small" onClick={() => setOpen(open === x.id ? undefined : x.id)} aria-expanded={open === x.id}>
                        {open === x.id ? "Hide diff" : "Diff"}
                      </Button>
                      {admin && writable && x.state !== "applying" && (
                        <>
                          <Button size="small" onClick={() => void restore(x.id, "after")}>
                            Restore
                          </Button>
                          <Button size="small" onClick={() => void restore(x.id, "before")}>
                            Undo
                          </Button>
                        </>
                      )}
                    </span>
                  ),
                },
              ]}
            />
            {open !== undefined && <RevisionDiff id={open} />}
            <Pager page={r.page} pageSize={r.page_size} total={r.total} noun={r.total === 1 ? "revision" : "revisions"} onPage={setPage} />
          </>
        )}
      </DataState>
    </Card>
  );
}

function Editor({ jail, onSaved }: { jail: Jail; onSaved: () => void }) {
  const s = useStyles();
  const run = useCommand();
  const [params, setParams] = useSearchParams();
  const mode = params.get("editor") === "raw" ? "raw" : "form";
  // What the form started from: the file at `base`. It moves only when the editor is reset
  // (so a refetch never makes untouched fields look edited).
  const [initial, setInitial] = useState<Form>(() => formOf(jail));
  const [form, setForm] = useState<Form>(initial);
  const [raw, setRaw] = useState(jail.local.text);
  const [initialRaw, setInitialRaw] = useState(jail.local.text);
  const [base, setBase] = useState(jail.local.revision);
  const [review, setReview] = useState<Review>();
  const [saving, setSaving] = useState(false);
  const [conflict, setConflict] = useState<ApiError>();
  // A newer file on the server (someone else's save, or ours applied) resets the editor
  // only when it holds no unsaved edit.
  const dirty = mode === "raw" ? raw !== initialRaw : JSON.stringify(form) !== JSON.stringify(initial);
  const reset = useCallback(() => {
    const now = formOf(jail);
    setInitial(now);
    setForm(now);
    setRaw(jail.local.text);
    setInitialRaw(jail.local.text);
    setBase(jail.local.revision);
    setConflict(undefined);
  }, [jail]);
  useEffect(() => {
    if (jail.local.revision !== base && !dirty) reset();
  }, [jail, base, dirty, reset]);
  const body = (): Schemas["JailChange"] => (mode === "raw" ? { expected_revision: base, raw } : { expected_revision: base, ...changeOf(initial, form) });
  const startReview = async () => {
    const change = body();
    setReview({ body: change });
    try {
      const view = await unwrap(api.POST("/config/validate", { body: { jail: jail.name, ...change } }));
      setReview({ body: change, view });
    } catch (e) {
      setReview({ body: change, error: asApiError(e) });
    }
  };
  const save = async () => {
    if (!review) return;
    setSaving(true);
    const change = review.body;
    setReview(undefined);
    const result = await run({ label: `Save ${jail.local.path}`, send: (wait) => api.PUT("/config/jails/{name}", { params: { path: { name: jail.name }, query: { wait } }, body: change }) });
    setSaving(false);
    if (!result.ok && result.error.code === "config_changed") setConflict(result.error);
    if (result.ok && result.command.status === "succeeded") onSaved();
  };
  const set = (k: string, v: string) => setForm((f) => ({ ...f, [k]: v }));
  const mine = (key: string) => jail.settings[key]?.file.endsWith("/" + jail.local.path);
  return (
    <Card className={s.card}>
      <CardHeader header={<Title3 as="h2">Edit {jail.local.path}</Title3>} description={jail.local.exists ? undefined : "The file does not exist yet; saving creates it."} />
      {conflict && (
        <MessageBar intent="warning" layout="multiline">
          <MessageBarBody>
            <MessageBarTitle>The file changed</MessageBarTitle>
            {conflict.message}
          </MessageBarBody>
          <MessageBarActions>
            <Button onClick={reset}>Load the current file</Button>
          </MessageBarActions>
        </MessageBar>
      )}
      <TabList
        selectedValue={mode}
        onTabSelect={(_, d) => {
          const next = new URLSearchParams(params);
          if (d.value === "raw") next.set("editor", "raw");
          else next.delete("editor");
          setParams(next, { replace: true });
        }}
        aria-label="Editor"
      >
        <Tab value="form">Settings</Tab>
        <Tab value="raw">Raw file</Tab>
      </TabList>
      {mode === "form" ? (
        <div className={s.form}>
          {SWITCHES.map(({ key, label }) => (
            <Switch key={key} label={label} checked={form[key] === "true"} onChange={(_, d) => set(key, d.checked ? "true" : "false")} />
          ))}
          {TEXT_FIELDS.map(({ key, label, hint, lines: many, wide }) => (
            <Field key={key} label={label} hint={mine(key) ? `${hint ? hint + " · " : ""}set in this file` : hint} className={wide ? s.wide : undefined}>
              {many ? (
                <Textarea value={form[key]} onChange={(_, d) => set(key, d.value)} resize="vertical" rows={key === "action" ? 4 : 3} textarea={{ className: s.code }} />
              ) : (
                <Input value={form[key]} onChange={(_, d) => set(key, d.value)} inputMode={key === "maxretry" ? "numeric" : undefined} />
              )}
            </Field>
          ))}
        </div>
      ) : (
        <Suspense fallback={<Spinner size="small" label="Loading the editor…" />}>
          <CodeEditor value={raw} onChange={setRaw} label={`Text of ${jail.local.path}`} />
        </Suspense>
      )}
      <div className={s.actions}>
        <Button appearance="primary" disabled={!dirty || saving} onClick={() => void startReview()}>
          Review changes…
        </Button>
        <Button disabled={!dirty || saving} onClick={reset}>
          Discard
        </Button>
        {saving && <Spinner size="tiny" label="Applying…" />}
      </div>
      <ReviewDialog review={review} saving={saving} onSave={() => void save()} onClose={() => setReview(undefined)} />
    </Card>
  );
}

export default function JailConfigPage() {
  const s = useStyles();
  const { name = "" } = useParams();
  const { can } = useSession();
  const admin = can("admin");
  const run = useCommand();
  const jail = useApiQuery(["config", "jail", name], () => unwrap(api.GET("/config/jails/{name}", { params: { path: { name } } })), { pollMs: 10_000 });
  const [generation, setGeneration] = useState(0);
  const toggle = (j: Jail) => {
    const on = !j.enabled;
    const path = on ? "/config/jails/{name}/activate" : "/config/jails/{name}/deactivate";
    void run({ label: `${on ? "Activate" : "Deactivate"} ${j.name}`, send: (wait) => api.POST(path, { params: { path: { name: j.name }, query: { wait } } }) });
  };
  return (
    <>
      <Title2 as="h1">Jail {name}: configuration</Title2>
      <DataState label="the jail's configuration" {...jail} onRetry={jail.reload}>
        {(j) => (
          <>
            <SourceNotes source={j.source} />
            <Card className={s.card}>
              <div className={s.head}>
                <EnabledBadges jail={j} />
                {j.running && <Link to={`/jails/${encodeURIComponent(j.name)}`}>Bans and counters</Link>}
                {admin && j.source.writable && (
                  <Button appearance={j.enabled ? "secondary" : "primary"} onClick={() => toggle(j)}>
                    {j.enabled ? "Deactivate" : "Activate"}
                  </Button>
                )}
              </div>
              {j.problems.length > 0 && (
                <MessageBar intent="warning" layout="multiline">
                  <MessageBarBody>
                    <MessageBarTitle>fail2ban cannot read some settings</MessageBarTitle>
                    {j.problems.join("; ")}
                  </MessageBarBody>
                </MessageBar>
              )}
              <DataTable
                label="Effective settings"
                rows={Object.entries(j.settings)}
                rowKey={([k]) => k}
                columns={[
                  { key: "key", header: "Setting", primary: true, cell: ([k]) => <span className={s.code}>{k}</span> },
                  { key: "value", header: "Value", wrap: true, cell: ([, v]) => <span className={s.code}>{v.value || "(empty)"}</span> },
                  { key: "from", header: "Set in", cell: ([, v]) => <span className={s.code}>{v.file ? `${v.file.startsWith(j.source.root + "/") ? v.file.slice(j.source.root.length + 1) : v.file}:${v.line}` : "fail2ban"}</span> },
                ]}
              />
            </Card>
            {admin && j.source.writable && <Editor key={generation} jail={j} onSaved={() => setGeneration((g) => g + 1)} />}
            <Revisions path={j.local.path} admin={admin} writable={j.source.writable} />
          </>
        )}
      </DataState>
      <Link to="/config/jails">All configured jails</Link>
    </>
  );
}
