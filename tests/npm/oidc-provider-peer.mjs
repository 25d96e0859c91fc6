#!/usr/bin/env node
// Interop peer: npm `oidc-provider` (an OpenID Certified implementation) on 127.0.0.1 and a free port.
//
//   node oidc-provider-peer.mjs [--ready-file F] [--host 127.0.0.1] [--port 0] [--audience https://api.example.com]
//                               [--access-token-ttl 3600] [--refresh-token-ttl 86400] [--quiet]
//
// When listening it writes F atomically (temp file + rename) with
//   {"issuer":"http://127.0.0.1:PORT","url":"http://127.0.0.1:PORT/","port":PORT,"pid":PID,"jwks_uri":...}
// and prints one line to stderr. SIGTERM/SIGINT stop it (exit 0).
//
// Configured so that our CLI and API daemon work with it through the standards only:
// - public native client `oauthdemo-cli` (token_endpoint_auth_method none, application_type native,
//   redirect URIs http://127.0.0.1/callback and http://[::1]/callback — any port, RFC 8252 §7.3 —,
//   grants authorization_code, refresh_token, device_code; post-logout redirect http://127.0.0.1/ any port);
// - optional confidential client `oauthdemo-ci` (client_credentials) when env OIDC_PEER_CI_CLIENT_SECRET is set;
// - PKCE required (S256 is the only method oidc-provider 9 knows);
// - RFC 8707 resource indicators: the default resource is the API audience; its access tokens are RS256
//   JWTs (header typ "at+jwt") with aud = the audience and, Auth0-RBAC style, a `permissions` claim;
// - device flow (/device/auth, verification page /device), revocation (/token/revocation), rotating refresh tokens;
// - devInteractions: oidc-provider's built-in login (any login name, password ignored) and consent pages.
// Refresh tokens: oidc-provider issues one only when `offline_access` is granted, and for this native client that
// scope survives the authorization request only together with `prompt=consent` (OIDC Core §11). So the CLI must
// send scope "openid ... offline_access" AND prompt=consent (the device flow always asks for consent).
// oidc-provider ignores Auth0's `audience` parameter; it knows `resource` (the default resource covers both).
// Keys are generated at start (never stored).
import { randomBytes } from 'node:crypto';
import { writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

const { values: opt } = parseArgs({
  options: {
    'ready-file': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    audience: { type: 'string', default: 'https://api.example.com' },
    'access-token-ttl': { type: 'string', default: '3600' },
    'refresh-token-ttl': { type: 'string', default: '86400' },
    quiet: { type: 'boolean', default: false },
  },
  strict: true,
});

if (!['127.0.0.1', '::1', 'localhost'].includes(opt.host)) {
  console.error('oidc-provider-peer: refusing to bind a non-loopback host');
  process.exit(2);
}

const AUDIENCE = opt.audience;
const ACCESS_TTL = Number.parseInt(opt['access-token-ttl'], 10);
const REFRESH_TTL = Number.parseInt(opt['refresh-token-ttl'], 10);
if (!(ACCESS_TTL > 0) || !(REFRESH_TTL > 0)) {
  console.error('oidc-provider-peer: TTLs must be positive integers');
  process.exit(2);
}

// Demo accounts (demo-only; devInteractions accepts any login name and ignores the password).
const ACCOUNTS = {
  alice: { name: 'Alice Example', email: 'alice@example.com', permissions: ['read:messages', 'read:admin'] },
  bob: { name: 'Bob Example', email: 'bob@example.com', permissions: ['read:messages'] },
};
const accountFor = (id) => ACCOUNTS[id] ?? { name: `${id} (demo)`, email: `${id}@example.com`, permissions: [] };

const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: `peer-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };

const clients = [{
  client_id: 'oauthdemo-cli',
  client_name: 'oauthdemo CLI',
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1/'],
}];
const ciSecret = process.env.OIDC_PEER_CI_CLIENT_SECRET;
if (ciSecret) {
  clients.push({
    client_id: 'oauthdemo-ci',
    client_secret: ciSecret,
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  });
}

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number.parseInt(opt.port, 10), opt.host, resolve);
});
const { port } = server.address();
const hostInUrl = opt.host.includes(':') ? `[${opt.host}]` : opt.host;
const issuer = `http://${hostInUrl}:${port}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'nickname'],
    email: ['email', 'email_verified'],
  },
  // Put the profile claims into the ID token: the access token is for the API, not for userinfo.
  conformIdTokenClaims: false,
  async findAccount(_ctx, id) {
    const acct = accountFor(id);
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: acct.name, nickname: id, email: acct.email, email_verified: true };
      },
    };
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: false },
    clientCredentials: { enabled: Boolean(ciSecret) },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf ?? AUDIENCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (resourceIndicator !== AUDIENCE) throw new errors.InvalidTarget();
        return {
          scope: 'read:messages read:admin',
          audience: AUDIENCE,
          accessTokenTTL: ACCESS_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async extraTokenClaims(_ctx, token) {
    // Auth0 RBAC puts the user's permissions in the access token; mirror that for the API daemon's /admin.
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    return { permissions: accountFor(token.accountId).permissions };
  },
  ttl: {
    AccessToken: ACCESS_TTL,
    AuthorizationCode: 60,
    ClientCredentials: ACCESS_TTL,
    DeviceCode: 600,
    Grant: REFRESH_TTL,
    IdToken: 3600,
    Interaction: 3600,
    RefreshToken: REFRESH_TTL,
    Session: REFRESH_TTL,
  },
});

// Attention warnings about dev-only features go to stderr anyway; keep errors visible for debugging.
provider.on('server_error', (_ctx, err) => console.error('oidc-provider-peer: server_error:', err));
if (!opt.quiet) {
  for (const ev of ['grant.error', 'authorization.error', 'revocation.error', 'end_session.error']) {
    provider.on(ev, (_ctx, err) => console.error(`oidc-provider-peer: ${ev}: ${err.name}: ${err.error_description ?? err.message}`));
  }
}

// Observable effects for the test drivers (no token values): a revoked grant, a consumed/rotated refresh token.
provider.on('grant.revoked', () => console.error('oidc-provider-peer: grant.revoked'));
provider.on('refresh_token.consumed', () => console.error('oidc-provider-peer: refresh_token.consumed'));

server.on('request', provider.callback());

const ready = {
  issuer,
  url: `${issuer}/`,
  port,
  pid: process.pid,
  jwks_uri: `${issuer}/jwks`,
  audience: AUDIENCE,
  client_id: 'oauthdemo-cli',
};
if (opt['ready-file']) {
  const tmp = `${opt['ready-file']}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(ready)}\n`);
  renameSync(tmp, opt['ready-file']);
}
console.error(`oidc-provider-peer: issuer ${issuer} listening on ${opt.host}:${port} (pid ${process.pid})`);
if (!opt['ready-file']) console.log(JSON.stringify(ready));

let stopping = false;
const stop = (sig) => {
  if (stopping) return;
  stopping = true;
  console.error(`oidc-provider-peer: ${sig}, stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
