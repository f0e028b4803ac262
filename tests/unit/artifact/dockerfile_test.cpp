#include "artifact/dockerfile.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

using namespace ztp;
using namespace ztp::artifact::dockerfile;
using nlohmann::json;

namespace {

using Strings = std::vector<std::string>;
using Vars = std::map<std::string, std::string>;

// The sample application's Dockerfile (application/Dockerfile), as text.
constexpr std::string_view k_sample =
    R"(# The sample site as a container image: nginx serving the static files of src/.
# Build and run: docker build -t sample-site . && docker run --rm -p 8080:80 sample-site
# ztp reads this file itself (ztp.containers.yaml); BASE names another nginx image with the
# same layout, such as the offline one of scripts/make-nginx-base.py:
#   ztp build --build-arg BASE=127.0.0.1:5000/nginx-base:latest
ARG BASE=nginx:alpine
FROM ${BASE}

# nginx.conf is the server block; it includes conf/site.conf, which nginx.local.conf shares.
COPY nginx.conf /etc/nginx/conf.d/default.conf
COPY conf/ /etc/nginx/conf/
COPY src/ /usr/share/nginx/html/

EXPOSE 80

# 127.0.0.1 rather than localhost: the server listens on IPv4 only.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1/health || exit 1
)";

Parsed parsed_ok(std::string_view text) {
  auto r = parse(text, "Dockerfile");
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? r.value() : Parsed{};
}

// A BaseEnv that records its calls and gives every image the same Env.
struct FakeBase {
  Strings env = {"PATH=/usr/bin:/bin", "NGINX_VERSION=1.27"};
  std::vector<std::pair<std::string, int>> calls;
  BaseEnv callback() {
    return [this](const std::string& ref, int line) -> Result<Strings> {
      calls.emplace_back(ref, line);
      return env;
    };
  }
};

Result<Plan> plan_text(std::string_view text, const Vars& args = {}, FakeBase* base = nullptr) {
  auto p = parse(text, "Dockerfile");
  if (!p.ok()) {
    return p.take_error();
  }
  FakeBase fallback;
  FakeBase& b = base != nullptr ? *base : fallback;
  return plan(p.value(), "Dockerfile", args, b.callback());
}

Plan plan_ok(std::string_view text, const Vars& args = {}, FakeBase* base = nullptr) {
  auto r = plan_text(text, args, base);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? r.value() : Plan{};
}

// The message of the error planning `text` gives; fails the test when it plans.
std::string plan_error(std::string_view text, const Vars& args = {}) {
  auto r = plan_text(text, args);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) {
    return "";
  }
  EXPECT_EQ(r.error().code, Errc::invalid);
  return r.error().message;
}

std::string subst(std::string_view word, const Vars& vars = {}, char escape = '\\') {
  auto r = substitute(word, vars, escape);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? r.value() : "<error>";
}

}  // namespace

TEST(DockerfileParse, JoinsContinuationsSkippingCommentsAndKeepsTheFirstLine) {
  Parsed p = parsed_ok(
      "FROM alpine\n"
      "\n"
      "RUN apk add \\\n"
      "    # a comment inside the continuation\n"
      "\n"
      "    curl \\   \n"
      "    jq\n"
      "  # an indented comment\n"
      "cmd [\"sh\"]\n");
  ASSERT_EQ(p.instructions.size(), 3u);
  EXPECT_EQ(p.instructions[0].line, 1);
  const Instruction& run = p.instructions[1];
  EXPECT_EQ(run.keyword, "RUN");
  EXPECT_EQ(run.line, 3);
  EXPECT_EQ(run.rest, "apk add     curl     jq");
  EXPECT_EQ(run.args, (Strings{"apk", "add", "curl", "jq"}));
  EXPECT_FALSE(run.exec_form);
  EXPECT_EQ(p.instructions[2].keyword, "CMD");
  EXPECT_EQ(p.instructions[2].line, 9);
}

TEST(DockerfileParse, EscapeDirectiveSwitchesToBacktick) {
  Parsed p = parsed_ok(
      "# escape=`\r\n"
      "FROM mcr.microsoft.com/windows/nanoserver\r\n"
      "COPY C:\\app\\ `\r\n"
      "     C:\\dest\\\r\n");
  EXPECT_EQ(p.escape, '`');
  ASSERT_EQ(p.instructions.size(), 2u);
  EXPECT_EQ(p.instructions[1].line, 3);
  EXPECT_EQ(p.instructions[1].args, (Strings{"C:\\app\\", "C:\\dest\\"}));
}

TEST(DockerfileParse, DirectivesCountOnlyAtTheTop) {
  Parsed late = parsed_ok("# a comment\n# escape=`\nFROM alpine\n");
  EXPECT_EQ(late.escape, '\\');
  Parsed syntax = parsed_ok("# syntax=docker/dockerfile:1\n#ESCAPE = `\nFROM alpine\n");
  EXPECT_EQ(syntax.escape, '`');

  auto twice = parse("# escape=`\n# escape=\\\nFROM alpine\n", "Dockerfile");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("Dockerfile:2:"), std::string::npos);
  auto bad = parse("# escape=x\nFROM alpine\n", "Dockerfile");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("Dockerfile:1:"), std::string::npos);
}

TEST(DockerfileParse, ExecAndShellForms) {
  Parsed p = parsed_ok(
      "FROM alpine\n"
      "ENTRYPOINT [\"/app/server\", \"--port\", \"80\"]\n"
      "CMD echo \"hi there\"\n"
      "CMD [\"unterminated\"\n"
      "COPY [\"a b.txt\", \"c\", \"/dest/\"]\n"
      "FROM [\"not\", \"exec\"]\n");
  const auto& ins = p.instructions;
  EXPECT_TRUE(ins[1].exec_form);
  EXPECT_EQ(ins[1].args, (Strings{"/app/server", "--port", "80"}));
  EXPECT_FALSE(ins[2].exec_form);
  EXPECT_EQ(ins[2].rest, "echo \"hi there\"");
  // Not valid JSON: the shell form, as Docker reads it.
  EXPECT_FALSE(ins[3].exec_form);
  EXPECT_EQ(ins[3].rest, "[\"unterminated\"");
  EXPECT_TRUE(ins[4].exec_form);
  EXPECT_EQ(ins[4].args, (Strings{"a b.txt", "c", "/dest/"}));
  // FROM has no exec form.
  EXPECT_FALSE(ins[5].exec_form);
}

TEST(DockerfileParse, JsonArrayOfNonStringsIsInvalidAsInDocker) {
  auto r = parse("FROM alpine\n\nCMD [1, 2]\n", "Dockerfile");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Dockerfile:3:"), std::string::npos);
  EXPECT_NE(r.error().message.find("not a string"), std::string::npos);
}

TEST(DockerfileParse, FlagsComeBeforeTheArguments) {
  Parsed p = parsed_ok(
      "FROM --platform=linux/amd64 alpine AS build\n"
      "copy --from=build --chown=\"app:app\" --link /out /app/ --not-a-flag\n"
      "RUN --mount=type=cache,target=/a --mount=type=cache,target=/b make\n");
  const auto& from = p.instructions[0];
  EXPECT_EQ(from.flags, (std::map<std::string, std::string>{{"platform", "linux/amd64"}}));
  EXPECT_EQ(from.args, (Strings{"alpine", "AS", "build"}));
  const auto& copy = p.instructions[1];
  EXPECT_EQ(copy.keyword, "COPY");
  EXPECT_EQ(copy.flags, (std::map<std::string, std::string>{
                            {"from", "build"}, {"chown", "app:app"}, {"link", ""}}));
  EXPECT_EQ(copy.args, (Strings{"/out", "/app/", "--not-a-flag"}));
  EXPECT_EQ(copy.rest, "/out /app/ --not-a-flag");
  EXPECT_EQ(p.instructions[2].rest, "make");

  auto twice = parse("FROM alpine\nCOPY --from=a --from=b x /y\n", "Dockerfile");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("Dockerfile:2:"), std::string::npos);
  auto nameless = parse("FROM alpine\nCOPY --=x a /b\n", "Dockerfile");
  EXPECT_FALSE(nameless.ok());
}

TEST(DockerfileParse, EnvWordsKeepQuotesForSubstitution) {
  Parsed p = parsed_ok("FROM alpine\nENV A=1 B=\"two words\" C='x y' D=a\\ b\n");
  EXPECT_EQ(p.instructions[1].args, (Strings{"A=1", "B=\"two words\"", "C='x y'", "D=a\\ b"}));
}

TEST(DockerfileParse, HereDocumentIsRefusedAtItsLine) {
  auto r = parse("FROM alpine\nRUN <<EOF\necho hi\nEOF\n", "Dockerfile");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(r.error().message.find("here-document"), std::string::npos);
  EXPECT_FALSE(parse("FROM alpine\nCOPY <<-EOT /etc/x\nhi\nEOT\n", "Dockerfile").ok());
  // Quoted, or a here-string, it is not one.
  EXPECT_TRUE(parse("FROM alpine\nRUN echo \"<<EOF\" && cat <<<x\n", "Dockerfile").ok());
}

TEST(DockerfileParse, TheSampleApplication) {
  Parsed p = parsed_ok(k_sample);
  ASSERT_EQ(p.instructions.size(), 7u);
  EXPECT_EQ(p.instructions[0].keyword, "ARG");
  EXPECT_EQ(p.instructions[0].line, 6);
  EXPECT_EQ(p.instructions[1].line, 7);
  EXPECT_EQ(p.instructions[5].keyword, "EXPOSE");
  EXPECT_EQ(p.instructions[5].line, 14);
  const Instruction& hc = p.instructions[6];
  EXPECT_EQ(hc.line, 17);
  EXPECT_EQ(hc.flags.at("interval"), "30s");
  EXPECT_EQ(hc.flags.at("retries"), "3");
  EXPECT_EQ(hc.rest, "CMD wget -q -O /dev/null http://127.0.0.1/health || exit 1");
}

TEST(DockerfileSubstitute, PlainAndBracedVariables) {
  Vars v{{"A", "1"}, {"EMPTY", ""}, {"NAME_2", "x"}};
  EXPECT_EQ(subst("$A-${A}-$NAME_2.txt-$UNSET-${UNSET}"), "--.txt--");
  EXPECT_EQ(subst("$A-${A}-$NAME_2.txt-$UNSET-${UNSET}", v), "1-1-x.txt--");
  EXPECT_EQ(subst("cost: $ 5 and $", v), "cost: $ 5 and $");
}

TEST(DockerfileSubstitute, DefaultAndAlternativeOperators) {
  Vars v{{"A", "1"}, {"EMPTY", ""}, {"D", "deep"}};
  EXPECT_EQ(subst("${UNSET:-fallback}", v), "fallback");
  EXPECT_EQ(subst("${EMPTY:-fallback}", v), "fallback");
  EXPECT_EQ(subst("${EMPTY-fallback}", v), "");
  EXPECT_EQ(subst("${A:-fallback}", v), "1");
  EXPECT_EQ(subst("${A:+alt}", v), "alt");
  EXPECT_EQ(subst("${EMPTY:+alt}", v), "");
  EXPECT_EQ(subst("${EMPTY+alt}", v), "alt");
  EXPECT_EQ(subst("${UNSET:+alt}", v), "");
  // The word may itself hold variables, and nest.
  EXPECT_EQ(subst("${UNSET:-$D/${A}}", v), "deep/1");
  EXPECT_EQ(subst("${UNSET:-${ALSO_UNSET:-inner}}", v), "inner");
  EXPECT_EQ(subst("${A:?}", v), "1");
  auto required = substitute("${UNSET:?set VERSION}", v);
  ASSERT_FALSE(required.ok());
  EXPECT_NE(required.error().message.find("set VERSION"), std::string::npos);
}

TEST(DockerfileSubstitute, EscapesAndQuotes) {
  Vars v{{"A", "1"}};
  EXPECT_EQ(subst("\\$A and \\${A}", v), "$A and ${A}");
  EXPECT_EQ(subst("`$A", v, '`'), "$A");
  EXPECT_EQ(subst("C:\\dir\\$A", v, '`'), "C:\\dir\\1");
  EXPECT_EQ(subst("\"a $A b\"", v), "a 1 b");
  EXPECT_EQ(subst("'a $A b'", v), "a $A b");
  EXPECT_EQ(subst("\"say \\\"hi\\\" \\n\"", v), "say \"hi\" \\n");
}

TEST(DockerfileSubstitute, MalformedIsInvalid) {
  for (std::string_view bad :
       {"${A", "${", "${}", "${:-x}", "${A:-x", "\"open", "'open", "${A#x}", "${A:=x}"}) {
    auto r = substitute(bad, {{"A", "1"}});
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::invalid);
    }
  }
}

TEST(DockerfilePlan, TheSampleApplication) {
  FakeBase base;
  Plan p = plan_ok(k_sample, {}, &base);
  ASSERT_EQ(p.stages.size(), 1u);
  const Stage& s = p.stages[0];
  EXPECT_EQ(s.line, 7);
  EXPECT_EQ(s.base, "nginx:alpine");
  EXPECT_EQ(base.calls, (std::vector<std::pair<std::string, int>>{{"nginx:alpine", 7}}));
  EXPECT_EQ(s.base_env, base.env);
  ASSERT_EQ(s.copies.size(), 3u);
  EXPECT_EQ(s.copies[0].line, 10);
  EXPECT_EQ(s.copies[0].sources, (Strings{"nginx.conf"}));
  EXPECT_EQ(s.copies[0].dest, "/etc/nginx/conf.d/default.conf");
  EXPECT_EQ(s.copies[1].dest, "/etc/nginx/conf/");
  EXPECT_EQ(s.copies[2].sources, (Strings{"src/"}));
  EXPECT_EQ(s.copies[2].dest, "/usr/share/nginx/html/");
  EXPECT_FALSE(s.copies[2].from_stage);
  EXPECT_EQ(s.config.exposed_ports, (Strings{"80/tcp"}));
  ASSERT_TRUE(s.config.healthcheck);
  EXPECT_EQ(*s.config.healthcheck, json::parse(R"({"Test": ["CMD-SHELL",
                                     "wget -q -O /dev/null http://127.0.0.1/health || exit 1"],
                            "Interval": 30000000000, "Timeout": 3000000000,
                            "StartPeriod": 5000000000, "Retries": 3})"));
  EXPECT_FALSE(s.config.cmd);
  EXPECT_FALSE(p.first_run_line);
  EXPECT_TRUE(p.unused_args.empty());

  Plan offline = plan_ok(k_sample, {{"BASE", "127.0.0.1:5000/nginx-base:latest"}});
  EXPECT_EQ(offline.stages[0].base, "127.0.0.1:5000/nginx-base:latest");
}

TEST(DockerfilePlan, MultiStageCopiesFromEarlierStagesByNameAndIndex) {
  FakeBase base;
  Plan p = plan_ok(
      "FROM golang:1.22 AS Build\n"
      "ENV CGO_ENABLED=0\n"
      "WORKDIR /src\n"
      "COPY . .\n"
      "RUN go build -o /out/app ./cmd/app\n"
      "FROM build AS test\n"
      "RUN go test ./...\n"
      "FROM scratch\n"
      "COPY --from=BUILD --chown=1000:2000 --chmod=0755 --link /out/app /app\n"
      "COPY --from=1 --chown=app /src/report.txt /\n"
      "COPY --from=0 --chown=7 /etc/ssl/certs/ca.pem /etc/ssl/certs/\n"
      "ENTRYPOINT [\"/app\"]\n",
      {}, &base);
  ASSERT_EQ(p.stages.size(), 3u);
  EXPECT_EQ(base.calls.size(), 1u);  // only golang:1.22 is an image
  EXPECT_EQ(p.stages[0].name, "build");
  EXPECT_EQ(p.stages[0].copies[0].dest, "/src/");
  EXPECT_EQ(p.stages[0].run_line, 5);
  EXPECT_EQ(p.stages[1].base_stage, 0);
  EXPECT_EQ(p.stages[1].run_line, 7);
  EXPECT_EQ(p.first_run_line, 5);
  // A stage built on another starts with the Env that one ends with.
  EXPECT_EQ(p.stages[1].base_env,
            (Strings{"PATH=/usr/bin:/bin", "NGINX_VERSION=1.27", "CGO_ENABLED=0"}));
  const Stage& last = p.stages[2];
  EXPECT_EQ(last.base, "scratch");
  EXPECT_FALSE(last.base_stage);
  EXPECT_TRUE(last.base_env.empty());
  EXPECT_FALSE(last.run_line);
  ASSERT_EQ(last.copies.size(), 3u);
  EXPECT_EQ(last.copies[0].from_stage, 0);
  EXPECT_EQ(last.copies[0].uid, 1000u);
  EXPECT_EQ(last.copies[0].gid, 2000u);
  EXPECT_EQ(last.copies[0].chmod, 0755u);
  EXPECT_EQ(last.copies[0].dest, "/app");
  EXPECT_EQ(last.copies[1].from_stage, 1);
  EXPECT_EQ(last.copies[1].chown, "app");
  EXPECT_FALSE(last.copies[1].uid);
  EXPECT_FALSE(last.copies[1].gid);
  EXPECT_EQ(last.copies[2].uid, 7u);
  EXPECT_EQ(last.copies[2].gid, 7u);
  EXPECT_EQ(last.config.entrypoint, (Strings{"/app"}));
  // ENTRYPOINT without CMD drops the base's CMD, as in Docker.
  EXPECT_EQ(last.config.cmd, Strings{});
}

TEST(DockerfilePlan, CopyFromMustNameAnEarlierStage) {
  std::string unknown = plan_error("FROM alpine\nCOPY --from=nginx:latest /a /b\n");
  EXPECT_NE(unknown.find("Dockerfile:2: COPY --from=nginx:latest names no earlier stage; ztp "
                         "copies only from stages of this Dockerfile"),
            std::string::npos)
      << unknown;
  EXPECT_NE(plan_error("FROM alpine AS a\nCOPY --from=a /x /y\n").find("Dockerfile:2:"),
            std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nCOPY --from=0 /x /y\n").find("Dockerfile:2:"),
            std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nCOPY --from=later /x /y\nFROM alpine AS later\n")
                .find("Dockerfile:2:"),
            std::string::npos);
  EXPECT_NE(plan_error("FROM alpine AS a\nFROM a\nADD --from=a /x /y\n").find("Dockerfile:3:"),
            std::string::npos);
}

TEST(DockerfilePlan, GlobalArgsFeedFromLinesAndBuildArgsOverride) {
  const std::string_view text =
      "ARG REGISTRY=docker.io\n"
      "ARG TAG=3.20\n"
      "ARG IMAGE=${REGISTRY}/library/alpine:${TAG}\n"
      "FROM --platform=$TARGETPLATFORM $IMAGE\n";
  Plan defaults = plan_ok(text);
  EXPECT_EQ(defaults.stages[0].base, "docker.io/library/alpine:3.20");
  EXPECT_EQ(defaults.stages[0].platform, "");
  Plan given = plan_ok(text, {{"TAG", "3.19"}, {"TARGETPLATFORM", "linux/arm64"}});
  EXPECT_EQ(given.stages[0].base, "docker.io/library/alpine:3.19");
  EXPECT_EQ(given.stages[0].platform, "linux/arm64");
  EXPECT_TRUE(given.unused_args.empty());

  std::string empty = plan_error("ARG BASE\nFROM $BASE\n");
  EXPECT_NE(empty.find("Dockerfile:2:"), std::string::npos) << empty;
}

TEST(DockerfilePlan, GlobalArgIsVisibleInAStageOnlyWhenRedeclared) {
  Plan p = plan_ok(
      "ARG VERSION=1.0\n"
      "FROM alpine\n"
      "LABEL before=\"[$VERSION]\"\n"
      "ARG VERSION\n"
      "LABEL after=\"[$VERSION]\"\n"
      "ARG LOCAL=x-$VERSION\n"
      "LABEL local=$LOCAL\n"
      "FROM alpine\n"
      "LABEL other=\"[$LOCAL]\"\n",
      {{"VERSION", "2.0"}});
  EXPECT_EQ(p.stages[0].config.labels,
            (std::map<std::string, std::string>{
                {"before", "[]"}, {"after", "[2.0]"}, {"local", "x-2.0"}}));
  EXPECT_EQ(p.stages[1].config.labels.at("other"), "[]");
  // ARGs are not the image's Env.
  EXPECT_TRUE(p.stages[0].config.env.empty());
}

TEST(DockerfilePlan, EnvBothFormsQuotingAndVisibility) {
  FakeBase base;
  Plan p = plan_ok(
      "FROM nginx\n"
      "ENV K=V K2=\"v 2\" K3='$K' K4=a\\ b\n"
      "ENV LEGACY some value with  spaces\n"
      "ENV K=changed SEES_OLD=$K\n"
      "ENV PATH=/app/bin:$PATH GREETING=\"hello $NGINX_VERSION\"\n"
      "LABEL version=\"$K\" \"quoted key\"=x\n"
      "WORKDIR /srv/$K\n"
      "FROM 0\n",
      {}, &base);
  const auto& env = p.stages[0].config.env;
  std::vector<std::pair<std::string, std::string>> want = {{"K", "V"},
                                                           {"K2", "v 2"},
                                                           {"K3", "$K"},
                                                           {"K4", "a b"},
                                                           {"LEGACY", "some value with  spaces"},
                                                           {"K", "changed"},
                                                           {"SEES_OLD", "V"},
                                                           {"PATH", "/app/bin:/usr/bin:/bin"},
                                                           {"GREETING", "hello 1.27"}};
  EXPECT_EQ(env, want);
  EXPECT_EQ(p.stages[0].config.labels,
            (std::map<std::string, std::string>{{"version", "changed"}, {"quoted key", "x"}}));
  EXPECT_EQ(p.stages[0].config.working_dir, "/srv/changed");
  // "0" is an image name for FROM, not a stage index.
  EXPECT_FALSE(p.stages[1].base_stage);
}

TEST(DockerfilePlan, PathDefaultsWhenTheBaseSetsNone) {
  Plan p = plan_ok("FROM scratch\nENV PATH=/app:$PATH\n");
  EXPECT_EQ(p.stages[0].config.env[0].second,
            "/app:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

TEST(DockerfilePlan, ArgsSubstituteInOrderAndFeedCopyFlags) {
  Plan p = plan_ok(
      "FROM alpine\n"
      "ARG UID=1000 OWNER=${UID}:${UID} MODE\n"
      "ARG SRC=dist\n"
      "COPY --chown=$OWNER --chmod=${MODE:-644} $SRC/ /srv/\n",
      {{"MODE", "600"}});
  const Copy& c = p.stages[0].copies[0];
  EXPECT_EQ(c.chown, "1000:1000");
  EXPECT_EQ(c.uid, 1000u);
  EXPECT_EQ(c.gid, 1000u);
  EXPECT_EQ(c.chmod, 0600u);
  EXPECT_EQ(c.sources, (Strings{"dist/"}));
  EXPECT_NE(plan_error("FROM alpine\nCOPY $NOTHING /srv/\n").find("Dockerfile:2:"),
            std::string::npos);
}

TEST(DockerfilePlan, ChildStagesInheritEnvAndArgs) {
  Plan p = plan_ok(
      "FROM scratch AS base\n"
      "ARG MODE=release\n"
      "ENV HOME=/home/app\n"
      "WORKDIR /build\n"
      "FROM base\n"
      "LABEL seen=\"$HOME $MODE\"\n"
      "WORKDIR sub\n"
      "COPY x ./\n");
  const Stage& child = p.stages[1];
  EXPECT_EQ(child.base_env, (Strings{"HOME=/home/app"}));
  EXPECT_EQ(child.config.labels.at("seen"), "/home/app release");
  EXPECT_EQ(child.config.working_dir, "/build/sub");
  EXPECT_EQ(child.copies[0].dest, "/build/sub/");
}

TEST(DockerfilePlan, WorkdirJoinsRelativePathsAndCopyDestinations) {
  Plan p = plan_ok(
      "FROM alpine\n"
      "COPY a b\n"
      "WORKDIR /app\n"
      "WORKDIR src/../lib\n"
      "COPY one.txt conf/\n"
      "COPY two.txt .\n"
      "COPY three.txt /abs//dir/./x\n"
      "COPY *.json ./\n"
      "COPY [\"a\", \"b\", \"dir/\"]\n");
  const Stage& s = p.stages[0];
  EXPECT_EQ(s.config.working_dir, "/app/lib");
  ASSERT_EQ(s.copies.size(), 6u);
  EXPECT_EQ(s.copies[0].dest, "/b");
  EXPECT_EQ(s.copies[1].dest, "/app/lib/conf/");
  EXPECT_EQ(s.copies[2].dest, "/app/lib/");
  EXPECT_EQ(s.copies[3].dest, "/abs/dir/x");
  EXPECT_EQ(s.copies[4].sources, (Strings{"*.json"}));
  EXPECT_EQ(s.copies[5].sources, (Strings{"a", "b"}));
  EXPECT_EQ(s.copies[5].dest, "/app/lib/dir/");
}

TEST(DockerfilePlan, SeveralSourcesOrAGlobNeedADirectory) {
  std::string several = plan_error("FROM alpine\nCOPY a b /dest\n");
  EXPECT_NE(several.find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(several.find("/dest/"), std::string::npos) << several;
  EXPECT_NE(plan_error("FROM alpine\nCOPY *.txt /dest\n").find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nCOPY onlyone\n").find("Dockerfile:2:"), std::string::npos);
}

TEST(DockerfilePlan, EntrypointCmdAndOtherConfig) {
  Plan p = plan_ok(
      "FROM alpine\n"
      "CMD [\"--help\"]\n"
      "ENTRYPOINT exec /app \"$@\"\n"
      "USER app:app\n"
      "STOPSIGNAL SIGQUIT\n"
      "EXPOSE 80 80/tcp 53/udp 8443/TCP\n"
      "FROM alpine\n"
      "ENTRYPOINT []\n"
      "CMD serve --port 80\n");
  const auto& c0 = p.stages[0].config;
  EXPECT_EQ(c0.cmd, (Strings{"--help"}));  // kept: the CMD came first
  EXPECT_EQ(c0.entrypoint, (Strings{"/bin/sh", "-c", "exec /app \"$@\""}));
  EXPECT_EQ(c0.user, "app:app");
  EXPECT_EQ(c0.stop_signal, "SIGQUIT");
  EXPECT_EQ(c0.exposed_ports, (Strings{"80/tcp", "53/udp", "8443/tcp"}));
  const auto& c1 = p.stages[1].config;
  EXPECT_EQ(c1.entrypoint, Strings{});
  EXPECT_EQ(c1.cmd, (Strings{"/bin/sh", "-c", "serve --port 80"}));

  EXPECT_NE(plan_error("FROM alpine\nEXPOSE 8000-8010\n").find("port range"), std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nEXPOSE 80/icmp\n").find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nEXPOSE 70000\n").find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nSTOPSIGNAL 0\n").find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nCMD --help\n").find("takes no flags"), std::string::npos);
}

TEST(DockerfilePlan, HealthcheckFormsAndDurations) {
  Plan p = plan_ok(
      "FROM alpine\n"
      "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1.5s "
      "--start-interval=2s CMD [\"/app\", \"health\"]\n"
      "FROM alpine\n"
      "HEALTHCHECK CMD curl -f http://localhost/\n"
      "FROM alpine\n"
      "healthcheck none\n");
  EXPECT_EQ(*p.stages[0].config.healthcheck,
            json::parse(R"({"Test": ["CMD", "/app", "health"], "Interval": 90000000000,
                            "Timeout": 500000000, "StartPeriod": 1500000000,
                            "StartInterval": 2000000000})"));
  EXPECT_EQ(*p.stages[1].config.healthcheck,
            json::parse(R"({"Test": ["CMD-SHELL", "curl -f http://localhost/"]})"));
  EXPECT_EQ(*p.stages[2].config.healthcheck, json::parse(R"({"Test": ["NONE"]})"));

  for (std::string_view bad :
       {"HEALTHCHECK --interval=30 CMD true", "HEALTHCHECK --interval=1us CMD true",
        "HEALTHCHECK --timeout=-1s CMD true", "HEALTHCHECK --retries=-1 CMD true",
        "HEALTHCHECK --retries=x CMD true", "HEALTHCHECK --port=1 CMD true", "HEALTHCHECK CMD",
        "HEALTHCHECK NONE --x", "HEALTHCHECK --interval=5s NONE", "HEALTHCHECK RUN true"}) {
    std::string text = "FROM alpine\n" + std::string(bad) + "\n";
    EXPECT_NE(plan_error(text).find("Dockerfile:2:"), std::string::npos) << bad;
  }
}

TEST(DockerfilePlan, UnsupportedInstructionsNameTheirLineAndFix) {
  struct Case {
    std::string_view line;
    std::string_view keyword;
    std::string_view fix;
  };
  for (const Case& c :
       {Case{"ONBUILD RUN make", "ONBUILD", "later build"},
        Case{"SHELL [\"pwsh\", \"-c\"]", "SHELL", "exec form"},
        Case{"VOLUME /data", "VOLUME", "declare volumes in the target"},
        Case{"MAINTAINER me@example.com", "MAINTAINER", "LABEL org.opencontainers.image.authors="},
        Case{"COPPY a b", "COPPY", "spelling"}}) {
    std::string text = "FROM alpine\n\n" + std::string(c.line) + "\n";
    std::string message = plan_error(text);
    EXPECT_NE(message.find(fmt::format("Dockerfile:3: {} is not supported by ztp's Dockerfile "
                                       "reader: ",
                                       c.keyword)),
              std::string::npos)
        << message;
    EXPECT_NE(message.find(c.fix), std::string::npos) << message;
  }
}

TEST(DockerfilePlan, AddOfUrlsAndArchivesIsRefused) {
  std::string url = plan_error("FROM alpine\nADD https://example.com/a.txt /a.txt\n");
  EXPECT_NE(url.find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(url.find("COPY"), std::string::npos) << url;
  std::string archive = plan_error("FROM alpine\nADD site.tar.gz /srv/\n");
  EXPECT_NE(archive.find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(archive.find("unpack it in the build context"), std::string::npos) << archive;
  Plan plain = plan_ok("FROM alpine\nADD --chown=1:1 config.yaml /etc/app/\n");
  EXPECT_EQ(plain.stages[0].copies[0].dest, "/etc/app/");
  EXPECT_EQ(plain.stages[0].copies[0].uid, 1u);
}

TEST(DockerfilePlan, OnlyArgMayComeBeforeFrom) {
  std::string message = plan_error("ARG X=1\nENV Y=2\nFROM alpine\n");
  EXPECT_NE(message.find("Dockerfile:2: ENV comes before the first FROM"), std::string::npos)
      << message;
  EXPECT_NE(plan_error("# only comments\n").find("no FROM"), std::string::npos);
  EXPECT_NE(plan_error("ARG X\n").find("no FROM"), std::string::npos);
}

TEST(DockerfilePlan, FromSyntaxAndStageNames) {
  EXPECT_NE(plan_error("FROM alpine build\n").find("Dockerfile:1:"), std::string::npos);
  EXPECT_NE(plan_error("FROM alpine AS 1st\n").find("Dockerfile:1:"), std::string::npos);
  std::string dup = plan_error("FROM alpine AS a\nFROM alpine AS A\n");
  EXPECT_NE(dup.find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(dup.find("line 1"), std::string::npos) << dup;
  EXPECT_NE(plan_error("FROM --platform=x --pull alpine\n").find("--pull"), std::string::npos);
}

TEST(DockerfilePlan, SubstitutionErrorsNameTheLine) {
  std::string message = plan_error("FROM alpine\nENV A=1\nLABEL x=${A\n");
  EXPECT_NE(message.find("Dockerfile:3: LABEL"), std::string::npos) << message;
  EXPECT_NE(plan_error("FROM alpine\nENV A=\"open\n").find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nENV onlyname\n").find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nENV A=1 B\n").find("Dockerfile:2:"), std::string::npos);
  EXPECT_NE(plan_error("FROM alpine\nCOPY --chmod=u+x a /b\n").find("Dockerfile:2:"),
            std::string::npos);
}

TEST(DockerfilePlan, UnusedBuildArgsAreListedSorted) {
  Plan p = plan_ok("ARG USED\nFROM alpine\nARG ALSO_USED\n", {{"zeta", "1"},
                                                              {"USED", "1"},
                                                              {"ALSO_USED", "1"},
                                                              {"alpha", "1"},
                                                              {"HTTP_PROXY", "http://proxy"},
                                                              {"TARGETARCH", "arm64"}});
  EXPECT_EQ(p.unused_args, (Strings{"alpha", "zeta"}));
}

TEST(DockerfilePlan, BaseEnvIsVisibleAndItsErrorsPropagate) {
  FakeBase base;
  base.env = {"APP_HOME=/opt/app", "NOVALUE"};
  Plan p = plan_ok("FROM registry.example/app:1\nWORKDIR $APP_HOME/data\n", {}, &base);
  EXPECT_EQ(p.stages[0].config.working_dir, "/opt/app/data");
  EXPECT_EQ(p.stages[0].base_env, base.env);
  EXPECT_EQ(plan_ok("FROM scratch\nLABEL novalue=[$NOVALUE]\n", {}, &base)
                .stages[0]
                .config.labels.at("novalue"),
            "[]");

  Parsed parsed = parsed_ok("FROM alpine\n\nFROM missing:1\n");
  int calls = 0;
  auto r = plan(parsed, "Dockerfile", {}, [&](const std::string& ref, int line) -> Result<Strings> {
    ++calls;
    if (ref == "missing:1") {
      return make_error(Errc::not_found, fmt::format("line {}: no such image", line));
    }
    return Strings{};
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "line 3: no such image");
  EXPECT_EQ(calls, 2);
}
