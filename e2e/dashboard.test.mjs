// Browser test of the dashboard, started by crates/dynopilot-server/tests/it/web_browser.rs,
// which runs the simulator and the daemon and passes their addresses in the environment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

const url = process.env.DASHBOARD_URL;
const shots = process.env.SCREENSHOT_DIR || "screenshots";
let browser;
let context;
let page;
// Charts say which time zone their axis is in; the test pins one that is not UTC.
const TZ = "Europe/Paris";
const cspViolations = [];
const pageErrors = [];

before(async () => {
  assert.ok(url, "DASHBOARD_URL is set by the Rust test");
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  context = await browser.newContext({ viewport: { width: 1400, height: 1100 }, timezoneId: TZ });
  page = await context.newPage();
  if (process.env.E2E_CONSOLE) page.on("console", (m) => console.log("console:", m.text()));
  // The server's Content-Security-Policy allows no inline script: anything it blocks shows here.
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
});

after(async () => {
  await browser?.close();
});

const shot = (name, p = page) => p.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });

// axe-core on the page as it is now: no serious or critical violations.
async function accessible(name, p = page) {
  const result = await new AxeBuilder({ page: p }).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const words = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(words, [], `axe on ${name}`);
}

const loads = () => page.getAttribute("#charts", "data-loads").then(Number);

// Router H12 lines through the drain, framed as Logplex does.
async function postH12(count) {
  const now = new Date().toISOString().replace("Z", "+00:00");
  const frames = [];
  for (let i = 0; i < count; i++) {
    const line = `<158>1 ${now} host heroku router - at=error code=H12 desc="Request timeout" method=GET path=/ host=shop.herokuapp.com request_id=e2e${Date.now()}${i} fwd=1.2.3.4 dyno=web.1 connect=1ms service=30001ms status=503 bytes=0 protocol=https`;
    frames.push(`${Buffer.byteLength(line)} ${line}`);
  }
  const r = await fetch(process.env.DRAIN_URL, {
    method: "POST",
    headers: {
      "content-type": "application/logplex-1",
      "logplex-msg-count": String(count),
      "logplex-frame-id": "e2e-" + Date.now(),
    },
    body: frames.join(""),
  });
  assert.ok(r.status < 300, "drain answered " + r.status);
}

test("login is required on a non-loopback bind", async () => {
  const response = await page.goto(url + "/apps/shop");
  assert.ok(response.ok());
  assert.match(page.url(), /\/login\?next=\/apps\/shop$/);
  const api = await page.request.get(url + "/api/v1/apps");
  assert.equal(api.status(), 401);
  await page.fill("input[name=username]", "ops");
  await page.fill("input[name=password]", "wrong");
  await page.click("button[type=submit]");
  await page.waitForSelector("p.error");
  await shot("01-login-refused");
  await accessible("the login page");
  await page.fill("input[name=username]", process.env.DASHBOARD_USER);
  await page.fill("input[name=password]", process.env.DASHBOARD_PASSWORD);
  await Promise.all([page.waitForURL(/\/apps\/shop/), page.click("button[type=submit]")]);
});

test("the fleet page lists the app with its formation and cost", async () => {
  await page.goto(url + "/");
  const row = page.locator("tr.app-row[data-app=shop]");
  await row.waitFor();
  const cells = await row.innerText();
  assert.match(cells, /shop/);
  assert.match(cells, /web \d×/);
  assert.match(cells, /\$\d+\.\d\d/);
  await shot("02-fleet");
  await accessible("the fleet page");
});

test("the app page draws charts with data, targets and decisions as markers", async () => {
  await page.goto(url + "/apps/shop");
  await page.waitForSelector("#charts[data-loaded=true]");
  const memoryPoints = await page.getAttribute(".chart[data-chart=memory]", "data-points");
  assert.ok(Number(memoryPoints) > 0, "memory chart has points: " + memoryPoints);
  const requestPoints = await page.getAttribute(".chart[data-chart=requests]", "data-points");
  assert.ok(Number(requestPoints) > 0, "request chart has points: " + requestPoints);
  assert.ok(await page.locator(".chart canvas").count() >= 4);
  // Thresholds and targets are lines, named in the legend.
  assert.equal(await page.getAttribute(".chart[data-chart=memory]", "data-targets"), "quota,R15 kill");
  const memoryLegend = await page.innerText(".chart[data-chart=memory] .u-legend");
  assert.match(memoryLegend, /quota/);
  assert.match(memoryLegend, /R15 kill/);
  assert.equal(await page.getAttribute(".chart[data-chart=queue]", "data-targets"), "worker target");
  assert.ok(await page.locator(".chart[data-chart=queue] canvas").count() === 1, "the target is drawn without data");
  assert.equal(await page.getAttribute(".chart[data-chart=load]", "data-targets"), "web target");
  // Time axes are in the browser's time zone and say which.
  assert.match(await page.innerText(".chart[data-chart=memory]"), new RegExp("time \\(" + TZ + "\\)"));
  const rule = page.locator(".chart[data-chart=memory] .marker[title*='rule timeouts']").last();
  await rule.waitFor();
  assert.match(await rule.getAttribute("title"), /rule timeouts: \d+ × H12 on web/);
  await rule.dispatchEvent("click");
  assert.match(await page.innerText("#marker-detail"), /H12/);
  assert.match(await page.innerText("#marker-detail"), /UTC/);
  await shot("03-app");
  await accessible("the app page");
});

test("200 decisions become a few numbered markers that leave the legend visible", async () => {
  await page.goto(url + "/apps/shop");
  await page.waitForSelector("#charts[data-loaded=true]");
  const chart = page.locator(".chart[data-chart=memory]");
  const markers = chart.locator(".marker");
  const count = await markers.count();
  const counts = await markers.evaluateAll((ms) => ms.map((m) => Number(m.dataset.count)));
  const total = counts.reduce((a, b) => a + b, 0);
  assert.ok(total >= 201, "every decision is in some marker: " + total);
  assert.ok(count < 30, "clustered into a few markers: " + count);
  assert.ok(counts.some((c) => c >= 10), "some markers stand for many decisions: " + counts);
  const legend = await chart.locator(".u-legend").boundingBox();
  assert.ok(legend && legend.height > 0, "the legend is shown");
  for (const box of await markers.evaluateAll((ms) => ms.map((m) => m.getBoundingClientRect().toJSON()))) {
    const overlaps = box.left < legend.x + legend.width && box.right > legend.x &&
      box.top < legend.y + legend.height && box.bottom > legend.y;
    assert.ok(!overlaps, "a marker covers the legend: " + JSON.stringify(box));
  }
  const hit = await page.evaluate(([x, y]) => !!document.elementFromPoint(x, y)?.closest(".u-legend"),
    [legend.x + legend.width / 2, legend.y + legend.height / 2]);
  assert.ok(hit, "the legend is on top where it is drawn");
  const big = chart.locator(".marker.cluster").first();
  assert.match(await big.getAttribute("title"), /^\d+ decisions\n/);
  await big.click();
  assert.match(await page.innerText("#marker-detail"), /\d+ decisions/);
  assert.ok(await page.locator("#marker-detail li").count() > 1);
  await shot("05-clustered-markers");
});

test("a zoom survives the live update", async () => {
  await page.goto(url + "/apps/shop");
  await page.waitForSelector("#charts[data-loaded=true]");
  const over = await page.locator(".chart[data-chart=requests] .u-over").boundingBox();
  const y = over.y + over.height / 2;
  await page.mouse.move(over.x + over.width * 0.3, y);
  await page.mouse.down();
  await page.mouse.move(over.x + over.width * 0.5, y, { steps: 5 });
  await page.mouse.move(over.x + over.width * 0.7, y, { steps: 5 });
  await page.mouse.up();
  const zoom = await page.getAttribute("#charts", "data-zoom");
  assert.match(zoom, /^\d+-\d+$/, "zoomed: " + zoom);
  const before = await loads();
  await page.evaluate(() => document.dispatchEvent(new Event("dynopilot:refresh")));
  await page.waitForFunction((n) => Number(document.getElementById("charts").dataset.loads) > n, before);
  assert.equal(await page.getAttribute("#charts", "data-zoom"), zoom, "same zoom after the update");
  assert.match(await page.innerText("#charts-status"), /zoomed in/);
  // A longer range for a young app shows what exists and says where history starts.
  await page.click("button.range[data-range='7d']");
  await page.waitForFunction(() => /history starts at/.test(document.getElementById("charts-status").textContent));
  assert.equal(await page.getAttribute("#charts", "data-zoom"), "", "a new range starts unzoomed");
  assert.match(await page.innerText("#charts-status"), /history starts at/);
  assert.ok(Number(await page.getAttribute(".chart[data-chart=memory]", "data-points")) > 5);
  await shot("06-seven-days");
});

test("a phone-sized screen needs no horizontal scrolling", async () => {
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  for (const [name, where] of [["07-phone-app", "/apps/shop"], ["08-phone-fleet", "/"], ["09-phone-timeline", "/apps/shop/timeline"]]) {
    await phone.goto(url + where);
    if (where === "/apps/shop") await phone.waitForSelector("#charts[data-loaded=true]");
    const [scroll, client] = await phone.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scroll <= client, `${where}: scrollWidth ${scroll} > clientWidth ${client}`);
    await phone.screenshot({ path: path.join(shots, name + ".png") });
  }
  await phone.close();
});

test("the timeline lists what happened and links to the chart moment", async () => {
  await page.goto(url + "/apps/shop/timeline");
  const rows = page.locator("#timeline tr.entry");
  assert.ok(await rows.count() > 10);
  assert.ok(await page.locator("#timeline tr[data-kind=decision]").count() > 0);
  await shot("10-timeline");
  await page.check("input[name=hold]");
  await page.check("input[name=manual]");
  await page.uncheck("input[name=decision]");
  await page.uncheck("input[name=action]");
  await page.uncheck("input[name=alert]");
  await page.uncheck("input[name=release]");
  await Promise.all([page.waitForURL(/hold=on/), page.click("#timeline-filters button[type=submit]")]);
  assert.equal(await page.locator("#timeline tr[data-kind=decision]").count(), 0);
  assert.ok(await page.isChecked("input[name=hold]"));
  await accessible("the timeline");
  await page.goto(url + "/apps/shop/timeline");
  const link = page.locator("#timeline tr.entry a.chart-link").first();
  await Promise.all([page.waitForURL(/\/apps\/shop\?at=\d+#charts$/), link.click()]);
  await page.waitForSelector("#charts[data-loaded=true]");
  assert.match(await page.getAttribute("#charts", "data-zoom"), /^\d+-\d+$/, "the chart opens zoomed to the moment");
});

test("query text is never shown as a notice", async () => {
  await page.goto(url + "/apps/shop?msg=" + encodeURIComponent("Your account is locked, call 555-0100"));
  assert.equal(await page.locator("#notice").count(), 0);
  assert.ok(!(await page.content()).includes("555-0100"));
});

test("a restart asks for confirmation with the decision preview, then records who", async () => {
  const restarts = async () => {
    const r = await page.request.get(url + "/api/v1/apps/shop/decisions?range=1h&limit=1000");
    return (await r.json()).filter((d) => d.kind === "restart_dyno").length;
  };
  const before = await restarts();
  await page.goto(url + "/apps/shop");
  const row = page.locator("#panel tr[data-dyno]").first();
  const dyno = await row.getAttribute("data-dyno");
  await Promise.all([page.waitForURL(/\/apps\/shop\/controls$/), row.locator("button.restart-dyno").click()]);
  assert.match(await page.innerText("#confirm h2"), new RegExp("Restart " + dyno.replace(".", "\\.") + "\\?"));
  assert.match(await page.innerText("#preview"), /guardrails|held|dry-run/);
  assert.equal(await page.innerText("#confirm-who"), "ops");
  await shot("11-confirm-restart");
  await accessible("the confirmation step");
  assert.equal(await restarts(), before, "nothing decided before confirming");
  await Promise.all([page.waitForURL(/\/apps\/shop$/), page.click("#confirm-yes")]);
  assert.match(await page.innerText("#notice"), new RegExp("restart " + dyno.replace(".", "\\.")));
  assert.equal(await restarts(), before + 1);
  const r = await page.request.get(url + "/api/v1/apps/shop/decisions?range=1h&limit=1000");
  const restart = (await r.json()).find((d) => d.kind === "restart_dyno");
  assert.match(restart.reason, /requested by ops/);
});

test("pause stops the next scale decision from executing", async () => {
  await page.goto(url + "/apps/shop");
  const web = page.locator("#panel tr[data-type=web]");
  const before = await web.innerText();
  await Promise.all([page.waitForURL(/\/controls$/), web.locator("button.pause-type").click()]);
  assert.match(await page.innerText("#preview"), /journaled as held/);
  await Promise.all([page.waitForURL(/\/apps\/shop$/), page.click("#confirm-yes")]);
  assert.match(await page.innerText("#notice"), /autoscaling of web paused/);
  await postH12(3);
  let blocked = null;
  for (let i = 0; i < 50 && !blocked; i++) {
    await page.waitForTimeout(300);
    const r = await page.request.get(url + "/api/v1/apps/shop/decisions?range=1h");
    const decisions = await r.json();
    blocked = decisions.find((d) => d.kind === "scale_formation" && d.blocked.some((b) => b.guardrail === "paused"));
  }
  assert.ok(blocked, "a scale decision blocked by the pause");
  assert.equal(blocked.executed, false);
  await page.goto(url + "/apps/shop");
  const row = page.locator("tr.decision.blocked").first();
  assert.match(await row.innerText(), /held: paused \(autoscaling of web paused by ops\)/);
  const quantity = (s) => s.match(/up of (\d+)/)?.[1];
  assert.equal(quantity(await web.innerText()), quantity(before), "formation unchanged");
  await shot("04-paused");
});

test("the security policy blocks nothing the dashboard needs", async () => {
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(pageErrors, []);
});
