#include "artifact/image.hpp"

#include <gtest/gtest.h>

#include "artifact/digest.hpp"

namespace ztp::artifact {
namespace {

using nlohmann::json;

ImageSpecInputs sample_inputs() {
  ImageSpecInputs in;
  in.entrypoint = {"/bin/sh", "-c"};
  in.cmd = {"nginx", "-g", "daemon off;"};
  in.env = {{"Z_LAST", "1"}, {"A_FIRST", "x=y"}};
  in.exposed_port = 80;
  in.working_dir = "/srv";
  in.labels = {{"org.opencontainers.image.title", "site"}};
  in.revision = "0123456789abcdef0123456789abcdef01234567";
  in.source = "https://example.com/site.git";
  in.created = 1'714'564'800;
  return in;
}

LayerRef sample_layer(const std::string& seed) {
  return LayerRef{Descriptor{k_media_layer_gzip, sha256_digest(seed), 42, {}},
                  sha256_digest(seed + "-tar"), "ztp build"};
}

TEST(ImageTest, ConfigHasThePlatformProcessAndOciLabels) {
  auto in = sample_inputs();
  json c = make_config(in, {sample_layer("base"), sample_layer("app")});
  EXPECT_EQ(c["architecture"], "amd64");
  EXPECT_EQ(c["os"], "linux");
  EXPECT_EQ(c["created"], "2024-05-01T12:00:00Z");
  const json& cfg = c["config"];
  EXPECT_EQ(cfg["Entrypoint"], json({"/bin/sh", "-c"}));
  EXPECT_EQ(cfg["Cmd"], json({"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(cfg["Env"], json({"A_FIRST=x=y", "Z_LAST=1"}));
  EXPECT_EQ(cfg["ExposedPorts"], json::parse(R"({"80/tcp":{}})"));
  EXPECT_EQ(cfg["WorkingDir"], "/srv");
  EXPECT_EQ(cfg["Labels"]["org.opencontainers.image.revision"], in.revision);
  EXPECT_EQ(cfg["Labels"]["org.opencontainers.image.source"], in.source);
  EXPECT_EQ(cfg["Labels"]["org.opencontainers.image.created"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(cfg["Labels"]["org.opencontainers.image.title"], "site");
  EXPECT_EQ(c["rootfs"]["type"], "layers");
  EXPECT_EQ(c["rootfs"]["diff_ids"], json({sha256_digest("base-tar"), sha256_digest("app-tar")}));
  ASSERT_EQ(c["history"].size(), 2u);
  EXPECT_EQ(c["history"][1]["created_by"], "ztp build");
}

TEST(ImageTest, EmptyProcessFieldsAreLeftOut) {
  ImageSpecInputs in;
  json c = make_config(in, {sample_layer("app")});
  EXPECT_FALSE(c["config"].contains("Entrypoint"));
  EXPECT_FALSE(c["config"].contains("Cmd"));
  EXPECT_FALSE(c["config"].contains("Env"));
  EXPECT_FALSE(c["config"].contains("ExposedPorts"));
  EXPECT_FALSE(c["config"]["Labels"].contains("org.opencontainers.image.revision"));
}

TEST(ImageTest, ManifestReferencesConfigAndLayersByDigest) {
  auto in = sample_inputs();
  auto docs = make_image(in, {sample_layer("base"), sample_layer("app")});
  json m = json::parse(docs.manifest_json);
  EXPECT_EQ(m["schemaVersion"], 2);
  EXPECT_EQ(m["mediaType"], k_media_manifest);
  EXPECT_EQ(m["config"]["mediaType"], k_media_config);
  EXPECT_EQ(m["config"]["digest"], sha256_digest(docs.config_json));
  EXPECT_EQ(m["config"]["size"], docs.config_json.size());
  ASSERT_EQ(m["layers"].size(), 2u);
  EXPECT_EQ(m["layers"][0]["digest"], sha256_digest("base"));
  EXPECT_EQ(m["layers"][1]["mediaType"], k_media_layer_gzip);
  EXPECT_EQ(m["annotations"]["org.opencontainers.image.revision"], in.revision);
  EXPECT_EQ(docs.manifest.digest, sha256_digest(docs.manifest_json));
  EXPECT_EQ(docs.manifest.size, static_cast<std::int64_t>(docs.manifest_json.size()));
  EXPECT_EQ(docs.config.digest, sha256_digest(docs.config_json));
}

TEST(ImageTest, SerialisationIsCanonical) {
  auto docs = make_image(sample_inputs(), {sample_layer("app")});
  // Sorted keys and no whitespace: re-serialising what we parse gives the same bytes.
  EXPECT_EQ(canonical_json(json::parse(docs.manifest_json)), docs.manifest_json);
  EXPECT_EQ(canonical_json(json::parse(docs.config_json)), docs.config_json);
  EXPECT_EQ(docs.manifest_json.find(": "), std::string::npos);
  EXPECT_EQ(docs.manifest_json.find('\n'), std::string::npos);
  EXPECT_EQ(docs.manifest_json.rfind("{\"annotations\":", 0), 0u);
  EXPECT_EQ(make_image(sample_inputs(), {sample_layer("app")}).manifest.digest,
            docs.manifest.digest);
  auto other = sample_inputs();
  other.created += 1;
  EXPECT_NE(make_image(other, {sample_layer("app")}).manifest.digest, docs.manifest.digest);
}

TEST(ImageTest, ParsesWhatItWrites) {
  auto in = sample_inputs();
  auto docs = make_image(in, {sample_layer("app")});
  auto m = parse_manifest(docs.manifest_json, "m");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->config, docs.config);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0], sample_layer("app").descriptor);
  auto c = parse_config(docs.config_json, "c");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->cmd, in.cmd);
  EXPECT_EQ(c->entrypoint, in.entrypoint);
  EXPECT_EQ(c->env, (std::vector<std::string>{"A_FIRST=x=y", "Z_LAST=1"}));
  EXPECT_EQ(c->exposed_ports, (std::vector<std::string>{"80/tcp"}));
  EXPECT_EQ(c->working_dir, "/srv");
  EXPECT_EQ(c->diff_ids, (std::vector<std::string>{sha256_digest("app-tar")}));
  EXPECT_EQ(c->labels.at("org.opencontainers.image.revision"), in.revision);
}

TEST(ImageTest, RejectsDocumentsThatAreNotImageManifests) {
  EXPECT_FALSE(parse_manifest("not json", "m").ok());
  EXPECT_FALSE(parse_manifest(R"({"schemaVersion":2,"manifests":[]})", "m").ok());
  auto no_config = parse_manifest(R"({"schemaVersion":2,"layers":[]})", "where.json");
  ASSERT_FALSE(no_config.ok());
  EXPECT_NE(no_config.error().message.find("where.json"), std::string::npos);
  EXPECT_FALSE(parse_config(R"({"os":"linux","rootfs":{"diff_ids":[]}})", "c").ok());
}

// A registry's document whose optional strings have another type is refused, not thrown out of
// the parser (found by fuzz_manifest).
TEST(ImageTest, RefusesOptionalFieldsOfTheWrongType) {
  const std::string config =
      R"("config":{"mediaType":"m","digest":"sha256:)" + std::string(64, 'a') + R"(","size":1})";
  auto media_type = parse_manifest(R"({"schemaVersion":2,"mediaType":7,)" + config + "}", "m");
  ASSERT_FALSE(media_type.ok());
  EXPECT_EQ(media_type.error().message, "m: mediaType is not a string");
  EXPECT_FALSE(
      parse_manifest(R"({"schemaVersion":4294967298,"layers":[],)" + config + "}", "m").ok());
  const std::string platform = R"("architecture":"amd64","os":"linux","rootfs":{"diff_ids":[]})";
  auto created = parse_config("{" + platform + R"(,"created":12})", "c");
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().message, "c: created is not a string");
  auto working_dir = parse_config("{" + platform + R"(,"config":{"WorkingDir":["/"]}})", "c");
  ASSERT_FALSE(working_dir.ok());
  EXPECT_EQ(working_dir.error().message, "c: WorkingDir is not a string");
  EXPECT_TRUE(parse_config("{" + platform + R"(,"created":null})", "c").ok());
}

}  // namespace
}  // namespace ztp::artifact
