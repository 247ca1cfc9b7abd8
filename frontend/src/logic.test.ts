import { describe, expect, it } from "vitest";
import { queryString } from "./api/client";
import { safeNext } from "./pages/Login";
import { strength } from "./pages/Setup";
import { bands } from "./pages/WorldMap";
import { browserZone, chosenZone, flag, flagEmojiSupported, formatDuration, setChosenZone, setInstanceZone } from "./time";

describe("the client", () => {
  it("leaves empty query values out and encodes the rest", () => {
    expect(queryString({ range: "24h", jail: undefined, ip: "2001:db8::/32", page: 2, origin: "" })).toBe(
      "?range=24h&ip=2001%3Adb8%3A%3A%2F32&page=2",
    );
    expect(queryString({})).toBe("");
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

  it("rates password strength", () => {
    expect(strength("")).toBe(0);
    expect(strength("short")).toBe(0);
    expect(strength("correct horse battery staple")).toBeGreaterThanOrEqual(3);
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
