// The Server tab: fail2ban's own settings as it runs them and as its files set them
// (with the file and line), their warnings (a purge age shorter than the archive's
// interval loses bans), a form that changes any of them but dbfile (a command: set over
// the socket and written into fail2ban.local), and flush logs, reload and restart.
import { useEffect, useState } from "react";
import {
  Button,
  Card,
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
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Option,
  Text,
  Title2,
} from "@fluentui/react-components";
import { api, unwrap, type ApiError, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { useSession } from "../../session";
import { formatTime } from "../../time";
import { useCommand } from "../commands/useCommand";
import { ConfigTabs } from "./ConfigPage";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0, display: "flex", flexDirection: "column", gap: "12px" },
  form: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(min(100%, 240px), 1fr))", gap: "12px 16px", alignItems: "start" },
  actions: { display: "flex", gap: "8px", flexWrap: "wrap", alignItems: "center" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", overflowWrap: "anywhere" },
  muted: { fontSize: "12px", overflowWrap: "anywhere" },
});

type View = Schemas["ServerView"];
type Level = Schemas["ServerLogLevel"];
const LEVELS: Level[] = ["CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG", "TRACEDEBUG", "HEAVYDEBUG"];
const KEYS = ["loglevel", "logtarget", "syslogsocket", "dbfile", "dbpurgeage", "dbmaxmatches"] as const;

interface Form {
  loglevel: string;
  logtarget: string;
  syslogsocket: string;
  dbpurgeage: string;
  dbmaxmatches: string;
}

function formOf(v: View): Form {
  const pick = (s: Schemas["ServerSettingView"]) => s.configured ?? s.running ?? "";
  return {
    loglevel: pick(v.loglevel),
    logtarget: pick(v.logtarget),
    syslogsocket: pick(v.syslogsocket),
    dbpurgeage: pick(v.dbpurgeage),
    dbmaxmatches: pick(v.dbmaxmatches),
  };
}

function Settings({ view, onSaved }: { view: View; onSaved: () => void }) {
  const s = useStyles();
  const run = useCommand();
  const { can } = useSession();
  const initial = formOf(view);
  const [form, setForm] = useState<Form>(initial);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setForm(formOf(view)), [view]);
  const changed = (k: keyof Form) => form[k].trim() !== initial[k].trim();
  const dirty = (Object.keys(form) as (keyof Form)[]).some(changed);
  const field = (name: string) => (error?.field === name ? { validationState: "error" as const, validationMessage: error.message } : {});
  const save = async () => {
    const body: Schemas["ServerChange"] = { expected_revision: view.local.revision };
    if (changed("loglevel")) body.loglevel = form.loglevel as Level;
    if (changed("logtarget")) body.logtarget = form.logtarget.trim();
    if (changed("syslogsocket")) body.syslogsocket = form.syslogsocket.trim();
    if (changed("dbpurgeage")) body.dbpurgeage = form.dbpurgeage.trim();
    if (changed("dbmaxmatches")) {
      const n = Number(form.dbmaxmatches);
      if (!Number.isInteger(n) || n < 0 || n > 10000) {
        setError({ message: "A whole number from 0 to 10000.", field: "dbmaxmatches" } as ApiError);
        return;
      }
      body.dbmaxmatches = n;
    }
    setBusy(true);
    setError(null);
    const r = await run({ label: "Save fail2ban's settings", send: (wait) => api.PUT("/config/server", { params: { query: { wait } }, body }) });
    setBusy(false);
    if (!r.ok) setError(r.error);
    else if (r.command.status === "succeeded") onSaved();
  };
  const readOnly = !can("admin") || !view.writable;
  return (
    <Card className={s.card}>
      <Text as="h2" size={500} weight="semibold" block>
        Settings
      </Text>
      <DataTable
        label="fail2ban's settings"
        rows={KEYS.map((k) => ({ key: k, ...view[k] }))}
        rowKey={(r) => r.key}
        columns={[
          { key: "key", header: "Setting", primary: true, cell: (r) => <span className={s.code}>{r.key}</span> },
          { key: "running", header: "Running", primary: true, cell: (r) => <span className={s.code}>{r.running == null ? "—" : r.key === "dbpurgeage" && /^\d+$/.test(r.running) ? `${r.running} s` : r.running}</span> },
          { key: "configured", header: "Configured", cell: (r) => <span className={s.code}>{r.configured ?? "—"}</span> },
          { key: "file", header: "Set in", cell: (r) => <span className={s.muted}>{r.file ? `${r.file.split("/").pop()}:${r.line ?? ""}` : "—"}</span> },
        ]}
      />
      <Text className={s.muted}>
        {view.read_at ? `fail2ban asked ${formatTime(view.read_at)}.` : "The scheduler has not asked fail2ban yet."} Files: {view.files.map((f) => f.split("/").pop()).join(" → ") || "none"}
      </Text>
      {!readOnly && (
        <>
          <div className={s.form}>
            <Field label="Log level" {...field("loglevel")}>
              <Dropdown value={form.loglevel} selectedOptions={[form.loglevel]} onOptionSelect={(_, d) => setForm({ ...form, loglevel: d.optionValue ?? form.loglevel })}>
                {LEVELS.map((l) => (
                  <Option key={l} value={l}>
                    {l}
                  </Option>
                ))}
              </Dropdown>
            </Field>
            <Field label="Log target" hint="STDOUT, STDERR, SYSLOG, SYSTEMD-JOURNAL or a file under /var/log" {...field("logtarget")}>
              <Input value={form.logtarget} onChange={(_, d) => setForm({ ...form, logtarget: d.value })} />
            </Field>
            <Field label="Syslog socket" hint="auto or a socket path" {...field("syslogsocket")}>
              <Input value={form.syslogsocket} onChange={(_, d) => setForm({ ...form, syslogsocket: d.value })} />
            </Field>
            <Field label="Purge bans after" hint="fail2ban's database keeps bans this long (1d, 7d)" {...field("dbpurgeage")}>
              <Input value={form.dbpurgeage} onChange={(_, d) => setForm({ ...form, dbpurgeage: d.value })} />
            </Field>
            <Field label="Matches kept per ban" {...field("dbmaxmatches")}>
              <Input type="number" min={0} max={10000} value={form.dbmaxmatches} onChange={(_, d) => setForm({ ...form, dbmaxmatches: d.value })} />
            </Field>
          </div>
          {error && !error.field && (
            <MessageBar intent="error" layout="multiline">
              <MessageBarBody>{error.message}</MessageBarBody>
            </MessageBar>
          )}
          <div className={s.actions}>
            <Button appearance="primary" disabled={!dirty || busy} onClick={() => void save()}>
              Save settings
            </Button>
            <Button disabled={!dirty || busy} onClick={() => setForm(initial)}>
              Discard
            </Button>
          </div>
        </>
      )}
    </Card>
  );
}

function Lifecycle() {
  const s = useStyles();
  const run = useCommand();
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const go = async (label: string, send: (wait: string) => ReturnType<typeof api.POST>) => {
    setBusy(true);
    await run({ label, send });
    setBusy(false);
  };
  return (
    <Card className={s.card}>
      <Text as="h2" size={500} weight="semibold" block>
        fail2ban
      </Text>
      <Text>Flush reopens fail2ban&apos;s log file after another tool rotated it. Reload reads the whole configuration again. Restart stops and starts fail2ban; its bans come back from its database.</Text>
      <div className={s.actions}>
        <Button disabled={busy} onClick={() => void go("Flush fail2ban's logs", (wait) => api.POST("/config/server/flush-logs", { params: { query: { wait } } }))}>
          Flush logs
        </Button>
        <Button disabled={busy} onClick={() => void go("Reload fail2ban", (wait) => api.POST("/jails/reload", { params: { query: { wait } } }))}>
          Reload
        </Button>
        <Button disabled={busy} onClick={() => setConfirm(true)}>
          Restart…
        </Button>
      </div>
      <Dialog open={confirm} onOpenChange={(_, d) => setConfirm(d.open)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Restart fail2ban?</DialogTitle>
            <DialogContent>While it restarts, fail2ban reads no logs and BanGUI shows it offline for a moment. It restores its bans from its database; BanGUI waits until every jail runs again.</DialogContent>
            <DialogActions>
              <Button onClick={() => setConfirm(false)}>Cancel</Button>
              <Button
                appearance="primary"
                onClick={() => {
                  setConfirm(false);
                  void go("Restart fail2ban", (wait) => api.POST("/config/server/restart", { params: { query: { wait } } }));
                }}
              >
                Restart
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </Card>
  );
}

export default function ServerPage() {
  const view = useApiQuery(["config", "server"], () => unwrap(api.GET("/config/server")));
  const { can } = useSession();
  return (
    <>
      <Title2 as="h1">Configuration</Title2>
      <ConfigTabs selected="server" />
      <DataState label="fail2ban's settings" {...view} onRetry={view.reload}>
        {(v) => (
          <>
            {v.warnings.map((w) => (
              <MessageBar key={w} intent="warning" layout="multiline">
                <MessageBarBody>
                  <MessageBarTitle>Check dbpurgeage</MessageBarTitle>
                  {w}
                </MessageBarBody>
              </MessageBar>
            ))}
            {v.error && (
              <MessageBar intent="error" layout="multiline">
                <MessageBarBody>{v.error}</MessageBarBody>
              </MessageBar>
            )}
            <Settings view={v} onSaved={view.reload} />
            {can("admin") && <Lifecycle />}
          </>
        )}
      </DataState>
    </>
  );
}
