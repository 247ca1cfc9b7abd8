import { useState } from "react";
import { useSearchParams } from "react-router-dom";
import { Button, Card, Dropdown, Field, Input, makeStyles, Option, Title2 } from "@fluentui/react-components";
import { api, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState, Pager } from "../../components/DataState";
import { fieldMessage } from "../../components/fieldError";
import { chosenZone } from "../../time";
import { BanTable } from "../bans/BanTable";
import { Filters, useFilters } from "../bans/Filters";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0 },
  search: { display: "flex", gap: "12px", alignItems: "start", flexWrap: "wrap" },
});

type State = Schemas["StateFilter"];
const STATES: [State, string][] = [
  ["all", "Any state"],
  ["banned", "Banned now"],
  ["expired", "Expired"],
  ["unbanned", "Unbanned"],
];

export default function History() {
  const s = useStyles();
  const [f] = useFilters(true);
  const [params, setParams] = useSearchParams();
  const page = Number(params.get("page") ?? "1") || 1;
  const text = {
    ip: params.get("ip") ?? "",
    country: params.get("country") ?? "",
    asn: params.get("asn") ?? "",
    state: (STATES.find(([v]) => v === params.get("state"))?.[0] ?? "all") as State,
  };
  const [draft, setDraft] = useState(text);
  const set = (patch: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v && !(k === "state" && v === "all")) next.set(k, v);
      else next.delete(k);
    }
    if (!("page" in patch)) next.delete("page");
    setParams(next, { replace: true });
  };
  const q = {
    range: f.range,
    from: f.from,
    to: f.to,
    origin: f.origin,
    jail: f.jail,
    ip: text.ip || undefined,
    country: text.country || undefined,
    asn: text.asn ? Number(text.asn) : undefined,
    state: text.state,
    tz: chosenZone(),
  };
  const list = useApiQuery(["history", q, page], () => unwrap(api.GET("/history", { params: { query: { ...q, page, page_size: 50 } } })), { pollMs: 30_000 });
  const offenders = useApiQuery(["dashboard", "offenders", "history", f.range, f.from, f.to], () =>
    unwrap(api.GET("/dashboard/repeat-offenders", { params: { query: { range: f.range === "all" ? "365d" : f.range, from: f.from, to: f.to, limit: 100 } } })),
  );
  const repeat = new Set((offenders.data?.items ?? []).map((o) => o.ip));
  // A refused search names its field; the message sits under it (and no old results show).
  const problem = (field: string) => fieldMessage(list.error, field);
  return (
    <>
      <Title2 as="h1">History</Title2>
      <Filters
        allowAll
        chips={false}
        extra={
          <form
            className={s.search}
            onSubmit={(e) => {
              e.preventDefault();
              set({ ip: draft.ip.trim(), country: draft.country.trim(), asn: draft.asn, state: draft.state });
            }}
          >
            <Field label="IP, CIDR or prefix" validationMessage={problem("ip")} validationState={problem("ip") ? "error" : "none"}>
              <Input value={draft.ip} onChange={(_, d) => setDraft({ ...draft, ip: d.value })} placeholder="10.1. or 2001:db8::/32" />
            </Field>
            <Field label="Country" validationMessage={problem("country")} validationState={problem("country") ? "error" : "none"}>
              <Input value={draft.country} onChange={(_, d) => setDraft({ ...draft, country: d.value })} placeholder="DE" style={{ width: 80 }} />
            </Field>
            <Field label="ASN" validationMessage={problem("asn")} validationState={problem("asn") ? "error" : "none"}>
              <Input value={draft.asn} onChange={(_, d) => setDraft({ ...draft, asn: d.value.replace(/\D/g, "") })} placeholder="3320" style={{ width: 100 }} />
            </Field>
            <Field label="State">
              <Dropdown
                value={STATES.find(([v]) => v === draft.state)?.[1]}
                selectedOptions={[draft.state]}
                onOptionSelect={(_, d) => {
                  const state = (d.optionValue ?? "all") as State;
                  setDraft({ ...draft, state });
                  set({ state });
                }}
              >
                {STATES.map(([v, l]) => (
                  <Option key={v} value={v}>
                    {l}
                  </Option>
                ))}
              </Dropdown>
            </Field>
            <Button type="submit" appearance="primary" style={{ marginTop: 26 }}>
              Search
            </Button>
          </form>
        }
      />
      <Card className={s.card}>
        <DataState label="the history" {...list} onRetry={list.reload} empty={(d) => d.items.length === 0} emptyText="No ban matches these filters.">
          {(d) => (
            <>
              <BanTable rows={d.items} highlight={(ip) => repeat.has(ip)} />
              <Pager page={d.page} pageSize={d.page_size} total={d.total} exact={d.total_exact} onPage={(p) => set({ page: String(p) })} />
            </>
          )}
        </DataState>
      </Card>
    </>
  );
}
