// Times arrive in UTC (RFC 3339) and are shown in the zone this browser picked (kept in
// localStorage), else the instance's zone chosen at setup (from the session), else the
// browser's own. `tz` is also sent to the API for its `*_local` fields.
const KEY = "bangui.tz";
let instanceZone: string | undefined;

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function setInstanceZone(tz: string | undefined) {
  instanceZone = tz;
}

export function getInstanceZone(): string | undefined {
  return instanceZone;
}

/** The zone this browser picked, if any (null: follow the instance). */
export function pickedZone(): string | null {
  return localStorage.getItem(KEY);
}

export function chosenZone(): string {
  return pickedZone() || instanceZone || browserZone();
}

/** Pick a zone for this browser; null goes back to the instance's zone. */
export function setChosenZone(tz: string | null) {
  if (tz) localStorage.setItem(KEY, tz);
  else localStorage.removeItem(KEY);
}

export function allZones(): string[] {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}

export function formatTime(iso: string | null | undefined, tz = chosenZone()): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return new Intl.DateTimeFormat(undefined, {
    timeZone: tz,
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(d);
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 0) return "permanent";
  const units: [number, string][] = [
    [86400, "d"],
    [3600, "h"],
    [60, "m"],
    [1, "s"],
  ];
  const parts: string[] = [];
  let left = seconds;
  for (const [size, name] of units) {
    if (left >= size && parts.length < 2) {
      parts.push(`${Math.floor(left / size)}${name}`);
      left %= size;
    }
  }
  return parts.join(" ") || "0s";
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** A flag emoji for an ISO alpha-2 code (regional indicator symbols; no image download). */
export function flag(code: string | null | undefined): string {
  if (!code || !/^[A-Za-z]{2}$/.test(code)) return "🏳";
  return String.fromCodePoint(...code.toUpperCase().split("").map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

let flagSupport: boolean | undefined;

/**
 * Whether this system draws flag emoji as flags. Without a colour emoji font (Windows,
 * many Linux servers) regional indicators show as letters or boxes; callers then show the
 * country code instead. Decided once by drawing a flag on a canvas and looking for colour.
 */
export function flagEmojiSupported(): boolean {
  if (flagSupport !== undefined) return flagSupport;
  flagSupport = false;
  try {
    const ctx = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
    if (ctx) {
      ctx.canvas.width = ctx.canvas.height = 32;
      ctx.font = "24px sans-serif";
      ctx.textBaseline = "top";
      ctx.fillText(flag("DE"), 0, 0);
      const px = ctx.getImageData(0, 0, 32, 32).data;
      for (let i = 0; i < px.length; i += 4) {
        // A drawn flag has saturated pixels; fallback glyphs are black on transparent.
        if (px[i + 3] > 0 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) {
          flagSupport = true;
          break;
        }
      }
    }
  } catch {
    flagSupport = false;
  }
  return flagSupport;
}

/** "1 ban", "3 bans": a count with its noun. */
export function plural(n: number, noun: string): string {
  return `${n.toLocaleString()} ${noun}${n === 1 ? "" : "s"}`;
}
