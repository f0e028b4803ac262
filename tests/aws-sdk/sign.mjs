// Signs requests with the AWS SDK for JavaScript v3, as the reference ztp's SigV4 signer is
// compared with (tests/integration/aws_sigv4_sdk_test.cpp). Reads one JSON document on stdin and
// prints one JSON document on stdout.
//
// {"mode": "sign", "requests": [R...]} signs or presigns each R with @smithy/signature-v4:
//   R = {method, protocol ("https:"), hostname, port (number or null), path (as sent,
//        percent-encoded), query ({name: value or [values]}, decoded), headers ({name: value}),
//        body (text) or body_base64, credentials {accessKeyId, secretAccessKey, sessionToken},
//        region, service, time (ISO 8601), presign (bool), expires (seconds),
//        apply_checksum (bool), uri_escape_path (bool)}
//   and prints {"results": [{headers, query}...]}: the signed request's headers and query. A
//   host header is added as the SDK's host-header middleware does (hostname[:port]).
//
// {"mode": "clients", endpoint, region, credentials, calls: [{client, command, input}...]} sends
// each call with the service's real client (one attempt) to `endpoint`, where the test's capture
// server records the signed request; prints {"results": [{client, command, error}...]}. Input
// strings under a key ending in "Time" are passed as Dates.
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

const clients = {
  ecs: ["@aws-sdk/client-ecs", "ECSClient"],
  ecr: ["@aws-sdk/client-ecr", "ECRClient"],
  elbv2: ["@aws-sdk/client-elastic-load-balancing-v2", "ElasticLoadBalancingV2Client"],
  cloudwatch: ["@aws-sdk/client-cloudwatch", "CloudWatchClient"],
  logs: ["@aws-sdk/client-cloudwatch-logs", "CloudWatchLogsClient"],
  autoscaling: ["@aws-sdk/client-application-auto-scaling", "ApplicationAutoScalingClient"],
  sts: ["@aws-sdk/client-sts", "STSClient"],
};

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function signOne(r) {
  const signer = new SignatureV4({
    credentials: r.credentials,
    region: r.region,
    service: r.service,
    sha256: Sha256,
    applyChecksum: r.apply_checksum ?? false,
    uriEscapePath: r.uri_escape_path ?? true,
  });
  const headers = { ...(r.headers ?? {}) };
  if (!Object.keys(headers).some((name) => name.toLowerCase() === "host")) {
    headers.host = r.port ? `${r.hostname}:${r.port}` : r.hostname;
  }
  let body;
  if (r.body_base64 !== undefined && r.body_base64 !== null) {
    body = Buffer.from(r.body_base64, "base64");
  } else if (r.body !== undefined && r.body !== null) {
    body = r.body;
  }
  const request = new HttpRequest({
    method: r.method,
    protocol: r.protocol ?? "https:",
    hostname: r.hostname,
    port: r.port ?? undefined,
    path: r.path,
    query: r.query ?? {},
    headers,
    body,
  });
  const signingDate = new Date(r.time);
  const signed = r.presign
    ? await signer.presign(request, { signingDate, expiresIn: r.expires ?? 3600 })
    : await signer.sign(request, { signingDate });
  return { headers: signed.headers, query: signed.query };
}

function withDates(value, key = "") {
  if (Array.isArray(value)) {
    return value.map((v) => withDates(v));
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withDates(v, k)]));
  }
  if (typeof value === "string" && key.endsWith("Time") && !Number.isNaN(Date.parse(value))) {
    return new Date(value);
  }
  return value;
}

async function callOne(doc, call) {
  const [pkg, clientName] = clients[call.client];
  const mod = await import(pkg);
  const client = new mod[clientName]({
    region: doc.region,
    endpoint: doc.endpoint,
    credentials: doc.credentials,
    maxAttempts: 1,
  });
  try {
    await client.send(new mod[`${call.command}Command`](withDates(call.input ?? {})));
    return { client: call.client, command: call.command, error: null };
  } catch (e) {
    return { client: call.client, command: call.command, error: String(e?.name ?? e) };
  } finally {
    client.destroy();
  }
}

const doc = await readStdin();
const results = [];
if (doc.mode === "clients") {
  for (const call of doc.calls) {
    results.push(await callOne(doc, call));
  }
} else {
  for (const r of doc.requests) {
    results.push(await signOne(r));
  }
}
process.stdout.write(JSON.stringify({ results }) + "\n");
