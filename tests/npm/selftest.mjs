#!/usr/bin/env node
// Self-test of the npm test peers, with no C++ binary involved:
//  1. browser-login.mjs against a local page that follows the devidp login/device contract (docs: notes/contracts),
//     served here by express, and a loopback "client" callback page on another port;
//  2. oidc-provider-peer.mjs driven as a standards-only public native client would (PKCE S256 + prompt=consent +
//     offline_access, browser-login in oidc-provider mode, code exchange, jose verification of the JWT access token,
//     refresh rotation and replay detection, revocation, device flow approved and denied in the browser).
// Prints one line per check and a closing "N passed, N failed"; exits 1 on any failure.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import express from 'express';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader, SignJWT, generateKeyPair, exportJWK } from 'jose';
import { writeFileSync } from 'node:fs';

const HERE = dirname(fileURLToPath(import.meta.url));
// --devidp PATH: also drive the real oauthdemo-devidp (auth code + device flow through the browser).
const devidpArg = process.argv.indexOf('--devidp');
const DEVIDP_BIN = devidpArg > 0 ? process.argv[devidpArg + 1] : undefined;
if (devidpArg > 0 && !DEVIDP_BIN) { console.error('selftest: --devidp needs a path'); process.exit(2); }
const work = mkdtempSync(join(tmpdir(), 'oauthdemo-npm-selftest-'));
const children = new Set();
// Never hang: the whole self-test has a deadline.
setTimeout(() => { console.log('FAIL selftest timed out after 300 s'); for (const c of children) c.kill('SIGKILL'); process.exit(1); }, 300000).unref();
let passed = 0;
let failed = 0;

function check(name, cond, detail = '') {
  if (cond) { passed += 1; console.log(`ok   ${name}`); } else { failed += 1; console.log(`FAIL ${name} ${detail}`); }
}

function run(cmd, args, { timeoutMs = 90000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); children.delete(child); resolve({ code, out, err }); });
  });
}

const browser = (url, ...args) => run(process.execPath, [join(HERE, 'browser-login.mjs'), ...args, url]);

function listen(handler) {
  return new Promise((resolve) => {
    const srv = createServer(handler);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

// ---- a loopback "client" callback page (what the CLI serves) ----
const callbacks = [];
const cbServer = await listen((req, res) => {
  const u = new URL(req.url, 'http://127.0.0.1');
  if (u.pathname !== '/callback') { res.writeHead(404).end('not found'); return; }
  callbacks.push(Object.fromEntries(u.searchParams));
  res.writeHead(200, { 'content-type': 'text/html' });
  if (u.searchParams.get('error')) res.end(`<h1>Login denied</h1><p>${u.searchParams.get('error')}</p>`);
  else res.end('<h1>Login successful</h1><p>You can close this window and return to the terminal.</p>');
});
const cbPort = cbServer.address().port;
const redirectUri = `http://127.0.0.1:${cbPort}/callback`;

// ---- a page following the devidp contract ----
const app = express();
app.use(express.urlencoded({ extended: false }));
const txns = new Map();
const cookie = (req, name) => (req.headers.cookie ?? '').split(/;\s*/).map((c) => c.split('=')).find(([k]) => k === name)?.[1];
const loginForm = (txn, csrf) => `<!doctype html><title>Log in</title><h1>Log in to oauthdemo-devidp</h1>
<form method="post" action="/u/login"><input name="username"><input name="password" type="password">
<input type="hidden" name="txn" value="${txn}"><input type="hidden" name="csrf" value="${csrf}">
<button name="action" value="login">Log in</button><button name="action" value="deny">Deny</button></form>`;
app.get('/authorize', (req, res) => {
  const txn = randomBytes(8).toString('hex');
  const csrf = randomBytes(8).toString('hex');
  txns.set(txn, { kind: 'code', redirect: req.query.redirect_uri, state: req.query.state });
  res.cookie?.('devidp_csrf', csrf);
  res.setHeader('set-cookie', `devidp_csrf=${csrf}; Path=/; HttpOnly; SameSite=Lax`);
  res.type('html').send(loginForm(txn, csrf));
});
app.get('/activate', (req, res) => {
  const csrf = randomBytes(8).toString('hex');
  res.setHeader('set-cookie', `devidp_csrf=${csrf}; Path=/; HttpOnly; SameSite=Lax`);
  res.type('html').send(`<!doctype html><title>Activate</title><form method="post" action="/activate">
<input name="user_code" value="${req.query.user_code ?? ''}"><input type="hidden" name="csrf" value="${csrf}">
<button type="submit">Continue</button></form>`);
});
app.post('/activate', (req, res) => {
  if (req.body.csrf !== cookie(req, 'devidp_csrf')) { res.status(403).send('csrf'); return; }
  if (req.body.user_code !== 'ABCD-EFGH') { res.status(400).send('Unknown code'); return; }
  const txn = randomBytes(8).toString('hex');
  txns.set(txn, { kind: 'device' });
  res.type('html').send(loginForm(txn, req.body.csrf));
});
app.post('/u/login', (req, res) => {
  const t = txns.get(req.body.txn);
  if (!t || req.body.csrf !== cookie(req, 'devidp_csrf')) { res.status(403).send('Bad request (csrf)'); return; }
  txns.delete(req.body.txn);
  if (req.body.action === 'deny') {
    if (t.kind === 'device') { res.type('html').send('<h1>Device denied</h1>'); return; }
    res.redirect(302, `${t.redirect}?error=access_denied&state=${t.state}`);
    return;
  }
  if (req.body.username !== 'alice' || req.body.password !== 'alice-password') {
    res.status(401).type('html').send('<p>Wrong username or password</p>');
    return;
  }
  if (t.kind === 'device') { res.type('html').send('<h1>Device approved</h1><p>Return to your device.</p>'); return; }
  res.redirect(302, `${t.redirect}?code=c0de&state=${t.state}`);
});
const fake = await listen(app);
const fakeBase = `http://127.0.0.1:${fake.address().port}`;

async function cleanupAll() {
  for (const c of children) c.kill('SIGTERM');
  cbServer.close();
  fake.close();
  rmSync(work, { recursive: true, force: true });
}

try {
  // 1a. success through the devidp-shaped login page
  const shot = join(work, 'login.png');
  let r = await browser(`${fakeBase}/authorize?client_id=oauthdemo-cli&redirect_uri=${encodeURIComponent(redirectUri)}&state=s1`,
    '--user', 'alice', '--password', 'alice-password', '--screenshot', shot, '--expect-text', 'Login successful', '--mode', 'devidp');
  check('devidp-shaped login lands on the callback', r.code === 0, r.err);
  check('callback got code and state', callbacks.at(-1)?.code === 'c0de' && callbacks.at(-1)?.state === 's1');
  check('screenshot written', existsSync(shot) && statSync(shot).size > 1000);
  check('no code printed', !r.err.includes('c0de') && !r.out.includes('c0de'));

  // 1b. deny
  r = await browser(`${fakeBase}/authorize?redirect_uri=${encodeURIComponent(redirectUri)}&state=s2`, '--deny', '--expect-text', 'denied');
  check('deny lands on the callback with access_denied', r.code === 0 && callbacks.at(-1)?.error === 'access_denied', r.err);

  // 1c. wrong password: no callback reached -> exit 1
  r = await browser(`${fakeBase}/authorize?redirect_uri=${encodeURIComponent(redirectUri)}&state=s3`, '--password', 'nope', '--timeout', '20');
  check('wrong password fails loudly', r.code === 1 && /FAILED/.test(r.err), `code=${r.code}`);

  // 1d. expected text missing -> exit 1
  r = await browser(`${fakeBase}/authorize?redirect_uri=${encodeURIComponent(redirectUri)}&state=s4`, '--expect-text', 'no such text');
  check('missing expected text fails', r.code === 1 && /expected text not found/.test(r.err), `code=${r.code}`);

  // 1e. callback port closed -> exit 1
  const dead = await listen(() => {});
  const deadPort = dead.address().port;
  await new Promise((res) => { dead.close(res); });
  r = await browser(`${fakeBase}/authorize?redirect_uri=${encodeURIComponent(`http://127.0.0.1:${deadPort}/callback`)}&state=s5`);
  check('unreachable callback fails', r.code === 1 && /could not load/.test(r.err), `code=${r.code} ${r.err.slice(-300)}`);

  // 1f. device approve / deny (code in the URL, and given by --user-code)
  r = await browser(`${fakeBase}/activate?user_code=ABCD-EFGH`, '--mode', 'device', '--expect-text', 'Device approved');
  check('device flow approved', r.code === 0, r.err);
  r = await browser(`${fakeBase}/activate`, '--mode', 'device', '--user-code', 'ABCD-EFGH', '--deny', '--expect-text', 'Device denied');
  check('device flow denied', r.code === 0, r.err);

  // 1g. usage errors
  r = await run(process.execPath, [join(HERE, 'browser-login.mjs')]);
  check('no URL is a usage error (2)', r.code === 2);
  r = await browser('http://example.com/authorize');
  check('non-loopback URL refused', r.code === 1);

  // 1h. jose cross-check on a small generated corpus
  {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const other = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const iss = 'http://127.0.0.1:1/';
    const aud = 'https://api.example.com';
    const now = Math.floor(Date.now() / 1000);
    const mk = (claims, key = privateKey, hdr = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', ...hdr })
      .sign(key, hdr.crit ? { crit: Object.fromEntries(hdr.crit.map((c) => [c, true])) } : undefined);
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const good = { iss, aud, sub: 'alice', iat: now, exp: now + 600 };
    const tokens = [
      { name: 'valid', token: await mk(good), expect_valid: true },
      { name: 'valid at+jwt', token: await mk(good, privateKey, { typ: 'at+jwt' }), expect_valid: true },
      { name: 'aud list with ours', token: await mk({ ...good, aud: ['x', aud] }), expect_valid: true },
      { name: 'expired', token: await mk({ ...good, exp: now - 600 }), expect_valid: false },
      { name: 'no exp', token: await mk({ iss, aud, sub: 'a' }), expect_valid: false },
      { name: 'wrong iss (slash)', token: await mk({ ...good, iss: iss.slice(0, -1) }), expect_valid: false },
      { name: 'wrong aud', token: await mk({ ...good, aud: 'other' }), expect_valid: false },
      { name: 'other key', token: await mk(good, other.privateKey), expect_valid: false },
      { name: 'alg none', token: `${b64({ alg: 'none', kid: 'k1' })}.${b64(good)}.`, expect_valid: false },
      { name: 'unknown crit', token: await mk(good, privateKey, { crit: ['x-zzz'], 'x-zzz': 1 }), expect_valid: false },
      { name: 'garbage', token: 'a.b.c', expect_valid: false },
    ];
    const cfile = join(work, 'corpus.json');
    writeFileSync(cfile, JSON.stringify({ jwks: { keys: [jwk] }, issuer: iss, audience: aud, tokens }));
    r = await run(process.execPath, [join(HERE, 'jose-crosscheck.mjs'), '--corpus', cfile, '--check']);
    const out = JSON.parse(r.out || '[]');
    check('jose-crosscheck agrees with the expectations', r.code === 0 && out.length === tokens.length, r.err);
    check('jose-crosscheck gives reasons', out[3]?.reason === 'ERR_JWT_EXPIRED:exp' && out[0]?.reason === 'ok', JSON.stringify(out[3]));
    tokens[3].expect_valid = true;
    writeFileSync(cfile, JSON.stringify({ jwks: { keys: [jwk] }, issuer: iss, audience: aud, tokens }));
    r = await run(process.execPath, [join(HERE, 'jose-crosscheck.mjs'), '--corpus', cfile, '--check']);
    check('jose-crosscheck --check fails on a disagreement', r.code === 1 && /#3 \(expired\)/.test(r.err), r.err);
  }

  // 2. oidc-provider peer
  const ready = join(work, 'peer.json');
  const peer = spawn(process.execPath, [join(HERE, 'oidc-provider-peer.mjs'), '--ready-file', ready, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(peer);
  let peerErr = '';
  peer.stderr.on('data', (d) => { peerErr += d; });
  const deadline = Date.now() + 20000;
  while (!existsSync(ready)) {
    if (Date.now() > deadline) throw new Error(`peer did not start: ${peerErr}`);
    await new Promise((res) => { setTimeout(res, 50); });
  }
  const { issuer } = JSON.parse(readFileSync(ready, 'utf8'));
  const disco = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  check('discovery issuer matches', disco.issuer === issuer);
  check('discovery advertises device + revocation + S256',
    Boolean(disco.device_authorization_endpoint && disco.revocation_endpoint) && disco.code_challenge_methods_supported?.includes('S256'));
  const jwks = createRemoteJWKSet(new URL(disco.jwks_uri));
  const verifyAt = (t) => jwtVerify(t, jwks, { issuer, audience: 'https://api.example.com', algorithms: ['RS256'], typ: 'at+jwt' });
  const form = async (endpoint, body) => {
    const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
    return { status: res.status, json: await res.json() };
  };

  for (const user of ['alice', 'bob']) {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const state = randomBytes(8).toString('hex');
    const authz = new URL(disco.authorization_endpoint);
    authz.search = new URLSearchParams({
      client_id: 'oauthdemo-cli', response_type: 'code', redirect_uri: redirectUri, state,
      scope: 'openid profile email offline_access', prompt: 'consent', code_challenge: challenge,
      code_challenge_method: 'S256', audience: 'https://api.example.com', resource: 'https://api.example.com',
    }).toString();
    r = await browser(authz.toString(), '--mode', 'oidc-provider', '--user', user, '--password', 'x', '--expect-text', 'Login successful');
    check(`oidc-provider login as ${user} reaches the callback`, r.code === 0, r.err);
    const cb = callbacks.at(-1);
    check('callback state matches and iss is given (RFC 9207)', cb?.state === state && cb?.iss === issuer);
    const tok = await form(disco.token_endpoint, {
      grant_type: 'authorization_code', code: cb?.code ?? '', redirect_uri: redirectUri, client_id: 'oauthdemo-cli', code_verifier: verifier,
    });
    check('code exchange returns access, id and refresh tokens', tok.status === 200 && tok.json.access_token && tok.json.id_token && tok.json.refresh_token,
      JSON.stringify(tok.json.error ?? ''));
    const { payload } = await verifyAt(tok.json.access_token);
    check('access token: at+jwt RS256 for the API with permissions', decodeProtectedHeader(tok.json.access_token).typ === 'at+jwt'
      && payload.sub === user && Array.isArray(payload.permissions) && payload.permissions.includes('read:admin') === (user === 'alice'));
    const idp = JSON.parse(Buffer.from(tok.json.id_token.split('.')[1], 'base64url'));
    check('id token carries name and email', idp.sub === user && Boolean(idp.name) && Boolean(idp.email));
    if (user !== 'alice') continue;
    const ref1 = await form(disco.token_endpoint, { grant_type: 'refresh_token', refresh_token: tok.json.refresh_token, client_id: 'oauthdemo-cli' });
    check('refresh returns a new access token and a rotated refresh token', ref1.status === 200 && ref1.json.refresh_token !== tok.json.refresh_token);
    await verifyAt(ref1.json.access_token);
    const replay = await form(disco.token_endpoint, { grant_type: 'refresh_token', refresh_token: tok.json.refresh_token, client_id: 'oauthdemo-cli' });
    check('replayed rotated refresh token is refused', replay.status === 400 && replay.json.error === 'invalid_grant');
    const after = await form(disco.token_endpoint, { grant_type: 'refresh_token', refresh_token: ref1.json.refresh_token, client_id: 'oauthdemo-cli' });
    check('replay revoked the whole grant', after.status === 400 && after.json.error === 'invalid_grant');
    const rev = await fetch(disco.revocation_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: ref1.json.refresh_token, token_type_hint: 'refresh_token', client_id: 'oauthdemo-cli' }) });
    check('revocation endpoint answers 200', rev.status === 200);
  }

  // denied login at oidc-provider
  {
    const verifier = randomBytes(32).toString('base64url');
    const authz = new URL(disco.authorization_endpoint);
    authz.search = new URLSearchParams({
      client_id: 'oauthdemo-cli', response_type: 'code', redirect_uri: redirectUri, state: 'd1', scope: 'openid',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }).toString();
    r = await browser(authz.toString(), '--mode', 'oidc-provider', '--deny', '--expect-text', 'denied');
    check('oidc-provider deny reaches the callback with access_denied', r.code === 0 && callbacks.at(-1)?.error === 'access_denied', r.err);
  }

  // device flow, approved then denied
  for (const deny of [false, true]) {
    const dev = await form(disco.device_authorization_endpoint, { client_id: 'oauthdemo-cli', scope: 'openid profile offline_access' });
    check('device authorization response', dev.status === 200 && /^[A-Z]{4}-[A-Z]{4}$/.test(dev.json.user_code ?? ''));
    r = await browser(dev.json.verification_uri_complete, '--mode', 'device', '--user', 'alice', ...(deny ? ['--deny'] : []),
      '--expect-text', deny ? 'interrupted' : 'Sign-in Success');
    check(`device flow ${deny ? 'denied' : 'approved'} in the browser`, r.code === 0, r.err);
    const tok = await form(disco.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: dev.json.device_code, client_id: 'oauthdemo-cli' });
    if (deny) check('denied device code -> access_denied', tok.status === 400 && tok.json.error === 'access_denied', JSON.stringify(tok.json));
    else {
      check('device code -> tokens incl. refresh', tok.status === 200 && Boolean(tok.json.refresh_token), JSON.stringify(tok.json.error ?? ''));
      await verifyAt(tok.json.access_token);
    }
  }
  const peerExit = new Promise((res) => { if (peer.exitCode !== null) res(peer.exitCode); else peer.on('exit', (c) => res(c)); });
  peer.kill('SIGTERM');
  const peerCode = await peerExit;
  check('peer stops on SIGTERM with exit 0', peerCode === 0);
  if (DEVIDP_BIN) await devidpChecks(form);
} catch (err) {
  check('no exception', false, err.stack);
}

async function startServer(name, cmd, args, env = {}) {
  const ready = join(work, `${name}.json`);
  const child = spawn(cmd, [...args, '--ready-file', ready], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  children.add(child);
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const deadline = Date.now() + 30000;
  while (!existsSync(ready)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start: ${err}`);
    await new Promise((res) => { setTimeout(res, 50); });
  }
  return { child, info: JSON.parse(readFileSync(ready, 'utf8')) };
}

async function devidpChecks(form) {
  const { child, info } = await startServer('devidp', DEVIDP_BIN, ['--port', '0']);
  const disco = await (await fetch(`${info.issuer}.well-known/openid-configuration`)).json();
  for (const [user, password, deny] of [['alice', 'alice-password', false], ['bob', 'bob-password', false], ['alice', 'alice-password', true]]) {
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(8).toString('hex');
    const authz = new URL(disco.authorization_endpoint);
    authz.search = new URLSearchParams({
      client_id: 'oauthdemo-cli', response_type: 'code', redirect_uri: redirectUri, state, scope: 'openid profile email offline_access',
      audience: 'https://api.example.com', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }).toString();
    const shot = join(work, `devidp-${user}.png`);
    const r = await browser(authz.toString(), '--mode', 'devidp', '--user', user, '--password', password, '--screenshot', shot,
      ...(deny ? ['--deny', '--expect-text', 'denied'] : ['--expect-text', 'Login successful']));
    check(`devidp: ${user} ${deny ? 'denies' : 'logs in'} in the browser`, r.code === 0, r.err);
    const cb = callbacks.at(-1);
    check('devidp: callback state matches', cb?.state === state);
    if (deny) { check('devidp: deny -> access_denied', cb?.error === 'access_denied'); continue; }
    const tok = await form(disco.token_endpoint, { grant_type: 'authorization_code', code: cb?.code ?? '', redirect_uri: redirectUri, client_id: 'oauthdemo-cli', code_verifier: verifier });
    const payload = tok.json.access_token ? JSON.parse(Buffer.from(tok.json.access_token.split('.')[1], 'base64url')) : {};
    check(`devidp: code exchange for ${user}`, tok.status === 200 && payload.aud !== undefined && JSON.stringify(payload).includes(user), JSON.stringify(tok.json.error ?? tok.status));
  }
  for (const deny of [false, true]) {
    const dev = await form(disco.device_authorization_endpoint, { client_id: 'oauthdemo-cli', scope: 'openid profile offline_access', audience: 'https://api.example.com' });
    check('devidp: device authorization', dev.status === 200 && Boolean(dev.json.verification_uri_complete), JSON.stringify(dev.json.error ?? ''));
    const r = await browser(dev.json.verification_uri_complete, '--mode', 'device', '--user', 'alice', '--password', 'alice-password',
      '--screenshot', join(work, `devidp-device-${deny}.png`), ...(deny ? ['--deny', '--expect-text', 'Device denied'] : ['--expect-text', 'Device approved']));
    check(`devidp: device ${deny ? 'denied' : 'approved'} in the browser`, r.code === 0, r.err);
    const tok = await form(disco.token_endpoint, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: dev.json.device_code ?? '', client_id: 'oauthdemo-cli' });
    if (deny) check('devidp: denied device code -> access_denied', tok.json.error === 'access_denied', JSON.stringify(tok.json));
    else check('devidp: device code -> access token', tok.status === 200 && Boolean(tok.json.access_token), JSON.stringify(tok.json.error ?? ''));
  }
  child.kill('SIGTERM');
}

await cleanupAll();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
