// Drives the official AWS SDK for JavaScript v3 (the @aws-sdk/client-* packages pinned in
// package-lock.json) against the AWS fake of tests/support, so that every answer of the fake is
// parsed by the real deserialisers.
//
//   node fake_client.mjs --endpoint http://127.0.0.1:PORT [--region us-east-1] [COMMANDS]
//
// COMMANDS is a JSON array of commands; without it the script reads one JSON command per line
// on stdin and answers each with one line on stdout, so a test can move the fake's clock
// between calls. A command:
//   {"client": "ecs" | "ecr" | "elbv2" | "cloudwatch" | "sts",
//    "command": "DescribeServices",            // the operation; its <Name>Command is sent
//    "input": {...},                           // {"$date": epochSeconds} becomes a Date
//    "config": {"maxAttempts": 1,              // 1 unless a retry is under test
//               "region": "us-east-1",
//               "credentials": {"accessKeyId": ..., "secretAccessKey": ..., "sessionToken": ...}
//                            | {"webIdentity": {"tokenFile": ..., "roleArn": ..., "roleSessionName": ...}},
//               "tamper": {"dropAuthorization": true} | {"scopeService": "ecr"}}}
// A result: {"ok": true, "output": {...}, "metadata": {...}}, or {"ok": false, "error": {"name",
// "message", "fault", "code", "requestId", "httpStatusCode", "attempts", "totalRetryDelay"}};
// dates come out as ISO 8601 strings.

import { createInterface } from "node:readline";

process.removeAllListeners("warning");

let modules;
try {
  modules = {
    ecs: await import("@aws-sdk/client-ecs"),
    ecr: await import("@aws-sdk/client-ecr"),
    elbv2: await import("@aws-sdk/client-elastic-load-balancing-v2"),
    cloudwatch: await import("@aws-sdk/client-cloudwatch"),
    sts: await import("@aws-sdk/client-sts"),
    webIdentity: await import("@aws-sdk/credential-provider-web-identity"),
  };
} catch (e) {
  console.error(
    `the AWS SDK for JavaScript is not installed (${e.message}): run \`npm ci --prefix tests/aws-sdk\``,
  );
  process.exit(2);
}

const clients = {
  ecs: "ECSClient",
  ecr: "ECRClient",
  elbv2: "ElasticLoadBalancingV2Client",
  cloudwatch: "CloudWatchClient",
  sts: "STSClient",
};

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const endpoint = option("--endpoint");
const region = option("--region", "us-east-1");
if (!endpoint) {
  console.error("usage: node fake_client.mjs --endpoint URL [--region REGION] [COMMANDS]");
  process.exit(2);
}

// {"$date": seconds} -> Date, everywhere in the input.
function revive(value) {
  if (Array.isArray(value)) {
    return value.map(revive);
  }
  if (value && typeof value === "object") {
    if (Object.keys(value).length === 1 && typeof value.$date === "number") {
      return new Date(value.$date * 1000);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

function credentialsOf(config, clientRegion) {
  const given = config.credentials ?? {};
  if (given.webIdentity) {
    return modules.webIdentity.fromTokenFile({
      webIdentityTokenFile: given.webIdentity.tokenFile,
      roleArn: given.webIdentity.roleArn,
      roleSessionName: given.webIdentity.roleSessionName,
      clientConfig: { endpoint: config.endpoint ?? endpoint, region: clientRegion },
    });
  }
  return {
    accessKeyId: given.accessKeyId ?? "AKIDZTPFAKE000000001",
    secretAccessKey: given.secretAccessKey ?? "ztp-fake-secret-access-key",
    ...(given.sessionToken ? { sessionToken: given.sessionToken } : {}),
  };
}

// Changes the signed request after signing, to send what a broken client would.
function tamper(client, how) {
  client.middlewareStack.addRelativeTo(
    (next) => async (args) => {
      const headers = args.request.headers;
      const name = Object.keys(headers).find((h) => h.toLowerCase() === "authorization");
      if (how.dropAuthorization && name) {
        delete headers[name];
      }
      if (how.scopeService && name) {
        headers[name] = headers[name].replace(
          /(Credential=[^/]+\/[0-9]{8}\/[^/]+\/)[^/]+\//,
          `$1${how.scopeService}/`,
        );
      }
      return next(args);
    },
    { relation: "after", toMiddleware: "httpSigningMiddleware", name: "ztpTamper" },
  );
}

async function run(command) {
  const mod = modules[command.client];
  if (!mod || !clients[command.client]) {
    return { ok: false, error: { name: "UsageError", message: `unknown client ${command.client}` } };
  }
  const Command = mod[`${command.command}Command`];
  if (!Command) {
    return { ok: false, error: { name: "UsageError", message: `unknown command ${command.command}` } };
  }
  const config = command.config ?? {};
  const clientRegion = config.region ?? region;
  const client = new mod[clients[command.client]]({
    endpoint: config.endpoint ?? endpoint,
    region: clientRegion,
    credentials: credentialsOf(config, clientRegion),
    maxAttempts: config.maxAttempts ?? 1,
    retryMode: config.retryMode ?? "standard",
  });
  if (config.tamper) {
    tamper(client, config.tamper);
  }
  try {
    const { $metadata, ...output } = await client.send(new Command(revive(command.input ?? {})));
    return { ok: true, output, metadata: $metadata };
  } catch (e) {
    return {
      ok: false,
      error: {
        name: e.name,
        message: e.message,
        fault: e.$fault,
        code: e.Code,
        requestId: e.$metadata?.requestId,
        httpStatusCode: e.$metadata?.httpStatusCode,
        attempts: e.$metadata?.attempts,
        totalRetryDelay: e.$metadata?.totalRetryDelay,
      },
    };
  } finally {
    client.destroy();
  }
}

const batch = args.find((a, i) => a.startsWith("[") && !["--endpoint", "--region"].includes(args[i - 1]));
if (batch) {
  const results = [];
  for (const command of JSON.parse(batch)) {
    results.push(await run(command));
  }
  process.stdout.write(JSON.stringify(results) + "\n");
} else {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === "") {
      continue;
    }
    let result;
    try {
      result = await run(JSON.parse(line));
    } catch (e) {
      result = { ok: false, error: { name: "UsageError", message: e.message } };
    }
    process.stdout.write(JSON.stringify(result) + "\n");
  }
}
