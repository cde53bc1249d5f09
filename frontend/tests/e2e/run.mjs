// End-to-end browser tests in Debian's Chromium, driven by playwright-core, against the
// real stack started by tests/e2e_stack.py (BASE_URL). Every check runs at a laptop size
// (1280x720) and a phone size (390x844); every page is screenshotted at both sizes
// (test-artifacts/screenshots/) and checked with axe-core.
//
// The checks live in pages/*.mjs, one file per page or concern, on the helpers of
// helpers.mjs. They run in the order below, each window size in a session of its own:
// later checks build on what earlier ones did (the signed-in tabs, the order placed).
import { chromium } from "playwright-core";
import { apiLogin, call, results, test, timings, VIEWPORTS, watchConsole } from "./helpers.mjs";
import * as actions from "./pages/actions.mjs";
import * as admin from "./pages/admin.mjs";
import * as bell from "./pages/bell.mjs";
import * as everywhere from "./pages/everywhere.mjs";
import * as inbox from "./pages/inbox.mjs";
import * as inventory from "./pages/inventory.mjs";
import * as locale from "./pages/locale.mjs";
import * as login from "./pages/login.mjs";
import * as notifications from "./pages/notifications.mjs";
import * as order from "./pages/order.mjs";
import * as replay from "./pages/replay.mjs";
import * as session from "./pages/session.mjs";
import * as settings from "./pages/settings.mjs";

const CHECKS = [
  login.signInPage,
  login.signInLands,
  bell.orderLightsBells,
  admin.liveActivity,
  order.orderPage,
  order.cancelledOrder,
  bell.firedEventMovesBell,
  bell.panelInsideWindow,
  bell.readInOtherTab,
  bell.clickOpensOrder,
  notifications.inboxPage,
  bell.markAllRead,
  inventory.lowStockOpensItem,
  inventory.inventoryLists,
  admin.eventLogLive,
  admin.eventLogFilters,
  everywhere.otherPagesFit,
  notifications.archiveView,
  inbox.threadsToggle,
  inbox.threadOpenedAndRead,
  inbox.snoozeFromPanel,
  inbox.shortcuts,
  inbox.newBanner,
  settings.preferencesPersist,
  settings.languageSwitch,
  settings.emailSchedule,
  admin.replayFailed,
  replay.replayReadRow,
  replay.replayArchivedRow,
  actions.confirmFromPanel,
  actions.confirmFromToast,
  actions.restockInPlace,
  actions.tabsWithCounts,
  actions.criticalBell,
  session.tooManyWindows,
  session.revokedToken,
  locale.everyPageInGerman,
  everywhere.noConsoleErrors,
];

/** A browser context per person (a second buyer tab comes with signing in), all at `vp`. */
async function openPeople(browser, vp) {
  const options = { viewport: { width: vp.width, height: vp.height } };
  const buyerContext = await browser.newContext(options);
  const people = {
    buyerContext,
    guest: await (await browser.newContext(options)).newPage(),
    buyer: await buyerContext.newPage(),
    supplier: await (await browser.newContext(options)).newPage(),
    admin: await (await browser.newContext(options)).newPage(),
  };
  for (const who of ["guest", "buyer", "supplier", "admin"]) watchConsole(people[who], who);
  return people;
}

async function suite(browser, vp, tokens, parts) {
  const people = await openPeople(browser, vp);
  // Checks add `buyerTab2` (signing in), `orderId` (the first order placed) and `replayed` to it.
  const ctx = { vp, browser, tokens, parts, ...people, buyerTab2: undefined, orderId: undefined, replayed: undefined };
  // E2E_ONLY="text,text" runs only the checks whose names hold one of them (for working on a few;
  // `make test` runs all).
  const only = process.env.E2E_ONLY?.split(",").filter(Boolean);
  for (const { name, run } of CHECKS) {
    if (!only || only.some((part) => name.includes(part))) await test(`[${vp.name}] ${name}`, () => run(ctx));
  }
  for (const who of ["guest", "buyer", "supplier", "admin"]) await people[who].context().close();
}

// ---------------------------------------------------------------- main

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const tokens = {
    buyer: await apiLogin("buyer@demo.test"),
    supplier: await apiLogin("supplier@demo.test"),
    admin: await apiLogin("admin@demo.test"),
  };
  const parts = Object.fromEntries((await call(tokens.admin, "GET", "/parts/?limit=100")).items.map((p) => [p.id, p]));
  const only = process.env.E2E_VIEWPORT;
  for (const vp of VIEWPORTS) {
    if (only && only !== vp.name) continue;
    console.log(`--- ${vp.name} ${vp.width}x${vp.height}`);
    await suite(browser, vp, tokens, parts);
  }
} finally {
  await browser.close();
}

const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed;
for (const [what, ms] of timings) console.log(`badge moved ${ms} ms after the API call: ${what}`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
