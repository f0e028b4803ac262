#include "artifact/context_build.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "artifact/directory_source.hpp"
#include "artifact/image_index.hpp"
#include "artifact_helpers.hpp"
#include "support/support.hpp"

namespace ztp::artifact {
namespace {

using nlohmann::json;
using test::write_file;

// A base image in an OCI layout at `dir`, tagged `tag`: one layer holding etc/base.conf, a
// config with Env, Cmd, ExposedPorts, StopSignal and User, and a history line per layer.
Descriptor make_base(const std::filesystem::path& dir, const std::string& tag = "v1",
                     const std::string& arch = "amd64") {
  auto store = OciLayoutStore::open(dir).value();
  FileEntry conf;
  conf.path = "etc/base.conf";
  conf.content = "base";
  auto layer = build_layer({conf}, 0).value();
  store.put_blob(layer.blob, k_media_layer_gzip).value();
  json config{{"architecture", arch},
              {"os", "linux"},
              {"config",
               {{"Env", {"PATH=/usr/bin:/bin", "NGINX_VERSION=1.22"}},
                {"Cmd", {"nginx", "-g", "daemon off;"}},
                {"ExposedPorts", {{"80/tcp", json::object()}}},
                {"StopSignal", "SIGQUIT"},
                {"User", "101"},
                {"Labels", {{"maintainer", "base"}}}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {layer.diff_id}}}},
              {"history",
               {{{"created_by", "ADD rootfs"}}, {{"created_by", "ENV x"}, {"empty_layer", true}}}}};
  std::string config_json = canonical_json(config);
  auto stored_config = store.put_blob(config_json, k_media_config).value();
  json manifest = make_manifest(stored_config.descriptor, {layer.descriptor()}, {});
  return store.put_manifest(canonical_json(manifest), {tag}).value();
}

spec::Spec spec_in(const std::filesystem::path& dir) {
  spec::Spec s;
  s.file = dir / "ztp.yaml";
  s.app = "site";
  return s;
}

ImageSpecInputs inputs() {
  ImageSpecInputs in;
  in.revision = "0123456789abcdef0123456789abcdef01234567";
  in.created = 1'714'564'800;
  return in;
}

struct Built {
  BuiltImage image;
  ImageConfig config;
  Manifest manifest;
  std::vector<test::TarEntry> top;  // the entries of the last layer
};

Result<Built> build(const spec::Spec& s, const std::filesystem::path& context,
                    OciLayoutStore& store, ContextBuildOptions opts = {}) {
  DirectorySource source(context, {});
  ZTP_ASSIGN_OR_RETURN(auto image, build_context(s, source, inputs(), store, {"t"}, opts));
  Built out;
  out.image = image;
  ZTP_ASSIGN_OR_RETURN(out.config, store.read_config(image.manifest));
  ZTP_ASSIGN_OR_RETURN(out.manifest, store.read_manifest(image.manifest));
  ZTP_ASSIGN_OR_RETURN(auto blob, store.read_blob(image.layers.back().digest));
  out.top = test::read_tar(blob);
  return out;
}

std::vector<std::string> paths_of(const std::vector<test::TarEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) {
    out.push_back(e.path);
  }
  return out;
}

const test::TarEntry* entry(const std::vector<test::TarEntry>& entries, const std::string& path) {
  for (const auto& e : entries) {
    if (e.path == path) {
      return &e;
    }
  }
  return nullptr;
}

TEST(ContextBuildTest, ADockerfileBuildsItsCopiesAsOneLayerOverTheBase) {
  ztp::testing::TempDir dir;
  auto base = make_base(dir / "base");
  write_file(dir / "ctx/Dockerfile",
             "ARG BASE=oci:base:v1\n"
             "FROM ${BASE}\n"
             "COPY nginx.conf /etc/nginx/conf.d/default.conf\n"
             "COPY conf/ /etc/nginx/conf/\n"
             "COPY src/ /usr/share/nginx/html/\n"
             "ENV MODE=prod\n"
             "EXPOSE 8080\n"
             "HEALTHCHECK --interval=30s CMD wget -q http://127.0.0.1/health\n");
  write_file(dir / "ctx/nginx.conf", "server {}");
  write_file(dir / "ctx/conf/site.conf", "add_header X-Frame-Options DENY;");
  write_file(dir / "ctx/src/index.html", "<h1>hi</h1>");
  write_file(dir / "ctx/README.md", "not copied");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto built = build(spec_in(dir.path()), dir / "ctx", store);
  ASSERT_TRUE(built.ok()) << built.error().message;

  ASSERT_EQ(built->manifest.layers.size(), 2u) << "the base's layer and one of ours";
  auto base_manifest = OciLayoutStore::open(dir / "base").value().read_manifest(base).value();
  EXPECT_EQ(built->manifest.layers[0].digest, base_manifest.layers[0].digest);
  EXPECT_EQ(built->manifest.annotations.at(k_annotation_base_name), "oci:base:v1");
  EXPECT_EQ(built->manifest.annotations.at(k_annotation_base_digest), base.digest);
  EXPECT_EQ(paths_of(built->top),
            (std::vector<std::string>{"etc/", "etc/nginx/", "etc/nginx/conf/", "etc/nginx/conf.d/",
                                      "etc/nginx/conf.d/default.conf", "etc/nginx/conf/site.conf",
                                      "usr/", "usr/share/", "usr/share/nginx/",
                                      "usr/share/nginx/html/", "usr/share/nginx/html/index.html"}));
  // The base's config stays where the Dockerfile says nothing.
  EXPECT_EQ(built->config.cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(built->config.stop_signal, "SIGQUIT");
  EXPECT_EQ(built->config.user, "101");
  EXPECT_EQ(built->config.env,
            (std::vector<std::string>{"PATH=/usr/bin:/bin", "NGINX_VERSION=1.22", "MODE=prod"}));
  EXPECT_EQ(built->config.exposed_ports, (std::vector<std::string>{"80/tcp", "8080/tcp"}));
  EXPECT_EQ(built->config.labels.at("maintainer"), "base");
  EXPECT_EQ(built->config.labels.at(k_annotation_revision), inputs().revision);
  EXPECT_EQ(built->config.config["Healthcheck"]["Test"],
            json({"CMD-SHELL", "wget -q http://127.0.0.1/health"}));
  EXPECT_EQ(built->config.config["Healthcheck"]["Interval"], 30'000'000'000LL);
  // The base's history is kept as it was (its empty_layer line too), then ours.
  ASSERT_EQ(built->config.history.size(), 3u);
  EXPECT_EQ(built->config.history[0]["created_by"], "ADD rootfs");
  EXPECT_EQ(built->config.history[1]["empty_layer"], true);
  EXPECT_EQ(built->config.diff_ids.size(), 2u);
}

TEST(ContextBuildTest, TheSameContextAndBaseGiveTheSameDigest) {
  ztp::testing::TempDir dir;
  make_base(dir / "base");
  write_file(dir / "ctx/Dockerfile", "FROM oci:base:v1\nCOPY . /srv/\n");
  write_file(dir / "ctx/a.txt", "a");
  auto one = OciLayoutStore::open(dir / "one").value();
  auto two = OciLayoutStore::open(dir / "two").value();
  auto a = build(spec_in(dir.path()), dir / "ctx", one);
  auto b = build(spec_in(dir.path()), dir / "ctx", two);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(a->image.manifest.digest, b->image.manifest.digest);
}

TEST(ContextBuildTest, BuildFromPutsTheContextOverTheBaseAndTheSpecWins) {
  ztp::testing::TempDir dir;
  auto base = make_base(dir / "base");
  write_file(dir / "ctx/index.html", "x");
  auto s = spec_in(dir.path());
  s.build.from = "oci:base:v1";
  auto store = OciLayoutStore::open(dir / "oci").value();
  DirectorySource source(dir / "ctx", {});
  ImageSpecInputs in = inputs();
  in.cmd = {"nginx", "-c", "/etc/other.conf"};
  in.env = {{"NGINX_VERSION", "mine"}};
  auto built = build_context(s, source, in, store, {}, {});
  ASSERT_TRUE(built.ok()) << built.error().message;
  auto config = store.read_config(built->manifest).value();
  EXPECT_EQ(config.cmd, in.cmd);
  EXPECT_EQ(config.env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "NGINX_VERSION=mine"}));
  EXPECT_EQ(config.stop_signal, "SIGQUIT");
  ASSERT_EQ(built->layers.size(), 2u);
  EXPECT_EQ(store.read_manifest(built->manifest)->annotations.at(k_annotation_base_digest),
            base.digest);
}

TEST(ContextBuildTest, AnEntrypointDropsTheBasesCmd) {
  ztp::testing::TempDir dir;
  make_base(dir / "base");
  write_file(dir / "ctx/Dockerfile", "FROM oci:base:v1\nENTRYPOINT [\"/bin/app\"]\n");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto built = build(spec_in(dir.path()), dir / "ctx", store);
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_EQ(built->config.entrypoint, (std::vector<std::string>{"/bin/app"}));
  EXPECT_TRUE(built->config.cmd.empty());
}

TEST(ContextBuildTest, MultiStageCopiesFromAnEarlierStage) {
  ztp::testing::TempDir dir;
  make_base(dir / "base");
  write_file(dir / "ctx/Dockerfile",
             "FROM scratch AS assets\n"
             "COPY site/ /out/\n"
             "COPY extra.txt /out/extra.txt\n"
             "FROM oci:base:v1\n"
             "WORKDIR /srv\n"
             "COPY --from=assets --chown=101:102 --chmod=600 /out/ www/\n");
  write_file(dir / "ctx/site/index.html", "<h1>i</h1>");
  write_file(dir / "ctx/extra.txt", "e");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto built = build(spec_in(dir.path()), dir / "ctx", store);
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_EQ(paths_of(built->top), (std::vector<std::string>{"srv/", "srv/www/", "srv/www/extra.txt",
                                                            "srv/www/index.html"}));
  const auto* index = entry(built->top, "srv/www/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content, "<h1>i</h1>");
  EXPECT_EQ(index->uid, 101);
  EXPECT_EQ(index->gid, 102);
  EXPECT_EQ(index->mode & 07777, 0600u);
  EXPECT_EQ(built->config.working_dir, "/srv");
  EXPECT_EQ(built->manifest.layers.size(), 2u) << "the assets stage leaves no layer of its own";
}

// A base whose layer holds /etc/passwd and /etc/group, as nginx images do.
Descriptor make_base_with_users(const std::filesystem::path& dir) {
  auto store = OciLayoutStore::open(dir).value();
  FileEntry passwd{"etc/passwd", EntryKind::file, 0644,
                   "root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/nonexistent:/bin/false\n",
                   ""};
  FileEntry group{"etc/group", EntryKind::file, 0644, "root:x:0:\nnginx:x:101:\nwww-data:x:33:\n",
                  ""};
  auto layer = build_layer({passwd, group}, 0).value();
  store.put_blob(layer.blob, layer.media_type).value();
  json config{{"architecture", "amd64"},
              {"os", "linux"},
              {"config", json::object()},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {layer.diff_id}}}}};
  auto stored_config = store.put_blob(canonical_json(config), k_media_config).value();
  json manifest = make_manifest(stored_config.descriptor, {layer.descriptor()}, {});
  return store.put_manifest(canonical_json(manifest), {"v1"}).value();
}

TEST(ContextBuildTest, ChownByNameUsesTheBasesUsersAndGroups) {
  ztp::testing::TempDir dir;
  make_base_with_users(dir / "base");
  write_file(dir / "ctx/a.txt", "a");
  write_file(dir / "ctx/Dockerfile",
             "FROM oci:base:v1\n"
             "COPY --chown=nginx a.txt /srv/one\n"
             "COPY --chown=nginx:www-data a.txt /srv/two\n"
             "COPY --chown=7:www-data a.txt /srv/three\n");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto built = build(spec_in(dir.path()), dir / "ctx", store);
  ASSERT_TRUE(built.ok()) << built.error().message;
  const auto* one = entry(built->top, "srv/one");
  const auto* two = entry(built->top, "srv/two");
  const auto* three = entry(built->top, "srv/three");
  ASSERT_TRUE(one != nullptr && two != nullptr && three != nullptr);
  EXPECT_EQ(one->uid, 101);
  EXPECT_EQ(one->gid, 101);
  EXPECT_EQ(two->uid, 101);
  EXPECT_EQ(two->gid, 33);
  EXPECT_EQ(three->uid, 7);
  EXPECT_EQ(three->gid, 33);

  write_file(dir / "ctx/Dockerfile", "FROM oci:base:v1\nCOPY --chown=app a.txt /srv/\n");
  auto unknown = build(spec_in(dir.path()), dir / "ctx", store);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(
      unknown.error().message.find("Dockerfile:2: --chown=app: the image has no user \"app\""),
      std::string::npos)
      << unknown.error().message;
  write_file(dir / "ctx/Dockerfile", "FROM scratch\nCOPY --chown=nginx a.txt /srv/\n");
  EXPECT_FALSE(build(spec_in(dir.path()), dir / "ctx", store).ok()) << "scratch has no users";
}

TEST(ContextBuildTest, DockerignoreLeavesFilesOut) {
  ztp::testing::TempDir dir;
  write_file(dir / "ctx/Dockerfile", "FROM scratch\nCOPY . /app/\n");
  write_file(dir / "ctx/.dockerignore", "# comment\n*.log\nsecret/\n!secret/public.txt\n");
  write_file(dir / "ctx/a.txt", "a");
  write_file(dir / "ctx/debug.log", "l");
  write_file(dir / "ctx/secret/key.pem", "k");
  write_file(dir / "ctx/secret/public.txt", "p");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto built = build(spec_in(dir.path()), dir / "ctx", store);
  ASSERT_TRUE(built.ok()) << built.error().message;
  auto paths = paths_of(built->top);
  EXPECT_NE(std::find(paths.begin(), paths.end(), "app/a.txt"), paths.end());
  EXPECT_NE(std::find(paths.begin(), paths.end(), "app/secret/public.txt"), paths.end());
  EXPECT_EQ(std::find(paths.begin(), paths.end(), "app/debug.log"), paths.end());
  EXPECT_EQ(std::find(paths.begin(), paths.end(), "app/secret/key.pem"), paths.end());
}

TEST(ContextBuildTest, ARunLineIsRefusedAtItsLineWithTheFix) {
  ztp::testing::TempDir dir;
  // No buildah to hand the build to: PATH names an empty directory.
  std::filesystem::create_directories(dir / "bin");
  ztp::testing::ScopedEnv path({{"PATH", (dir / "bin").string()}});
  write_file(dir / "ctx/Dockerfile", "FROM scratch\n\nRUN make\n");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto built = build(spec_in(dir.path()), dir / "ctx", store);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().code, Errc::invalid);
  EXPECT_NE(built.error().message.find("Dockerfile:3: RUN"), std::string::npos)
      << built.error().message;
  EXPECT_NE(built.error().message.find("buildah"), std::string::npos);
}

TEST(ContextBuildTest, ACopyOfNothingNamesTheLine) {
  ztp::testing::TempDir dir;
  write_file(dir / "ctx/Dockerfile", "FROM scratch\nCOPY missing.txt /x\n");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto built = build(spec_in(dir.path()), dir / "ctx", store);
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().message.find("Dockerfile:2: COPY source `missing.txt`"),
            std::string::npos)
      << built.error().message;
}

TEST(ContextBuildTest, AMissingBaseNamesTheLineAndTheLayout) {
  ztp::testing::TempDir dir;
  write_file(dir / "ctx/Dockerfile", "FROM oci:nowhere:v1\n");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto built = build(spec_in(dir.path()), dir / "ctx", store);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().code, Errc::not_found);
  EXPECT_NE(built.error().message.find("Dockerfile:1:"), std::string::npos)
      << built.error().message;
  EXPECT_NE(built.error().message.find("oci-layout"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "nowhere")) << "a missing layout is not created";
}

TEST(ContextBuildTest, ABaseOfAnotherPlatformIsRefused) {
  ztp::testing::TempDir dir;
  make_base(dir / "base", "v1", "arm64");
  write_file(dir / "ctx/Dockerfile", "FROM oci:base:v1\n");
  auto store = OciLayoutStore::open(dir / "oci").value();
  ContextBuildOptions opts;
  opts.platform = Platform{"linux", "amd64", ""};
  auto built = build(spec_in(dir.path()), dir / "ctx", store, opts);
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().message.find("linux/arm64, not linux/amd64"), std::string::npos)
      << built.error().message;
}

// A base image index tagged "multi" in the layout at `dir`, for linux/amd64 and linux/arm64;
// returns their manifests.
std::pair<Descriptor, Descriptor> make_multi_base(const std::filesystem::path& dir) {
  auto amd = make_base(dir, "amd", "amd64");
  auto arm = make_base(dir, "arm", "arm64");
  auto layout = OciLayoutStore::open(dir).value();
  std::string bytes = make_index_json(
      {{amd, Platform{"linux", "amd64", ""}}, {arm, Platform{"linux", "arm64", ""}}});
  layout.put_index(bytes, {"multi"}).value();
  return {amd, arm};
}

TEST(ContextBuildTest, AnIndexIsNarrowedToThePlatform) {
  ztp::testing::TempDir dir;
  auto [amd, arm] = make_multi_base(dir / "base");
  write_file(dir / "ctx/Dockerfile", "FROM oci:base:multi\n");
  for (const auto& [platform, want] : {std::pair{Platform{"linux", "arm64", ""}, arm.digest},
                                       std::pair{Platform{"linux", "amd64", ""}, amd.digest}}) {
    auto store = OciLayoutStore::open(dir / ("oci-" + platform.architecture)).value();
    ContextBuildOptions opts;
    opts.platform = platform;
    auto built = build(spec_in(dir.path()), dir / "ctx", store, opts);
    ASSERT_TRUE(built.ok()) << built.error().message;
    EXPECT_EQ(built->manifest.annotations.at(k_annotation_base_digest), want);
    EXPECT_EQ(built->config.architecture, platform.architecture);
  }
  ContextBuildOptions s390;
  s390.platform = Platform{"linux", "s390x", ""};
  auto store = OciLayoutStore::open(dir / "oci-s390x").value();
  auto missing = build(spec_in(dir.path()), dir / "ctx", store, s390);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("it has: linux/amd64, linux/arm64"), std::string::npos)
      << missing.error().message;
}

TEST(ContextBuildTest, TwoPlatformsBuildAnImageIndexSharingTheApplicationLayer) {
  ztp::testing::TempDir dir;
  auto [amd, arm] = make_multi_base(dir / "base");
  write_file(dir / "ctx/Dockerfile", "FROM oci:base:multi\nCOPY a.txt /srv/a.txt\n");
  write_file(dir / "ctx/a.txt", "a");
  auto s = spec_in(dir.path());
  s.build.platforms = {"linux/amd64", "linux/arm64"};
  auto build_into = [&](const std::string& name) {
    auto store = OciLayoutStore::open(dir / name).value();
    DirectorySource source(dir / "ctx", {});
    return build_context(s, source, inputs(), store, {"t"}, {});
  };
  auto built = build_into("oci");
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_EQ(built->manifest.media_type, k_media_index);
  EXPECT_EQ(built->platforms, (std::vector<std::string>{"linux/amd64", "linux/arm64"}));
  auto store = OciLayoutStore::open(dir / "oci").value();
  EXPECT_EQ(store.resolve("t").value().digest, built->manifest.digest) << "the tag names the index";

  auto children = manifests_of(store, built->manifest).value();
  ASSERT_EQ(children.size(), 2u);
  auto amd_image = store.read_manifest(children[0].first).value();
  auto arm_image = store.read_manifest(children[1].first).value();
  EXPECT_EQ(children[1].second.architecture, "arm64");
  EXPECT_EQ(amd_image.annotations.at(k_annotation_base_digest), amd.digest);
  EXPECT_EQ(arm_image.annotations.at(k_annotation_base_digest), arm.digest);
  ASSERT_EQ(amd_image.layers.size(), 2u);
  ASSERT_EQ(arm_image.layers.size(), 2u);
  EXPECT_EQ(amd_image.layers[1].digest, arm_image.layers[1].digest) << "one application layer";
  EXPECT_EQ(store.read_config(children[1].first).value().architecture, "arm64");
  auto for_arm = manifest_for_platform(store, built->manifest, Platform{"linux", "arm64", ""});
  EXPECT_EQ(for_arm.value().digest, children[1].first.digest);

  // Reproducible: the same index digest in another store.
  auto again = build_into("oci-again");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->manifest.digest, built->manifest.digest);

  // A platform the base lacks stops the build, naming it.
  s.build.platforms = {"linux/amd64", "linux/s390x"};
  auto missing = build_into("oci-s390x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message.rfind("platform linux/s390x: ", 0), 0u)
      << missing.error().message;
}

TEST(ContextBuildTest, DockerfileNoneOrBuildFromSkipTheRootDockerfile) {
  spec::Build b;
  EXPECT_EQ(dockerfile_of(b, true), std::optional<std::string>("Dockerfile"));
  EXPECT_EQ(dockerfile_of(b, false), std::nullopt);
  b.from = "nginx:alpine";
  EXPECT_EQ(dockerfile_of(b, true), std::nullopt);
  b.dockerfile = "deploy/Containerfile";
  EXPECT_EQ(dockerfile_of(b, false), std::optional<std::string>("deploy/Containerfile"));
  b.dockerfile = "none";
  EXPECT_EQ(dockerfile_of(b, true), std::nullopt);
}

TEST(ContextBuildTest, DockerignorePatterns) {
  auto p = parse_dockerignore("# c\n\n  *.md\n/build/\n!docs/keep.md\r\n");
  EXPECT_EQ(p, (std::vector<std::string>{"*.md", "build", "!docs/keep.md"}));
  EXPECT_TRUE(dockerignored(p, "README.md"));
  EXPECT_TRUE(dockerignored(p, "build/out/a.o"));
  EXPECT_FALSE(dockerignored(p, "docs/keep.md"));
  EXPECT_FALSE(dockerignored(p, "src/a.c"));
  EXPECT_FALSE(dockerignored(p, "docs/other.md")) << "* does not cross /";
}

}  // namespace
}  // namespace ztp::artifact
