// Quiet hours (issue 25, CONTRACT §8): the user's weekly e-mail schedule on /settings, and the
// organisation's calendar (weekly, public holidays, closed dates) for its managers and admins.
import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError } from "../lib/api";
import { dateTime } from "../lib/format";
import type { Calendar, EmailWindow, Weekly } from "../lib/types";
import { useAuth } from "../stores/auth";
import { ErrorText, Field } from "./ui";

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
type Day = (typeof DAYS)[number];
/** Every half hour of a day: starts 00:00–23:30, ends 00:30–24:00. */
const HALF_HOURS = Array.from({ length: 49 }, (_, i) => `${String(Math.floor(i / 2)).padStart(2, "0")}:${i % 2 ? "30" : "00"}`);
const STARTS = HALF_HOURS.slice(0, -1);
const ENDS = HALF_HOURS.slice(1);
const OFFICE_HOURS: Weekly = Object.fromEntries(DAYS.slice(0, 5).map((d) => [d, [["08:00", "18:00"]]]));

function message(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

/** Per weekday, its ranges [start, end) as two selects each; a day without ranges gets no mail. */
export function WeeklyEditor({ value, onChange, label }: { value: Weekly; onChange: (w: Weekly) => void; label: string }) {
  const { t } = useTranslation();
  const set = (day: Day, ranges: string[][]) => {
    const next: Weekly = { ...value, [day]: ranges };
    if (!ranges.length) delete next[day];
    onChange(next);
  };
  return (
    <div className="weekly" role="group" aria-label={label}>
      {DAYS.map((day) => {
        const ranges = value[day] ?? [];
        const dayName = t(`quiet.days.${day}`);
        return (
          <fieldset key={day} className="weekday" data-day={day}>
            <legend>{dayName}</legend>
            {!ranges.length && <span className="muted">{t("quiet.closed")}</span>}
            {ranges.map(([start, end], i) => (
              <div key={i} className="range">
                <label>
                  <span>{t("quiet.from")}</span>
                  <select aria-label={t("quiet.fromOf", { day: dayName, n: i + 1 })} value={start}
                    onChange={(e) => set(day, ranges.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))}>
                    {STARTS.map((h) => <option key={h} value={h}>{h}</option>)}
                  </select>
                </label>
                <label>
                  <span>{t("quiet.until")}</span>
                  <select aria-label={t("quiet.untilOf", { day: dayName, n: i + 1 })} value={end}
                    onChange={(e) => set(day, ranges.map((r, j) => (j === i ? [r[0], e.target.value] : r)))}>
                    {ENDS.map((h) => <option key={h} value={h}>{h}</option>)}
                  </select>
                </label>
                <button type="button" aria-label={t("quiet.removeOf", { day: dayName, n: i + 1 })}
                  onClick={() => set(day, ranges.filter((_, j) => j !== i))}>{t("quiet.remove")}</button>
              </div>
            ))}
            <button type="button" aria-label={t("quiet.addOf", { day: dayName })}
              onClick={() => set(day, [...ranges, ranges.length ? [ranges[ranges.length - 1][1] === "24:00" ? "00:00" : ranges[ranges.length - 1][1], "24:00"] : ["08:00", "18:00"]])}>
              {t("quiet.add")}
            </button>
          </fieldset>
        );
      })}
    </div>
  );
}

/** Always, or only in the weekly ranges; saved with one button; says when the fallback applies. */
export function EmailScheduleSection({ schedule, follow, onSaved }: {
  schedule: Weekly | null | undefined; follow: boolean | undefined; onSaved: (schedule: Weekly | null, follow: boolean) => void;
}) {
  const { t } = useTranslation();
  const [always, setAlways] = useState(schedule == null);
  const [weekly, setWeekly] = useState<Weekly>(schedule ?? OFFICE_HOURS);
  const [following, setFollowing] = useState(follow ?? true);
  const [window, setWindow] = useState<EmailWindow | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const name = useId();
  const refresh = () => api.emailWindow().then(setWindow, () => setWindow(null));
  useEffect(() => { void refresh(); }, []);

  const save = async (change: { email_schedule?: Weekly | null; follow_organisation_calendar?: boolean }, text: string) => {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      const result = await api.setPreferences(change as never);
      onSaved(result.email_schedule ?? null, result.follow_organisation_calendar ?? true);
      setStatus(text);
      await refresh();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="schedule-h">
      <h2 id="schedule-h">{t("quiet.title")}</h2>
      <p className="muted">{t("quiet.intro")}</p>
      {window?.fallback && <p className="note-box" data-testid="schedule-fallback">{t("quiet.fallback")}</p>}
      {window && !window.open_now && window.next_opening && (
        <p className="muted">{t("quiet.nextOpening", { time: dateTime(window.next_opening) })}</p>
      )}
      <div role="radiogroup" aria-label={t("quiet.when")} className="choice">
        <label><input type="radio" name={name} checked={always} onChange={() => setAlways(true)} /> {t("quiet.always")}</label>
        <label><input type="radio" name={name} checked={!always} onChange={() => setAlways(false)} /> {t("quiet.onlyAt")}</label>
      </div>
      {!always && <WeeklyEditor value={weekly} onChange={setWeekly} label={t("quiet.title")} />}
      <div className="actions">
        <button type="button" className="primary" disabled={busy}
          onClick={() => void save({ email_schedule: always ? null : weekly }, t("quiet.saved"))}>{t("quiet.save")}</button>
      </div>
      <label className="switch">
        <input type="checkbox" role="switch" checked={following} disabled={busy}
          onChange={(e) => { setFollowing(e.target.checked); void save({ follow_organisation_calendar: e.target.checked }, t("quiet.saved")); }} />
        <span className="switch-track" aria-hidden="true" />
        <span className="switch-label">{t("quiet.follow")}</span>
      </label>
      <ErrorText>{error}</ErrorText>
      <p role="status" className="ok-text">{status}</p>
    </section>
  );
}

/** The organisation's calendar: its managers and admins edit it; its other users read it. */
export function OrganisationCalendarSection() {
  const { t } = useTranslation();
  const user = useAuth((s) => s.user);
  const org = user?.factory_id != null ? { kind: "factories", id: user.factory_id } : user?.supplier_id != null ? { kind: "suppliers", id: user.supplier_id } : null;
  const [calendar, setCalendar] = useState<Calendar | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [newDate, setNewDate] = useState("");
  const [status, setStatus] = useState<string | null>(null);
  useEffect(() => {
    if (org) api.calendar(org.kind, org.id).then(setCalendar, (e) => setError(message(e)));
  }, [org?.kind, org?.id]);
  if (!org || !calendar) return error ? <ErrorText>{error}</ErrorText> : null;
  const canEdit = Boolean(user?.is_manager) || user?.role === "admin";
  const update = (change: Partial<Calendar>) => setCalendar({ ...calendar, ...change });
  const save = async () => {
    setError(null);
    setStatus(null);
    try {
      setCalendar(await api.setCalendar(org.kind, org.id, calendar));
      setStatus(t("quiet.calendarSaved"));
    } catch (e) {
      setError(message(e));
    }
  };
  return (
    <section className="card" aria-labelledby="calendar-h">
      <h2 id="calendar-h">{t("quiet.calendarTitle")}</h2>
      <p className="muted">{t(canEdit ? "quiet.calendarIntro" : "quiet.calendarReadOnly")}</p>
      <fieldset disabled={!canEdit} className="plain">
        <legend className="sr-only">{t("quiet.calendarTitle")}</legend>
        <div className="form-grid">
          <Field label={t("quiet.calendarZone")}>{(id) => (
            <input id={id} value={calendar.timezone} onChange={(e) => update({ timezone: e.target.value })} />)}</Field>
          <Field label={t("quiet.country")}>{(id) => (
            <input id={id} value={calendar.holidays?.country ?? ""} maxLength={3} placeholder="DE"
              onChange={(e) => update({ holidays: e.target.value ? { country: e.target.value.toUpperCase(), subdivision: calendar.holidays?.subdivision ?? null } : null })} />)}</Field>
          <Field label={t("quiet.subdivision")}>{(id) => (
            <input id={id} value={calendar.holidays?.subdivision ?? ""} maxLength={8} placeholder="BW" disabled={!calendar.holidays}
              onChange={(e) => calendar.holidays && update({ holidays: { ...calendar.holidays, subdivision: e.target.value.toUpperCase() || null } })} />)}</Field>
        </div>
        <label className="switch">
          <input type="checkbox" role="switch" checked={calendar.weekly == null}
            onChange={(e) => update({ weekly: e.target.checked ? null : OFFICE_HOURS })} />
          <span className="switch-track" aria-hidden="true" />
          <span className="switch-label">{t("quiet.openAllWeek")}</span>
        </label>
        {calendar.weekly != null && <WeeklyEditor value={calendar.weekly} onChange={(weekly) => update({ weekly })} label={t("quiet.shifts")} />}
        <h3>{t("quiet.closedDates")}</h3>
        <ul className="closed-dates">
          {calendar.closed_dates.map((d) => (
            <li key={d}>{d} <button type="button" aria-label={t("quiet.removeDate", { date: d })}
              onClick={() => update({ closed_dates: calendar.closed_dates.filter((x) => x !== d) })}>{t("quiet.remove")}</button></li>
          ))}
        </ul>
        <div className="range">
          <Field label={t("quiet.addDate")}>{(id) => <input id={id} type="date" value={newDate} onChange={(e) => setNewDate(e.target.value)} />}</Field>
          <button type="button" disabled={!newDate}
            onClick={() => { update({ closed_dates: [...new Set([...calendar.closed_dates, newDate])].sort() }); setNewDate(""); }}>{t("quiet.add")}</button>
        </div>
        {canEdit && <div className="actions"><button type="button" className="primary" onClick={() => void save()}>{t("quiet.saveCalendar")}</button></div>}
      </fieldset>
      <ErrorText>{error}</ErrorText>
      <p role="status" className="ok-text">{status}</p>
    </section>
  );
}
