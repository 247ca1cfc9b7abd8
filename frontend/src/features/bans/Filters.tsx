// The filters every ban view shares (range, origin, jail, and the country and ASN a chart
// click picks), kept in the URL so views can be shared and reloaded.
import { useMemo } from "react";
import { useSearchParams } from "react-router-dom";
import { Button, Dropdown, Field, Input, makeStyles, Option, Tag, TagGroup, ToggleButton, Toolbar } from "@fluentui/react-components";
import { api, unwrap, type Schemas } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { chosenZone } from "../../time";

const useStyles = makeStyles({
  bar: { display: "flex", flexWrap: "wrap", gap: "12px", alignItems: "end", minWidth: 0 },
  presets: { flexWrap: "wrap" },
});

export const PRESETS = ["24h", "7d", "30d", "365d"] as const;
type Origin = Schemas["OriginFilter"];
export const ORIGINS: [Origin, string][] = [
  ["all", "All"],
  ["auto", "Automatic"],
  ["manual", "Manual"],
  ["blocklist", "Blocklist"],
];

export interface FilterValues {
  range?: string;
  from?: string;
  to?: string;
  origin?: Origin;
  jail?: string;
  country?: string;
  asn?: number;
}

type Patch = { [K in keyof FilterValues]?: string | undefined };

function originOf(v: string | null): Origin | undefined {
  return ORIGINS.find(([o]) => o === v)?.[0];
}

/** The filter values in the URL, and a setter that resets paging. */
export function useFilters(allowAll = false): [FilterValues, (patch: Patch) => void] {
  const [params, setParams] = useSearchParams();
  const values = useMemo<FilterValues>(() => {
    const from = params.get("from") ?? undefined;
    const to = params.get("to") ?? undefined;
    const asn = params.get("asn");
    return {
      range: from && to ? undefined : (params.get("range") ?? (allowAll ? "all" : "24h")),
      from,
      to,
      origin: originOf(params.get("origin")),
      jail: params.get("jail") ?? undefined,
      country: params.get("country") ?? undefined,
      asn: asn !== null && /^\d+$/.test(asn) ? Number(asn) : undefined,
    };
  }, [params, allowAll]);
  const update = (patch: Patch) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    next.delete("page");
    setParams(next, { replace: true });
  };
  return [values, update];
}

/** The query every dashboard endpoint takes, in the zone times are shown in. */
export function filterQuery(f: FilterValues) {
  return { range: f.range, from: f.from, to: f.to, origin: f.origin, jail: f.jail, country: f.country, asn: f.asn, tz: chosenZone() };
}

function toLocalInput(iso?: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function useJailNames(): string[] {
  const jails = useApiQuery(["jails"], () => unwrap(api.GET("/jails")), { pollMs: 10_000 });
  return (jails.data?.items ?? []).map((j) => j.name);
}

export function Filters({ allowAll = false, extra, countryName, chips: showChips = true }: { allowAll?: boolean; extra?: React.ReactNode; countryName?: (code: string) => string | undefined; chips?: boolean }) {
  const s = useStyles();
  const [f, set] = useFilters(allowAll);
  const names = useJailNames();
  const presets = allowAll ? [...PRESETS, "all"] : PRESETS;
  const custom = Boolean(f.from && f.to);
  const chips: [string, string, Patch][] = [];
  if (showChips && f.country) chips.push(["country", `Country: ${f.country === "unknown" ? "unknown" : (countryName?.(f.country) ?? f.country)}`, { country: undefined }]);
  if (showChips && f.asn !== undefined) chips.push(["asn", `ASN: ${f.asn === 0 ? "unknown" : `AS${f.asn}`}`, { asn: undefined }]);
  return (
    <div className={s.bar} role="search" aria-label="Filters">
      <Field label="Range">
        <Toolbar aria-label="Time range" size="small" className={s.presets}>
          {presets.map((p) => (
            <ToggleButton key={p} size="small" checked={!custom && f.range === p} onClick={() => set({ range: p, from: undefined, to: undefined })}>
              {p === "all" ? "All time" : p}
            </ToggleButton>
          ))}
          <ToggleButton
            size="small"
            checked={custom}
            onClick={() => {
              const to = new Date();
              const from = new Date(to.getTime() - 3 * 86400_000);
              set({ from: from.toISOString(), to: to.toISOString(), range: undefined });
            }}
          >
            Custom
          </ToggleButton>
        </Toolbar>
      </Field>
      {custom && (
        <>
          <Field label="From">
            <Input type="datetime-local" value={toLocalInput(f.from)} onChange={(_, d) => d.value && set({ from: new Date(d.value).toISOString() })} />
          </Field>
          <Field label="To">
            <Input type="datetime-local" value={toLocalInput(f.to)} onChange={(_, d) => d.value && set({ to: new Date(d.value).toISOString() })} />
          </Field>
        </>
      )}
      <Field label="Origin">
        <Dropdown
          value={ORIGINS.find(([v]) => v === (f.origin ?? "all"))?.[1]}
          selectedOptions={[f.origin ?? "all"]}
          onOptionSelect={(_, d) => set({ origin: d.optionValue === "all" ? undefined : d.optionValue })}
          style={{ minWidth: 140 }}
        >
          {ORIGINS.map(([v, label]) => (
            <Option key={v} value={v}>
              {label}
            </Option>
          ))}
        </Dropdown>
      </Field>
      <Field label="Jail">
        <Dropdown value={f.jail ?? "All jails"} selectedOptions={[f.jail ?? ""]} onOptionSelect={(_, d) => set({ jail: d.optionValue || undefined })} style={{ minWidth: 140 }}>
          <Option value="">All jails</Option>
          {names.map((n) => (
            <Option key={n} value={n}>
              {n}
            </Option>
          ))}
        </Dropdown>
      </Field>
      {chips.length > 0 && (
        <TagGroup aria-label="Chart filters" onDismiss={(_, d) => set(chips.find(([k]) => k === d.value)?.[2] ?? {})}>
          {chips.map(([k, label]) => (
            <Tag key={k} value={k} dismissible dismissIcon={{ "aria-label": `Remove ${label}` }}>
              {label}
            </Tag>
          ))}
        </TagGroup>
      )}
      {chips.length > 0 && (
        <Button size="small" appearance="subtle" onClick={() => set({ country: undefined, asn: undefined })}>
          Clear chart filters
        </Button>
      )}
      {extra}
    </div>
  );
}
