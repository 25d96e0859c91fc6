#!/usr/bin/env node
// Independent second opinion on access-token validation, with npm `jose` (jwtVerify).
//
//   node jose-crosscheck.mjs --corpus corpus.json [--jwks jwks.json] [--issuer ISS] [--audience AUD]
//        [--algorithms RS256] [--leeway 0] [--now UNIX_SECONDS] [--require-kid] [--max-token-bytes N] [--check]
//
// corpus.json is either an array of entries or an object
//   {"jwks":{...}, "issuer":"...", "audience":"...", "now":UNIX, "leeway":S, "tokens":[entries]}
// where an entry is {"token":"...", "expect_valid":true|false, ...anything else (e.g. "name", "reason")}.
// Command-line options override the object's fields; --jwks names a file holding a JWKS JSON.
// For each token: jwtVerify(token, createLocalJWKSet(jwks), {algorithms, issuer, audience, requiredClaims:['exp'],
// clockTolerance: leeway, currentDate: now}). Prints a JSON array on stdout:
//   [{"index":0,"valid":true,"reason":"ok"}, {"index":1,"valid":false,"reason":"ERR_JWT_EXPIRED:exp"}, ...]
// Policy additions (flags or corpus fields): --require-kid / require_kid (no kid -> "kid_missing"),
// --strict-iat / strict_iat (iat > now + leeway -> "iat_in_future"), --strict-b64 / strict_b64 ("bad_base64url"), --max-token-bytes / max_token_bytes ("too_large").
// With --check it also prints one line per disagreement with expect_valid to stderr and exits 1 if any.
// Exit 2: bad usage or unreadable input. Tokens are never printed.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

function die(msg) {
  console.error(`jose-crosscheck: ${msg}`);
  process.exit(2);
}

let opt;
try {
  ({ values: opt } = parseArgs({
    options: {
      corpus: { type: 'string' },
      jwks: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      algorithms: { type: 'string', default: 'RS256' },
      leeway: { type: 'string' },
      now: { type: 'string' },
      'require-kid': { type: 'boolean', default: false },
      'strict-iat': { type: 'boolean', default: false },
      'strict-b64': { type: 'boolean', default: false },
      'max-token-bytes': { type: 'string' },
      check: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  die(err.message);
}
if (!opt.corpus) die('--corpus FILE is required');

const readJson = (file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return die(`cannot read ${file}: ${err.message}`);
  }
};
const corpus = readJson(opt.corpus);
const entries = Array.isArray(corpus) ? corpus : corpus.tokens;
if (!Array.isArray(entries)) die('corpus must be an array or an object with "tokens"');
const meta = Array.isArray(corpus) ? {} : corpus;

const jwks = opt.jwks ? readJson(opt.jwks) : meta.jwks;
const issuer = opt.issuer ?? meta.issuer;
const audience = opt.audience ?? meta.audience;
if (!jwks || !Array.isArray(jwks.keys)) die('a JWKS ({"keys":[...]}) is required (--jwks or corpus.jwks)');
if (!issuer || !audience) die('issuer and audience are required (--issuer/--audience or corpus fields)');
const leeway = Number(opt.leeway ?? meta.leeway ?? 0);
const nowSec = opt.now ?? meta.now;
const maxBytes = opt['max-token-bytes'] ?? meta.max_token_bytes;
// Our policy on top of jose's defaults (Auth0 tokens always carry a kid; an iat in the future beyond the leeway is
// refused by the API daemon): enabled by the flags or by the corpus fields require_kid / strict_iat.
const requireKid = opt['require-kid'] || meta.require_kid === true;
const strictIat = opt['strict-iat'] || meta.strict_iat === true;
// RFC 7515 §2/§7.1: base64url without padding. jose tolerates a padded signature; with --strict-b64 / strict_b64
// any character outside [A-Za-z0-9_-] in a segment is refused ("bad_base64url").
const strictB64 = opt['strict-b64'] || meta.strict_b64 === true;

let keySet;
try {
  keySet = createLocalJWKSet(jwks);
} catch (err) {
  die(`invalid JWKS: ${err.message}`);
}
const options = {
  algorithms: opt.algorithms.split(',').map((s) => s.trim()).filter(Boolean),
  issuer,
  audience,
  requiredClaims: ['exp'],
  clockTolerance: leeway,
};
if (nowSec !== undefined) options.currentDate = new Date(Number(nowSec) * 1000);

const results = [];
let disagreements = 0;
for (const [index, entry] of entries.entries()) {
  const token = typeof entry === 'string' ? entry : entry?.token;
  let valid = false;
  let reason;
  if (typeof token !== 'string') {
    reason = 'not_a_string';
  } else if (maxBytes !== undefined && Buffer.byteLength(token) > Number(maxBytes)) {
    reason = 'too_large';
  } else {
    try {
      if (strictB64 && !/^[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)*$/.test(token)) {
        throw Object.assign(new Error('bad base64url'), { code: 'bad_base64url' });
      }
      if (requireKid) {
        const header = decodeProtectedHeader(token);
        if (typeof header.kid !== 'string' || header.kid === '') throw Object.assign(new Error('no kid'), { code: 'kid_missing' });
      }
      const { payload } = await jwtVerify(token, keySet, options);
      const nowS = nowSec !== undefined ? Number(nowSec) : Math.floor(Date.now() / 1000);
      if (strictIat && typeof payload.iat === 'number' && payload.iat > nowS + leeway) {
        throw Object.assign(new Error('iat in the future'), { code: 'iat_in_future' });
      }
      valid = true;
      reason = 'ok';
    } catch (err) {
      reason = err.code ? `${err.code}${err.claim ? `:${err.claim}` : ''}` : `error:${err.name}`;
    }
  }
  const result = { index, valid, reason };
  if (entry && typeof entry === 'object' && typeof entry.expect_valid === 'boolean') {
    result.expect_valid = entry.expect_valid;
    result.agrees = entry.expect_valid === valid;
    if (!result.agrees) {
      disagreements += 1;
      if (opt.check) console.error(`jose-crosscheck: #${index}${entry.name ? ` (${entry.name})` : ''}: expected ${entry.expect_valid ? 'valid' : 'invalid'}, jose says ${valid ? 'valid' : `invalid (${reason})`}`);
    }
  }
  results.push(result);
}
process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
if (opt.check) {
  console.error(`jose-crosscheck: ${entries.length - disagreements} agree, ${disagreements} disagree`);
  process.exit(disagreements === 0 ? 0 : 1);
}
