// The command queue, live: every change BanGUI asked of fail2ban (by a user, a token or a
// job), where it stands, how often it was tried, and its result or error, with the
// request id that follows it through the logs.
import { useSearchParams } from "react-router-dom";
import { Badge, Card, Dropdown, Field, Option } from "@fluentui/react-components";
import { api, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState, Pager } from "../../components/DataState";
import { DataTable } from "../../components/DataTable";
import { RequestId } from "../../components/RequestId";
import { formatTime } from "../../time";
import { AdminPage, useAdminStyles } from "./common";

type Command = Schemas["CommandView"];
type Status = Schemas["CommandStatus"];
type Kind = Schemas["CommandKind"];
const STATUSES: Status[] = ["pending", "running", "succeeded", "failed"];
const KINDS: Kind[] = [
  "ban", "unban", "unban_all", "jail_start", "jail_stop", "jail_idle", "jail_reload", "reload_all", "ignoreip_add", "ignoreip_remove",
  "ignoreself_set", "config_write", "config_test", "allowlist_apply", "regex_test", "file_write", "def_delete", "server_set",
  "server_flush_logs", "server_restart", "blocklist_import", "blocklist_preview", "blocklist_purge",
];
const PAGE_SIZE = 50;

const statusColor = (s: Status) => (s === "succeeded" ? "success" : s === "failed" ? "danger" : s === "running" ? "brand" : "informative");

/** What was asked, in a few words. */
function summary(c: Command): string {
  const p = (c.payload ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof p.jail === "string") parts.push(p.jail);
  if (Array.isArray(p.ips)) parts.push(p.ips.length <= 3 ? p.ips.join(", ") : `${p.ips.slice(0, 3).join(", ")} +${p.ips.length - 3}`);
  if (typeof p.ip === "string") parts.push(p.ip);
  return parts.join(" · ");
}

function outcome(c: Command): string {
  if (c.status === "failed") return `${c.error_code ?? "failed"}: ${c.error ?? ""}`;
  if (c.status === "succeeded") return c.result === undefined || c.result === null ? "done" : JSON.stringify(c.result);
  return c.error ?? "";
}

export default function CommandsPage() {
  const s = useAdminStyles();
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") ?? "") as Status | "";
  const kind = (params.get("kind") ?? "") as Kind | "";
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const set = (key: string, value: string) => {
    const p = new URLSearchParams(params);
    if (value) p.set(key, value);
    else p.delete(key);
    if (key !== "page") p.delete("page");
    setParams(p);
  };
  const list = useApiQuery(
    ["commands", status, kind, page],
    () => unwrap(api.GET("/commands", { params: { query: { status: status || undefined, kind: kind || undefined, page, page_size: PAGE_SIZE } } })),
    { pollMs: 2_000 },
  );
  return (
    <AdminPage tab="commands">
      <Card className={s.card}>
        <div className={s.form} role="group" aria-label="Filter the commands">
          <Field label="Status">
            <Dropdown value={status || "any"} selectedOptions={[status]} onOptionSelect={(_, d) => set("status", d.optionValue ?? "")}>
              {["", ...STATUSES].map((x) => (
                <Option key={x} value={x}>
                  {x || "any"}
                </Option>
              ))}
            </Dropdown>
          </Field>
          <Field label="Kind">
            <Dropdown value={kind || "any"} selectedOptions={[kind]} onOptionSelect={(_, d) => set("kind", d.optionValue ?? "")}>
              {["", ...KINDS].map((x) => (
                <Option key={x} value={x}>
                  {x || "any"}
                </Option>
              ))}
            </Dropdown>
          </Field>
        </div>
      </Card>
      <Card className={s.card}>
        <DataState label="commands" {...list} onRetry={list.reload} empty={(p) => p.items.length === 0} emptyText="No commands match.">
          {(p) => (
            <>
              <DataTable
                label="Commands"
                rows={p.items}
                rowKey={(c) => c.id}
                columns={[
                  { key: "id", header: "#", primary: true, numeric: true, cell: (c) => c.id },
                  { key: "kind", header: "Command", primary: true, cell: (c) => <span className={s.code}>{c.kind}</span> },
                  { key: "status", header: "State", primary: true, cell: (c) => <Badge color={statusColor(c.status)}>{c.status}</Badge> },
                  { key: "what", header: "On", truncate: "16em", text: summary, cell: (c) => summary(c) || "—" },
                  { key: "by", header: "Asked by", cell: (c) => c.requested_by ?? "—" },
                  { key: "at", header: "Asked", cell: (c) => formatTime(c.created_at) },
                  { key: "attempts", header: "Tries", numeric: true, cell: (c) => c.attempts },
                  { key: "outcome", header: "Result or error", truncate: "22em", text: outcome, cell: (c) => outcome(c) || "—" },
                  { key: "request", header: "Request", cell: (c) => (c.request_id ? <RequestId id={c.request_id} /> : "—") },
                ]}
              />
              <Pager page={page} pageSize={PAGE_SIZE} total={p.total} noun="commands" onPage={(n) => set("page", String(n))} />
            </>
          )}
        </DataState>
      </Card>
    </AdminPage>
  );
}
