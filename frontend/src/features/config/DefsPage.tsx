// The Filters and Actions tabs: every filter.d/ or action.d/ name with the jails that use
// it; one picked shows what fail2ban reads for it: its files, [INCLUDES], and every
// [Definition] and [Init] key with its value after interpolation and where it was set.
import type { ReactNode } from "react";
import { useSearchParams } from "react-router-dom";
import { Badge, Button, Card, Field, Input, makeStyles, Text, Title2, tokens } from "@fluentui/react-components";
import { api, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { ConfigTabs } from "./ConfigPage";

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
            <span className={s.code} title={r.raw !== r.value ? `as written: ${r.raw}` : undefined}>
              {r.value ?? r.raw}
              {r.error && <Text className={s.origin} as="span"> ({r.error})</Text>}
            </span>
          ),
        },
        { key: "from", header: "Set in", cell: (r) => <span className={s.origin}>{shortPath(r.file)}:{r.line}</span> },
      ]}
    />
  );
}

function Detail({ kind, name, onClose }: { kind: Kind; name: string; onClose: () => void }) {
  const s = useStyles();
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
            <Heading level="h3">{d.local.path}</Heading>
            {d.local.exists ? <pre className={s.code} style={{ margin: 0 }}>{d.local.text}</pre> : <Text>No override yet.</Text>}
          </>
        )}
      </DataState>
    </Card>
  );
}

export default function DefsPage({ kind }: { kind: Kind }) {
  const s = useStyles();
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
        <Field label={`Search ${kind}`}>
          <Input value={q} onChange={(_, d) => set("q", d.value)} placeholder={kind === "filters" ? "sshd" : "iptables"} />
        </Field>
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
