#!/usr/bin/env node
// A real browser for login tests: playwright-core drives Debian's /usr/bin/chromium (never a downloaded browser).
//
//   node browser-login.mjs [--url] URL [--user alice] [--password alice-password] [--deny]
//        [--screenshot out.png] [--expect-text TEXT]... [--mode auto|devidp|oidc-provider|device]
//        [--user-code CODE] [--timeout 60] [--trace-dir DIR]
//
// Opens URL (an authorization URL or a device verification URL), fills whatever login pages it meets —
// oauthdemo-devidp's (inputs username/password, buttons name=action value=login|deny; device: user_code form,
// then login, then approve/deny) or oidc-provider's devInteractions (login name + password "Sign-in", consent
// "Continue", device code "Continue", device confirm "Continue" / "[ Abort ]", login/consent "[ Cancel ]" to deny) —
// and stops when it lands on a page outside the authorization server's origin (the client's loopback callback
// page) or on a final device page ("Device approved" / "Device denied" / "Sign-in Success" / interrupted).
// It then checks every --expect-text against the page's text, saves the screenshot, and exits 0 (got through,
// expectations met) or 1 (with a clear message). Exit 2: usage.
//
// As the CLI's --browser-command the URL arrives as the last argument:
//   oauthdemo login --browser-command "node tests/npm/browser-login.mjs --user alice --password alice-password"
// --trace-dir DIR saves a screenshot of every page before acting on it (DIR/01-<step>.png, ...).
// Printed URLs never include their query (codes, state); page text is printed only on failure, truncated.
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const CHROMIUM = process.env.OAUTHDEMO_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function usage(msg) {
  if (msg) console.error(`browser-login: ${msg}`);
  console.error('usage: browser-login.mjs [--url] URL [--user U] [--password P] [--deny] [--screenshot F] '
    + '[--expect-text T]... [--mode auto|devidp|oidc-provider|device] [--user-code C] [--timeout S]');
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      user: { type: 'string', default: 'alice' },
      password: { type: 'string', default: 'alice-password' },
      deny: { type: 'boolean', default: false },
      screenshot: { type: 'string' },
      'expect-text': { type: 'string', multiple: true, default: [] },
      mode: { type: 'string', default: 'auto' },
      'user-code': { type: 'string' },
      timeout: { type: 'string', default: '60' },
      'trace-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (err) {
  usage(err.message);
}
const opt = parsed.values;
if (opt.help) usage();
const url = opt.url ?? parsed.positionals.at(-1);
if (!url) usage('no URL given');
if (!['auto', 'devidp', 'oidc-provider', 'device'].includes(opt.mode)) usage(`unknown --mode ${opt.mode}`);
const timeoutMs = Number.parseFloat(opt.timeout) * 1000;
if (!(timeoutMs > 0)) usage('--timeout must be a positive number of seconds');

let start;
try {
  start = new URL(url);
} catch {
  usage('URL is not a valid absolute URL');
}
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
if (!LOOPBACK.has(start.hostname)) {
  console.error(`browser-login: refusing non-loopback URL host ${start.hostname}`);
  process.exit(1);
}

const safe = (u) => {
  try {
    const p = new URL(u);
    return p.origin === 'null' ? `${p.protocol}${p.pathname}` : `${p.origin}${p.pathname}`;
  } catch {
    return String(u).split('?')[0];
  }
};
// Never print a query string or fragment (authorization codes, state, user codes).
const scrub = (msg) => String(msg).replace(/([?#])[^\s"']*/g, '$1...');
const log = (msg) => console.error(`browser-login: ${scrub(msg)}`);
const excerpt = (t) => t.replace(/\s+/g, ' ').trim().slice(0, 400);

const userDataDir = mkdtempSync(join(tmpdir(), 'oauthdemo-chromium-'));
let context;
let page;
let finished = false;

async function cleanup() {
  try { await context?.close(); } catch { /* already gone */ }
  rmSync(userDataDir, { recursive: true, force: true });
}

async function saveScreenshot(path) {
  if (!path || !page) return;
  try {
    mkdirSync(dirname(path), { recursive: true });
    await page.screenshot({ path, fullPage: true });
    log(`screenshot saved to ${path}`);
  } catch (err) {
    log(`could not save screenshot: ${err.message}`);
  }
}

async function fail(msg) {
  if (finished) return;
  finished = true;
  log(`FAILED: ${msg}`);
  if (page) {
    log(`  at ${safe(page.url())}`);
    try { log(`  page text: ${excerpt(await page.innerText('body', { timeout: 2000 }))}`); } catch { /* none */ }
  }
  if (opt.screenshot) await saveScreenshot(opt.screenshot.replace(/(\.png)?$/, '.failed.png'));
  await cleanup();
  process.exit(1);
}

const watchdog = setTimeout(() => { fail(`timed out after ${opt.timeout}s`); }, timeoutMs);

// Counts main-frame navigations so an action can wait for the page it caused.
let navCount = 0;
let lastRequestedUrl = url;

let traceStep = 0;
async function act(description, action) {
  log(description);
  if (opt['trace-dir']) {
    traceStep += 1;
    const slug = description.split(':')[0].replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    await saveScreenshot(join(opt['trace-dir'], `${String(traceStep).padStart(2, '0')}-${slug}.png`));
  }
  const before = navCount;
  await action();
  const deadline = Date.now() + 20000;
  while (navCount === before) {
    if (Date.now() > deadline) await fail(`no navigation after: ${description}`);
    await new Promise((r) => { setTimeout(r, 50); });
  }
  await page.waitForLoadState('domcontentloaded');
}

const visible = async (sel) => {
  const loc = page.locator(sel);
  return (await loc.count()) > 0 && loc.first().isVisible();
};

async function submitFormOf(inputSel) {
  const form = page.locator('form', { has: page.locator(inputSel) }).first();
  const formId = await form.getAttribute('id');
  let button = form.locator('button[type=submit], input[type=submit], button:not([type])');
  if ((await button.count()) === 0 && formId) {
    button = page.locator(`button[form="${formId}"]:not([name=abort])`);
  }
  if ((await button.count()) > 0) await button.first().click();
  else await page.locator(inputSel).first().press('Enter');
}

const FINAL_DEVICE_TEXT = /Device approved|Device denied|Sign-in Success|was successful|request was interrupted/i;

async function step() {
  const here = new URL(page.url());
  if (here.protocol === 'chrome-error:') {
    await fail(`could not load ${safe(lastRequestedUrl)} (connection refused or network error)`);
  }
  // Landed outside the authorization server: the client's (loopback) callback page.
  if (here.origin !== start.origin) return 'landed';
  const text = await page.innerText('body').catch(() => '');
  const hasUserCode = await visible('input[name=user_code]');
  const hasDevidpLogin = await visible('input[name=username]') && await visible('input[name=password]');
  const hasOpLogin = await visible('input[name=login]') && await visible('input[name=password]');
  const hasConsent = (await page.locator('input[name=prompt][value=consent]').count()) > 0;
  const hasDeviceConfirm = (await page.locator('form[id="op.deviceConfirmForm"]').count()) > 0;
  const hasDevidpApprove = await visible('button[name=action][value=approve]');

  if (hasDevidpLogin) {
    const value = opt.deny ? 'deny' : 'login';
    await act(`devidp login page: signing in as ${opt.user} and pressing ${value}`, async () => {
      await page.fill('input[name=username]', opt.user);
      await page.fill('input[name=password]', opt.password);
      await page.click(`button[name=action][value=${value}]`);
    });
    return 'continue';
  }
  if (hasOpLogin) {
    if (opt.deny) {
      await act('oidc-provider login page: pressing [ Cancel ]', () => page.click('a[href*="/abort"]'));
    } else {
      await act(`oidc-provider login page: signing in as ${opt.user}`, async () => {
        await page.fill('input[name=login]', opt.user);
        await page.fill('input[name=password]', opt.password);
        await page.click('form button[type=submit]');
      });
    }
    return 'continue';
  }
  if (hasConsent) {
    if (opt.deny) await act('oidc-provider consent page: pressing [ Cancel ]', () => page.click('a[href*="/abort"]'));
    else await act('oidc-provider consent page: pressing Continue', () => page.click('form button[type=submit]'));
    return 'continue';
  }
  if (hasDeviceConfirm) {
    if (opt.deny) {
      await act('oidc-provider device confirmation: pressing [ Abort ]', () => page.click('button[name=abort]'));
    } else {
      await act('oidc-provider device confirmation: pressing Continue', () => page.click('button[autofocus][form="op.deviceConfirmForm"]'));
    }
    return 'continue';
  }
  if (hasDevidpApprove) {
    const value = opt.deny ? 'deny' : 'approve';
    await act(`devidp device confirmation: pressing ${value}`, () => page.click(`button[name=action][value=${value}]`));
    return 'continue';
  }
  if (FINAL_DEVICE_TEXT.test(text)) return 'device-final';
  if (hasUserCode) {
    const input = page.locator('input[name=user_code]').first();
    const given = opt['user-code'] ?? start.searchParams.get('user_code') ?? '';
    if (!(await input.inputValue()) && given) await input.fill(given);
    if (!(await input.inputValue())) await fail('device page asks for a user code and none was given (--user-code)');
    await act('device page: submitting the user code', () => submitFormOf('input[name=user_code]'));
    return 'continue';
  }
  await fail('unrecognised page (no login, consent or device form, and not the callback)');
  return 'failed';
}

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 700 },
  });
  // Only loopback traffic: fonts and anything else on the internet are refused at once.
  await context.route('**/*', (route) => {
    let host = '';
    try { host = new URL(route.request().url()).hostname; } catch { /* data: etc. */ }
    if (LOOPBACK.has(host) || route.request().url().startsWith('data:')) return route.continue();
    return route.abort('blockedbyclient');
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navCount += 1; });
  page.on('request', (req) => { if (req.isNavigationRequest() && req.frame() === page.mainFrame()) lastRequestedUrl = req.url(); });

  log(`opening ${safe(url)} (mode ${opt.mode}${opt.deny ? ', deny' : ''})`);
  await page.goto(url, { waitUntil: 'domcontentloaded' }).catch(async (err) => {
    await fail(`could not open ${safe(url)}: ${err.message.split('\n')[0]}`);
  });

  let outcome = 'continue';
  for (let i = 0; i < 12 && outcome === 'continue'; i += 1) outcome = await step();
  if (outcome === 'continue') await fail('too many pages without reaching the callback');

  if (opt.mode === 'device' && outcome !== 'device-final') await fail('device mode expected a final device page');
  if (outcome === 'landed') {
    await page.waitForLoadState('load').catch(() => {});
    log(`landed on ${safe(page.url())}`);
  } else {
    log(`device flow finished at ${safe(page.url())}`);
  }
  const text = await page.innerText('body').catch(() => '');
  for (const want of opt['expect-text']) {
    if (!text.toLowerCase().includes(want.toLowerCase())) await fail(`expected text not found: "${want}"`);
  }
  if (opt.deny && outcome === 'device-final' && /Device approved|Sign-in Success|was successful/i.test(text)) {
    await fail('denied, yet the page says the device was approved');
  }
  await saveScreenshot(opt.screenshot);
  clearTimeout(watchdog);
  finished = true;
  log(`OK: ${excerpt(text).slice(0, 120)}`);
  await cleanup();
  process.exit(0);
} catch (err) {
  await fail(err?.message?.split('\n')[0] ?? String(err));
}
