// The world map: bans per country on a sequential scale (more bans: darker on a light
// page, brighter on a dark one), bans no source could place counted beside it, zoom about
// the centre (or the country in focus) and drag to pan, one tab stop whose arrow keys walk
// the countries by ban count, and the bans of the chosen country a page at a time.
import { useMemo, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { geoEqualEarth, geoPath } from "d3-geo";
import { feature } from "topojson-client";
import type { FeatureCollection, Geometry } from "geojson";
import type { Topology } from "topojson-specification";
import world from "world-atlas/countries-110m.json";
import { Button, Card, CardHeader, makeStyles, Text, Title2, Title3, tokens } from "@fluentui/react-components";
import { ArrowReset20Regular, ZoomIn20Regular, ZoomOut20Regular } from "@fluentui/react-icons";
import { useSearchParams } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import { useApiQuery } from "../../api/query";
import { DataState, Pager } from "../../components/DataState";
import { useTheme } from "../../theme";
import { plural } from "../../time";
import { BanTable } from "../bans/BanTable";
import { filterQuery, Filters, useFilters } from "../bans/Filters";

const useStyles = makeStyles({
  card: { padding: "16px", minWidth: 0 },
  frame: { overflow: "hidden", borderRadius: tokens.borderRadiusMedium, touchAction: "none" },
  svg: { display: "block", width: "100%", height: "auto", cursor: "grab", ":focus-visible": { outline: `3px solid ${tokens.colorStrokeFocus2}` } },
  legend: { display: "flex", alignItems: "center", gap: "6px 12px", flexWrap: "wrap", marginTop: "8px" },
  swatch: { width: "28px", height: "12px", display: "inline-block", border: `1px solid ${tokens.colorNeutralStroke1}`, verticalAlign: "middle", marginRight: "4px" },
  readout: { display: "block", minHeight: "20px" },
  tools: { display: "flex", gap: "4px" },
});

const WIDTH = 960;
const HEIGHT = 480;
const MAX_ZOOM = 8;
// Sequential scales, few bans to many: on light, pale to deep red; on dark, dim to bright.
export const SCALE_LIGHT = ["#fde0dd", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"];
export const SCALE_DARK = ["#4a1c1c", "#6f2323", "#9c2b2b", "#c93a30", "#ef6548", "#fdae6b"];
const PAGE_SIZE = 25;

const countries = feature(world as unknown as Topology, (world as unknown as Topology).objects.countries) as unknown as FeatureCollection<Geometry, { name: string }>;
const projection = geoEqualEarth().fitSize([WIDTH, HEIGHT], countries);
const pathOf = geoPath(projection);
const SHAPES = countries.features.map((c) => ({ id: Number(c.id), name: c.properties.name, d: pathOf(c) ?? "", centre: pathOf.centroid(c) }));

/** Thresholds on a log scale from 1 to the maximum. */
export function bands(max: number, steps = SCALE_LIGHT.length): number[] {
  if (max <= 0) return [];
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
  const scale = dark ? SCALE_DARK : SCALE_LIGHT;
  const [f, setFilter] = useFilters();
  const [params, setParams] = useSearchParams();
  const selected = f.country;
  const page = Number(params.get("page") ?? "1") || 1;
  const [zoom, setZoom] = useState(1);
  const [centre, setCentre] = useState<[number, number]>([WIDTH / 2, HEIGHT / 2]);
  const [focus, setFocus] = useState<number>();
  const drag = useRef<{ x: number; y: number; c: [number, number]; moved: boolean } | null>(null);
  const q = filterQuery(f);
  const data = useApiQuery(["map", q, page], () => unwrap(api.GET("/dashboard/by-country", { params: { query: { ...q, page, page_size: PAGE_SIZE } } })), { pollMs: 30_000 });
  const items = data.data?.items;
  const byNumeric = useMemo(() => {
    const m = new Map<number, { code: string; name: string; bans: number }>();
    for (const c of items ?? []) if (c.numeric && c.country) m.set(c.numeric, { code: c.country, name: c.name, bans: c.bans });
    return m;
  }, [items]);
  // The countries the keyboard walks: those with bans and a shape, most bans first.
  const ranked = useMemo(() => SHAPES.filter((x) => byNumeric.has(x.id)).sort((a, b) => byNumeric.get(b.id)!.bans - byNumeric.get(a.id)!.bans), [byNumeric]);
  const unknown = items?.find((c) => !c.country)?.bans ?? 0;
  const unmapped = (items ?? []).filter((c) => c.country && !SHAPES.some((x) => x.id === c.numeric)).reduce((n, c) => n + c.bans, 0);
  const max = Math.max(0, ...Array.from(byNumeric.values(), (c) => c.bans));
  const thresholds = bands(max, scale.length);
  const colour = (bans: number | undefined) => {
    if (!bans) return dark ? "#2b2b2b" : "#edebe9";
    let i = 0;
    while (i + 1 < thresholds.length && bans >= thresholds[i + 1]) i++;
    return scale[i];
  };
  const clampCentre = ([x, y]: [number, number], z: number): [number, number] => {
    const hw = WIDTH / z / 2;
    const hh = HEIGHT / z / 2;
    return [Math.min(WIDTH - hw, Math.max(hw, x)), Math.min(HEIGHT - hh, Math.max(hh, y))];
  };
  const zoomTo = (z: number, about = centre) => {
    const nz = Math.min(MAX_ZOOM, Math.max(1, z));
    setZoom(nz);
    setCentre(clampCentre(about, nz));
  };
  const select = (code?: string) => setFilter({ country: !code || code === selected ? undefined : code });
  const focused = focus === undefined ? undefined : ranked[focus];
  const focusedInfo = focused ? byNumeric.get(focused.id) : undefined;
  const onKey = (e: KeyboardEvent) => {
    if (!ranked.length) return;
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (step) {
      e.preventDefault();
      const next = focus === undefined ? (step > 0 ? 0 : ranked.length - 1) : (focus + step + ranked.length) % ranked.length;
      setFocus(next);
      if (zoom > 1) setCentre(clampCentre(ranked[next].centre as [number, number], zoom));
    } else if ((e.key === "Enter" || e.key === " ") && focusedInfo) {
      e.preventDefault();
      select(focusedInfo.code);
    } else if (e.key === "+" || e.key === "=") zoomTo(zoom * 1.5, focused ? (focused.centre as [number, number]) : centre);
    else if (e.key === "-") zoomTo(zoom / 1.5);
    else if (e.key === "Escape") setFocus(undefined);
  };
  const onPointerDown = (e: PointerEvent<SVGSVGElement>) => {
    drag.current = { x: e.clientX, y: e.clientY, c: centre, moved: false };
  };
  const onPointerMove = (e: PointerEvent<SVGSVGElement>) => {
    const d = drag.current;
    if (!d || zoom === 1) return;
    const px = WIDTH / zoom / e.currentTarget.getBoundingClientRect().width;
    const dx = (e.clientX - d.x) * px;
    const dy = (e.clientY - d.y) * px;
    if (Math.abs(dx) + Math.abs(dy) > 2) d.moved = true;
    setCentre(clampCentre([d.c[0] - dx, d.c[1] - dy], zoom));
  };
  const viewBox = `${centre[0] - WIDTH / zoom / 2} ${centre[1] - HEIGHT / zoom / 2} ${WIDTH / zoom} ${HEIGHT / zoom}`;
  const selectedName = selected === "unknown" ? "an unknown country" : (items?.find((c) => c.country === selected)?.name ?? selected);
  const setPage = (p: number) => {
    const next = new URLSearchParams(params);
    next.set("page", String(p));
    setParams(next, { replace: true });
  };
  return (
    <>
      <Title2 as="h1">World map</Title2>
      <Filters countryName={(c) => items?.find((x) => x.country === c)?.name} />
      <Card className={s.card}>
        <CardHeader
          header={<Title3 as="h2">Bans by country</Title3>}
          action={
            <div className={s.tools}>
              <Button aria-label="Zoom in" icon={<ZoomIn20Regular />} onClick={() => zoomTo(zoom * 1.5)} disabled={zoom >= MAX_ZOOM} />
              <Button aria-label="Zoom out" icon={<ZoomOut20Regular />} onClick={() => zoomTo(zoom / 1.5)} disabled={zoom <= 1} />
              <Button aria-label="Reset zoom" icon={<ArrowReset20Regular />} onClick={() => zoomTo(1, [WIDTH / 2, HEIGHT / 2])} disabled={zoom === 1} />
            </div>
          }
        />
        <DataState label="the map" {...data} onRetry={data.reload}>
          {() => (
            <>
              <Text size={200} className={s.readout} aria-live="polite">
                {focusedInfo
                  ? `${focusedInfo.name}: ${plural(focusedInfo.bans, "ban")} (Enter to show them)`
                  : "Click a country, or focus the map and use the arrow keys, to list its bans. + and − zoom."}
              </Text>
              <div className={s.frame}>
                <svg
                  className={s.svg}
                  viewBox={viewBox}
                  role="application"
                  tabIndex={0}
                  aria-roledescription="map"
                  aria-label={`World map of bans per country: ${ranked.length} countries with bans. Arrow keys move between them, Enter lists a country's bans.`}
                  onKeyDown={onKey}
                  onPointerDown={onPointerDown}
                  onPointerMove={onPointerMove}
                  onPointerUp={() => setTimeout(() => (drag.current = null))}
                  onPointerLeave={() => (drag.current = null)}
                >
                  {SHAPES.map((c) => {
                    const info = byNumeric.get(c.id);
                    const isSel = info && info.code === selected;
                    const isFocus = focused?.id === c.id;
                    return (
                      <path
                        key={`${c.id}-${c.name}`}
                        d={c.d}
                        data-country={info?.code}
                        fill={colour(info?.bans)}
                        stroke={isSel || isFocus ? tokens.colorBrandStroke1 : dark ? "#1b1a19" : "#ffffff"}
                        strokeWidth={(isSel || isFocus ? 2 : 0.5) / zoom}
                        style={{ cursor: info ? "pointer" : "inherit" }}
                        onClick={() => info && !drag.current?.moved && select(info.code)}
                      >
                        <title>{`${info?.name ?? c.name}: ${plural(info?.bans ?? 0, "ban")}`}</title>
                      </path>
                    );
                  })}
                </svg>
              </div>
              <div className={s.legend} aria-label="Legend">
                <Text>Bans:</Text>
                {thresholds.map((t, i) => (
                  <span key={`${t}-${i}`}>
                    <span className={s.swatch} style={{ background: scale[i] }} />
                    <Text size={200}>≥ {t.toLocaleString()}</Text>
                  </span>
                ))}
                {max === 0 && <Text size={200}>no bans with a known country in this range</Text>}
                {unknown > 0 && (
                  <Button size="small" appearance={selected === "unknown" ? "primary" : "secondary"} onClick={() => select("unknown")}>
                    {plural(unknown, "ban")} from an unknown country
                  </Button>
                )}
                {unmapped > 0 && <Text size={200}>{plural(unmapped, "ban")} from places too small for this map (in the table)</Text>}
              </div>
            </>
          )}
        </DataState>
      </Card>
      <Card className={s.card}>
        <CardHeader header={<Title3 as="h2">{selected ? `Bans from ${selectedName}` : "Latest bans"}</Title3>} action={selected ? <Button onClick={() => select(undefined)}>Show every country</Button> : undefined} />
        <DataState label="bans" {...data} onRetry={data.reload} empty={(d) => d.bans.items.length === 0} emptyText="No bans in this range.">
          {(d) => (
            <>
              <BanTable rows={d.bans.items} />
              <Pager page={d.bans.page} pageSize={d.bans.page_size} total={d.bans.total} exact={d.bans.total_exact} onPage={setPage} />
            </>
          )}
        </DataState>
      </Card>
    </>
  );
}
