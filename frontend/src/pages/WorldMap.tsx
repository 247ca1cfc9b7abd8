import { useMemo, useState } from "react";
import { geoEqualEarth, geoPath } from "d3-geo";
import { feature } from "topojson-client";
import type { FeatureCollection, Geometry } from "geojson";
import type { Topology } from "topojson-specification";
import world from "world-atlas/countries-110m.json";
import { Button, Card, CardHeader, makeStyles, Text, Title2, Title3, tokens } from "@fluentui/react-components";
import { ZoomIn20Regular, ZoomOut20Regular, ArrowReset20Regular } from "@fluentui/react-icons";
import { useSearchParams } from "react-router-dom";
import { get } from "../api/client";
import { useApi } from "../api/hooks";
import { BanTable, Pager } from "../components/BanTable";
import { DataState } from "../components/DataState";
import { Filters, useFilters } from "../components/Filters";
import { useTheme } from "../theme";
import { chosenZone } from "../time";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0 },
  legend: { display: "flex", alignItems: "center", gap: "8px", flexWrap: "wrap" },
  swatch: { width: "28px", height: "12px", display: "inline-block", border: `1px solid ${tokens.colorNeutralStroke1}` },
});

const WIDTH = 960;
const HEIGHT = 480;
// Sequential scale, light to dark red, readable in both themes.
const SCALE = ["#fde0dd", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"];

const countries = feature(world as unknown as Topology, (world as unknown as Topology).objects.countries) as unknown as FeatureCollection<Geometry, { name: string }>;

/** Thresholds on a log scale from 1 to the maximum. */
export function bands(max: number): number[] {
  if (max <= 0) return [];
  const steps = SCALE.length;
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = Math.max(1, Math.round(Math.pow(max, i / steps)));
    if (out[out.length - 1] !== t) out.push(t);
  }
  return out;
}

export default function WorldMap() {
  const s = useStyles();
  const { dark } = useTheme();
  const [f] = useFilters();
  const [params, setParams] = useSearchParams();
  const selected = params.get("country") ?? undefined;
  const page = Number(params.get("page") ?? "1") || 1;
  const [zoom, setZoom] = useState(1);
  const q = { range: f.range, from: f.from, to: f.to, origin: f.origin, jail: f.jail, tz: chosenZone() };
  const data = useApi(
    () => get("/dashboard/by-country", {}, { ...q, country: selected, page, page_size: 50 }),
    JSON.stringify(q) + selected + page,
    30_000,
  );
  const byNumeric = useMemo(() => {
    const m = new Map<number, { code: string; name: string; bans: number }>();
    for (const c of data.data?.items ?? []) if (c.numeric && c.country) m.set(c.numeric, { code: c.country, name: c.name, bans: c.bans });
    return m;
  }, [data.data]);
  const max = Math.max(0, ...Array.from(byNumeric.values(), (c) => c.bans));
  const thresholds = bands(max);
  const colour = (bans: number | undefined) => {
    if (!bans) return dark ? "#3b3a39" : "#edebe9";
    let i = 0;
    while (i + 1 < thresholds.length && bans >= thresholds[i + 1]) i++;
    return SCALE[i];
  };
  const projection = geoEqualEarth().fitSize([WIDTH, HEIGHT], countries);
  const path = geoPath(projection);
  const select = (code?: string) => {
    const next = new URLSearchParams(params);
    if (!code || code === selected) next.delete("country");
    else next.set("country", code);
    next.delete("page");
    setParams(next, { replace: true });
  };
  const setPage = (p: number) => {
    const next = new URLSearchParams(params);
    next.set("page", String(p));
    setParams(next, { replace: true });
  };
  const selectedName = data.data?.items.find((c) => c.country === selected)?.name ?? selected;
  return (
    <>
      <Title2 as="h1">World map</Title2>
      <Filters />
      <Card className={s.card}>
        <CardHeader
          header={<Title3 as="h2">Bans by country</Title3>}
          action={
            <div>
              <Button aria-label="Zoom in" icon={<ZoomIn20Regular />} onClick={() => setZoom((z) => Math.min(8, z * 1.5))} />
              <Button aria-label="Zoom out" icon={<ZoomOut20Regular />} onClick={() => setZoom((z) => Math.max(1, z / 1.5))} />
              <Button aria-label="Reset zoom" icon={<ArrowReset20Regular />} onClick={() => setZoom(1)} />
            </div>
          }
        />
        <DataState label="the map" {...data} onRetry={data.reload}>
          {() => (
            <>
              <div style={{ overflow: "auto", maxHeight: "70vh" }}>
                <svg
                  viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
                  width={`${zoom * 100}%`}
                  role="group"
                  aria-label="World map of bans per country"
                  style={{ display: "block" }}
                >
                  {countries.features.map((c) => {
                    const info = byNumeric.get(Number(c.id));
                    const isSel = info && info.code === selected;
                    return (
                      <path
                        key={String(c.id) + c.properties.name}
                        d={path(c) ?? undefined}
                        fill={colour(info?.bans)}
                        stroke={isSel ? tokens.colorBrandStroke1 : dark ? "#201f1e" : "#ffffff"}
                        strokeWidth={isSel ? 2 : 0.5}
                        style={{ cursor: info ? "pointer" : "default" }}
                        tabIndex={info ? 0 : -1}
                        role={info ? "button" : undefined}
                        aria-label={info ? `${info.name}: ${info.bans} bans` : undefined}
                        onClick={() => info && select(info.code)}
                        onKeyDown={(e) => info && (e.key === "Enter" || e.key === " ") && select(info.code)}
                      >
                        <title>{`${c.properties.name}: ${info?.bans ?? 0} bans`}</title>
                      </path>
                    );
                  })}
                </svg>
              </div>
              <div className={s.legend} aria-label="Legend">
                <Text>Bans:</Text>
                {thresholds.map((t, i) => (
                  <span key={t + "-" + i} style={{ display: "inline-flex", alignItems: "center", gap: 4 }}>
                    <span className={s.swatch} style={{ background: SCALE[i] }} />
                    <Text size={200}>≥ {t.toLocaleString()}</Text>
                  </span>
                ))}
                {max === 0 && <Text size={200}>no bans with a known country in this range</Text>}
              </div>
            </>
          )}
        </DataState>
      </Card>
      <Card className={s.card}>
        <CardHeader
          header={<Title3 as="h2">{selected ? `Bans from ${selectedName}` : "Latest 200 bans"}</Title3>}
          action={selected ? <Button onClick={() => select(undefined)}>Clear</Button> : undefined}
        />
        <DataState label="bans" {...data} onRetry={data.reload} empty={(d) => d.bans.items.length === 0}>
          {(d) => (
            <>
              <BanTable rows={d.bans.items} />
              {selected && <Pager page={d.bans.page} pageSize={d.bans.page_size} total={d.bans.total} exact={d.bans.total_exact} onPage={setPage} />}
            </>
          )}
        </DataState>
      </Card>
    </>
  );
}
