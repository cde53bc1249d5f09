import { Zap } from "lucide-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { EventLog } from "../components/EventLog";
import { LiveActivityFeed } from "../components/LiveActivityFeed";
import { ErrorText, Field } from "../components/ui";
import { useFormAction } from "../hooks/useFormAction";
import { api } from "../lib/api";
import { defaultEntity, ENTITY_TYPES, entityLabel, EVENT_TYPES } from "../lib/events";

function FireEvent() {
  const [eventType, setEventType] = useState("ORDER_DISPATCHED");
  const [entityType, setEntityType] = useState("order");
  const [entityId, setEntityId] = useState(1);
  const { message, error, submit } = useFormAction();
  const { t } = useTranslation();
  const fire = submit(async () => {
    const { event_id } = await api.fireEvent(eventType, entityType, entityId);
    return t("admin.accepted", { id: event_id });
  });
  return (
    <form onSubmit={fire} aria-labelledby="fire-h" className="card form-grid fire">
      <h2 id="fire-h">{t("admin.fire")}</h2>
      <Field label={t("admin.eventType")}>{(id) => (
        <select id={id} value={eventType} onChange={(e) => { setEventType(e.target.value); setEntityType(defaultEntity(e.target.value)); }}>
          {EVENT_TYPES.map((x) => <option key={x}>{x}</option>)}
        </select>)}</Field>
      <Field label={t("admin.entityType")}>{(id) => (
        <select id={id} value={entityType} onChange={(e) => setEntityType(e.target.value)}>
          {ENTITY_TYPES.map((x) => <option key={x} value={x}>{entityLabel(x)}</option>)}
        </select>)}</Field>
      <label className="field"><span>{t("admin.entityId")}</span>
        <input type="number" min={1} value={entityId} onChange={(e) => setEntityId(Number(e.target.value))} required /></label>
      <div className="form-actions">
        <button type="submit" className="primary"><Zap size={16} aria-hidden="true" /> {t("admin.fireButton")}</button>
      </div>
      {message && <p role="status" className="ok-text">{message}</p>}
      <ErrorText>{error}</ErrorText>
    </form>
  );
}

export function AdminPage() {
  const { t } = useTranslation();
  return (
    <main className="page page-wide admin">
      <h1>{t("admin.title")}</h1>
      <div className="admin-grid">
        <div className="admin-side">
          <LiveActivityFeed />
          <FireEvent />
        </div>
        <EventLog />
      </div>
    </main>
  );
}
