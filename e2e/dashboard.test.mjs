// Browser test of the dashboard, started by crates/dynopilot-server/tests/it/web_browser.rs,
// which runs the simulator and the daemon and passes their addresses in the environment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { chromium } from "playwright-core";

const url = process.env.DASHBOARD_URL;
const shots = process.env.SCREENSHOT_DIR || "screenshots";
let browser;
let page;
const cspViolations = [];
const pageErrors = [];

before(async () => {
  assert.ok(url, "DASHBOARD_URL is set by the Rust test");
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  // The server's Content-Security-Policy allows no inline script: anything it blocks shows here.
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
});

after(async () => {
  await browser?.close();
});

const shot = (name) => page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });

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
});

test("the app page draws charts with data and decisions as markers", async () => {
  await page.goto(url + "/apps/shop");
  await page.waitForSelector("#charts[data-loaded=true]");
  const memoryPoints = await page.getAttribute(".chart[data-chart=memory]", "data-points");
  assert.ok(Number(memoryPoints) > 0, "memory chart has points: " + memoryPoints);
  const requestPoints = await page.getAttribute(".chart[data-chart=requests]", "data-points");
  assert.ok(Number(requestPoints) > 0, "request chart has points: " + requestPoints);
  assert.ok(await page.locator(".chart canvas").count() >= 4);
  const marker = page.locator(".chart[data-chart=memory] .marker").first();
  await marker.waitFor();
  const reason = await marker.getAttribute("data-reason");
  assert.match(reason, /rule timeouts: \d+ × H12 on web/);
  await marker.dispatchEvent("click");
  assert.match(await page.innerText("#marker-detail"), /H12/);
  await shot("03-app");
});

test("pause stops the next scale decision from executing", async () => {
  await page.goto(url + "/apps/shop");
  const web = page.locator("#panel tr[data-type=web]");
  const before = await web.innerText();
  await Promise.all([page.waitForURL(/msg=/), web.locator("button.pause-type").click()]);
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
