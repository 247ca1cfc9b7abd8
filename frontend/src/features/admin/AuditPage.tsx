// The audit log: who did what, from where, and how it ended (a command's entry is
// completed with its outcome). Filter by user, action, result, time range and request id
// (the filters live in the address, so a filtered view can be shared); export the same
// selection as CSV.
import { useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { Badge, Button, Card, Dropdown, Field, Input, Option } from "@fluentui/react-components";
import { api, BASE, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState, Pager } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { CopyButton } from "../../components/RequestId";
import { formatTime } from "../../time";
import { AdminPage, useAdminStyles } from "./common";

type Entry = Schemas["AuditEntry"];

const RANGES = [
  { value: "", label: "Any time", ms: 0 },
  { value: "1h", label: "Last hour", ms: 3_600_000 },
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
];
const RESULTS = ["", "ok", "denied", "queued", "succeeded", "failed"];
const PAGE_SIZE = 50;

function ResultBadge({ e }: { e: Entry }) {
  const color = (r: string) => (r === "ok" || r === "succeeded" ? "success" : r === "denied" || r === "failed" ? "danger" : "informative");
  return (
    <span style={{ display: "inline-flex", gap: 4, flexWrap: "wrap" }}>
      <Badge appearance="outline" color={color(e.result)}>
        {e.result}
      </Badge>
      {e.outcome ? (
        <Badge color={color(e.outcome)} title={e.outcome_error ?? undefined}>
          {e.outcome}
        </Badge>
      ) : e.command_id ? (
        <Badge appearance="tint">pending</Badge>
      ) : null}
    </span>
  );
}

export default function AuditPage() {
  const s = useAdminStyles();
  const [params, setParams] = useSearchParams();
  const applied = {
    user: params.get("user") ?? "",
    action: params.get("action") ?? "",
    result: params.get("result") ?? "",
    range: params.get("range") ?? "",
    request_id: params.get("request_id") ?? "",
  };
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const [draft, setDraft] = useState(applied);
  const since = useMemo(() => {
    const r = RANGES.find((x) => x.value === applied.range);
    return r && r.ms ? new Date(Date.now() - r.ms).toISOString() : undefined;
    // The range is fixed when the filter is applied, not on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [params]);
  const query = {
    user: applied.user || undefined,
    action: applied.action || undefined,
    result: applied.result || undefined,
    request_id: applied.request_id || undefined,
    since,
  };
  const audit = useApiQuery(["audit", query, page], () => unwrap(api.GET("/audit", { params: { query: { ...query, page, page_size: PAGE_SIZE } } })), { pollMs: 15_000 });
  const apply = (next: typeof applied, nextPage = 1) => {
    const p = new URLSearchParams();
    Object.entries(next).forEach(([k, v]) => v && p.set(k, v.trim()));
    if (nextPage > 1) p.set("page", String(nextPage));
    setParams(p);
  };
  const exportHref = (() => {
    const p = new URLSearchParams();
    Object.entries(query).forEach(([k, v]) => v && p.set(k, v));
    const q = p.toString();
    return `${BASE}/audit/export${q ? `?${q}` : ""}`;
  })();
  return (
    <AdminPage tab="audit">
      <Card className={s.card}>
        <form
          className={s.form}
          aria-label="Filter the audit log"
          onSubmit={(e) => {
            e.preventDefault();
            apply(draft);
          }}
        >
          <Field label="User">
            <Input value={draft.user} onChange={(_, d) => setDraft({ ...draft, user: d.value })} placeholder="any" />
          </Field>
          <Field label="Action starts with">
            <Input value={draft.action} onChange={(_, d) => setDraft({ ...draft, action: d.value })} placeholder="user. or command.ban" />
          </Field>
          <Field label="Result">
            <Dropdown value={draft.result || "any"} selectedOptions={[draft.result]} onOptionSelect={(_, d) => setDraft({ ...draft, result: d.optionValue ?? "" })}>
              {RESULTS.map((r) => (
                <Option key={r} value={r}>
                  {r || "any"}
                </Option>
              ))}
            </Dropdown>
          </Field>
          <Field label="Time">
            <Dropdown
              value={RANGES.find((r) => r.value === draft.range)?.label}
              selectedOptions={[draft.range]}
              onOptionSelect={(_, d) => setDraft({ ...draft, range: d.optionValue ?? "" })}
            >
              {RANGES.map((r) => (
                <Option key={r.value} value={r.value}>
                  {r.label}
                </Option>
              ))}
            </Dropdown>
          </Field>
          <Field label="Request id">
            <Input value={draft.request_id} onChange={(_, d) => setDraft({ ...draft, request_id: d.value })} placeholder="ui-3f2a…" />
          </Field>
          <div className={s.formActions}>
            <Button type="submit" appearance="primary">
              Filter
            </Button>
            <Button
              onClick={() => {
                const empty = { user: "", action: "", result: "", range: "", request_id: "" };
                setDraft(empty);
                apply(empty);
              }}
            >
              Clear
            </Button>
            <a href={exportHref} download className="fui-Link" style={{ alignSelf: "center" }}>
              Export CSV
            </a>
          </div>
        </form>
      </Card>
      <Card className={s.card}>
        <DataState label="the audit log" {...audit} onRetry={audit.reload} empty={(p) => p.items.length === 0} emptyText="No entries match.">
          {(p) => (
            <>
              <DataTable
                label="Audit log"
                rows={p.items}
                rowKey={(e) => e.id}
                columns={[
                  { key: "at", header: "Time", primary: true, cell: (e) => formatTime(e.at) },
                  { key: "user", header: "User", primary: true, cell: (e) => e.user ?? "—" },
                  { key: "action", header: "Action", primary: true, cell: (e) => <span className={s.code}>{e.action}</span> },
                  { key: "target", header: "Target", truncate: "14em", text: (e) => e.target ?? "", cell: (e) => e.target ?? "—" },
                  { key: "result", header: "Result", cell: (e) => <ResultBadge e={e} /> },
                  { key: "from", header: "From", cell: (e) => e.client_ip || "—" },
                  {
                    key: "request",
                    header: "Request",
                    cell: (e) =>
                      e.request_id ? (
                        <span style={{ display: "inline-flex", alignItems: "center" }}>
                          <Button size="small" appearance="transparent" onClick={() => apply({ ...applied, request_id: e.request_id ?? "" })} title="Only this request">
                            {e.request_id.length > 14 ? `${e.request_id.slice(0, 14)}…` : e.request_id}
                          </Button>
                          <CopyButton text={e.request_id} label="Copy the request id" />
                        </span>
                      ) : (
                        "—"
                      ),
                  },
                  {
                    key: "details",
                    header: "Details",
                    truncate: "22em",
                    text: (e) => [e.outcome_error, e.details ? JSON.stringify(e.details) : ""].filter(Boolean).join(" · "),
                    cell: (e) => [e.outcome_error, e.details ? JSON.stringify(e.details) : ""].filter(Boolean).join(" · ") || "—",
                  },
                ]}
              />
              <Pager page={page} pageSize={PAGE_SIZE} total={p.total} noun="entries" onPage={(n) => apply(applied, n)} />
            </>
          )}
        </DataState>
      </Card>
    </AdminPage>
  );
}
