import { describe, expect, it } from "vitest";
import { ApiError, type Schemas } from "./api/client";
import { fieldMessage, splitIps } from "./components/fieldError";
import { safeNext } from "./features/auth/Login";
import { describeStrength } from "./features/auth/strength";
import { outcome } from "./features/commands/useCommand";
import { niceStep } from "./features/dashboard/charts";
import { bands, SCALE_DARK, SCALE_LIGHT } from "./features/map/MapPage";
import { browserZone, chosenZone, flag, flagEmojiSupported, formatDuration, setChosenZone, setInstanceZone } from "./time";

describe("errors under form fields", () => {
  const refused = new ApiError(422, "invalid_ip", "1 of the IPs are not valid", "req-1", {
    field: "ips",
    invalid: [{ index: 2, value: "bogus", error: '"bogus" is not an IPv4 or IPv6 address or CIDR network' }],
    invalid_count: 1,
  });

  it("names each refused entry with the API's reason, under the field the API blamed", () => {
    expect(fieldMessage(refused, "ips")).toBe('"bogus" is not an IPv4 or IPv6 address or CIDR network');
    expect(fieldMessage(refused, "jail")).toBeUndefined();
    expect(fieldMessage(undefined, "ips")).toBeUndefined();
  });

  it("falls back to the API's sentence and says how many more were refused", () => {
    const why = new ApiError(422, "ip_not_allowed", "127.0.0.1 is a loopback address", "req-2", { field: "ips" });
    expect(fieldMessage(why, "ips")).toBe("127.0.0.1 is a loopback address");
    const many = new ApiError(422, "invalid_ip", "30 of the IPs are not valid", "r", { field: "ips", invalid: [{ index: 0, value: "x", error: '"x" is bad' }], invalid_count: 30 });
    expect(fieldMessage(many, "ips")).toBe('"x" is bad; and 29 more');
  });

  it("splits typed addresses on spaces, commas and new lines", () => {
    expect(splitIps(" 192.0.2.5, 192.0.2.6\nbogus ")).toEqual(["192.0.2.5", "192.0.2.6", "bogus"]);
  });
});

describe("command outcomes", () => {
  const cmd = (kind: Schemas["CommandKind"], result: unknown) =>
    ({ id: 1, kind, status: "succeeded", payload: {}, created_at: "", attempts: 1, result }) as Schemas["CommandView"];

  it("says when an unban lifted nothing", () => {
    expect(outcome(cmd("unban", { unbanned: 0, requested: 1 }))).toEqual({ intent: "warning", text: "Nothing to unban: it was not banned." });
    expect(outcome(cmd("unban", { unbanned: 2, requested: 2 })).intent).toBe("success");
  });

  it("says when a ban found everything already banned", () => {
    expect(outcome(cmd("ban", { newly_banned: 0, requested: 3 })).intent).toBe("warning");
    expect(outcome(cmd("ban", { newly_banned: 2, requested: 3 })).text).toBe("2 banned; 1 were already banned.");
  });
});

describe("the trend's axis", () => {
  it("steps in round numbers", () => {
    expect(niceStep(3)).toBe(1);
    expect(niceStep(37)).toBe(10);
    expect(niceStep(1200)).toBe(500);
  });
});

describe("sign-in", () => {
  it("follows only same-site relative paths after login", () => {
    expect(safeNext("/history?ip=1.2.3.4")).toBe("/history?ip=1.2.3.4");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });

  it("describes the server's password assessment", () => {
    expect(describeStrength("", undefined).ok).toBe(false);
    expect(describeStrength("abc", undefined).label).toBe("checking…");
    const weak = { score: 1, min_score: 3, acceptable: false, problem: "too easy to guess", warning: null, suggestions: [] };
    expect(describeStrength("password1234", weak)).toEqual({ label: "weak, not accepted", detail: "too easy to guess", value: 0.25, ok: false });
    const strong = { score: 4, min_score: 3, acceptable: true, problem: null, warning: null, suggestions: [] };
    expect(describeStrength("correct horse battery staple", strong).ok).toBe(true);
  });
});

describe("display", () => {
  it("shows durations and flags", () => {
    expect(formatDuration(-1)).toBe("permanent");
    expect(formatDuration(3660)).toBe("1h 1m");
    expect(formatDuration(86400 * 2 + 5)).toBe("2d 5s");
    expect(flag("de")).toBe("🇩🇪");
    expect(flag(null)).toBe("🏳");
  });

  it("builds rising map legend bands", () => {
    expect(bands(0)).toEqual([]);
    const b = bands(10_000);
    expect(b[0]).toBe(1);
    expect([...b].sort((x, y) => x - y)).toEqual(b);
  });
});

describe("time zones", () => {
  it("prefer this browser's pick, then the instance's zone, then the browser's", () => {
    setChosenZone(null);
    setInstanceZone(undefined);
    expect(chosenZone()).toBe(browserZone());
    setInstanceZone("Asia/Tokyo");
    expect(chosenZone()).toBe("Asia/Tokyo");
    setChosenZone("America/Chicago");
    expect(chosenZone()).toBe("America/Chicago");
    setChosenZone(null);
    expect(chosenZone()).toBe("Asia/Tokyo");
    setInstanceZone(undefined);
  });

  it("finds no flag emoji where nothing can draw them", () => {
    expect(flagEmojiSupported()).toBe(false);
  });
});

/** Relative luminance (WCAG) of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe("the map's colour scales", () => {
  it("go from the background towards contrast: darker on light, brighter on dark", () => {
    for (let i = 1; i < SCALE_LIGHT.length; i++) expect(luminance(SCALE_LIGHT[i])).toBeLessThan(luminance(SCALE_LIGHT[i - 1]));
    for (let i = 1; i < SCALE_DARK.length; i++) expect(luminance(SCALE_DARK[i])).toBeGreaterThan(luminance(SCALE_DARK[i - 1]));
  });
});
