import { eventKind } from "../lib/events";

/** The event type as a coloured badge (a distinct AA-contrast colour and an icon per type). */
export function EventBadge({ type }: { type: string }) {
  const kind = eventKind(type);
  const Icon = kind.icon;
  return (
    <span className="event-badge" style={{ background: kind.color }} data-event-type={type}>
      <Icon size={13} aria-hidden="true" />
      {type}
    </span>
  );
}
