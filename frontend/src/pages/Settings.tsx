import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { EmailScheduleSection, OrganisationCalendarSection } from "../components/QuietHours";
import { ErrorText, Field, Loading, TableWrap } from "../components/ui";
import i18n, {
  applyUserSettings, browserLocale, browserTimeZone, LOCALE_OVERRIDE_KEY, LOCALES, storedInBrowser, storeInBrowser, timeZone,
  ZONE_OVERRIDE_KEY,
} from "../i18n";
import { api, ApiError } from "../lib/api";
import { CRITICAL_TYPES, EVENT_TYPES, eventKind, eventLabel } from "../lib/events";
import type { Preferences } from "../lib/types";

type Channel = "in_app" | "email";

/** Every IANA zone this browser knows (the user's own first, if it is not among them). */
function zones(): string[] {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return known.length ? known : [browserTimeZone()];
}

/** Language and time zone (CONTRACT §8: `locale`, `timezone`); empty means "as the browser". */
function LanguageAndZone({ prefs, onSaved }: { prefs: Preferences; onSaved: (p: Preferences, message: string) => void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  // `message` is read once the choice is applied, so it is in the language just chosen.
  const save = async (change: Pick<Preferences, "locale" | "timezone">, message: () => string) => {
    setError(null);
    try {
      const result = await api.setPreferences(change as Preferences);
      // A server that does not keep these yet answers without them: the choice holds until a reload.
      applyUserSettings(result.locale !== undefined ? result.locale : change.locale ?? prefs.locale,
        result.timezone !== undefined ? result.timezone : change.timezone ?? prefs.timezone);
      onSaved({ ...prefs, ...change, ...result }, message());
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 422)) {
        setError((e as Error).message);
        return;
      }
      // A server that does not know these fields yet refuses them: keep the choice in this browser.
      if ("locale" in change) storeInBrowser(LOCALE_OVERRIDE_KEY, change.locale ?? null);
      if ("timezone" in change) storeInBrowser(ZONE_OVERRIDE_KEY, change.timezone ?? null);
      applyUserSettings(prefs.locale, prefs.timezone);
      onSaved({ ...prefs, ...change }, i18n.t("settings.keptInBrowser"));
    }
  };
  const locale = prefs.locale ?? storedInBrowser(LOCALE_OVERRIDE_KEY) ?? "";
  const zone = prefs.timezone ?? storedInBrowser(ZONE_OVERRIDE_KEY) ?? "";
  return (
    <section className="card" aria-labelledby="display-h">
      <h2 id="display-h">{t("settings.display")}</h2>
      <p className="muted">{t("settings.languageIntro")}</p>
      <div className="form-grid">
        <Field label={t("settings.language")}>{(id) => (
          <select id={id} value={locale} onChange={(e) => {
            const value = e.target.value || null;
            void save({ locale: value }, () => i18n.t("settings.languageSaved", { language: i18n.t(`languages.${value ?? browserLocale()}`) }));
          }}>
            <option value="">{t("settings.languageAuto", { language: t(`languages.${browserLocale()}`) })}</option>
            {LOCALES.map((l) => <option key={l} value={l} lang={l}>{t(`languages.${l}`)}</option>)}
          </select>)}</Field>
        <Field label={t("settings.timeZone")}>{(id) => (
          <select id={id} value={zone} onChange={(e) => {
            const value = e.target.value || null;
            void save({ timezone: value }, () => i18n.t("settings.timeZoneSaved", { zone: timeZone() ?? browserTimeZone() }));
          }}>
            <option value="">{t("settings.timeZoneAuto")}</option>
            {zones().map((z) => <option key={z} value={z}>{z}</option>)}
          </select>)}</Field>
      </div>
      <ErrorText>{error}</ErrorText>
    </section>
  );
}

export function SettingsPage() {
  const { t } = useTranslation();
  const [prefs, setPrefs] = useState<Preferences | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  const [saving, setSaving] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    api.preferences().then(setPrefs, (e: ApiError) => {
      if (e.status === 404 || e.status === 405) setUnavailable(true);
      else setError(e.message);
    });
  }, []);

  const toggle = async (type: string, channel: Channel, value: boolean) => {
    if (!prefs) return;
    const before = prefs;
    setSaving(`${type}.${channel}`);
    setSaved(null);
    setError(null);
    setPrefs({ ...prefs, event_types: { ...prefs.event_types, [type]: { ...prefs.event_types[type], [channel]: value } } });
    try {
      const result = await api.setPreferences({ event_types: { [type]: { [channel]: value } } } as Preferences);
      setPrefs(result);
      setSaved(t("settings.savedSwitch", {
        event: eventLabel(type),
        channel: t(channel === "in_app" ? "settings.channelInApp" : "settings.channelEmail"),
        state: t(value ? "settings.on" : "settings.off"),
      }));
    } catch (e) {
      setPrefs(before);
      setError((e as Error).message);
    } finally {
      setSaving(null);
    }
  };

  const types = prefs ? EVENT_TYPES.filter((type) => type in prefs.event_types).concat(
    Object.keys(prefs.event_types).filter((type) => !EVENT_TYPES.includes(type)),
  ) : [];

  return (
    <main className="page">
      <h1>{t("settings.title")}</h1>
      {prefs && <LanguageAndZone prefs={prefs} onSaved={(p, message) => { setPrefs(p); setSaved(message); }} />}
      {prefs && (
        <EmailScheduleSection schedule={prefs.email_schedule} follow={prefs.follow_organisation_calendar}
          onSaved={(email_schedule, follow_organisation_calendar) => setPrefs({ ...prefs, email_schedule, follow_organisation_calendar })} />
      )}
      {prefs && <OrganisationCalendarSection />}
      <section className="card" aria-labelledby="prefs-h">
        <h2 id="prefs-h">{t("settings.prefs")}</h2>
        <p className="muted">{t("settings.prefsIntro")}</p>
        {unavailable && <ErrorText>{t("settings.unavailable")}</ErrorText>}
        <ErrorText>{error}</ErrorText>
        {!prefs && !error && !unavailable && <Loading what={t("settings.loading")} />}
        {prefs && (
          <TableWrap label={t("settings.prefs")}>
            <table className="data prefs" aria-label={t("settings.prefs")}>
              <thead><tr><th scope="col">{t("settings.event")}</th><th scope="col">{t("settings.inApp")}</th><th scope="col">{t("settings.email")}</th></tr></thead>
              <tbody>
                {types.map((type) => {
                  const p = prefs.event_types[type];
                  const critical = CRITICAL_TYPES.has(type);
                  const Icon = eventKind(type).icon;
                  const noteId = `why-${type}`;
                  return (
                    <tr key={type} data-event-type={type}>
                      <th scope="row">
                        <span className="pref-name"><Icon size={16} aria-hidden="true" /> {eventLabel(type)}</span>
                        <code className="pref-code">{type}</code>
                        {critical && <span id={noteId} className="pref-note">{t("settings.alwaysShown")}</span>}
                      </th>
                      {/* The switches are named "In app" and "Email" in every locale (CONTRACT §7). */}
                      <td>
                        <label className="switch">
                          <input type="checkbox" role="switch" aria-label="In app" checked={critical ? true : p.in_app}
                            disabled={critical || saving === `${type}.in_app`}
                            aria-describedby={critical ? noteId : undefined}
                            onChange={(e) => void toggle(type, "in_app", e.target.checked)} />
                          <span className="switch-track" aria-hidden="true" />
                          <span className="switch-label">{t("settings.inApp")}</span>
                        </label>
                      </td>
                      <td>
                        <label className="switch">
                          <input type="checkbox" role="switch" aria-label="Email" checked={p.email}
                            disabled={saving === `${type}.email`}
                            onChange={(e) => void toggle(type, "email", e.target.checked)} />
                          <span className="switch-track" aria-hidden="true" />
                          <span className="switch-label">{t("settings.email")}</span>
                        </label>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        )}
        <p role="status" className="ok-text">{saved}</p>
      </section>
    </main>
  );
}
