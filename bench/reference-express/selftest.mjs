#!/usr/bin/env node
// Self-test of the Express reference: a tiny local JWKS server, tokens minted here with jose (keys generated now),
// the reference started as `npm start` would (node server.js) on a free port; checks the /hello contract.
// Prints one line per check and "N passed, N failed"; exits 1 on failure.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const HERE = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'refexpress-selftest-'));
let passed = 0;
let failed = 0;
const check = (name, cond, detail = '') => {
  if (cond) { passed += 1; console.log(`ok   ${name}`); } else { failed += 1; console.log(`FAIL ${name} ${detail}`); }
};

const { privateKey, publicKey } = await generateKeyPair('RS256');
const other = await generateKeyPair('RS256');
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'selftest-1', alg: 'RS256', use: 'sig' }] };
let jwksHits = 0;
const keyServer = createServer((req, res) => {
  jwksHits += 1;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
});
await new Promise((r) => { keyServer.listen(0, '127.0.0.1', r); });
const keyBase = `http://127.0.0.1:${keyServer.address().port}`;
const issuer = `${keyBase}/`;
const audience = 'https://api.example.com';
const now = Math.floor(Date.now() / 1000);
const mint = (claims, key = privateKey, kid = 'selftest-1') => new SignJWT({ iss: issuer, aud: audience, sub: 'alice', iat: now, exp: now + 600, ...claims })
  .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);

const ready = join(work, 'ready.json');
const srv = spawn(process.execPath, [join(HERE, 'server.js')], {
  cwd: work, // no .env here
  env: { ...process.env, BACKEND_PORT: '0', READY_FILE: ready, ISSUER_BASE_URL: issuer, API_AUDIENCE: audience, JWKS_URI: `${keyBase}/.well-known/jwks.json` },
  stdio: ['ignore', 'inherit', 'pipe'],
});
let srvErr = '';
srv.stderr.on('data', (d) => { srvErr += d; });
try {
  const deadline = Date.now() + 15000;
  while (!existsSync(ready)) {
    if (Date.now() > deadline || srv.exitCode !== null) throw new Error(`reference did not start: ${srvErr}`);
    await new Promise((r) => { setTimeout(r, 50); });
  }
  const { port, pid } = JSON.parse(readFileSync(ready, 'utf8'));
  check('ready file names the server pid', pid === srv.pid);
  const get = async (path, token) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: await res.json().catch(() => null) };
  };
  let r = await get('/hello', await mint({ name: 'Alice Example' }));
  check('/hello with a valid token -> 200 + the seed message + claims',
    r.status === 200 && r.body?.message === 'Hello! Your token is valid.' && r.body?.user?.sub === 'alice' && r.body?.user?.name === 'Alice Example', JSON.stringify(r));
  r = await get('/hello');
  check('/hello without a token -> 401', r.status === 401);
  r = await get('/hello', await mint({ aud: 'https://other.example.com' }));
  check('wrong audience -> 401', r.status === 401);
  r = await get('/hello', await mint({ iss: keyBase }));
  check('issuer without the trailing slash -> 401', r.status === 401);
  r = await get('/hello', await mint({ exp: now - 60 }));
  check('expired -> 401', r.status === 401);
  r = await get('/hello', await mint({}, other.privateKey));
  check('signed by another key -> 401', r.status === 401);
  r = await get('/noauth');
  check('/noauth -> 200 without a token', r.status === 200 && r.body?.message === 'Hello! No token needed.');
  const hits = jwksHits;
  for (let i = 0; i < 20; i += 1) await get('/hello', await mint({}));
  check('the key set is cached (no fetch per request)', jwksHits === hits, `${jwksHits - hits} fetches`);
} catch (err) {
  check('no exception', false, err.stack);
}
srv.kill('SIGTERM');
await new Promise((r) => { if (srv.exitCode !== null) r(); else srv.on('exit', r); });
keyServer.close();
rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
