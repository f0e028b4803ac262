#include "artifact/oci_layout_store.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "artifact/digest.hpp"
#include "artifact_helpers.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::artifact {
namespace {

using nlohmann::json;

OciLayoutStore open_store(const std::filesystem::path& dir) {
  auto store = OciLayoutStore::open(dir);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return std::move(store).value();
}

// A small image whose digest depends on `seed`; its blobs are stored, the manifest is not.
ImageDocuments image_docs(OciLayoutStore& store, const std::string& seed) {
  auto layer = build_layer({{"f", EntryKind::file, 0644, "layer", ""}}, 0).value();
  EXPECT_TRUE(store.put_blob(layer.blob, k_media_layer_gzip).ok());
  ImageSpecInputs in;
  in.revision = seed;
  auto docs = make_image(in, {LayerRef{layer.descriptor(), layer.diff_id, "t"}});
  EXPECT_TRUE(store.put_blob(docs.config_json, k_media_config).ok());
  return docs;
}

TEST(OciLayoutStoreTest, OpenCreatesTheLayoutFiles) {
  testing::TempDir dir;
  auto store = open_store(dir / "oci");
  EXPECT_EQ(json::parse(*fs::read_file(dir / "oci/oci-layout")),
            json::parse(R"({"imageLayoutVersion":"1.0.0"})"));
  json index = json::parse(*fs::read_file(dir / "oci/index.json"));
  EXPECT_EQ(index["schemaVersion"], 2);
  EXPECT_EQ(index["manifests"], json::array());
  EXPECT_TRUE(std::filesystem::is_directory(dir / "oci/blobs/sha256"));
  // Opening again keeps what is there.
  EXPECT_TRUE(OciLayoutStore::open(dir / "oci").ok());
}

TEST(OciLayoutStoreTest, RefusesALayoutOfAnotherVersion) {
  testing::TempDir dir;
  test::write_file(dir / "oci-layout", R"({"imageLayoutVersion":"9.9.9"})");
  auto store = OciLayoutStore::open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::invalid);
  EXPECT_NE(store.error().message.find("oci-layout"), std::string::npos);
  // A version that is not a string is refused alike (found by fuzz_manifest).
  test::write_file(dir / "oci-layout", R"({"imageLayoutVersion":1})");
  store = OciLayoutStore::open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::invalid);
}

// Entries of index.json that are not descriptors are kept as they are by a tag, not thrown on
// (found by fuzz_manifest); listing the index still reports them.
TEST(OciLayoutStoreTest, TaggingKeepsIndexEntriesItCannotRead) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto docs = image_docs(store, "t");
  auto manifest = store.put_manifest(docs.manifest_json, {}).value();
  json index = json::parse(*fs::read_file(dir / "index.json"));
  index["manifests"].push_back(7);
  index["manifests"].push_back(json{{"digest", 5}});
  test::write_file(dir / "index.json", index.dump());
  ASSERT_TRUE(store.tag(manifest, "latest").ok());
  index = json::parse(*fs::read_file(dir / "index.json"));
  ASSERT_EQ(index["manifests"].size(), 3u);
  EXPECT_EQ(index["manifests"][0], 7);
  EXPECT_EQ(index["manifests"][1], json({{"digest", 5}}));
  EXPECT_EQ(index["manifests"][2]["digest"], manifest.digest);
  EXPECT_EQ(store.entries().error().code, Errc::invalid);
}

TEST(OciLayoutStoreTest, BlobsAreContentAddressedAndWrittenOnce) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto first = store.put_blob("hello", "text/plain");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->descriptor.digest, sha256_digest("hello"));
  EXPECT_EQ(first->descriptor.size, 5);
  EXPECT_EQ(store.blob_path(first->descriptor.digest),
            dir / "blobs/sha256" / std::string(digest_hex(sha256_digest("hello"))));
  EXPECT_TRUE(store.has_blob(first->descriptor.digest));
  auto again = store.put_blob("hello", "text/plain");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(*store.read_blob(first->descriptor.digest), "hello");
  EXPECT_FALSE(store.has_blob(sha256_digest("other")));
  auto missing = store.read_blob(sha256_digest("other"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(OciLayoutStoreTest, ReadingACorruptBlobFails) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto blob = store.put_blob("original", "text/plain").value();
  auto path = store.blob_path(blob.descriptor.digest);
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  std::ofstream(path, std::ios::trunc) << "tampered";
  auto read = store.read_blob(blob.descriptor.digest);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("corrupt"), std::string::npos);
}

TEST(OciLayoutStoreTest, ManifestNeedsItsBlobsFirst) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ImageSpecInputs in;
  auto docs =
      make_image(in, {LayerRef{Descriptor{k_media_layer_gzip, sha256_digest("absent"), 1, {}},
                               sha256_digest("x"), "t"}});
  ASSERT_TRUE(store.put_blob(docs.config_json, k_media_config).ok());
  auto r = store.put_manifest(docs.manifest_json, {"v1"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_NE(r.error().message.find(sha256_digest("absent")), std::string::npos);
}

TEST(OciLayoutStoreTest, RoundTripsATaggedImage) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto docs = image_docs(store, "one");
  auto d = store.put_manifest(docs.manifest_json, {"latest", "abc1234"});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->digest, docs.manifest.digest);
  EXPECT_EQ(d->media_type, k_media_manifest);
  EXPECT_EQ(*store.tags(), (std::vector<std::string>{"abc1234", "latest"}));
  auto resolved = store.resolve("latest");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved.value(), docs.manifest);
  auto manifest = store.read_manifest(resolved.value());
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(manifest->config, docs.config);
  auto config = store.read_config(resolved.value());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->labels.at(k_annotation_revision), "one");
  // index.json entries carry the tag as the OCI ref.name annotation.
  json index = json::parse(*fs::read_file(dir / "index.json"));
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["annotations"][k_annotation_ref_name], "latest");
  EXPECT_EQ(index["manifests"][0]["digest"], docs.manifest.digest);
}

TEST(OciLayoutStoreTest, ATagMovesAndTheOldImageStaysReachable) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto a = store.put_manifest(image_docs(store, "a").manifest_json, {"latest"}).value();
  auto b = store.put_manifest(image_docs(store, "b").manifest_json, {"latest"}).value();
  EXPECT_EQ(store.resolve("latest")->digest, b.digest);
  EXPECT_EQ(*store.tags(), (std::vector<std::string>{"latest"}));
  auto entries = store.entries().value();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].tag, "");
  EXPECT_EQ(entries[1].manifest.digest, a.digest);
  EXPECT_EQ(store.resolve(a.digest)->digest, a.digest);
  // Tagging the untagged one again replaces its untagged entry.
  ASSERT_TRUE(store.tag(a, "old").ok());
  entries = store.entries().value();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(store.resolve("old")->digest, a.digest);
}

TEST(OciLayoutStoreTest, AnUntaggedManifestIsListedOnce) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto docs = image_docs(store, "u");
  ASSERT_TRUE(store.put_manifest(docs.manifest_json, {}).ok());
  ASSERT_TRUE(store.put_manifest(docs.manifest_json, {}).ok());
  auto entries = store.entries().value();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].tag, "");
}

TEST(OciLayoutStoreTest, ResolvesDigestsAndUniquePrefixes) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto d = store.put_manifest(image_docs(store, "p").manifest_json, {"v1"}).value();
  std::string hex(digest_hex(d.digest));
  EXPECT_EQ(store.resolve(d.digest)->digest, d.digest);
  EXPECT_EQ(store.resolve("sha256:" + hex.substr(0, 12))->digest, d.digest);
  EXPECT_EQ(store.resolve(hex.substr(0, 4))->digest, d.digest);
  EXPECT_FALSE(store.resolve(hex.substr(0, 3)).ok());
  auto none = store.resolve("nope");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_NE(none.error().message.find("v1"), std::string::npos) << "lists the known tags";
}

TEST(OciLayoutStoreTest, AmbiguousPrefixIsRefusedAndATagWinsOverAPrefix) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  // Find two images whose digests share their first four hex digits.
  std::map<std::string, std::string> by_prefix;
  std::string first;
  std::string second;
  std::string prefix;
  for (int i = 0; second.empty(); ++i) {
    ImageSpecInputs in;
    in.revision = std::to_string(i);
    auto docs = make_image(in, {LayerRef{Descriptor{k_media_layer_gzip, sha256_digest("l"), 1, {}},
                                         sha256_digest("t"), "t"}});
    std::string p(digest_hex(docs.manifest.digest).substr(0, 4));
    auto [it, fresh] = by_prefix.emplace(p, in.revision);
    if (!fresh) {
      first = it->second;
      second = in.revision;
      prefix = p;
    }
  }
  std::vector<Descriptor> stored;
  ASSERT_TRUE(store.put_blob("l", k_media_layer_gzip).ok());
  for (const auto& rev : {first, second}) {
    ImageSpecInputs in;
    in.revision = rev;
    // Same layer reference as above, so the digests are the ones that collided.
    auto docs = make_image(in, {LayerRef{Descriptor{k_media_layer_gzip, sha256_digest("l"), 1, {}},
                                         sha256_digest("t"), "t"}});
    ASSERT_TRUE(store.put_blob(docs.config_json, k_media_config).ok());
    stored.push_back(store.put_manifest(docs.manifest_json, {}).value());
  }
  auto ambiguous = store.resolve(prefix);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.error().code, Errc::invalid);
  EXPECT_NE(ambiguous.error().message.find("several"), std::string::npos);
  // A longer prefix tells them apart; a tag spelled like the prefix wins.
  EXPECT_EQ(store.resolve(std::string(digest_hex(stored[1].digest)))->digest, stored[1].digest);
  ASSERT_TRUE(store.tag(stored[0], prefix).ok());
  EXPECT_EQ(store.resolve(prefix)->digest, stored[0].digest);
}

TEST(OciLayoutStoreTest, RejectsMalformedTags) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  auto docs = image_docs(store, "t");
  for (const char* bad : {"", "-lead", "has space", "a/b", "x:y"}) {
    auto r = store.put_manifest(docs.manifest_json, {bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid);
  }
  EXPECT_TRUE(is_valid_tag("v1.2.3_rc-1"));
  EXPECT_FALSE(is_valid_tag(std::string(129, 'a')));
}

TEST(OciLayoutStoreTest, ConcurrentWritersLoseNoIndexEntry) {
  testing::TempDir dir;
  constexpr int k_writers = 4;
  constexpr int k_tags_each = 15;
  {
    auto store = open_store(dir.path());
    for (int w = 0; w < k_writers; ++w) {
      image_docs(store, "writer" + std::to_string(w));
    }
  }
  std::vector<pid_t> children;
  for (int w = 0; w < k_writers; ++w) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto store = OciLayoutStore::open(dir.path());
      int failures = store.ok() ? 0 : 1;
      if (store.ok()) {
        ImageSpecInputs in;
        in.revision = "writer" + std::to_string(w);
        auto layer = build_layer({{"f", EntryKind::file, 0644, "layer", ""}}, 0).value();
        auto docs = make_image(in, {LayerRef{layer.descriptor(), layer.diff_id, "t"}});
        for (int t = 0; t < k_tags_each; ++t) {
          std::string tag = "w" + std::to_string(w) + "-" + std::to_string(t);
          if (!store->put_manifest(docs.manifest_json, {tag}).ok()) {
            ++failures;
          }
        }
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto store = open_store(dir.path());
  auto tags = store.tags();
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->size(), static_cast<size_t>(k_writers * k_tags_each));
  for (int w = 0; w < k_writers; ++w) {
    for (int t = 0; t < k_tags_each; ++t) {
      EXPECT_TRUE(store.resolve("w" + std::to_string(w) + "-" + std::to_string(t)).ok());
    }
  }
}

}  // namespace
}  // namespace ztp::artifact
