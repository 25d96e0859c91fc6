#!/usr/bin/env node
// Generates a JWT corpus (valid and invalid access tokens, each with the expected decision) and serves its issuer:
// discovery at /.well-known/openid-configuration and the JWKS at /.well-known/jwks.json, on 127.0.0.1:<free port>.
//
//   node make-corpus.mjs --ready-file F --out corpus.json [--audience https://api.example.com]
//
// corpus.json: {"issuer","audience","jwks","now","leeway":0,"max_token_bytes":8192,"require_kid":true,
//               "strict_iat":true,"strict_b64":true,"tokens":[{"name","token","expect_valid"}]}
// The API daemon (ISSUER_BASE_URL = issuer, LEEWAY 0) and jose-crosscheck.mjs judge the same tokens
// (tests/interop/run_interop.sh compares them). Keys are generated at start; nothing is stored but the corpus.
// Stays up (serving the keys) until SIGTERM.
import { createHmac, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import { exportJWK, SignJWT } from 'jose';

const { values: opt } = parseArgs({
  options: {
    'ready-file': { type: 'string' },
    out: { type: 'string' },
    audience: { type: 'string', default: 'https://api.example.com' },
  },
});
if (!opt['ready-file'] || !opt.out) {
  console.error('make-corpus: --ready-file and --out are required');
  process.exit(2);
}

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const k1 = rsa();
const k2 = rsa();
const attacker = rsa();
const jwk1 = { ...(await exportJWK(k1.publicKey)), kid: 'corpus-k1', alg: 'RS256', use: 'sig' };
const jwk2 = { ...(await exportJWK(k2.publicKey)), kid: 'corpus-k2', alg: 'RS256', use: 'sig' };
const jwks = { keys: [jwk1, jwk2] };

const server = createServer();
await new Promise((r) => { server.listen(0, '127.0.0.1', r); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}/`;
const aud = opt.audience;
server.on('request', (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const json = (o) => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(JSON.stringify(o));
  if (path === '/.well-known/openid-configuration') {
    json({ issuer, jwks_uri: `${issuer}.well-known/jwks.json`, id_token_signing_alg_values_supported: ['RS256'] });
  } else if (path === '/.well-known/jwks.json') json(jwks);
  else res.writeHead(404).end();
});

const now = Math.floor(Date.now() / 1000);
const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const claims = (extra = {}) => ({ iss: issuer, aud, sub: 'corpus|user', iat: now - 10, exp: now + 3600, scope: 'read:messages', ...extra });
// Raw compact JWS, so that odd headers and payloads can be produced exactly.
const raw = (header, payload, key = k1.privateKey, alg = 'RS256') => {
  const input = `${b64(header)}.${typeof payload === 'string' ? b64(payload) : b64(payload)}`;
  let sig;
  if (alg === 'RS256') sig = nodeSign('sha256', Buffer.from(input), key);
  else if (alg === 'RS384') sig = nodeSign('sha384', Buffer.from(input), key);
  else if (alg === 'PS256') sig = nodeSign('sha256', Buffer.from(input), { key, padding: 6, saltLength: 32 });
  else if (alg.startsWith('HS')) sig = createHmac(`sha${alg.slice(2)}`, key).update(input).digest();
  else sig = Buffer.alloc(0);
  return `${input}.${sig.toString('base64url')}`;
};
const rs = (payload, hdr = {}) => raw({ alg: 'RS256', typ: 'JWT', kid: 'corpus-k1', ...hdr }, payload);
const pubPem = k1.publicKey.export({ type: 'spki', format: 'pem' });
const flip = (t) => {
  const [h, p, s] = t.split('.');
  const buf = Buffer.from(s, 'base64url');
  buf[buf.length - 1] ^= 0x01;
  return `${h}.${p}.${buf.toString('base64url')}`;
};

const tokens = [];
const add = (name, token, expectValid) => tokens.push({ name, token, expect_valid: expectValid });
// accepted
add('valid RS256, typ JWT', rs(claims()), true);
add('valid, typ at+jwt (RFC 9068)', rs(claims(), { typ: 'at+jwt' }), true);
add('valid, no typ', raw({ alg: 'RS256', kid: 'corpus-k1' }, claims()), true);
add('valid, second key of the set', raw({ alg: 'RS256', typ: 'JWT', kid: 'corpus-k2' }, claims(), k2.privateKey), true);
add('valid, aud list containing ours', rs(claims({ aud: ['https://other.example.com', aud] })), true);
add('valid, nbf in the past', rs(claims({ nbf: now - 60 })), true);
add('valid via jose SignJWT', await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'corpus-k1' }).sign(k1.privateKey), true);
// refused
add('alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, false);
add('alg NONE', `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims())}.`, false);
add('alg None with kid', `${b64({ alg: 'None', kid: 'corpus-k1' })}.${b64(claims())}.`, false);
add('HS256 keyed with the RSA public key (PEM)', raw({ alg: 'HS256', kid: 'corpus-k1' }, claims(), pubPem, 'HS256'), false);
add('HS256 keyed with the JWK n', raw({ alg: 'HS256', kid: 'corpus-k1' }, claims(), jwk1.n, 'HS256'), false);
add('HS384 keyed with the PEM', raw({ alg: 'HS384', kid: 'corpus-k1' }, claims(), pubPem, 'HS384'), false);
add('HS512 keyed with the PEM', raw({ alg: 'HS512', kid: 'corpus-k1' }, claims(), pubPem, 'HS512'), false);
add('RS384 (not allowed) with the right key', raw({ alg: 'RS384', kid: 'corpus-k1' }, claims(), k1.privateKey, 'RS384'), false);
add('PS256 (not allowed) with the right key', raw({ alg: 'PS256', kid: 'corpus-k1' }, claims(), k1.privateKey, 'PS256'), false);
add('ES256 with an all-zero signature', `${b64({ alg: 'ES256', kid: 'corpus-k1' })}.${b64(claims())}.${Buffer.alloc(64).toString('base64url')}`, false);
add('unknown kid', rs(claims(), { kid: 'no-such-key' }), false);
add('kid with path traversal', rs(claims(), { kid: '../../../../etc/passwd' }), false);
add('kid with SQL-ish injection', rs(claims(), { kid: "x' OR '1'='1" }), false);
add('kid absent', raw({ alg: 'RS256', typ: 'JWT' }, claims()), false);
add('signed by another key, our kid', raw({ alg: 'RS256', kid: 'corpus-k1' }, claims(), attacker.privateKey), false);
add('embedded jwk (attacker key)', raw({ alg: 'RS256', kid: 'corpus-k1', jwk: await exportJWK(attacker.publicKey) }, claims(), attacker.privateKey), false);
add('jku to elsewhere (attacker key)', raw({ alg: 'RS256', kid: 'corpus-k1', jku: 'http://127.0.0.1:9/jwks.json' }, claims(), attacker.privateKey), false);
add('x5u (attacker key)', raw({ alg: 'RS256', kid: 'corpus-k1', x5u: 'http://127.0.0.1:9/cert.pem' }, claims(), attacker.privateKey), false);
add('unknown crit', rs(claims(), { crit: ['x-unknown'], 'x-unknown': true }), false);
add('one flipped signature bit', flip(rs(claims())), false);
add('wrong issuer', rs(claims({ iss: 'http://127.0.0.1:1/' })), false);
add('issuer without the trailing slash', rs(claims({ iss: issuer.slice(0, -1) })), false);
add('issuer with a double trailing slash', rs(claims({ iss: `${issuer}/` })), false);
add('aud absent', rs(claims({ aud: undefined })), false);
add('aud list without ours', rs(claims({ aud: ['https://a.example.com', 'https://b.example.com'] })), false);
add('aud wrong string', rs(claims({ aud: 'https://api.example.com/' })), false);
add('expired', rs(claims({ exp: now - 120 })), false);
add('nbf in the future', rs(claims({ nbf: now + 600 })), false);
add('iat in the future', rs(claims({ iat: now + 600 })), false);
add('exp missing', rs(claims({ exp: undefined })), false);
add('exp a string', rs(claims({ exp: String(now + 3600) })), false);
add('payload not JSON', rs('this is not json'), false);
add('payload a JSON array', rs([1, 2, 3]), false);
add('payload a JSON string', rs('"just a string"'), false);
add('header not JSON', `${b64('not json')}.${b64(claims())}.${rs(claims()).split('.')[2]}`, false);
add('signature with base64 padding', `${rs(claims())}==`, false);
add('bad base64url characters', rs(claims()).replace(/\.(.)/, '.+$1'), false);
add('empty signature segment', `${rs(claims()).split('.').slice(0, 2).join('.')}.`, false);
add('empty payload segment', (() => { const p = rs(claims()).split('.'); return `${p[0]}..${p[2]}`; })(), false);
add('two segments', rs(claims()).split('.').slice(0, 2).join('.'), false);
add('five segments (JWE shape)', `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`, false);
add('oversized (over 8 KiB, valid signature)', rs(claims({ pad: 'x'.repeat(9000) })), false);
add('empty string', '', false);

const corpus = { issuer, audience: aud, jwks, now, leeway: 0, max_token_bytes: 8192, require_kid: true, strict_iat: true, strict_b64: true, tokens };
writeFileSync(opt.out, `${JSON.stringify(corpus, null, 1)}\n`, { mode: 0o600 });
const tmp = `${opt['ready-file']}.tmp-${process.pid}`;
writeFileSync(tmp, `${JSON.stringify({ issuer, url: issuer, port, pid: process.pid, tokens: tokens.length })}\n`);
renameSync(tmp, opt['ready-file']);
console.error(`make-corpus: ${tokens.length} tokens; issuer ${issuer}`);
const stop = () => { server.close(() => process.exit(0)); server.closeAllConnections(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
