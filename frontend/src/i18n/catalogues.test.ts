/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { CATALOGUES, type Locale, LOCALES } from ".";
import same from "./same-in-every-locale.json";

type Tree = { [key: string]: string | Tree };

/** "a.b.c" → text, for every leaf. */
function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") out.set(path, value);
    else flatten(value, path).forEach((v, k) => out.set(k, v));
  }
  return out;
}
const flat = Object.fromEntries(LOCALES.map((l) => [l, flatten(CATALOGUES[l] as Tree)])) as Record<Locale, Map<string, string>>;
const placeholders = (text: string) => [...text.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();
/** Without plural suffixes: t("x", { count }) finds x_one, x_other. */
const base = (key: string) => key.replace(/_(zero|one|two|few|many|other)$/, "");

// The app's own sources (tests aside), as text.
const SOURCES = import.meta.glob(["../**/*.{ts,tsx}", "!../**/*.test.{ts,tsx}"], { query: "?raw", import: "default", eager: true }) as Record<string, string>;

describe("the catalogues", () => {
  it("every locale has exactly the keys of en", () => {
    const en = [...flat.en.keys()].sort();
    for (const locale of LOCALES) expect([...flat[locale].keys()].sort(), locale).toEqual(en);
  });

  it("every text is non-empty and keeps the placeholders of en", () => {
    for (const locale of LOCALES) {
      for (const [key, text] of flat[locale]) {
        expect(text.trim(), `${locale}:${key}`).not.toBe("");
        expect(placeholders(text), `${locale}:${key}`).toEqual(placeholders(flat.en.get(key)!));
      }
    }
  });

  it("a text is the same as in en only when it is on the list of words alike in every locale, or only placeholders", () => {
    for (const locale of LOCALES.filter((l) => l !== "en")) {
      for (const [key, text] of flat[locale]) {
        if (text !== flat.en.get(key)) continue;
        const onlyPlaceholders = text.replace(/\{\{\s*\w+\s*\}\}/g, "").replace(/[\s#×–:.,()]/g, "") === "";
        expect(onlyPlaceholders || same.words.includes(text), `${locale}:${key} "${text}" is not translated`).toBe(true);
      }
    }
  });

  it("every key the code names is in the catalogues", () => {
    const keys = new Set([...flat.en.keys()].map(base));
    const prefixes = new Set([...flat.en.keys()].flatMap((k) => k.split(".").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("."))));
    const groups = new Set([...flat.en.keys()].map((k) => k.split(".")[0]));
    const missing: string[] = [];
    expect(Object.keys(SOURCES).length).toBeGreaterThan(20);
    for (const [file, text] of Object.entries(SOURCES)) {
      // t("a.b") and i18n.t("a.b"); t(`a.${x}`) must name an existing group.
      for (const m of text.matchAll(/\bt\(\s*"([\w.]+)"/g)) if (!keys.has(m[1])) missing.push(`${file}: ${m[1]}`);
      for (const m of text.matchAll(/\bt\(\s*`([\w.]+)\.\$\{/g)) if (!prefixes.has(m[1])) missing.push(`${file}: ${m[1]}.*`);
      // Any other "group.key" literal naming a catalogue group (labels kept in tables of data).
      for (const m of text.matchAll(/"([a-z]+)\.([\w.]+)"/g)) {
        if (groups.has(m[1]) && !keys.has(`${m[1]}.${m[2]}`)) missing.push(`${file}: ${m[1]}.${m[2]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
