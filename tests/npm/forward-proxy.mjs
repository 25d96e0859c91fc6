#!/usr/bin/env node
// Test peer: a forward HTTP proxy (absolute-URI requests and CONNECT tunnels, RFC 9110 §9.3.6) that sends
// EVERY request to 127.0.0.1, whatever host was asked for. Tests can then use names such as api.example.test
// that only this proxy "resolves", without any DNS lookup and without touching a non-loopback address.
// Built-in modules only.
//
//   node forward-proxy.mjs --ready-file F --log-file L [--credentials USER:PASS]
//
// Listens on 127.0.0.1 and a free port; when ready, writes F atomically (temp file + rename) with
//   {"port":PORT,"pid":PID}
// Appends one JSON line per request to L before answering, so a client that saw the answer also finds the line:
//   {"method":"CONNECT","host":"api.example.test","port":8443,"proxy_authorization":false,"authorization":false,
//    "proxy_auth":"none","status":200}
// Only the presence of the Proxy-Authorization / Authorization headers is logged, never their values.
// proxy_auth: "none" (no credentials configured), "ok", "missing" or "wrong"; with --credentials a request whose
// Proxy-Authorization is not "Basic base64(USER:PASS)" (RFC 9110 §11.7.1, RFC 7617) is answered 407.
// SIGTERM/SIGINT stop it (exit 0).
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    'ready-file': { type: 'string' },
    'log-file': { type: 'string' },
    credentials: { type: 'string' },
  },
  strict: true,
});
if (!opt['ready-file'] || !opt['log-file']) {
  console.error('forward-proxy: --ready-file and --log-file are required');
  process.exit(2);
}
const UPSTREAM = '127.0.0.1';  // the only address this proxy ever connects to
const expectedAuth = opt.credentials ? `Basic ${Buffer.from(opt.credentials).toString('base64')}` : undefined;

function proxyAuth(headers) {
  if (!expectedAuth) return 'none';
  const got = headers['proxy-authorization'];
  if (got === undefined) return 'missing';
  return got === expectedAuth ? 'ok' : 'wrong';
}

function log(entry) {
  appendFileSync(opt['log-file'], `${JSON.stringify(entry)}\n`);
}

// "host:port" or "[v6]:port" (the CONNECT request target, RFC 9110 §3.6 authority-form).
function parseAuthority(text) {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port > 0 && port < 65536 ? { host: m[1] ?? m[2], port } : undefined;
}

function entryFor(req, host, port) {
  return {
    method: req.method,
    host,
    port,
    proxy_authorization: req.headers['proxy-authorization'] !== undefined,
    authorization: req.headers.authorization !== undefined,
    proxy_auth: proxyAuth(req.headers),
  };
}

const server = createServer((req, res) => {
  let target;
  try {
    target = new URL(req.url);
  } catch {
    target = undefined;
  }
  if (!target || target.protocol !== 'http:') {
    log({ method: req.method, host: null, port: null, status: 400 });
    res.writeHead(400, { 'content-type': 'text/plain' }).end('forward-proxy: absolute http:// URI required\n');
    return;
  }
  const port = Number(target.port || 80);
  const entry = entryFor(req, target.hostname, port);
  if (entry.proxy_auth === 'missing' || entry.proxy_auth === 'wrong') {
    log({ ...entry, status: 407 });
    res.writeHead(407, { 'proxy-authenticate': 'Basic realm="forward-proxy"' }).end();
    return;
  }
  const headers = { ...req.headers };
  delete headers['proxy-authorization'];
  delete headers['proxy-connection'];
  const path = target.pathname + target.search;
  const upstream = httpRequest({ host: UPSTREAM, port, method: req.method, path, headers }, (upRes) => {
    log({ ...entry, status: upRes.statusCode });
    res.writeHead(upRes.statusCode, upRes.headers);
    upRes.pipe(res);
  });
  upstream.on('error', () => {
    log({ ...entry, status: 502 });
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('forward-proxy: upstream failed\n');
    else res.destroy();
  });
  req.pipe(upstream);
});

server.on('connect', (req, clientSocket, head) => {
  const authority = parseAuthority(req.url);
  if (!authority) {
    log({ method: req.method, host: null, port: null, status: 400 });
    clientSocket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const entry = entryFor(req, authority.host, authority.port);
  if (entry.proxy_auth === 'missing' || entry.proxy_auth === 'wrong') {
    log({ ...entry, status: 407 });
    clientSocket.end('HTTP/1.1 407 Proxy Authentication Required\r\n' +
      'Proxy-Authenticate: Basic realm="forward-proxy"\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const upstream = connect({ host: UPSTREAM, port: authority.port });
  let tunnelled = false;
  upstream.once('connect', () => {
    tunnelled = true;
    log({ ...entry, status: 200 });
    clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(clientSocket);
    clientSocket.pipe(upstream);
  });
  upstream.once('error', () => {
    if (tunnelled) { clientSocket.destroy(); return; }
    log({ ...entry, status: 502 });
    clientSocket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
  });
  clientSocket.on('error', () => upstream.destroy());
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}

server.listen(0, UPSTREAM, () => {
  const ready = { port: server.address().port, pid: process.pid };
  const tmp = `${opt['ready-file']}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(ready)}\n`);
  renameSync(tmp, opt['ready-file']);
});
