import { WifiOff } from "lucide-react";
import { useTranslation } from "react-i18next";
import { useLiveStatus } from "../hooks/useSocket";

/**
 * Says when live updates are paused. The region is always there (a status region that appears
 * with its text is not announced); it sits in the page's flow, under the top bar, never over it.
 */
export function LiveStatus() {
  const paused = useLiveStatus((s) => s.paused);
  const { t } = useTranslation();
  return (
    // The words of CONTRACT §8 stay in the region's name in every locale.
    <div className="live-status" role="status" aria-label={paused ? "Live updates paused: too many open windows" : undefined}>
      {paused === "too_many" && (
        <p className="notice live-paused">
          <WifiOff size={16} aria-hidden="true" />
          <span>
            <strong>{t("live.paused")}</strong>{" "}
            <span>{t("live.pausedHint")}</span>
          </span>
        </p>
      )}
    </div>
  );
}
