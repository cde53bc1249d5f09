// /settings: the notification preferences.
import { ART, BASE, assert, call, check, checkPage } from "../helpers.mjs";

export const preferencesPersist = check("settings: a row per event type with In app and Email switches; choices persist", async ({ tokens, buyer }) => {
  await buyer.goto(`${BASE}/settings`);
  const table = buyer.getByRole("table", { name: "Notification preferences" });
  await table.waitFor({ timeout: 10000 });
  const row = table.locator('tr[data-event-type="ORDER_DISPATCHED"]');
  const email = row.getByRole("switch", { name: "Email" });
  const inApp = row.getByRole("switch", { name: "In app" });
  assert(await inApp.isEnabled(), "ORDER_DISPATCHED in-app switch is locked");
  const critical = table.locator('tr[data-event-type="MATCHING_FAILED"]').getByRole("switch", { name: "In app" });
  assert(await critical.isDisabled(), "MATCHING_FAILED in-app switch can be turned off");
  const was = await email.isChecked();
  await email.click();
  await buyer.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  const prefs = await call(tokens.buyer, "GET", "/preferences/");
  assert(prefs.event_types.ORDER_DISPATCHED.email === !was, "the Email switch did not persist");
  await buyer.reload();
  await table.locator('tr[data-event-type="ORDER_DISPATCHED"]').getByRole("switch", { name: "Email" }).waitFor();
  assert((await table.locator('tr[data-event-type="ORDER_DISPATCHED"]').getByRole("switch", { name: "Email" }).isChecked()) === !was,
    "the switch shows the old value after a reload");
  await call(tokens.buyer, "PUT", "/preferences/", { event_types: { ORDER_DISPATCHED: { email: was } } });
});

// The server's messages (common/i18n/catalogues) as each language begins them.
const SERVER_ENGLISH = /^(Supplier |Order #|Your order |Part |No supplier |Delivery of |Rheinstahl|Baltic)/;
const SERVER_GERMAN = /^(Der Lieferant |Bestellung #|Ihre Bestellung |Teil |Derzeit |Lieferung von )/;

export const languageSwitch = check("choosing Deutsch in /settings re-renders the app and the inbox in German; back to the browser's", async ({ vp, buyer }) => {
  await buyer.goto(`${BASE}/settings`);
  const language = buyer.getByLabel("Language", { exact: true });
  await language.waitFor({ timeout: 10000 });
  await language.selectOption("de");
  await buyer.getByRole("heading", { level: 1, name: "Einstellungen" }).waitFor();
  await buyer.getByRole("status").filter({ hasText: /gespeichert/i }).waitFor();
  await buyer.getByRole("link", { name: "Benachrichtigungen" }).first().click();
  await buyer.getByRole("button", { name: "Posteingang" }).waitFor();
  await buyer.locator("main li.note").first().waitFor();
  // The titles and messages are the server's, fetched again in the new language (issue 22).
  const messages = buyer.locator("main li.note .note-message");
  await messages.filter({ hasText: SERVER_GERMAN }).first().waitFor();
  const englishLeft = (await messages.allInnerTexts()).filter((m) => SERVER_ENGLISH.test(m));
  assert(englishLeft.length === 0, `the inbox kept English messages: ${englishLeft.join(" | ")}`);
  await checkPage(buyer, vp, "notifications-switched-de", { skipRules: ["label-content-name-mismatch"] });
  await buyer.getByRole("link", { name: "Einstellungen" }).first().click();
  await buyer.getByLabel("Sprache", { exact: true }).selectOption("");
  await buyer.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
  assert(await buyer.evaluate(() => document.documentElement.lang) === "en", "the page's lang did not follow");
  await buyer.getByRole("link", { name: "Notifications" }).first().click();
  await messages.filter({ hasText: SERVER_ENGLISH }).first().waitFor();
  const germanLeft = (await messages.allInnerTexts()).filter((m) => SERVER_GERMAN.test(m));
  assert(germanLeft.length === 0, `the inbox kept German messages: ${germanLeft.join(" | ")}`);
});

// Quiet hours (issue 25): the weekly e-mail schedule and the organisation's calendar, by keyboard.
export const emailSchedule = check("settings: the e-mail schedule is edited per weekday (keyboard), the fallback is said; a manager edits the calendar", async ({ vp, tokens, buyer }) => {
  const me = await call(tokens.buyer, "GET", "/auth/me");
  const calendarPath = `/factories/${me.factory_id}/calendar`;
  const calendarBefore = await call(tokens.buyer, "GET", calendarPath);
  // In English whatever an earlier check left (the names below are the English ones).
  await call(tokens.buyer, "PUT", "/preferences/", { email_schedule: null, follow_organisation_calendar: true, locale: "en" });
  try {
    await buyer.goto(`${BASE}/settings`);
    const section = buyer.getByRole("region", { name: "E-mail schedule" });
    await section.waitFor({ timeout: 10000 });
    await section.getByRole("radio", { name: "Only at these times" }).check();
    // Keyboard: Monday's first range ends half an hour earlier (18:00 -> 17:30), saved with Enter.
    const mondayUntil = section.getByLabel("Monday, range 1, until", { exact: true });
    await mondayUntil.focus();
    await buyer.keyboard.press("ArrowUp");
    assert(await mondayUntil.inputValue() === "17:30", `ArrowUp left Monday's end at ${await mondayUntil.inputValue()}`);
    await section.getByRole("button", { name: "Add a time range on Saturday" }).click();
    await section.getByLabel("Saturday, range 1, from", { exact: true }).selectOption("10:00");
    await section.getByLabel("Saturday, range 1, until", { exact: true }).selectOption("12:30");
    await section.getByRole("button", { name: "Save schedule" }).focus();
    await buyer.keyboard.press("Enter");
    await section.getByRole("status").filter({ hasText: "E-mail schedule saved." }).waitFor();
    const prefs = await call(tokens.buyer, "GET", "/preferences/");
    assert(JSON.stringify(prefs.email_schedule.mon) === '[["08:00","17:30"]]', `Monday: ${JSON.stringify(prefs.email_schedule.mon)}`);
    assert(JSON.stringify(prefs.email_schedule.sat) === '[["10:00","12:30"]]', `Saturday: ${JSON.stringify(prefs.email_schedule.sat)}`);
    assert(!("sun" in prefs.email_schedule), "Sunday got a range");
    // The plant works Sunday nights only: no common opening in 14 days, so /settings says the user's own applies.
    await call(tokens.buyer, "PUT", calendarPath, { ...calendarBefore, weekly: { sun: [["00:00", "04:00"]] } });
    await buyer.reload();
    await buyer.getByText("Your organisation's calendar has no opening in the next 14 days; your own schedule applies.").waitFor({ timeout: 10000 });
    // The manager adds a closed date in the calendar section and saves it.
    const calendar = buyer.getByRole("region", { name: "Organisation calendar" });
    await calendar.getByLabel("Add a closed date").fill("2026-12-24");
    await calendar.getByRole("button", { name: "Add", exact: true }).click();
    await calendar.getByRole("button", { name: "Save calendar" }).click();
    await calendar.getByRole("status").filter({ hasText: "Organisation calendar saved." }).waitFor();
    const stored = await call(tokens.buyer, "GET", calendarPath);
    assert(stored.closed_dates.includes("2026-12-24"), `closed dates: ${stored.closed_dates}`);
    await section.evaluate((el) => el.scrollIntoView({ block: "start" }));
    await checkPage(buyer, vp, "settings-email-schedule");
    await buyer.screenshot({ path: `${ART}${vp.name}-settings-email-schedule-full.png`, fullPage: true });
  } finally {
    await call(tokens.buyer, "PUT", calendarPath, calendarBefore);
    await call(tokens.buyer, "PUT", "/preferences/", { email_schedule: null, follow_organisation_calendar: true, locale: null });
  }
});
