import { useEffect, useState } from "react";
import { useSocket } from "../hooks/useSocket";
import { api } from "../lib/api";
import type { Order, OrderStatus } from "../lib/types";

export const STEPS: { status: OrderStatus; label: string }[] = [
  { status: "PLACED", label: "Placed" },
  { status: "MATCHED", label: "Matched" },
  { status: "CONFIRMED", label: "Confirmed" },
  { status: "DISPATCHED", label: "Dispatched" },
  { status: "IN_TRANSIT", label: "In transit" },
  { status: "DELIVERED", label: "Delivered" },
];

export function StatusSteps({ status }: { status: OrderStatus }) {
  const current = STEPS.findIndex((s) => s.status === status);
  return (
    <div className="tracker">
      {status === "CANCELLED" && <p className="cancelled" role="status">This order was cancelled.</p>}
      <ol aria-label="Order status" className="steps">
        {STEPS.map((step, index) => {
          const reached = current >= index;
          return (
            <li
              key={step.status}
              data-reached={reached ? "true" : "false"}
              aria-current={index === current ? "step" : undefined}
              className={reached ? "step reached" : "step"}
            >
              {step.label}
            </li>
          );
        })}
      </ol>
    </div>
  );
}

/** Loads an order and follows its status live. */
export function OrderStatusTracker({ order_id, onChange }: { order_id: number; onChange?: (s: OrderStatus) => void }) {
  const socket = useSocket();
  const [status, setStatus] = useState<OrderStatus | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    api.order(order_id).then(
      (o: Order) => alive && setStatus(o.status),
      (e: Error) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [order_id]);

  useEffect(() => {
    if (!socket) return;
    const onStatus = (p: { order_id: number; status: OrderStatus }) => {
      if (p.order_id !== order_id) return;
      setStatus(p.status);
      onChange?.(p.status);
    };
    socket.on("order_status", onStatus);
    return () => {
      socket.off("order_status", onStatus);
    };
  }, [socket, order_id, onChange]);

  if (error) return <p role="alert">{error}</p>;
  if (!status) return <p className="muted">Loading status…</p>;
  return <StatusSteps status={status} />;
}
