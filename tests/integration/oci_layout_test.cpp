// Our images checked by outside judges: the OCI JSON schemas (tests/vectors.lock, through
// python3-jsonschema) and skopeo reading and copying the layout through its `oci:` transport.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "artifact/builder.hpp"
#include "artifact/digest.hpp"
#include "artifact/unpack.hpp"
#include "support/oci_schema.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::artifact {
namespace {

using nlohmann::json;
using ztp::testing::require_jsonschema;
using ztp::testing::run_process;
using ztp::testing::TempDir;
using ztp::testing::validate_oci;

struct Built {
  std::filesystem::path layout;
  BuiltImage image;
};

Built build_sample(const TempDir& dir, const std::string& content = "<h1>v1</h1>") {
  auto site = dir / "site";
  std::filesystem::create_directories(site / "css");
  EXPECT_TRUE(fs::atomic_write(site / "index.html", content).ok());
  EXPECT_TRUE(fs::atomic_write(site / "css/site.css", "body{margin:0}").ok());
  EXPECT_TRUE(fs::atomic_write(site / "start.sh", "#!/bin/sh\nexec nginx\n", 0755).ok());
  ImageSpecInputs in;
  in.entrypoint = {"/bin/sh", "-c"};
  in.cmd = {"nginx -g 'daemon off;'"};
  in.env = {{"MODE", "prod"}};
  in.exposed_port = 80;
  in.revision = "0123456789abcdef0123456789abcdef01234567";
  in.source = "https://example.com/site.git";
  in.created = 1'714'564'800;
  auto store = OciLayoutStore::open(dir / "oci");
  EXPECT_TRUE(store.ok());
  auto built = build_image_from_directory(site, in, store.value(), {in.revision, "0123456"});
  EXPECT_TRUE(built.ok()) << built.error().message;
  return Built{dir / "oci", built.value()};
}

TEST(OciLayoutTest, ManifestConfigIndexAndLayoutValidateAgainstTheOciSchemas) {
  require_jsonschema();
  TempDir dir;
  auto built = build_sample(dir);
  auto store = OciLayoutStore::open(built.layout).value();
  auto config_path = store.blob_path(built.image.config.digest).string();
  auto manifest_path = store.blob_path(built.image.manifest.digest).string();
  auto layer_desc = dir / "layer-descriptor.json";
  ASSERT_TRUE(fs::atomic_write(layer_desc, to_json(built.image.layers[0]).dump()).ok());
  auto result = validate_oci(dir.path(),
                             {{"image-manifest-schema.json", manifest_path},
                              {"config-schema.json", config_path},
                              {"image-index-schema.json", (built.layout / "index.json").string()},
                              {"image-layout-schema.json", (built.layout / "oci-layout").string()},
                              {"content-descriptor.json", layer_desc.string()}});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("OK"), std::string::npos);
}

TEST(OciLayoutTest, TheSchemaCheckCatchesABrokenManifest) {
  // A control: the validator resolves the schemas' cross-references and does reject.
  require_jsonschema();
  TempDir dir;
  auto built = build_sample(dir);
  auto store = OciLayoutStore::open(built.layout).value();
  json m = json::parse(*store.read_blob(built.image.manifest.digest));
  m["config"]["digest"] = "sha256:NOT HEX!";
  m.erase("layers");
  ASSERT_TRUE(fs::atomic_write(dir / "broken.json", m.dump()).ok());
  auto result =
      validate_oci(dir.path(), {{"image-manifest-schema.json", (dir / "broken.json").string()}});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("layers"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("digest"), std::string::npos) << result.out;
}

TEST(OciLayoutTest, SkopeoInspectsOurImageWithTheSameDigest) {
  REQUIRE_TOOL("skopeo", "skopeo");
  TempDir dir;
  auto built = build_sample(dir);
  std::string ref = "oci:" + built.layout.string() + ":0123456";
  auto inspect = run_process({"skopeo", "inspect", ref});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  json info = json::parse(inspect.out);
  EXPECT_EQ(info["Digest"], built.image.manifest.digest);
  EXPECT_EQ(info["Labels"]["org.opencontainers.image.revision"],
            "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(info["Architecture"], "amd64");
  EXPECT_EQ(info["Os"], "linux");
  ASSERT_EQ(info["Layers"].size(), 1u);
  EXPECT_EQ(info["Layers"][0], built.image.layers[0].digest);

  auto store = OciLayoutStore::open(built.layout).value();
  auto raw = run_process({"skopeo", "inspect", "--raw", ref});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(raw.out, *store.read_blob(built.image.manifest.digest));
  auto config = run_process({"skopeo", "inspect", "--config", "--raw", ref});
  ASSERT_EQ(config.exit_code, 0) << config.err;
  EXPECT_EQ(config.out, *store.read_blob(built.image.config.digest));
}

TEST(OciLayoutTest, SkopeoCopiesOurImageToAnotherLayoutUnchanged) {
  REQUIRE_TOOL("skopeo", "skopeo");
  TempDir dir;
  auto built = build_sample(dir);
  auto copy = dir / "copy";
  auto result =
      run_process({"skopeo", "--insecure-policy", "copy", "--preserve-digests",
                   "oci:" + built.layout.string() + ":0123456", "oci:" + copy.string() + ":moved"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // Our store reads what skopeo wrote: same digest, and it unpacks.
  auto store = OciLayoutStore::open(copy);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto resolved = store->resolve("moved");
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ(resolved->digest, built.image.manifest.digest);
  auto unpacked = unpack_image(store.value(), resolved.value(), dir / "release");
  ASSERT_TRUE(unpacked.ok()) << unpacked.error().message;
  EXPECT_EQ(*fs::read_file(dir / "release/index.html"), "<h1>v1</h1>");
}

TEST(OciLayoutTest, SkopeoSeesATagMove) {
  REQUIRE_TOOL("skopeo", "skopeo");
  TempDir dir;
  auto first = build_sample(dir, "<h1>v1</h1>");
  auto second = build_sample(dir, "<h1>v2</h1>");
  ASSERT_NE(first.image.manifest.digest, second.image.manifest.digest);
  auto inspect = run_process({"skopeo", "inspect", "oci:" + second.layout.string() + ":0123456"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(json::parse(inspect.out)["Digest"], second.image.manifest.digest);
}

}  // namespace
}  // namespace ztp::artifact
