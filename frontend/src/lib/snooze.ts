// Snooze times (issue 24): `1 hour`, `Tomorrow 8:00` in the user's zone, or a picked local time.

/** The offset of `zone` from UTC at `at`, in minutes (east positive). */
function zoneOffsetMinutes(at: Date, zone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(at).map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return Math.round((asUtc - at.getTime()) / 60000);
}

/** The instant when the wall clock in `zone` shows the given date and time. */
export function zonedInstant(year: number, month: number, day: number, hour: number, minute: number, zone: string): Date {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  let at = new Date(guess - zoneOffsetMinutes(new Date(guess), zone) * 60000);
  // Once more: the offset at the guess may differ from the offset at the answer (a DST change).
  at = new Date(guess - zoneOffsetMinutes(at, zone) * 60000);
  return at;
}

/** Tomorrow at 8:00 on the wall clock of `zone`. */
export function tomorrowAtEight(zone: string, now: Date = new Date()): Date {
  const today = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(now).map((p) => [p.type, p.value]),
  );
  const next = new Date(Date.UTC(+today.year, +today.month - 1, +today.day + 1));
  return zonedInstant(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 8, 0, zone);
}

export function inOneHour(now: Date = new Date()): Date {
  return new Date(now.getTime() + 3600_000);
}

/** A `datetime-local` value ("2026-12-24T09:30") read on the wall clock of `zone`; null when malformed. */
export function fromLocalInput(value: string, zone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  return m ? zonedInstant(+m[1], +m[2], +m[3], +m[4], +m[5], zone) : null;
}
