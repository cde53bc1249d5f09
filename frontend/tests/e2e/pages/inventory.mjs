// /inventory and /inventory/{part_id}, for suppliers and admins.
import { BASE, assert, bell, call, check, checkPage, openPanel, unread, waitUnread } from "../helpers.mjs";

export const lowStockOpensItem = check("a low-stock notification opens its inventory page", async ({ vp, tokens, parts, supplier }) => {
  const part = 5;
  const row = { low_stock_threshold: 15, unit_price: "11.20", lead_time_days: 2 };
  await call(tokens.supplier, "PUT", `/inventory/${part}`, { ...row, quantity: 90 }); // not low
  await supplier.goto(`${BASE}/orders`);
  await bell(supplier).waitFor();
  await supplier.waitForTimeout(300);
  const before = await unread(supplier);
  await call(tokens.supplier, "PUT", `/inventory/${part}`, { ...row, quantity: 4 }); // crosses below
  await waitUnread(supplier, before + 1);
  const dialog = await openPanel(supplier);
  await dialog.getByRole("button", { name: /^Low Stock Alert/ }).first().click();
  await supplier.waitForURL(`**/inventory/${part}`);
  await supplier.getByRole("heading", { level: 1, name: new RegExp(parts[part].name) }).waitFor();
  await supplier.locator('tr[data-low="true"]').first().waitFor();
  await checkPage(supplier, vp, "inventory-item-supplier");
  // The supplier changes its row from this page.
  await supplier.getByLabel("Quantity", { exact: true }).fill("90");
  await supplier.getByRole("button", { name: "Save" }).click();
  await supplier.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await supplier.locator('tr[data-low="false"]').first().waitFor();
});

export const inventoryLists = check("inventory lists: the supplier's own stock, the admin's all, low rows marked", async ({ vp, tokens, supplier, admin }) => {
  await call(tokens.supplier, "PUT", "/inventory/4", { quantity: 3, low_stock_threshold: 10, unit_price: "24.90", lead_time_days: 2 });
  await supplier.goto(`${BASE}/inventory`);
  const stock = supplier.getByRole("table", { name: "Stock" });
  await stock.locator('tr[data-low="true"]').first().waitFor();
  assert((await stock.getByRole("columnheader", { name: "Supplier" }).count()) === 0, "a supplier sees a supplier column");
  await checkPage(supplier, vp, "inventory-supplier");
  await admin.goto(`${BASE}/inventory`);
  await admin.getByRole("table", { name: "Stock" }).getByRole("columnheader", { name: "Supplier" }).waitFor();
  await checkPage(admin, vp, "inventory-admin");
  await admin.goto(`${BASE}/inventory/4`);
  const rows = admin.getByRole("table", { name: "Stock by supplier" }).locator("tbody tr");
  await rows.nth(1).waitFor();
  await checkPage(admin, vp, "inventory-item-admin");
  await call(tokens.supplier, "PUT", "/inventory/4", { quantity: 40, low_stock_threshold: 10, unit_price: "24.90", lead_time_days: 2 });
});
