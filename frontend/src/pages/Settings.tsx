import { useEffect, useState } from "react";
import { ErrorText, Loading, TableWrap } from "../components/ui";
import { api, ApiError } from "../lib/api";
import { CRITICAL_TYPES, EVENT_TYPES, eventKind } from "../lib/events";
import type { Preferences } from "../lib/types";

type Channel = "in_app" | "email";

export function SettingsPage() {
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
    setPrefs({ event_types: { ...prefs.event_types, [type]: { ...prefs.event_types[type], [channel]: value } } });
    try {
      const result = await api.setPreferences({ event_types: { [type]: { [channel]: value } } } as Preferences);
      setPrefs(result);
      setSaved(`${eventKind(type).label}: ${channel === "in_app" ? "in-app" : "e-mail"} ${value ? "on" : "off"}. Saved.`);
    } catch (e) {
      setPrefs(before);
      setError((e as Error).message);
    } finally {
      setSaving(null);
    }
  };

  const types = prefs ? EVENT_TYPES.filter((t) => t in prefs.event_types).concat(
    Object.keys(prefs.event_types).filter((t) => !EVENT_TYPES.includes(t)),
  ) : [];

  return (
    <main className="page">
      <h1>Settings</h1>
      <section className="card" aria-labelledby="prefs-h">
        <h2 id="prefs-h">Notification preferences</h2>
        <p className="muted">Choose how you hear about each kind of event: in the app (the bell, toasts) and by e-mail.</p>
        {unavailable && <ErrorText>Notification preferences are not available on this server yet.</ErrorText>}
        <ErrorText>{error}</ErrorText>
        {!prefs && !error && !unavailable && <Loading what="Loading preferences…" />}
        {prefs && (
          <TableWrap label="Notification preferences">
            <table className="data prefs" aria-label="Notification preferences">
              <thead><tr><th scope="col">Event</th><th scope="col">In app</th><th scope="col">Email</th></tr></thead>
              <tbody>
                {types.map((type) => {
                  const p = prefs.event_types[type];
                  const critical = CRITICAL_TYPES.has(type);
                  const Icon = eventKind(type).icon;
                  const noteId = `why-${type}`;
                  return (
                    <tr key={type} data-event-type={type}>
                      <th scope="row">
                        <span className="pref-name"><Icon size={16} aria-hidden="true" /> {eventKind(type).label}</span>
                        <code className="pref-code">{type}</code>
                        {critical && <span id={noteId} className="pref-note">Always shown in the app: it needs action.</span>}
                      </th>
                      <td>
                        <label className="switch">
                          <input type="checkbox" role="switch" checked={critical ? true : p.in_app}
                            disabled={critical || saving === `${type}.in_app`}
                            aria-describedby={critical ? noteId : undefined}
                            onChange={(e) => void toggle(type, "in_app", e.target.checked)} />
                          <span className="switch-track" aria-hidden="true" />
                          <span className="switch-label">In app</span>
                        </label>
                      </td>
                      <td>
                        <label className="switch">
                          <input type="checkbox" role="switch" checked={p.email}
                            disabled={saving === `${type}.email`}
                            onChange={(e) => void toggle(type, "email", e.target.checked)} />
                          <span className="switch-track" aria-hidden="true" />
                          <span className="switch-label">Email</span>
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
