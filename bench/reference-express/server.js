// The seed's backend as its users run it: Express + express-jwt + jwks-rsa + cors + dotenv.
// The benchmark reference for oauthdemo-apid (scripts/bench.sh); same /hello contract, issuer and audience.
//
// Settings (environment or .env, the seed's names):
//   AUTH0_DOMAIN     -> issuer https://DOMAIN/ and JWKS https://DOMAIN/.well-known/jwks.json (the seed's way)
//   ISSUER_BASE_URL  -> issuer (overrides AUTH0_DOMAIN); JWKS_URI -> key set URL (default ISSUER/.well-known/jwks.json)
//   API_AUDIENCE     -> expected audience
//   BACKEND_PORT     -> port (default 3001; 0 = any free port), BACKEND_HOST (default 127.0.0.1)
//   READY_FILE       -> when set, written once listening: {"url","port","pid"} (temp file + rename)
// Routes: GET /hello (valid RS256 token required) -> {"message":"Hello! Your token is valid.","user":<claims>},
//         GET /noauth (no token) -> {"message":"Hello! No token needed."}
require('dotenv').config();

const fs = require('fs');
const express = require('express');
const cors = require('cors');
const { expressjwt: jwt } = require('express-jwt');
const jwksRsa = require('jwks-rsa');

const domain = process.env.AUTH0_DOMAIN;
const issuer = process.env.ISSUER_BASE_URL || (domain ? `https://${domain}/` : undefined);
const audience = process.env.API_AUDIENCE;
if (!issuer || !audience) {
  console.error('reference-express: set AUTH0_DOMAIN (or ISSUER_BASE_URL) and API_AUDIENCE');
  process.exit(2);
}
const jwksUri = process.env.JWKS_URI || `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`;

// middleware/checkJwt.js in the seed
const checkJwt = jwt({
  secret: jwksRsa.expressJwtSecret({
    cache: true,
    rateLimit: true,
    jwksRequestsPerMinute: 5,
    jwksUri,
  }),
  audience,
  issuer,
  algorithms: ['RS256'],
});

const app = express();
app.use(cors());
app.use(express.json());

// routes/hello.js in the seed
app.get('/hello', checkJwt, (req, res) => {
  res.json({ message: 'Hello! Your token is valid.', user: req.auth });
});

app.get('/noauth', (req, res) => {
  res.json({ message: 'Hello! No token needed.' });
});

// express-jwt errors -> 401 JSON (instead of Express's default HTML error page with a stack trace).
// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  if (err.name === 'UnauthorizedError') {
    res.status(err.status || 401).json({ error: 'invalid_token', error_description: err.message });
    return;
  }
  res.status(500).json({ error: 'server_error' });
});

const port = Number.parseInt(process.env.BACKEND_PORT || '3001', 10);
const host = process.env.BACKEND_HOST || '127.0.0.1';
const server = app.listen(port, host, () => {
  const actual = server.address().port;
  console.error(`reference-express: listening on http://${host}:${actual}/ (issuer ${issuer}, audience ${audience})`);
  if (process.env.READY_FILE) {
    const tmp = `${process.env.READY_FILE}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, `${JSON.stringify({ url: `http://${host}:${actual}/`, port: actual, pid: process.pid })}\n`);
    fs.renameSync(tmp, process.env.READY_FILE);
  }
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
