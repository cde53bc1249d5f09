// The web app's languages: one catalogue per locale (en.json, de.json; a new locale is one more
// file and one more entry in CATALOGUES). Before sign-in the browser's language decides; once
// signed in, the user's `locale` preference (null: the browser's again) and `timezone`.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import de from "./de.json";
import en from "./en.json";

export const CATALOGUES = { en, de } as const;
export type Locale = keyof typeof CATALOGUES;
export const LOCALES = Object.keys(CATALOGUES) as Locale[];

/** A locale and a zone chosen for this browser (tests, or a server that does not keep them yet). */
export const LOCALE_OVERRIDE_KEY = "partpulse.locale";
export const ZONE_OVERRIDE_KEY = "partpulse.timezone";

/** This browser's own choice (LOCALE_OVERRIDE_KEY, ZONE_OVERRIDE_KEY), or null. */
export function storedInBrowser(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Keeps (or, with null, forgets) this browser's own choice of locale or zone. */
export function storeInBrowser(key: typeof LOCALE_OVERRIDE_KEY | typeof ZONE_OVERRIDE_KEY, value: string | null): void {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    /* no storage: the choice lasts until the page reloads */
  }
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && value in CATALOGUES;
}

/** The first of the browser's languages that we have, else English. */
export function browserLocale(): Locale {
  const forced = storedInBrowser(LOCALE_OVERRIDE_KEY);
  if (isLocale(forced)) return forced;
  const wanted = typeof navigator === "undefined" ? [] : navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const tag of wanted) {
    const base = tag?.split("-")[0].toLowerCase();
    if (isLocale(base)) return base;
  }
  return "en";
}

/** The zone this browser runs in. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// The signed-in user's IANA zone; undefined: the browser's.
let userZone: string | undefined;

/** The zone every time is shown in (undefined: the browser's own). */
export function timeZone(): string | undefined {
  return userZone;
}

export function currentLocale(): Locale {
  return isLocale(i18n.language) ? i18n.language : "en";
}

/**
 * The user's language and zone from GET /api/preferences/ (absent or null: the browser's).
 * The zone is set first, so the re-render that the language change causes shows it too.
 */
export function applyUserSettings(locale: string | null | undefined, zone: string | null | undefined): void {
  const wanted = zone ?? storedInBrowser(ZONE_OVERRIDE_KEY);
  const before = userZone;
  userZone = wanted && isTimeZone(wanted) ? wanted : undefined;
  const language = isLocale(locale) ? locale : browserLocale();
  // The server writes times into titles and messages in the reader's zone: a new zone alone
  // (same language) also has the inbox fetched again (useNotificationFeed listens).
  if (userZone !== before && language === i18n.language) i18n.emit(ZONE_CHANGED, userZone);
  void i18n.changeLanguage(language);
}

/** Emitted on i18n when the user's zone changed while the language stayed. */
export const ZONE_CHANGED = "zoneChanged";

/** Signed out: the browser's language and zone again. */
export function resetUserSettings(): void {
  applyUserSettings(null, null);
}

i18n.on("languageChanged", (lng) => {
  if (typeof document !== "undefined") document.documentElement.lang = lng;
});

void i18n.use(initReactI18next).init({
  resources: Object.fromEntries(LOCALES.map((l) => [l, { translation: CATALOGUES[l] }])),
  lng: browserLocale(),
  fallbackLng: "en",
  supportedLngs: LOCALES,
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
  initAsync: false,
});

export default i18n;
