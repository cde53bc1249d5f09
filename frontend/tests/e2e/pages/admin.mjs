// /admin: the live activity feed and the event log (live states, filters, Replay).
import { ART, BASE, assert, call, check, checkPage, eventRow, sql, waitRowState } from "../helpers.mjs";

export const liveActivity = check("the admin's live activity shows each event with a coloured badge", async ({ admin }) => {
  const feed = admin.getByRole("region", { name: "Live activity" });
  await feed.locator('[data-event-type="ORDER_PLACED"]').first().waitFor();
  await feed.locator('[data-event-type="SUPPLIER_MATCHED"]').first().waitFor();
});

export const eventLogLive = check("the event log changes state live, without a reload", async ({ vp, tokens, admin, orderId }) => {
  await admin.goto(`${BASE}/admin`);
  await admin.getByRole("table", { name: "Event log" }).waitFor();
  const { event_id: id } = await call(tokens.admin, "POST", "/events/", { event_type: "ETA_UPDATED", entity_type: "order", entity_id: orderId });
  await waitRowState(admin, id, "PROCESSED"); // the new row arrives live and processed
  // The event fails (as a handler that gave up would leave it)...
  sql(`UPDATE event_logs SET state = 'FAILED', error = 'e2e: simulated failure' WHERE id = ${id}`);
  await admin.reload();
  await waitRowState(admin, id, "FAILED");
  await eventRow(admin, id).getByText("e2e: simulated failure").waitFor();
  await eventRow(admin, id).getByRole("button", { name: "Replay" }).waitFor();
  await eventRow(admin, id).scrollIntoViewIfNeeded();
  await admin.screenshot({ path: `${ART}${vp.name}-admin-failed-row.png` });
  await admin.evaluate(() => { window.__samePage = true; });
  // ...and is handed over again (what the relay does with a PENDING row): the row follows live.
  sql(`UPDATE event_logs SET state = 'PENDING' WHERE id = ${id}`);
  await waitRowState(admin, id, "PROCESSED");
  assert(await admin.evaluate(() => window.__samePage === true), "the page was reloaded");
  await checkPage(admin, vp, "admin");
});

export const eventLogFilters = check("the event log filters by type, entity, state and date range", async ({ admin }) => {
  const table = admin.getByRole("table", { name: "Event log" });
  await admin.getByLabel("Type", { exact: true }).selectOption("SUPPLIER_MATCHED");
  // Only that type once the filtered page has arrived.
  await admin.waitForFunction(() => {
    const types = [...document.querySelectorAll('table[aria-label="Event log"] tbody [data-event-type]')].map((e) => e.getAttribute("data-event-type"));
    return types.length > 0 && types.every((x) => x === "SUPPLIER_MATCHED");
  }, null, { timeout: 10000 });
  await admin.getByLabel("Entity", { exact: true }).selectOption("inventory");
  await admin.getByText("No events match these filters.").waitFor();
  await admin.getByLabel("Entity", { exact: true }).selectOption("order");
  await admin.getByLabel("State", { exact: true }).selectOption("PROCESSED");
  await table.locator("tbody tr").first().waitFor();
  await admin.getByLabel("From", { exact: true }).fill("2099-01-01T00:00");
  await admin.getByText("No events match these filters.").waitFor();
  await admin.getByRole("button", { name: "Clear filters" }).click();
  await table.locator("tbody tr").nth(1).waitFor();
});

export const replayFailed = check("a failed event's Replay button handles it again, live", async ({ tokens, admin, orderId }) => {
  await admin.goto(`${BASE}/admin`);
  const { event_id: id } = await call(tokens.admin, "POST", "/events/", { event_type: "ETA_UPDATED", entity_type: "order", entity_id: orderId });
  await waitRowState(admin, id, "PROCESSED");
  sql(`UPDATE event_logs SET state = 'FAILED', error = 'e2e: simulated failure' WHERE id = ${id}`);
  await admin.reload();
  await waitRowState(admin, id, "FAILED");
  await eventRow(admin, id).getByRole("button", { name: "Replay" }).click();
  await waitRowState(admin, id, "PROCESSED");
  // A replay starts the attempt count over (CONTRACT §8): this handling is attempt 1, and
  // the old error is gone from the row.
  await admin.waitForFunction(
    (eid) => {
      const row = document.querySelector(`tr[data-event-id="${eid}"]`);
      return row?.querySelector("td.num")?.textContent === "1" && !row.textContent.includes("simulated failure");
    },
    id, { timeout: 10000 },
  );
});
