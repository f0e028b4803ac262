#include "artifact/builder.hpp"

#include <gtest/gtest.h>
#include <sys/time.h>

#include "artifact/digest.hpp"
#include "artifact_helpers.hpp"
#include "support/support.hpp"

namespace ztp::artifact {
namespace {

using test::write_file;

ImageSpecInputs inputs() {
  ImageSpecInputs in;
  in.cmd = {"nginx", "-g", "daemon off;"};
  in.exposed_port = 8080;
  in.revision = "0123456789abcdef0123456789abcdef01234567";
  in.created = 1'714'564'800;
  in.exclude = {"**/*.md"};
  return in;
}

void make_site(const std::filesystem::path& dir) {
  write_file(dir / "index.html", "<h1>v1</h1>");
  write_file(dir / "css/site.css", "body{}");
  write_file(dir / "README.md", "not shipped");
}

TEST(BuilderTest, BuildsATaggedImageFromADirectory) {
  ztp::testing::TempDir dir;
  make_site(dir / "site");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto built = build_image_from_directory(dir / "site", inputs(), store, {"0123456", "latest"});
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_EQ(built->tags, (std::vector<std::string>{"0123456", "latest"}));
  ASSERT_EQ(built->layers.size(), 1u);
  EXPECT_EQ(built->written.size(), 3u) << "layer, config and manifest are new";
  EXPECT_EQ(built->size, built->manifest.size + built->config.size + built->layers[0].size);
  EXPECT_EQ(store.resolve("0123456")->digest, built->manifest.digest);
  EXPECT_EQ(store.resolve("latest")->digest, built->manifest.digest);
  auto config = store.read_config(built->manifest);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->cmd, inputs().cmd);
  EXPECT_EQ(config->labels.at(k_annotation_revision), inputs().revision);
  EXPECT_EQ(config->labels.at(k_annotation_created), "2024-05-01T12:00:00Z");
  auto tar = test::read_tar(*store.read_blob(built->layers[0].digest));
  std::vector<std::string> paths;
  for (const auto& t : tar) {
    paths.push_back(t.path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"css/", "css/site.css", "index.html"}));
}

TEST(BuilderTest, RebuildingTheSameTreeWritesNothingNew) {
  ztp::testing::TempDir dir;
  make_site(dir / "site");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto first = build_image_from_directory(dir / "site", inputs(), store, {"a"});
  auto second = build_image_from_directory(dir / "site", inputs(), store, {"b"});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->manifest.digest, second->manifest.digest);
  EXPECT_TRUE(second->written.empty());
}

TEST(BuilderTest, TwoCopiesInTwoStoresGiveTheSameDigest) {
  ztp::testing::TempDir one;
  ztp::testing::TempDir two;
  make_site(one / "site");
  write_file(two / "site/README.md", "a different readme, excluded anyway");
  write_file(two / "site/css/site.css", "body{}", 0600);
  write_file(two / "site/index.html", "<h1>v1</h1>", 0664);
  timeval times[2] = {{1, 0}, {2, 0}};
  ::utimes((two / "site/index.html").c_str(), times);
  auto store_one = OciLayoutStore::open(one / "oci").value();
  auto store_two = OciLayoutStore::open(two / "oci").value();
  auto a = build_image_from_directory(one / "site", inputs(), store_one, {});
  auto b = build_image_from_directory(two / "site", inputs(), store_two, {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->manifest.digest, b->manifest.digest);
  EXPECT_EQ(a->config.digest, b->config.digest);
  EXPECT_EQ(a->layers, b->layers);
}

TEST(BuilderTest, PlacesBaseLayersBelowTheContext) {
  ztp::testing::TempDir dir;
  make_site(dir / "site");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto base = build_layer({{"etc/base.conf", EntryKind::file, 0644, "base", ""}}, 0).value();
  auto in = inputs();
  in.base_layers.push_back(LayerRef{base.descriptor(), base.diff_id, "base image"});
  auto missing = build_image_from_directory(dir / "site", in, store, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  ASSERT_TRUE(store.put_blob(base.blob, k_media_layer_gzip).ok());
  auto built = build_image_from_directory(dir / "site", in, store, {"with-base"});
  ASSERT_TRUE(built.ok()) << built.error().message;
  ASSERT_EQ(built->layers.size(), 2u);
  EXPECT_EQ(built->layers[0], base.descriptor());
  auto config = store.read_config(built->manifest).value();
  ASSERT_EQ(config.diff_ids.size(), 2u);
  EXPECT_EQ(config.diff_ids[0], base.diff_id);
}

TEST(BuilderTest, NamesTheSourceWhenTheTreeIsRefused) {
  ztp::testing::TempDir dir;
  std::filesystem::create_directories(dir / "site");
  std::filesystem::create_symlink("/etc/passwd", dir / "site/leak");
  auto store = OciLayoutStore::open(dir / "oci").value();
  auto r = build_image_from_directory(dir / "site", inputs(), store, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("leak"), std::string::npos);
  EXPECT_TRUE(store.entries()->empty());
}

TEST(BuilderTest, TakesItsInputsFromTheSpec) {
  spec::Spec s;
  s.app = "site";
  s.build.entrypoint = {"/bin/sh"};
  s.build.command = {"nginx"};
  s.build.env = {{"MODE", "prod"}};
  s.build.exclude = {"tests/**"};
  s.service.port = 9090;
  auto in = inputs_from_spec(s, "abc", "https://example.com/r.git", 42);
  EXPECT_EQ(in.entrypoint, s.build.entrypoint);
  EXPECT_EQ(in.cmd, s.build.command);
  EXPECT_EQ(in.env, s.build.env);
  EXPECT_EQ(in.exclude, s.build.exclude);
  EXPECT_EQ(in.exposed_port, 9090);
  EXPECT_EQ(in.labels.at("org.opencontainers.image.title"), "site");
  EXPECT_EQ(in.revision, "abc");
  EXPECT_EQ(in.source, "https://example.com/r.git");
  EXPECT_EQ(in.created, 42);
}

}  // namespace
}  // namespace ztp::artifact
