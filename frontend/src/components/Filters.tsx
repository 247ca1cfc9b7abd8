import { useMemo } from "react";
import { useSearchParams } from "react-router-dom";
import { Dropdown, Field, Input, makeStyles, Option, ToggleButton, Toolbar } from "@fluentui/react-components";
import { get } from "../api/client";
import { useApi } from "../api/hooks";

const useStyles = makeStyles({
  bar: { display: "flex", flexWrap: "wrap", gap: "12px", alignItems: "end" },
});

export const PRESETS = ["24h", "7d", "30d", "365d"] as const;
export const ORIGINS: [string, string][] = [
  ["", "All"],
  ["auto", "Automatic"],
  ["manual", "Manual"],
  ["blocklist", "Blocklist"],
];

export interface FilterValues {
  range?: string;
  from?: string;
  to?: string;
  origin?: string;
  jail?: string;
}

/** The range/origin/jail filters, kept in the URL so views can be shared and reloaded. */
export function useFilters(allowAll = false): [FilterValues, (patch: Partial<FilterValues>) => void] {
  const [params, setParams] = useSearchParams();
  const values = useMemo<FilterValues>(() => {
    const from = params.get("from") ?? undefined;
    const to = params.get("to") ?? undefined;
    return {
      range: from && to ? undefined : (params.get("range") ?? (allowAll ? "all" : "24h")),
      from,
      to,
      origin: params.get("origin") ?? undefined,
      jail: params.get("jail") ?? undefined,
    };
  }, [params, allowAll]);
  const update = (patch: Partial<FilterValues>) => {
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

function toLocalInput(iso?: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function Filters({ allowAll = false, extra }: { allowAll?: boolean; extra?: React.ReactNode }) {
  const s = useStyles();
  const [f, set] = useFilters(allowAll);
  const jails = useApi(() => get("/jails"), "jails");
  const presets = allowAll ? [...PRESETS, "all"] : PRESETS;
  const custom = Boolean(f.from && f.to);
  return (
    <div className={s.bar}>
      <Field label="Range">
        <Toolbar aria-label="Time range" size="small">
          {presets.map((p) => (
            <ToggleButton
              key={p}
              size="small"
              checked={!custom && f.range === p}
              onClick={() => set({ range: p, from: undefined, to: undefined })}
            >
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
            <Input
              type="datetime-local"
              value={toLocalInput(f.from)}
              onChange={(_, d) => d.value && set({ from: new Date(d.value).toISOString() })}
            />
          </Field>
          <Field label="To">
            <Input
              type="datetime-local"
              value={toLocalInput(f.to)}
              onChange={(_, d) => d.value && set({ to: new Date(d.value).toISOString() })}
            />
          </Field>
        </>
      )}
      <Field label="Origin">
        <Dropdown
          value={ORIGINS.find(([v]) => v === (f.origin ?? ""))?.[1]}
          selectedOptions={[f.origin ?? ""]}
          onOptionSelect={(_, d) => set({ origin: d.optionValue || undefined })}
        >
          {ORIGINS.map(([v, label]) => (
            <Option key={v || "all"} value={v}>
              {label}
            </Option>
          ))}
        </Dropdown>
      </Field>
      <Field label="Jail">
        <Dropdown
          value={f.jail ?? "All jails"}
          selectedOptions={[f.jail ?? ""]}
          onOptionSelect={(_, d) => set({ jail: d.optionValue || undefined })}
        >
          <Option value="">All jails</Option>
          {(jails.data?.items ?? []).map((j) => (
            <Option key={j.name} value={j.name}>
              {j.name}
            </Option>
          ))}
        </Dropdown>
      </Field>
      {extra}
    </div>
  );
}
