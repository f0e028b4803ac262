// The sample application built by ztp from its own Dockerfile over the offline nginx base
// (scripts/make-nginx-base.py), pushed to a real registry (Debian's docker-registry), read by
// skopeo, checked against the OCI schemas, and run by podman.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "support/nginx_base.hpp"
#include "support/oci_schema.hpp"
#include "support/registry_server.hpp"
#include "support/sample_app.hpp"
#include "support/support.hpp"

namespace ztp {
namespace {

using nlohmann::json;
using testing::run_process;
using testing::run_ztp;

constexpr const char* k_git_env[] = {"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=t@example.com",
                                     "GIT_COMMITTER_NAME=Test",
                                     "GIT_COMMITTER_EMAIL=t@example.com"};

class ContainerImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("git", "git");
    REQUIRE_TOOL("skopeo", "skopeo");
    REQUIRE_TOOL("podman", "podman runc");
    REQUIRE_TOOL("docker-registry", "docker-registry");
    REQUIRE_TOOL("nginx", "nginx-light");
    ASSERT_TRUE(registry.ok()) << registry.error();
    base = testing::make_nginx_base(dir.path(), &registry);
    ASSERT_TRUE(base.error.empty()) << base.error;
    testing::copy_sample_app(app());
  }

  void TearDown() override {
    for (const auto& c : containers) {
      run_process({"podman", "rm", "--force", "--ignore", "--time", "0", c});
    }
    for (const auto& i : images) {
      run_process({"podman", "rmi", "--force", "--ignore", i});
    }
  }

  std::filesystem::path app() const { return dir / "app"; }

  std::vector<std::string> env(const std::filesystem::path& home) const {
    std::vector<std::string> out{"ZTP_HOME=" + home.string()};
    out.insert(out.end(), std::begin(k_git_env), std::end(k_git_env));
    return out;
  }

  // The sample's ztp.yaml, building its Dockerfile on the offline base and pushing to the
  // test's registry.
  void write_spec(const std::string& dockerfile = "Dockerfile") {
    testing::write_text(app() / "ztp.yaml", R"(app: sample-site
source: {repo: ., branch: main}
build:
  dockerfile: )" + dockerfile + R"(
  exclude: ["*.md"]
  args: {BASE: )" + base.ref + R"(}
registry: oci://)" + registry.host() + R"(/sample-site
service: {port: 80}
environments:
  - name: dev
    target: podman
    listen: 127.0.0.1:)" + std::to_string(testing::free_port()) +
                                                R"(
)");
  }

  void commit() {
    auto e = env(dir / "home");
    ASSERT_EQ(run_process({"git", "init", "-q", "-b", "main", app().string()}).exit_code, 0);
    ASSERT_EQ(run_process({"git", "-C", app().string(), "add", "-A"}, e).exit_code, 0);
    auto c = run_process({"git", "-C", app().string(), "commit", "-q", "-m", "Sample"}, e);
    ASSERT_EQ(c.exit_code, 0) << c.err;
  }

  // `ztp build --output json` in `home`.
  json build(const std::filesystem::path& home, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"-f", (app() / "ztp.yaml").string(), "build", "--output", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_ztp(args, env(home));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.out;
    return j;
  }

  // Runs `ref` from the registry in podman, published on a free loopback port; returns it.
  int run_container(const std::string& ref) {
    int port = testing::free_port();
    std::string name = "ztp-test-" + std::to_string(port);
    containers.push_back(name);
    images.push_back(ref);
    auto r = run_process({"podman", "run", "--detach", "--tls-verify=false", "--name", name,
                          "--publish", "127.0.0.1:" + std::to_string(port) + ":80", ref},
                         {}, std::chrono::seconds(180));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(testing::wait_until(
        [&] { return testing::http_get(port, "/health").status == 200; }, std::chrono::seconds(30)))
        << run_process({"podman", "logs", name}).err;
    return port;
  }

  testing::TempDir dir;
  testing::RegistryServer registry;
  testing::NginxBase base;
  std::vector<std::string> containers;
  std::vector<std::string> images;
};

TEST_F(ContainerImageTest, TheSampleBuildsFromItsDockerfileAndServesInPodman) {
  testing::require_jsonschema();
  write_spec();
  commit();
  auto built = build(dir / "home");
  const std::string digest = built.value("digest", "");
  ASSERT_TRUE(artifact::is_sha256_digest(digest)) << built.dump();
  const std::string ref = registry.host() + "/sample-site@" + digest;

  // skopeo: the base's layers, then one of ours, and a config with a real Cmd.
  auto raw = run_process({"skopeo", "inspect", "--tls-verify=false", "--raw", "docker://" + ref});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(artifact::sha256_digest(raw.out), digest);
  auto manifest = json::parse(raw.out);
  auto base_raw =
      run_process({"skopeo", "inspect", "--raw", "oci:" + base.layout.string() + ":latest"});
  auto base_manifest = json::parse(base_raw.out);
  ASSERT_EQ(manifest["layers"].size(), base_manifest["layers"].size() + 1);
  for (size_t i = 0; i < base_manifest["layers"].size(); ++i) {
    EXPECT_EQ(manifest["layers"][i]["digest"], base_manifest["layers"][i]["digest"]);
  }
  EXPECT_EQ(manifest["annotations"]["org.opencontainers.image.base.digest"], base.digest);
  auto config = run_process(
      {"skopeo", "inspect", "--tls-verify=false", "--config", "--raw", "docker://" + ref});
  ASSERT_EQ(config.exit_code, 0) << config.err;
  auto cfg = json::parse(config.out);
  EXPECT_EQ(cfg["config"]["Cmd"], json({"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(cfg["config"]["StopSignal"], "SIGQUIT");
  EXPECT_TRUE(cfg["config"]["ExposedPorts"].contains("80/tcp"));
  EXPECT_EQ(cfg["config"]["Healthcheck"]["Test"][0], "CMD-SHELL");
  EXPECT_EQ(cfg["config"].dump().find("{{"), std::string::npos) << "no placeholder in an image";

  // Every document validates against the OCI image-spec schemas.
  testing::write_text(dir / "manifest.json", raw.out);
  testing::write_text(dir / "config.json", config.out);
  auto valid = testing::validate_oci(
      dir.path(), {{"image-manifest-schema.json", (dir / "manifest.json").string()},
                   {"config-schema.json", (dir / "config.json").string()}});
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;

  // podman runs the pushed image: the site, its health endpoint and its security headers.
  int port = run_container(ref);
  auto home = testing::http_get(port, "/");
  EXPECT_EQ(home.status, 200);
  EXPECT_NE(home.body.find("AWS ECS Demo"), std::string::npos);
  EXPECT_EQ(home.header("x-content-type-options"), "nosniff");
  EXPECT_FALSE(home.header("x-frame-options").empty());
  EXPECT_FALSE(home.header("content-security-policy").empty());
  EXPECT_EQ(testing::http_get(port, "/health").status, 200);
  EXPECT_EQ(testing::http_get(port, "/no-such-page").status, 404);
}

TEST_F(ContainerImageTest, TheSameCommitBuildsToTheSameDigestAndPushesOnlyOurLayer) {
  write_spec();
  commit();
  auto first = build(dir / "home-a");
  auto second = build(dir / "home-b");
  ASSERT_FALSE(first.value("digest", "").empty());
  EXPECT_EQ(first["digest"], second["digest"]);
  // The first push mounted the base's layer from the base's repository and uploaded only the
  // config and our layer; the second found everything there.
  EXPECT_EQ(first["registry"]["uploaded"].size(), 2u) << first.dump();
  EXPECT_EQ(first["registry"]["mounted"].size(), 1u) << first.dump();
  EXPECT_TRUE(second["registry"]["uploaded"].empty()) << second.dump();
  EXPECT_TRUE(second["registry"]["mounted"].empty()) << second.dump();
}

TEST_F(ContainerImageTest, AMultiStageDockerfileBuildsAndRuns) {
  testing::write_text(app() / "Dockerfile.multi",
                      R"(# The site's files gathered in a stage of their own.
ARG BASE
FROM scratch AS site
COPY src/ /html/
COPY conf/ /conf/

FROM ${BASE}
COPY nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=site /conf/ /etc/nginx/conf/
COPY --from=site /html/ /usr/share/nginx/html/
LABEL org.opencontainers.image.description="multi-stage"
)");
  write_spec("Dockerfile.multi");
  commit();
  auto built = build(dir / "home");
  const std::string ref = registry.host() + "/sample-site@" + built.value("digest", "");
  int port = run_container(ref);
  auto about = testing::http_get(port, "/about.html");
  EXPECT_EQ(about.status, 200);
  EXPECT_NE(about.body.find("About Our Application"), std::string::npos);
}

TEST_F(ContainerImageTest, ARunLineFailsAtItsLineWithoutBuildahAndBuildsWithIt) {
  REQUIRE_TOOL("buildah", "buildah");
  testing::write_text(app() / "Dockerfile.run", R"(ARG BASE
FROM ${BASE}
COPY src/ /usr/share/nginx/html/
COPY nginx.conf /etc/nginx/conf.d/default.conf
COPY conf/ /etc/nginx/conf/
RUN ["/usr/sbin/nginx", "-t"]
)");
  write_spec("Dockerfile.run");
  commit();
  // Without buildah on PATH: refused at the RUN line, with the fix.
  auto e = env(dir / "home");
  e.push_back("PATH=" + (dir / "empty-path").string());
  std::filesystem::create_directories(dir / "empty-path");
  auto refused = run_ztp({"-f", (app() / "ztp.yaml").string(), "build"}, e);
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("Dockerfile.run:6: RUN"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("apt-get install buildah"), std::string::npos) << refused.err;

  // With buildah: the build runs the RUN line and the image serves.
  auto built = build(dir / "home");
  const std::string ref = registry.host() + "/sample-site@" + built.value("digest", "");
  int port = run_container(ref);
  EXPECT_EQ(testing::http_get(port, "/health").status, 200);
}

}  // namespace
}  // namespace ztp
