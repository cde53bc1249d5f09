import { useState } from "react";
import { useNavigate } from "react-router-dom";
import { ErrorText } from "../components/ui";
import { useFormAction } from "../hooks/useFormAction";
import { api } from "../lib/api";
import { useTranslation } from "react-i18next";
import { useAuth } from "../stores/auth";

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, submit } = useFormAction();
  const signIn = useAuth((s) => s.signIn);
  const ended = useAuth((s) => s.ended);
  const navigate = useNavigate();
  const { t } = useTranslation();

  const signInWith = submit(async () => {
    const { access_token, user } = await api.login(email, password);
    signIn(access_token, user);
    navigate(user.role === "admin" ? "/admin" : "/orders", { replace: true });
  });

  return (
    <main className="login">
      <div className="card login-card">
        <h1>PartPulse</h1>
        <p className="muted">{t("login.tagline")}</p>
        {ended && <p className="notice session-ended" role="alert">{t(`login.ended.${ended}`)}</p>}
        <form onSubmit={signInWith} className="stack">
          <label className="field">
            <span>{t("login.email")}</span>
            {/* The accessible names of CONTRACT §7 stay English in every locale. */}
            <input aria-label="Email" type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
          </label>
          <label className="field">
            <span>{t("login.password")}</span>
            <input aria-label="Password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
          </label>
          <ErrorText>{error}</ErrorText>
          <button type="submit" className="primary" disabled={busy} aria-label="Sign in">{busy ? t("login.signingIn") : t("login.signIn")}</button>
        </form>
      </div>
    </main>
  );
}
