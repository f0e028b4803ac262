// The operations the ECS target will call, with realistic inputs and canned answers, shared by
// the SDK (capture.mjs) and ztp's AwsClient in tests/integration/aws_protocol_sdk_test.cpp.
// Run directly, it prints {calls, errors, retries} as JSON. {"$date": ISO 8601} stands for a
// timestamp; an answer is {status, headers, body}.
const acct = "123456789012";
const arn = (service, rest) => `arn:aws:${service}:us-east-1:${acct}:${rest}`;
const tg = (name, id) => arn("elasticloadbalancing", `targetgroup/${name}/${id}`);
const lb = arn("elasticloadbalancing", "loadbalancer/app/front/50dc6c495c0c9188");
const listener = arn("elasticloadbalancing", "listener/app/front/50dc6c495c0c9188/f2f7dc8efc522ab2");
const rule = arn("elasticloadbalancing",
  "listener-rule/app/front/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee");
const json = (body, id) => ({
  status: 200,
  headers: { "Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": id },
  body: JSON.stringify(body),
});
const xml = (action, inner, id) => ({
  status: 200,
  headers: { "Content-Type": "text/xml", "x-amzn-RequestId": id },
  body: `<${action}Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">` +
    `<${action}Result>${inner}</${action}Result>` +
    `<ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></${action}Response>`,
});
const jsonError = (status, type, message, id, extra = {}) => ({
  status,
  headers: { "Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": id, ...extra },
  body: JSON.stringify({ __type: type, message }),
});
const xmlError = (status, code, message, id, header = true) => ({
  status,
  headers: { "Content-Type": "text/xml", ...(header ? { "x-amzn-RequestId": id } : {}) },
  body: `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">` +
    `<Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
    `<RequestId>${id}</RequestId></ErrorResponse>`,
});

const container = {
  name: "web",
  image: `${acct}.dkr.ecr.us-east-1.amazonaws.com/web@sha256:` + "ab".repeat(32),
  essential: true,
  cpu: 256,
  memoryReservation: 384,
  portMappings: [{ containerPort: 8080, protocol: "tcp", name: "http", appProtocol: "http" }],
  environment: [{ name: "ZTP_RELEASE", value: "r42" }, { name: "GREETING", value: "héllo & <hi>" }],
  secrets: [{ name: "DB_URL", valueFrom: arn("secretsmanager", "secret:db-AbCdEf") }],
  logConfiguration: {
    logDriver: "awslogs",
    options: { "awslogs-group": "/ztp/web", "awslogs-region": "us-east-1",
      "awslogs-stream-prefix": "web" },
  },
  healthCheck: { command: ["CMD-SHELL", "curl -fs http://localhost:8080/healthz || exit 1"],
    interval: 10, timeout: 5, retries: 3, startPeriod: 15 },
  stopTimeout: 30,
  dockerLabels: { "ztp.app": "web", "ztp.release": "r42" },
  ulimits: [{ name: "nofile", softLimit: 65536, hardLimit: 65536 }],
};
const taskDefinition = {
  taskDefinitionArn: arn("ecs", "task-definition/web:42"), family: "web", revision: 42,
  status: "ACTIVE", networkMode: "awsvpc", cpu: "256", memory: "512",
  requiresCompatibilities: ["FARGATE"], containerDefinitions: [container],
  registeredAt: 1714564800.123, registeredBy: arn("iam", "role/ztp").replace(":us-east-1", ""),
};
const service = {
  serviceArn: arn("ecs", "service/prod/web"), serviceName: "web", clusterArn: arn("ecs", "cluster/prod"),
  status: "ACTIVE", desiredCount: 2, runningCount: 2, pendingCount: 0, launchType: "FARGATE",
  taskDefinition: arn("ecs", "task-definition/web:42"), createdAt: 1714564800.5,
  loadBalancers: [{ targetGroupArn: tg("web-blue", "73e2d6bc24d8a067"), containerName: "web",
    containerPort: 8080 }],
  deployments: [{ id: "ecs-svc/9223370", status: "PRIMARY", taskDefinition: arn("ecs",
    "task-definition/web:42"), desiredCount: 2, runningCount: 2, rolloutState: "COMPLETED",
    createdAt: 1714564800.5, updatedAt: 1714564860 }],
  events: [{ id: "e1", createdAt: 1714564870.25, message: "(service web) has reached a steady state." }],
  deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true },
    maximumPercent: 200, minimumHealthyPercent: 100 },
  tags: [{ key: "ztp:app", value: "web" }],
};
const targetGroupXml = `<member><TargetGroupArn>${tg("web-blue", "73e2d6bc24d8a067")}</TargetGroupArn>` +
  "<TargetGroupName>web-blue</TargetGroupName><Protocol>HTTP</Protocol><Port>8080</Port>" +
  "<VpcId>vpc-3ac0fb5f</VpcId><HealthCheckEnabled>true</HealthCheckEnabled>" +
  "<HealthCheckIntervalSeconds>10</HealthCheckIntervalSeconds><HealthCheckPath>/healthz</HealthCheckPath>" +
  `<Matcher><HttpCode>200-299</HttpCode></Matcher><LoadBalancerArns><member>${lb}</member></LoadBalancerArns>` +
  "<TargetType>ip</TargetType><IpAddressType>ipv4</IpAddressType></member>";

export const calls = [
  { client: "ecs", command: "RegisterTaskDefinition", input: {
      family: "web", taskRoleArn: "arn:aws:iam::123456789012:role/web-task",
      executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
      networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"], cpu: "256", memory: "512",
      runtimePlatform: { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" },
      containerDefinitions: [container], tags: [{ key: "ztp:app", value: "web" }] },
    answer: json({ taskDefinition, tags: [{ key: "ztp:app", value: "web" }] }, "c1") },
  { client: "ecs", command: "DescribeTaskDefinition",
    input: { taskDefinition: "web:42", include: ["TAGS"] },
    answer: json({ taskDefinition, tags: [] }, "c2") },
  { client: "ecs", command: "CreateService", input: {
      cluster: "prod", serviceName: "web", taskDefinition: "web:42", desiredCount: 2,
      launchType: "FARGATE", platformVersion: "LATEST", clientToken: "ztp-run-17-web",
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0a1b", "subnet-2c3d"],
        securityGroups: ["sg-0f00"], assignPublicIp: "DISABLED" } },
      loadBalancers: [{ targetGroupArn: tg("web-blue", "73e2d6bc24d8a067"), containerName: "web",
        containerPort: 8080 }],
      healthCheckGracePeriodSeconds: 30,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true },
        maximumPercent: 200, minimumHealthyPercent: 100 },
      deploymentController: { type: "ECS" }, enableECSManagedTags: true, propagateTags: "SERVICE",
      enableExecuteCommand: false, tags: [{ key: "ztp:app", value: "web" }] },
    answer: json({ service }, "c3") },
  { client: "ecs", command: "UpdateService", input: {
      cluster: "prod", service: "web", taskDefinition: "web:43", desiredCount: 3,
      forceNewDeployment: true,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false },
        maximumPercent: 150, minimumHealthyPercent: 50 } },
    answer: json({ service }, "c4") },
  { client: "ecs", command: "DeleteService", input: { cluster: "prod", service: "web", force: true },
    answer: json({ service: { ...service, status: "DRAINING", desiredCount: 0 } }, "c5") },
  { client: "ecs", command: "DescribeServices",
    input: { cluster: "prod", services: ["web", "web-canary"], include: ["TAGS"] },
    answer: json({ services: [service], failures: [{ arn: arn("ecs", "service/prod/web-canary"),
      reason: "MISSING" }] }, "c6") },
  { client: "ecs", command: "ListTasks", input: { cluster: "prod", serviceName: "web",
      desiredStatus: "RUNNING", maxResults: 100, nextToken: "eyJ0b2tlbiI6IDJ9" },
    answer: json({ taskArns: [arn("ecs", "task/prod/0f9c2b"), arn("ecs", "task/prod/7d1e4a")],
      nextToken: "eyJ0b2tlbiI6IDN9" }, "c7") },
  { client: "ecs", command: "DescribeTasks",
    input: { cluster: "prod", tasks: [arn("ecs", "task/prod/0f9c2b")], include: ["TAGS"] },
    answer: json({ tasks: [{ taskArn: arn("ecs", "task/prod/0f9c2b"), lastStatus: "RUNNING",
      desiredStatus: "RUNNING", healthStatus: "HEALTHY", cpu: "256", memory: "512",
      startedAt: 1714564830.75, taskDefinitionArn: arn("ecs", "task-definition/web:42"),
      containers: [{ name: "web", lastStatus: "RUNNING", healthStatus: "HEALTHY", exitCode: 0,
        networkInterfaces: [{ privateIpv4Address: "10.0.3.17" }] }],
      attachments: [{ id: "a1", type: "ElasticNetworkInterface", status: "ATTACHED",
        details: [{ name: "privateIPv4Address", value: "10.0.3.17" }] }] }], failures: [] }, "c8") },
  { client: "ecs", command: "DescribeClusters",
    input: { clusters: ["prod"], include: ["SETTINGS", "STATISTICS"] },
    answer: json({ clusters: [{ clusterArn: arn("ecs", "cluster/prod"), clusterName: "prod",
      status: "ACTIVE", runningTasksCount: 5, activeServicesCount: 2,
      settings: [{ name: "containerInsights", value: "enabled" }] }], failures: [] }, "c9") },
  { client: "ecr", command: "GetAuthorizationToken", input: {},
    answer: json({ authorizationData: [{ authorizationToken: "QVdTOnNlY3JldA==",
      expiresAt: 1714608000, proxyEndpoint: `https://${acct}.dkr.ecr.us-east-1.amazonaws.com` }] },
    "r1") },
  { client: "ecr", command: "CreateRepository", input: {
      repositoryName: "ztp/web", imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: "AES256" },
      tags: [{ Key: "ztp:app", Value: "web" }] },
    answer: json({ repository: { repositoryArn: arn("ecr", "repository/ztp/web"), registryId: acct,
      repositoryName: "ztp/web", repositoryUri: `${acct}.dkr.ecr.us-east-1.amazonaws.com/ztp/web`,
      createdAt: 1714564800, imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true } } }, "r2") },
  { client: "ecr", command: "DescribeRepositories",
    input: { registryId: acct, repositoryNames: ["ztp/web", "ztp/worker"] },
    answer: json({ repositories: [{ repositoryName: "ztp/web", registryId: acct,
      createdAt: 1714564800, imageTagMutability: "MUTABLE" }] }, "r3") },
  { client: "ecr", command: "PutImageTagMutability",
    input: { registryId: acct, repositoryName: "ztp/web", imageTagMutability: "MUTABLE" },
    answer: json({ registryId: acct, repositoryName: "ztp/web", imageTagMutability: "MUTABLE" },
      "r4") },
  { client: "elbv2", command: "CreateTargetGroup", input: {
      Name: "web-green", Protocol: "HTTP", ProtocolVersion: "HTTP1", Port: 8080,
      VpcId: "vpc-3ac0fb5f", HealthCheckProtocol: "HTTP", HealthCheckPath: "/healthz",
      HealthCheckEnabled: true, HealthCheckIntervalSeconds: 10, HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2, UnhealthyThresholdCount: 3, Matcher: { HttpCode: "200-299" },
      TargetType: "ip", Tags: [{ Key: "ztp:app", Value: "web" }, { Key: "ztp:slot", Value: "green" }] },
    answer: xml("CreateTargetGroup", `<TargetGroups>${targetGroupXml}</TargetGroups>`, "e1") },
  { client: "elbv2", command: "DescribeTargetGroups",
    input: { LoadBalancerArn: lb, PageSize: 50, Marker: "bWFya2VyLTI=" },
    answer: xml("DescribeTargetGroups",
      `<TargetGroups>${targetGroupXml}</TargetGroups><NextMarker>bWFya2VyLTM=</NextMarker>`, "e2") },
  { client: "elbv2", command: "ModifyTargetGroupAttributes", input: {
      TargetGroupArn: tg("web-green", "6d0ecf831eec9f09"),
      Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: "30" },
        { Key: "stickiness.enabled", Value: "false" }] },
    answer: xml("ModifyTargetGroupAttributes", "<Attributes><member><Key>stickiness.enabled</Key>" +
      "<Value>false</Value></member><member><Key>deregistration_delay.timeout_seconds</Key>" +
      "<Value>30</Value></member></Attributes>", "e3") },
  { client: "elbv2", command: "DescribeTargetHealth", input: {
      TargetGroupArn: tg("web-green", "6d0ecf831eec9f09"),
      Targets: [{ Id: "10.0.3.17", Port: 8080 }, { Id: "10.0.4.21", Port: 8080 }] },
    answer: xml("DescribeTargetHealth", "<TargetHealthDescriptions>" +
      "<member><Target><Id>10.0.3.17</Id><Port>8080</Port></Target><HealthCheckPort>8080</HealthCheckPort>" +
      "<TargetHealth><State>healthy</State></TargetHealth></member>" +
      "<member><Target><Id>10.0.4.21</Id><Port>8080</Port></Target><TargetHealth><State>unhealthy" +
      "</State><Reason>Target.ResponseCodeMismatch</Reason><Description>Health checks failed with these " +
      "codes: [502]</Description></TargetHealth></member></TargetHealthDescriptions>", "e4") },
  { client: "elbv2", command: "DescribeRules", input: { ListenerArn: listener, PageSize: 20 },
    answer: xml("DescribeRules", `<Rules><member><RuleArn>${rule}</RuleArn><Priority>10</Priority>` +
      "<Conditions><member><Field>path-pattern</Field><PathPatternConfig><Values><member>/*</member>" +
      "</Values></PathPatternConfig></member></Conditions><Actions><member><Type>forward</Type>" +
      "<Order>1</Order><ForwardConfig><TargetGroups>" +
      `<member><TargetGroupArn>${tg("web-blue", "73e2d6bc24d8a067")}</TargetGroupArn><Weight>90</Weight></member>` +
      `<member><TargetGroupArn>${tg("web-green", "6d0ecf831eec9f09")}</TargetGroupArn><Weight>10</Weight></member>` +
      "</TargetGroups><TargetGroupStickinessConfig><Enabled>false</Enabled></TargetGroupStickinessConfig>" +
      "</ForwardConfig></member></Actions><IsDefault>false</IsDefault></member></Rules>", "e5") },
  { client: "elbv2", command: "ModifyRule", input: {
      RuleArn: rule,
      Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/*", "/api/*"] } }],
      Actions: [
        { Type: "authenticate-oidc", Order: 1, AuthenticateOidcConfig: {
          Issuer: "https://idp.example.com", AuthorizationEndpoint: "https://idp.example.com/authorize",
          TokenEndpoint: "https://idp.example.com/token", UserInfoEndpoint: "https://idp.example.com/userinfo",
          ClientId: "ztp", AuthenticationRequestExtraParams: { display: "page", prompt: "login" },
          OnUnauthenticatedRequest: "authenticate" } },
        { Type: "forward", Order: 2, ForwardConfig: {
          TargetGroups: [{ TargetGroupArn: tg("web-blue", "73e2d6bc24d8a067"), Weight: 90 },
            { TargetGroupArn: tg("web-green", "6d0ecf831eec9f09"), Weight: 10 }],
          TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 } } }] },
    answer: xml("ModifyRule", `<Rules><member><RuleArn>${rule}</RuleArn><Priority>10</Priority>` +
      "<IsDefault>false</IsDefault></member></Rules>", "e6") },
  { client: "elbv2", command: "DescribeListeners", input: { LoadBalancerArn: lb, PageSize: 10 },
    answer: xml("DescribeListeners", `<Listeners><member><ListenerArn>${listener}</ListenerArn>` +
      `<LoadBalancerArn>${lb}</LoadBalancerArn><Port>443</Port><Protocol>HTTPS</Protocol>` +
      "<Certificates><member><CertificateArn>arn:aws:acm:us-east-1:123456789012:certificate/1</CertificateArn>" +
      "</member></Certificates><SslPolicy>ELBSecurityPolicy-TLS13-1-2-2021-06</SslPolicy>" +
      "<DefaultActions><member><Type>fixed-response</Type><FixedResponseConfig><StatusCode>404</StatusCode>" +
      "<ContentType>text/plain</ContentType></FixedResponseConfig></member></DefaultActions></member>" +
      "</Listeners>", "e7") },
  { client: "cloudwatch", command: "GetMetricData", input: {
      MetricDataQueries: [
        { Id: "errors", ReturnData: false, MetricStat: { Metric: { Namespace: "AWS/ApplicationELB",
          MetricName: "HTTPCode_Target_5XX_Count", Dimensions: [
            { Name: "TargetGroup", Value: "targetgroup/web-green/6d0ecf831eec9f09" },
            { Name: "LoadBalancer", Value: "app/front/50dc6c495c0c9188" }] },
          Period: 60, Stat: "Sum", Unit: "Count" } },
        { Id: "p99", MetricStat: { Metric: { Namespace: "AWS/ApplicationELB",
          MetricName: "TargetResponseTime", Dimensions: [
            { Name: "TargetGroup", Value: "targetgroup/web-green/6d0ecf831eec9f09" }] },
          Period: 60, Stat: "p99" } },
        { Id: "rate", Expression: "errors / 60", Label: "5xx per second", ReturnData: true }],
      StartTime: { $date: "2024-05-01T12:00:00Z" }, EndTime: { $date: "2024-05-01T12:10:00.500Z" },
      ScanBy: "TimestampAscending", MaxDatapoints: 1000, LabelOptions: { Timezone: "+0000" } },
    answer: { ...json({ MetricDataResults: [
      { Id: "p99", Label: "TargetResponseTime", StatusCode: "Complete",
        Timestamps: [1714564800, 1714564860], Values: [0.125, 0.25] },
      { Id: "rate", Label: "5xx per second", StatusCode: "PartialData", Timestamps: [1714564800],
        Values: [0] }], Messages: [] }, "m1"),
      headers: { "Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "m1" } } },
  { client: "logs", command: "GetLogEvents", input: {
      logGroupName: "/ztp/web", logStreamName: "web/web/0f9c2b", startTime: 1714564800000,
      endTime: 1714565400000, limit: 100, startFromHead: true },
    answer: json({ events: [{ timestamp: 1714564801000, message: "listening on :8080",
      ingestionTime: 1714564801500 }], nextForwardToken: "f/3831", nextBackwardToken: "b/3830" },
      "l1") },
  { client: "logs", command: "FilterLogEvents", input: {
      logGroupName: "/ztp/web", logStreamNames: ["web/web/0f9c2b", "web/web/7d1e4a"],
      startTime: 1714564800000, endTime: 1714565400000, filterPattern: "?ERROR ?panic", limit: 500 },
    answer: json({ events: [{ logStreamName: "web/web/7d1e4a", timestamp: 1714564900000,
      message: "ERROR upstream timed out", ingestionTime: 1714564900100, eventId: "3831" }],
      searchedLogStreams: [{ logStreamName: "web/web/7d1e4a", searchedCompletely: true }],
      nextToken: "Bxk2" }, "l2") },
  { client: "autoscaling", command: "RegisterScalableTarget", input: {
      ServiceNamespace: "ecs", ResourceId: "service/prod/web", ScalableDimension: "ecs:service:DesiredCount",
      MinCapacity: 2, MaxCapacity: 10,
      SuspendedState: { DynamicScalingInSuspended: false, DynamicScalingOutSuspended: false,
        ScheduledScalingSuspended: true },
      Tags: { "ztp:app": "web", "ztp:env": "prod" } },
    answer: json({ ScalableTargetARN: arn("application-autoscaling", "scalable-target/0123abcd") },
      "s1") },
  { client: "autoscaling", command: "PutScalingPolicy", input: {
      PolicyName: "web-cpu", ServiceNamespace: "ecs", ResourceId: "service/prod/web",
      ScalableDimension: "ecs:service:DesiredCount", PolicyType: "TargetTrackingScaling",
      TargetTrackingScalingPolicyConfiguration: { TargetValue: 60.5, ScaleOutCooldown: 60,
        ScaleInCooldown: 120, DisableScaleIn: false,
        PredefinedMetricSpecification: { PredefinedMetricType: "ECSServiceAverageCPUUtilization" } } },
    answer: json({ PolicyARN: arn("autoscaling", "scalingPolicy:0123:resource/ecs/service/prod/web:policyName/web-cpu"),
      Alarms: [{ AlarmName: "TargetTracking-service/prod/web-AlarmHigh", AlarmARN: arn("cloudwatch", "alarm:hi") }] },
      "s2") },
  { client: "autoscaling", command: "DescribeScalableTargets", input: {
      ServiceNamespace: "ecs", ResourceIds: ["service/prod/web"],
      ScalableDimension: "ecs:service:DesiredCount", MaxResults: 50 },
    answer: json({ ScalableTargets: [{ ServiceNamespace: "ecs", ResourceId: "service/prod/web",
      ScalableDimension: "ecs:service:DesiredCount", MinCapacity: 2, MaxCapacity: 10,
      RoleARN: "arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRole",
      CreationTime: 1714564800.25, SuspendedState: { DynamicScalingInSuspended: false } }] }, "s3") },
  { client: "sts", command: "GetCallerIdentity", input: {},
    answer: { ...xml("GetCallerIdentity", `<Arn>arn:aws:sts::${acct}:assumed-role/deploy/ztp</Arn>` +
      `<UserId>AROA3XFRBF535PLBIFPI4:ztp</UserId><Account>${acct}</Account>`, "t1") } },
  { client: "sts", command: "AssumeRoleWithWebIdentity", input: {
      RoleArn: "arn:aws:iam::123456789012:role/deploy", RoleSessionName: "ztp-run-17",
      WebIdentityToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvd2ViIn0.c2ln+/=",
      DurationSeconds: 3600, PolicyArns: [{ arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }],
      Policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}' },
    answer: xml("AssumeRoleWithWebIdentity", "<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>" +
      "<SecretAccessKey>c2VjcmV0</SecretAccessKey><SessionToken>FwoGZXIvYXdzEJr</SessionToken>" +
      "<Expiration>2024-05-01T13:00:00Z</Expiration></Credentials>" +
      "<SubjectFromWebIdentityToken>repo:acme/web</SubjectFromWebIdentityToken>" +
      `<AssumedRoleUser><Arn>arn:aws:sts::${acct}:assumed-role/deploy/ztp-run-17</Arn>` +
      "<AssumedRoleId>AROA3XFRBF535PLBIFPI4:ztp-run-17</AssumedRoleId></AssumedRoleUser>" +
      "<PackedPolicySize>6</PackedPolicySize><Audience>sts.amazonaws.com</Audience>" +
      "<Provider>token.actions.githubusercontent.com</Provider>", "t2") },
];

const find = (command) => calls.find((c) => c.command === command);
const withAnswer = (command, answer) => ({ ...find(command), answer });

export const errors = [
  withAnswer("DescribeServices", jsonError(400, "ClusterNotFoundException", "Cluster not found.",
    "5c2a7f10-3b1e-4d7a-9c1f-0e9b2d6f4a11")),
  withAnswer("UpdateService", jsonError(400, "com.amazonaws.ecs#ServiceNotActiveException",
    "Service was not ACTIVE.", "u-1")),
  withAnswer("DeleteService", jsonError(400, "AccessDeniedException",
    "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:DeleteService", "d-1")),
  withAnswer("RegisterTaskDefinition", jsonError(400, "ClientException",
    "Invalid 'cpu' setting for task.", "rt-1")),
  withAnswer("CreateRepository", jsonError(400, "RepositoryAlreadyExistsException",
    "The repository with name 'ztp/web' already exists in the registry with id '123456789012'", "cr-1")),
  withAnswer("GetAuthorizationToken", jsonError(400, "UnrecognizedClientException",
    "The security token included in the request is invalid.", "gat-1")),
  withAnswer("GetLogEvents", jsonError(400, "ResourceNotFoundException",
    "The specified log group does not exist.", "gle-1")),
  withAnswer("RegisterScalableTarget", jsonError(400, "ValidationException",
    "Minimum capacity cannot be greater than maximum capacity", "rst-1")),
  withAnswer("GetMetricData", { ...jsonError(400,
    "com.amazonaws.cloudwatch#InvalidParameterValueException",
    "The value 7 for parameter MetricDataQueries.member.1.MetricStat.Period is not valid.", "gmd-1",
    { "x-amzn-query-error": "InvalidParameterValue;Sender" }) }),
  withAnswer("DescribeTargetGroups", xmlError(400, "TargetGroupNotFound",
    "One or more target groups not found", "tgnf-1")),
  withAnswer("ModifyRule", xmlError(400, "ValidationError",
    "A listener rule cannot have more than 5 target groups", "mr-1", false)),
  withAnswer("AssumeRoleWithWebIdentity", xmlError(400, "InvalidIdentityToken",
    "Couldn't retrieve verification key from your identity provider", "arwi-1")),
  withAnswer("GetCallerIdentity", xmlError(403, "InvalidClientTokenId",
    "The security token included in the request is invalid.", "gci-1")),
];

export const retries = [
  { ...find("DescribeServices"), answers: [
    jsonError(400, "ThrottlingException", "Rate exceeded", "thr-1"), find("DescribeServices").answer] },
  { ...find("DescribeTargetHealth"), answers: [
    xmlError(400, "Throttling", "Rate exceeded", "thr-2"), find("DescribeTargetHealth").answer] },
  { ...find("DescribeScalableTargets"), answers: [
    { status: 503, headers: { "x-amzn-RequestId": "thr-3" }, body: "" },
    find("DescribeScalableTargets").answer] },
];

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(JSON.stringify({ calls, errors, retries }) + "\n");
}
