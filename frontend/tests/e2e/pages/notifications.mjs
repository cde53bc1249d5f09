// The /notifications page: the inbox and the archived view.
import { BASE, check, checkPage } from "../helpers.mjs";

export const inboxPage = check("the notifications page lists the inbox", async ({ vp, buyer }) => {
  await buyer.goto(`${BASE}/notifications`);
  await buyer.locator("main li.note").first().waitFor();
  await checkPage(buyer, vp, "notifications");
});

export const archiveView = check("archive moves an entry to the archived view; unarchive brings it back", async ({ vp, buyer }) => {
  await buyer.goto(`${BASE}/notifications`);
  const first = buyer.locator("main li.note").first();
  await first.waitFor();
  const id = await first.getAttribute("data-notification-id");
  const title = await first.locator(".note-title").innerText();
  await first.getByRole("button", { name: `Archive: ${title}` }).click();
  await buyer.locator(`main li[data-notification-id="${id}"]`).waitFor({ state: "detached" });
  await buyer.getByRole("button", { name: "Archived" }).click();
  await buyer.locator(`main li[data-notification-id="${id}"]`).waitFor();
  await checkPage(buyer, vp, "notifications-archived");
  await buyer.locator(`main li[data-notification-id="${id}"]`).getByRole("button", { name: /^Unarchive/ }).click();
  await buyer.locator(`main li[data-notification-id="${id}"]`).waitFor({ state: "detached" });
  await buyer.getByRole("button", { name: "Inbox" }).click();
  await buyer.locator(`main li[data-notification-id="${id}"]`).waitFor();
});
