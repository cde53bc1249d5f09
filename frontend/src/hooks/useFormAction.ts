import { type FormEvent, useState } from "react";

/**
 * A form's submit and its outcome: `submit(action)` is the onSubmit handler; it clears the last
 * outcome, marks the form busy, and shows the message `action` returns or the error it throws.
 */
export function useFormAction() {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = (action: () => Promise<string | null | void>) => async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      setMessage((await action()) ?? null);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, message, error, setError, submit };
}
