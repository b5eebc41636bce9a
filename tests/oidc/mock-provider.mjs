// A Keycloak-shaped OpenID Connect provider for the test suite, on loopback only.
//
// Provider (oauth2-mock-server 8.2.3), realm `ispyb`, issuer http://127.0.0.1:<port>/realms/ispyb:
//   GET  /realms/ispyb/.well-known/openid-configuration
//   GET  /realms/ispyb/protocol/openid-connect/certs      (JWKS)
//   POST /realms/ispyb/protocol/openid-connect/token      (password grant: username=abcd…)
//   GET  /realms/ispyb/protocol/openid-connect/userinfo
// Access tokens look like Keycloak's: aud "account", azp = the client id (default "ispyb"),
// typ "Bearer", preferred_username = the username, given_name/family_name/email, realm_access.
//
// Control API for the tests, on a second port (JSON in, JSON out):
//   POST /mint    {username, claims, expires_in, key, kid, alg} → {token}
//                 key: "current" (default, the published signing key), "ec" (a published
//                 ES256 key), "stranger" (an RSA key that is never published); kid overrides
//                 the header's kid; alg "none" gives an unsigned token, "HS256" an HMAC signed
//                 with the current RSA public key (PEM) as secret (algorithm confusion);
//                 claims are merged over the defaults, a null value removes a claim.
//   POST /rotate  → {kid, previous}: a new RSA key signs from now on; the old one stays
//                 published (as Keycloak keeps passive keys), so concurrent tests keep working.
//   GET  /health  → {ok: true}
//
// Usage: node mock-provider.mjs --ready <file>   (writes {"issuer", "control"} once listening)

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

const REALM = 'ispyb';
const PREFIX = `/realms/${REALM}`;
const DEFAULT_CLIENT = 'ispyb';
const USERS = {
  abcd: { given_name: 'Test', family_name: 'User', email: 'abcd@ispyb.test' },
  efgh: { given_name: 'Admin', family_name: 'User', email: 'efgh@ispyb.test' },
  kcnew: { given_name: 'Grace', family_name: 'Hopper', email: 'grace@ispyb.test' },
};

const args = process.argv.slice(2);
const readyFile = args[args.indexOf('--ready') + 1];
if (!args.includes('--ready') || !readyFile) {
  console.error('usage: node mock-provider.mjs --ready <file>');
  process.exit(2);
}

const oauth = new OAuth2Server(undefined, undefined, {
  endpoints: {
    token: '/protocol/openid-connect/token',
    jwks: '/protocol/openid-connect/certs',
    authorize: '/protocol/openid-connect/auth',
    userinfo: '/protocol/openid-connect/userinfo',
    revoke: '/protocol/openid-connect/revoke',
    endSession: '/protocol/openid-connect/logout',
    introspect: '/protocol/openid-connect/token/introspect',
  },
});
const keys = oauth.issuer.keys;

let currentKid = (await keys.generate('RS256')).kid;
// The library picks signing keys round-robin; a provider signs with its newest key.
const libraryGet = keys.get.bind(keys);
keys.get = (kid) => libraryGet(kid ?? currentKid);
const ecKid = (await keys.generate('ES256')).kid;
const stranger = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

const subjectOf = (username) => `f:${REALM}:${username}`;
const userClaims = (username) => ({
  sub: subjectOf(username),
  preferred_username: username,
  ...(USERS[username] ?? {}),
  realm_access: { roles: ['offline_access', 'default-roles-ispyb'] },
});

function clientOf(req) {
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Basic ')) {
    return Buffer.from(auth.slice(6), 'base64').toString().split(':')[0];
  }
  return req.body?.client_id;
}

oauth.service.on('beforeTokenSigning', (token, req) => {
  const username = req.body?.username ?? 'service-account';
  const p = token.payload;
  const idToken = p.aud !== undefined; // the library sets aud (the client) only on id tokens
  Object.assign(p, userClaims(username), { azp: clientOf(req) ?? DEFAULT_CLIENT, typ: idToken ? 'ID' : 'Bearer' });
  if (!idToken) p.aud = 'account';
});

function payloadOf(token) {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  } catch {
    return undefined;
  }
}

oauth.service.on('beforeUserinfo', (response, req) => {
  const claims = payloadOf((req.headers.authorization ?? '').replace(/^Bearer /, ''));
  if (!claims?.preferred_username) {
    response.statusCode = 401;
    response.body = { error: 'invalid_token' };
    return;
  }
  response.body = { sub: claims.sub, preferred_username: claims.preferred_username, ...(USERS[claims.preferred_username] ?? {}) };
});

const b64url = (data) => Buffer.from(data).toString('base64url');
const privateJwk = (kid) => keys.toJSON(true).find((k) => k.kid === kid);
const publicKeyOf = (kid) => {
  const { d, p, q, dp, dq, qi, ...pub } = privateJwk(kid);
  return crypto.createPublicKey({ key: pub, format: 'jwk' });
};

function mint(body) {
  const now = Math.floor(Date.now() / 1000);
  const username = body.username ?? 'abcd';
  const payload = {
    iss: oauth.issuer.url,
    iat: now,
    nbf: now - 10,
    exp: now + (body.expires_in ?? 300),
    typ: 'Bearer',
    aud: 'account',
    azp: DEFAULT_CLIENT,
    ...userClaims(username),
  };
  for (const [k, v] of Object.entries(body.claims ?? {})) {
    if (v === null) delete payload[k];
    else payload[k] = v;
  }
  const which = body.key ?? 'current';
  let alg = body.alg;
  let kid;
  let key;
  if (which === 'current') {
    kid = currentKid;
    key = crypto.createPrivateKey({ key: privateJwk(currentKid), format: 'jwk' });
    alg ??= 'RS256';
  } else if (which === 'ec') {
    kid = ecKid;
    key = crypto.createPrivateKey({ key: privateJwk(ecKid), format: 'jwk' });
    alg ??= 'ES256';
  } else if (which === 'stranger') {
    kid = 'stranger-key';
    key = stranger.privateKey;
    alg ??= 'RS256';
  } else {
    throw new Error(`unknown key ${which}`);
  }
  if (body.kid !== undefined) kid = body.kid;
  const header = { alg, typ: 'JWT', ...(kid === null ? {} : { kid }) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  let signature;
  if (alg === 'none') {
    signature = Buffer.alloc(0);
  } else if (alg.startsWith('HS')) {
    const secret = publicKeyOf(currentKid).export({ type: 'spki', format: 'pem' });
    signature = crypto.createHmac(`sha${alg.slice(2)}`, secret).update(input).digest();
  } else if (alg.startsWith('RS')) {
    signature = crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), key);
  } else if (alg.startsWith('PS')) {
    const bits = Number(alg.slice(2));
    signature = crypto.sign(`sha${bits}`, Buffer.from(input), {
      key,
      padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: bits / 8,
    });
  } else if (alg.startsWith('ES')) {
    signature = crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  } else {
    throw new Error(`unknown alg ${alg}`);
  }
  return `${input}.${b64url(signature)}`;
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => {
      data += chunk;
    });
    req.on('end', () => {
      try {
        resolve(data ? JSON.parse(data) : {});
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

const control = http.createServer(async (req, res) => {
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    if (req.method === 'POST' && req.url === '/mint') {
      reply(200, { token: mint(await readJson(req)) });
    } else if (req.method === 'POST' && req.url === '/rotate') {
      const previous = currentKid;
      currentKid = (await keys.generate('RS256')).kid;
      reply(200, { kid: currentKid, previous });
    } else if (req.method === 'GET' && req.url === '/health') {
      reply(200, { ok: true });
    } else {
      reply(404, { error: 'not found' });
    }
  } catch (e) {
    reply(400, { error: String(e?.message ?? e) });
  }
});

const handler = oauth.service.requestHandler;
const provider = http.createServer((req, res) => {
  if (req.url === PREFIX || req.url.startsWith(`${PREFIX}/`)) {
    req.url = req.url.slice(PREFIX.length) || '/';
    handler(req, res);
  } else {
    res.writeHead(404).end();
  }
});

const listen = (server) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });

const providerPort = await listen(provider);
const controlPort = await listen(control);
oauth.issuer.url = `http://127.0.0.1:${providerPort}${PREFIX}`;
const ready = { issuer: oauth.issuer.url, control: `http://127.0.0.1:${controlPort}` };
fs.writeFileSync(`${readyFile}.tmp`, JSON.stringify(ready));
fs.renameSync(`${readyFile}.tmp`, readyFile);
console.log(`mock OIDC provider: issuer ${ready.issuer}, control ${ready.control}`);

const stop = () => {
  provider.close();
  control.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
