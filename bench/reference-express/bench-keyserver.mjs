#!/usr/bin/env node
// Benchmark key server for scripts/bench.sh: serves key sets of 1 and N RSA-2048 keys on 127.0.0.1 and mints
// RS256 access tokens of chosen sizes signed with its own key "bench-0" (generated at start, never stored).
//
//   node bench-keyserver.mjs --ready-file F --issuer ISS --audience AUD --tokens-dir DIR
//        [--keys 50] [--include-jwks URL] [--token-sizes 0,2048,4096,7168] [--many 10000]
//
// Routes: /jwks-1.json  -> {"keys":[bench-0]}
//         /jwks-N.json  -> N keys: the keys of --include-jwks (e.g. the dev authorization server's, so its tokens
//                          validate too), then generated keys, with bench-0 LAST (worst case for a linear search)
//         /.well-known/jwks.json -> same as /jwks-N.json
//         /jwks-algs.json -> bench-0 (RS256), bench-es (ES256, P-256) and bench-ed (EdDSA, Ed25519)
// Tokens: DIR/token-<size>.txt (mode 0600), claims iss/aud/sub/iat/exp(+1h)/scope/permissions and, for size > 0, a
// "pad" claim sized so the whole token is about <size> bytes (size 0: no padding). Ready file:
// {"url","port","pid","jwks_1","jwks_n","tokens":{"<size>":{"file","bytes"}}}. Without --issuer it is also the
// issuer itself (ISS = its own URL, for the Express-only mode of bench.sh).
// Also (for the HAProxy peer): DIR/token-es256.txt and DIR/token-eddsa.txt (the same claims, signed by bench-es /
// bench-ed), DIR/tokens-many.txt (--many distinct RS256 tokens, one a line, differing in sub and jti) and the
// public keys as PEM, DIR/bench-0.pem and DIR/bench-es.pem (ready file: "pem", "tokens_many", "jwks_algs").
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';

const { values: opt } = parseArgs({
  options: {
    'ready-file': { type: 'string' },
    issuer: { type: 'string' },
    audience: { type: 'string', default: 'https://api.example.com' },
    'tokens-dir': { type: 'string' },
    keys: { type: 'string', default: '50' },
    'include-jwks': { type: 'string' },
    'token-sizes': { type: 'string', default: '0' },
    many: { type: 'string', default: '0' },
  },
});
const total = Number.parseInt(opt.keys, 10);
const many = Number.parseInt(opt.many, 10);
if (!(total >= 1 && total <= 200) || !(many >= 0 && many <= 100000) || !opt['tokens-dir'] || !opt['ready-file']) {
  console.error('bench-keyserver: need --ready-file, --tokens-dir, 1 <= --keys <= 200 and 0 <= --many <= 100000');
  process.exit(2);
}

let included = [];
if (opt['include-jwks']) {
  const u = new URL(opt['include-jwks']);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) {
    console.error('bench-keyserver: --include-jwks must be a loopback URL');
    process.exit(2);
  }
  const res = await fetch(u);
  if (!res.ok) {
    console.error(`bench-keyserver: ${u.origin}${u.pathname} answered ${res.status}`);
    process.exit(1);
  }
  included = (await res.json()).keys ?? [];
}

const pub = async (key, kid, alg = 'RS256') => ({ ...(await exportJWK(key)), kid, alg, use: 'sig' });
const own = await generateKeyPair('RS256', { modulusLength: 2048 });
const ownJwk = await pub(own.publicKey, 'bench-0');
const es = await generateKeyPair('ES256');
const ed = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
const jwksAlgs = JSON.stringify({ keys: [ownJwk, await pub(es.publicKey, 'bench-es', 'ES256'), await pub(ed.publicKey, 'bench-ed', 'EdDSA')] });
const fillers = [];
for (let i = 1; fillers.length + included.length + 1 < total; i += 1) {
  const { publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  fillers.push(await pub(publicKey, `bench-${i}`));
}
const jwks1 = JSON.stringify({ keys: [ownJwk] });
const jwksN = JSON.stringify({ keys: [...included, ...fillers, ownJwk] });

const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  let body;
  if (path === '/jwks-1.json') body = jwks1;
  else if (path === '/jwks-algs.json') body = jwksAlgs;
  else if (path === `/jwks-${total}.json` || path === '/.well-known/jwks.json') body = jwksN;
  if (!body) { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600' }).end(body);
});
await new Promise((r) => { server.listen(0, '127.0.0.1', r); });
const { port } = server.address();
const url = `http://127.0.0.1:${port}/`;
const issuer = opt.issuer ?? url;

const now = Math.floor(Date.now() / 1000);
const mint = (pad) => new SignJWT({
  iss: issuer, aud: opt.audience, sub: 'bench-user@clients', iat: now, exp: now + 3600,
  scope: 'read:messages', permissions: ['read:messages'], ...(pad ? { pad } : {}),
}).setProtectedHeader({ alg: 'RS256', kid: 'bench-0', typ: 'JWT' }).sign(own.privateKey);

const tokens = {};
for (const size of opt['token-sizes'].split(',').map((s) => Number.parseInt(s, 10))) {
  let token = await mint(undefined);
  if (size > token.length) {
    // Each pad character adds 4/3 of a byte to the payload segment; `,"pad":""` adds a few more.
    const padLen = Math.max(1, Math.floor(((size - token.length) * 3) / 4) - 9);
    token = await mint('x'.repeat(padLen));
  }
  const file = join(opt['tokens-dir'], `token-${size}.txt`);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  tokens[size] = { file, bytes: token.length };
}

const secretFile = (name, text) => {
  const file = join(opt['tokens-dir'], name);
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
};
const claims = { iss: issuer, aud: opt.audience, sub: 'bench-user@clients', iat: now, exp: now + 3600, scope: 'read:messages', permissions: ['read:messages'] };
secretFile('token-es256.txt', `${await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'bench-es', typ: 'JWT' }).sign(es.privateKey)}\n`);
secretFile('token-eddsa.txt', `${await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'bench-ed', typ: 'JWT' }).sign(ed.privateKey)}\n`);
const lines = [];
for (let i = 0; i < many; i += 1) {
  lines.push(await new SignJWT({ ...claims, sub: `bench-user-${i}@clients`, jti: `bench-${i}` })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench-0', typ: 'JWT' }).sign(own.privateKey));
}
const tokensMany = many > 0 ? secretFile('tokens-many.txt', `${lines.join('\n')}\n`) : null;
const pem = { 'bench-0': secretFile('bench-0.pem', await exportSPKI(own.publicKey)), 'bench-es': secretFile('bench-es.pem', await exportSPKI(es.publicKey)) };

const ready = { url, port, pid: process.pid, issuer, jwks_1: `${url}jwks-1.json`, jwks_n: `${url}jwks-${total}.json`, jwks_algs: `${url}jwks-algs.json`, keys: total, tokens, tokens_many: tokensMany, many, pem };
const tmp = `${opt['ready-file']}.tmp-${process.pid}`;
writeFileSync(tmp, `${JSON.stringify(ready)}\n`);
renameSync(tmp, opt['ready-file']);
console.error(`bench-keyserver: listening on ${url} (${total} keys, ${included.length} included)`);
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
