import { describe, expect, it } from "vitest";
import { fromLocalInput, tomorrowAtEight, zonedInstant } from "./snooze";

describe("snooze times", () => {
  it("finds 8:00 tomorrow on the wall clock of the zone, across a DST change", () => {
    // 2026-03-28 22:00 UTC is 23:00 in Berlin; tomorrow (29 March) Berlin moves to summer time.
    const now = new Date(Date.UTC(2026, 2, 28, 22, 0));
    expect(tomorrowAtEight("Europe/Berlin", now).toISOString()).toBe("2026-03-29T06:00:00.000Z");
    expect(tomorrowAtEight("America/New_York", now).toISOString()).toBe("2026-03-29T12:00:00.000Z");
    expect(tomorrowAtEight("UTC", now).toISOString()).toBe("2026-03-29T08:00:00.000Z");
  });
  it("reads a picked local time in the zone", () => {
    expect(fromLocalInput("2026-12-24T09:30", "Asia/Tokyo")?.toISOString()).toBe("2026-12-24T00:30:00.000Z");
    expect(fromLocalInput("nonsense", "UTC")).toBeNull();
    expect(zonedInstant(2026, 7, 1, 0, 0, "Australia/Sydney").toISOString()).toBe("2026-06-30T14:00:00.000Z");
  });
});
