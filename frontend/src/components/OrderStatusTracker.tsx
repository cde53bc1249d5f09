import { Check, CircleX } from "lucide-react";
import { useTranslation } from "react-i18next";
import type { OrderStatus } from "../lib/types";

/** The steps, in order; each labelled by tracker.steps.{status} in the catalogues. */
export const STEPS: { status: OrderStatus }[] = [
  { status: "PLACED" },
  { status: "MATCHED" },
  { status: "CONFIRMED" },
  { status: "DISPATCHED" },
  { status: "IN_TRANSIT" },
  { status: "DELIVERED" },
];

const RANK: Record<string, number> = Object.fromEntries(STEPS.map((s, i) => [s.status, i]));

/** Whether the order is finished: no later status can follow. */
export function isFinal(status: OrderStatus): boolean {
  return status === "DELIVERED" || status === "CANCELLED";
}

/**
 * The status to show after `incoming` arrives while `current` is shown. Statuses only move
 * forward (a late or repeated `order_status` never moves the tracker back); CANCELLED is final.
 */
export function nextStatus(current: OrderStatus | null, incoming: OrderStatus): OrderStatus {
  if (current === null) return incoming;
  if (isFinal(current)) return current;
  if (incoming === "CANCELLED") return incoming;
  return (RANK[incoming] ?? -1) > (RANK[current] ?? -1) ? incoming : current;
}

/** The furthest step reached: from the status, or from the history for a cancelled order. */
export function reachedIndex(status: OrderStatus, history: { status: OrderStatus }[] = []): number {
  const ranks = [status, ...history.map((h) => h.status)].map((s) => RANK[s] ?? -1);
  return Math.max(-1, ...ranks);
}

/**
 * The OrderStatusTracker: an `ol` labelled "Order status", one `li` per step; reached steps carry
 * data-reached="true", the current one aria-current="step". A cancelled order keeps the steps it
 * had reached lit and says it was cancelled.
 */
export function OrderStatusTracker({ status, history = [] }: { status: OrderStatus; history?: { status: OrderStatus; at: string }[] }) {
  const { t } = useTranslation();
  const cancelled = status === "CANCELLED";
  const reached = reachedIndex(status, history);
  const current = cancelled ? -1 : reached;
  return (
    <div className="tracker">
      {cancelled && (
        <p className="cancelled" role="status">
          <CircleX size={18} aria-hidden="true" />{" "}
          {reached >= 0 ? t("tracker.cancelledAfter", { step: t(`tracker.after.${STEPS[reached].status}`) }) : t("tracker.cancelled")}
        </p>
      )}
      {/* The list's name is CONTRACT §7's in every locale. */}
      <ol aria-label="Order status" className={cancelled ? "steps steps-cancelled" : "steps"}>
        {STEPS.map((step, index) => {
          const isReached = index <= reached;
          return (
            <li
              key={step.status}
              data-reached={isReached ? "true" : "false"}
              aria-current={index === current ? "step" : undefined}
              className={isReached ? "step reached" : "step"}
            >
              <span className="step-mark" aria-hidden="true">{isReached ? <Check size={14} /> : index + 1}</span>
              <span className="step-label">{t(`tracker.steps.${step.status}`)}</span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}

/** Kept for the old name: the steps alone. */
export const StatusSteps = OrderStatusTracker;
