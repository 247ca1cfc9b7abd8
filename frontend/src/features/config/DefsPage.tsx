// The Filters and Actions tabs: every filter.d/ or action.d/ name with the jails that use
// it; one picked shows what fail2ban reads for it: its files, [INCLUDES], and every
// [Definition] and [Init] key with its value after interpolation and where it was set.
// Admins edit its .local as text, create new ones (<name>.conf) and delete those BanGUI
// created and no jail uses; each change is a command through the validated write path.
import { lazy, Suspense, useState, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router-dom";
import {
  Badge,
  Button,
  Card,
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
  MessageBarBody,
  Spinner,
  Text,
  Title2,
  tokens,
} from "@fluentui/react-components";
import { api, unwrap, type ApiError, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { useSession } from "../../session";
import { useCommand } from "../commands/useCommand";
import { ConfigTabs } from "./ConfigPage";

const CodeEditor = lazy(() => import("./CodeEditor"));

/** A heading in the weight of Fluent's Title3, without pulling its own chunk into the build. */
function Heading({ level, children }: { level: "h2" | "h3"; children: ReactNode }) {
  return (
    <Text as={level} size={level === "h2" ? 600 : 500} weight="semibold" block>
      {children}
    </Text>
  );
}

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0, display: "flex", flexDirection: "column", gap: "12px" },
  code: { fontFamily: "ui-monospace, monospace", fontSize: "12px", whiteSpace: "pre-wrap", wordBreak: "break-all" },
  origin: { fontSize: "12px", color: tokens.colorNeutralForeground3, wordBreak: "break-all" },
  actions: { display: "flex", gap: "8px", flexWrap: "wrap", alignItems: "center" },
});

type Kind = "filters" | "actions";
type Value = Schemas["DefValue"];

function shortPath(path: string): string {
  const at = path.search(/(filter|action)\.d\//);
  return at >= 0 ? path.slice(at) : path;
}

function Keys({ label, keys }: { label: string; keys: Record<string, Value> }) {
  const s = useStyles();
  const rows = Object.entries(keys).map(([key, v]) => ({ key, ...v }));
  if (rows.length === 0) return <Text>No {label} keys.</Text>;
  return (
    <DataTable
      label={label}
      rows={rows}
      rowKey={(r) => r.key}
      columns={[
        { key: "key", header: "Key", primary: true, cell: (r) => <span className={s.code}>{r.key}</span> },
        {
          key: "value",
          header: "Value",
          primary: true,
          cell: (r) => (
            <span className={s.code} title={r.raw !== (r.effective ?? r.value) ? `as written: ${r.raw}` : undefined}>
              {r.effective ?? r.value ?? r.raw}
              {r.error && <Text className={s.origin} as="span"> ({r.error})</Text>}
            </span>
          ),
        },
        { key: "from", header: "Set in", cell: (r) => <span className={s.origin}>{shortPath(r.file)}:{r.line}</span> },
      ]}
    />
  );
}

const TEMPLATES: Record<Kind, string> = {
  filters: "[INCLUDES]\nbefore = common.conf\n\n[Definition]\nfailregex = ^%(__prefix_line)sLogin failed for .* from <HOST>\\s*$\nignoreregex =\n",
  actions: "[Definition]\nactionstart =\nactionstop =\nactioncheck =\nactionban = logger -t bangui \"ban <ip> in <name>\"\nactionunban = logger -t bangui \"unban <ip> in <name>\"\n\n[Init]\nname = default\n",
};

function Failure({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <MessageBar intent="error" layout="multiline">
      <MessageBarBody>
        <span style={{ whiteSpace: "pre-wrap" }}>{error.message}</span>
      </MessageBarBody>
    </MessageBar>
  );
}

/** The .local as text, saved against the revision it was loaded at. */
function LocalEditor({ kind, def, onDone }: { kind: Kind; def: Schemas["DefView"]; onDone: () => void }) {
  const s = useStyles();
  const run = useCommand();
  const [text, setText] = useState(def.local.exists ? def.local.text : "[Definition]\n");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    setError(null);
    const body = { expected_revision: def.local.revision, raw: text };
    const path = { name: def.name };
    const r = await run({
      label: `Save ${def.local.path}`,
      send: (wait) => (kind === "filters" ? api.PUT("/config/filters/{name}", { params: { path, query: { wait } }, body }) : api.PUT("/config/actions/{name}", { params: { path, query: { wait } }, body })),
    });
    setBusy(false);
    if (!r.ok) setError(r.error);
    else if (r.command.status === "failed") setError({ message: r.command.error ?? "failed" } as ApiError);
    else onDone();
  };
  return (
    <>
      <Suspense fallback={<Spinner size="tiny" label="Loading the editor" />}>
        <CodeEditor value={text} onChange={setText} label={`Text of ${def.local.path}`} />
      </Suspense>
      <Failure error={error} />
      <div className={s.actions}>
        <Button appearance="primary" disabled={busy} onClick={() => void save()}>
          Save {def.local.path}
        </Button>
        <Button disabled={busy} onClick={onDone}>
          Cancel
        </Button>
      </div>
    </>
  );
}

function DeleteButton({ kind, def, onDeleted }: { kind: Kind; def: Schemas["DefView"]; onDeleted: () => void }) {
  const run = useCommand();
  const [open, setOpen] = useState(false);
  const used = def.used_by.length > 0;
  const go = async () => {
    setOpen(false);
    const path = { name: def.name };
    const r = await run({
      label: `Delete ${kind === "filters" ? "filter" : "action"} ${def.name}`,
      send: (wait) => (kind === "filters" ? api.DELETE("/config/filters/{name}", { params: { path, query: { wait } } }) : api.DELETE("/config/actions/{name}", { params: { path, query: { wait } } })),
    });
    if (r.ok && r.command.status === "succeeded") onDeleted();
  };
  return (
    <>
      <Button size="small" disabled={used} title={used ? `Used by ${def.used_by.join(", ")}` : undefined} onClick={() => setOpen(true)}>
        Delete…
      </Button>
      <Dialog open={open} onOpenChange={(_, d) => setOpen(d.open)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Delete {def.name}?</DialogTitle>
            <DialogContent>Its files ({def.files.map(shortPath).join(", ")}) are removed; each removal is kept as a revision.</DialogContent>
            <DialogActions>
              <Button onClick={() => setOpen(false)}>Cancel</Button>
              <Button appearance="primary" onClick={() => void go()}>
                Delete
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </>
  );
}

/** A new filter or action: its name and text, written as <folder>/<name>.conf. */
function NewDef({ kind, onCreated }: { kind: Kind; onCreated: (name: string) => void }) {
  const s = useStyles();
  const run = useCommand();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [text, setText] = useState(TEMPLATES[kind]);
  const [error, setError] = useState<ApiError | null>(null);
  const noun = kind === "filters" ? "filter" : "action";
  const create = async () => {
    setError(null);
    const body = { name: name.trim(), raw: text };
    const r = await run({
      label: `Create ${noun} ${name.trim()}`,
      send: (wait) => (kind === "filters" ? api.POST("/config/filters", { params: { query: { wait } }, body }) : api.POST("/config/actions", { params: { query: { wait } }, body })),
    });
    if (!r.ok) setError(r.error);
    else if (r.command.status === "failed") setError({ message: r.command.error ?? "failed" } as ApiError);
    else {
      setOpen(false);
      onCreated(name.trim());
    }
  };
  return (
    <>
      <Button onClick={() => setOpen(true)}>New {noun}…</Button>
      <Dialog open={open} onOpenChange={(_, d) => setOpen(d.open)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>New {noun}</DialogTitle>
            <DialogContent className={s.card} style={{ padding: 0 }}>
              <Field label="Name" hint={`Written as ${kind === "filters" ? "filter.d" : "action.d"}/<name>.conf`} validationState={error?.field === "name" ? "error" : undefined} validationMessage={error?.field === "name" ? error.message : undefined}>
                <Input value={name} onChange={(_, d) => setName(d.value)} placeholder="my-app" />
              </Field>
              <Suspense fallback={<Spinner size="tiny" label="Loading the editor" />}>
                <CodeEditor value={text} onChange={setText} label={`Text of the new ${noun}`} />
              </Suspense>
              {error?.field !== "name" && <Failure error={error} />}
            </DialogContent>
            <DialogActions>
              <Button onClick={() => setOpen(false)}>Cancel</Button>
              <Button appearance="primary" disabled={!name.trim()} onClick={() => void create()}>
                Create
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </>
  );
}

function Detail({ kind, name, onClose }: { kind: Kind; name: string; onClose: () => void }) {
  const s = useStyles();
  const { can } = useSession();
  const [editing, setEditing] = useState(false);
  const def = useApiQuery(["config", kind, name], () =>
    kind === "filters"
      ? unwrap(api.GET("/config/filters/{name}", { params: { path: { name } } }))
      : unwrap(api.GET("/config/actions/{name}", { params: { path: { name } } })),
  );
  return (
    <Card className={s.card}>
      <div className={s.actions}>
        <Heading level="h2">{name}</Heading>
        <Button size="small" onClick={onClose}>
          Close
        </Button>
      </div>
      <DataState label={name} {...def} onRetry={def.reload}>
        {(d) => (
          <>
            <Text>
              Used by: {d.used_by.length ? d.used_by.join(", ") : "no jail"} · Files: <span className={s.origin}>{d.files.map(shortPath).join(" → ")}</span>
            </Text>
            {(d.includes.before.length > 0 || d.includes.after.length > 0) && (
              <Text>
                Includes: {d.includes.before.length > 0 && <>before {d.includes.before.join(", ")}</>} {d.includes.after.length > 0 && <>after {d.includes.after.join(", ")}</>}
              </Text>
            )}
            {d.error && <Text role="alert">{d.error}</Text>}
            <Heading level="h3">[Definition]</Heading>
            <Keys label="[Definition]" keys={d.definition} />
            <Heading level="h3">[Init]</Heading>
            <Keys label="[Init]" keys={d.init} />
            <div className={s.actions}>
              <Heading level="h3">{d.local.path}</Heading>
              {can("admin") && !editing && (
                <Button size="small" onClick={() => setEditing(true)}>
                  {d.local.exists ? "Edit" : "Create override"}
                </Button>
              )}
              {kind === "filters" && (
                <Link to={`/config/regex?filter=${encodeURIComponent(d.name)}`}>Test in the regex tester</Link>
              )}
              {can("admin") && d.created_by_bangui && <DeleteButton kind={kind} def={d} onDeleted={onClose} />}
            </div>
            {editing ? (
              <LocalEditor
                kind={kind}
                def={d}
                onDone={() => {
                  setEditing(false);
                  def.reload();
                }}
              />
            ) : d.local.exists ? (
              <pre className={s.code} style={{ margin: 0 }}>{d.local.text}</pre>
            ) : (
              <Text>No override yet.</Text>
            )}
          </>
        )}
      </DataState>
    </Card>
  );
}

export default function DefsPage({ kind }: { kind: Kind }) {
  const s = useStyles();
  const { can } = useSession();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const picked = params.get("name");
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const list = useApiQuery(["config", kind, "list", q], () =>
    kind === "filters"
      ? unwrap(api.GET("/config/filters", { params: { query: { q: q || undefined } } }))
      : unwrap(api.GET("/config/actions", { params: { query: { q: q || undefined } } })),
  );
  const noun = kind === "filters" ? "filter" : "action";
  return (
    <>
      <Title2 as="h1">Configuration</Title2>
      <ConfigTabs selected={kind} />
      {picked && <Detail kind={kind} name={picked} onClose={() => set("name", "")} />}
      <Card className={s.card}>
        <div className={s.actions} style={{ alignItems: "end" }}>
          <Field label={`Search ${kind}`}>
            <Input value={q} onChange={(_, d) => set("q", d.value)} placeholder={kind === "filters" ? "sshd" : "iptables"} />
          </Field>
          {can("admin") && <NewDef kind={kind} onCreated={(n) => set("name", n)} />}
        </div>
        <DataState label={`the ${kind}`} {...list} onRetry={list.reload} empty={(l) => l.items.length === 0} emptyText={q ? `No ${noun} matches.` : `No ${noun} in the configuration.`}>
          {(l) => (
            <DataTable
              label={kind === "filters" ? "Filters" : "Actions"}
              rows={l.items}
              rowKey={(d) => d.name}
              columns={[
                {
                  key: "name",
                  header: "Name",
                  primary: true,
                  cell: (d) => (
                    <Button appearance="transparent" size="small" onClick={() => set("name", d.name)} aria-label={`Show ${noun} ${d.name}`}>
                      {d.name}
                    </Button>
                  ),
                },
                { key: "used", header: "Used by", primary: true, truncate: "24em", text: (d) => d.used_by.join(", "), cell: (d) => (d.used_by.length ? d.used_by.join(", ") : "—") },
                { key: "local", header: "Override", cell: (d) => (d.has_local ? <Badge color="brand">.local</Badge> : "—") },
                { key: "error", header: "Problems", cell: (d) => (d.error ? <Badge color="danger" title={d.error}>unreadable</Badge> : "—") },
              ]}
            />
          )}
        </DataState>
      </Card>
    </>
  );
}
