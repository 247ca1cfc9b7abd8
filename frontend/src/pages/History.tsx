import { useState } from "react";
import { useSearchParams } from "react-router-dom";
import { Button, Card, Dropdown, Field, Input, makeStyles, Option, Title2 } from "@fluentui/react-components";
import { get } from "../api/client";
import { useApi } from "../api/hooks";
import { BanTable, Pager } from "../components/BanTable";
import { DataState } from "../components/DataState";
import { Filters, useFilters } from "../components/Filters";
import { chosenZone } from "../time";

const useStyles = makeStyles({ card: { padding: "16px", minWidth: 0 } });

const STATES: [string, string][] = [
  ["", "Any state"],
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
    state: params.get("state") ?? "",
  };
  const [draft, setDraft] = useState(text);
  const set = (patch: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) next.set(k, v);
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
    ip: text.ip,
    country: text.country,
    asn: text.asn,
    state: text.state,
    tz: chosenZone(),
  };
  const key = JSON.stringify(q) + page;
  const list = useApi(() => get("/history", {}, { ...q, page, page_size: 50 }), key, 30_000);
  const offenders = useApi(
    () => get("/dashboard/repeat-offenders", {}, { range: f.range === "all" ? "365d" : f.range, from: f.from, to: f.to, limit: 100 }),
    JSON.stringify([f.range, f.from, f.to]),
  );
  const repeat = new Set((offenders.data?.items ?? []).map((o) => o.ip));
  return (
    <>
      <Title2 as="h1">History</Title2>
      <Filters
        allowAll
        extra={
          <form
            style={{ display: "flex", gap: 12, alignItems: "end", flexWrap: "wrap" }}
            onSubmit={(e) => {
              e.preventDefault();
              set(draft);
            }}
          >
            <Field label="IP, CIDR or prefix">
              <Input value={draft.ip} onChange={(_, d) => setDraft({ ...draft, ip: d.value })} placeholder="10.1. or 2001:db8::/32" />
            </Field>
            <Field label="Country">
              <Input value={draft.country} onChange={(_, d) => setDraft({ ...draft, country: d.value })} placeholder="DE" style={{ width: 80 }} />
            </Field>
            <Field label="ASN">
              <Input value={draft.asn} onChange={(_, d) => setDraft({ ...draft, asn: d.value.replace(/\D/g, "") })} placeholder="3320" style={{ width: 100 }} />
            </Field>
            <Field label="State">
              <Dropdown
                value={STATES.find(([v]) => v === draft.state)?.[1]}
                selectedOptions={[draft.state]}
                onOptionSelect={(_, d) => {
                  const state = d.optionValue ?? "";
                  setDraft({ ...draft, state });
                  set({ ...draft, state });
                }}
              >
                {STATES.map(([v, l]) => (
                  <Option key={v || "any"} value={v}>
                    {l}
                  </Option>
                ))}
              </Dropdown>
            </Field>
            <Button type="submit" appearance="primary">
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
