// Sends AWS operations through the official JavaScript SDK's clients, the wire reference of ztp's
// AWS protocols (tests/integration/aws_protocol_sdk_test.cpp): the test's capture server records
// the requests and answers them with canned answers; this prints what the SDK made of each
// answer. Reads one JSON document on stdin and prints one on stdout:
//
//   {endpoint, region, credentials: {accessKeyId, secretAccessKey}, maxAttempts,
//    calls: [{client, command, input}...]}
//
// `client` is ecs, ecr, elbv2, cloudwatch, logs, autoscaling or sts. In `input`, {"$date": ISO
// 8601} stands for a Date. Each call gives {"output": ...} with the SDK's output ($metadata
// left out; Dates as epoch seconds, bytes as base64) and "attempts", or
// {"error": {name, message, requestId, status, attempts}}.
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

// The test's input with {"$date": ...} turned into Dates.
function toSdk(value) {
  if (Array.isArray(value)) {
    return value.map(toSdk);
  }
  if (value !== null && typeof value === "object") {
    if (Object.keys(value).length === 1 && typeof value.$date === "string") {
      return new Date(value.$date);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toSdk(v)]));
  }
  return value;
}

// The SDK's output as plain JSON: Dates as epoch seconds, bytes as base64.
function toPlain(value) {
  if (value instanceof Date) {
    return value.getTime() / 1000;
  }
  if (value instanceof Uint8Array) {
    return Buffer.from(value).toString("base64");
  }
  if (Array.isArray(value)) {
    return value.map(toPlain);
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k, v]) => k !== "$metadata" && v !== undefined)
        .map(([k, v]) => [k, toPlain(v)]),
    );
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
    maxAttempts: doc.maxAttempts ?? 1,
  });
  try {
    const output = await client.send(new mod[`${call.command}Command`](toSdk(call.input ?? {})));
    return { output: toPlain(output), attempts: output.$metadata?.attempts ?? 1 };
  } catch (e) {
    return {
      error: {
        name: String(e?.name ?? ""),
        message: String(e?.message ?? ""),
        requestId: e?.$metadata?.requestId ?? null,
        status: e?.$metadata?.httpStatusCode ?? null,
        attempts: e?.$metadata?.attempts ?? null,
      },
    };
  } finally {
    client.destroy();
  }
}

const doc = await readStdin();
const results = [];
for (const call of doc.calls) {
  results.push(await callOne(doc, call));
}
process.stdout.write(JSON.stringify({ results }) + "\n");
