// The registry client against a real OCI distribution registry (Debian's docker-registry) on
// loopback, with skopeo as the outside judge of what we push and as a second pusher we pull from.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "artifact/builder.hpp"
#include "artifact/digest.hpp"
#include "artifact/image_index.hpp"
#include "artifact/registry_client.hpp"
#include "spec/address.hpp"
#include "support/registry_server.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::artifact {
namespace {

using nlohmann::json;
using ztp::testing::RegistryServer;
using ztp::testing::run_process;
using ztp::testing::TempDir;

constexpr const char* k_repo = "ztp/site";

// Bytes that gzip cannot shrink, so the layer is big enough for several upload chunks.
std::string noise(size_t n) {
  std::string out(n, '\0');
  unsigned seed = 7;
  for (auto& c : out) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 16);
  }
  return out;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("docker-registry", "docker-registry");
    REQUIRE_TOOL("skopeo", "skopeo");
  }

  // Builds the sample site into the layout `store`, tagged v1.
  BuiltImage build(OciLayoutStore& store) {
    auto site = dir / "site";
    std::filesystem::create_directories(site / "assets");
    EXPECT_TRUE(fs::atomic_write(site / "index.html", "<h1>registry</h1>").ok());
    EXPECT_TRUE(fs::atomic_write(site / "assets/noise.bin", noise(6000)).ok());
    ImageSpecInputs in;
    in.cmd = {"nginx", "-g", "daemon off;"};
    in.exposed_port = 80;
    in.revision = "89abcdef0123456789abcdef0123456789abcdef";
    in.created = 1'714'564'800;
    auto built = build_image_from_directory(site, in, store, {"v1"});
    EXPECT_TRUE(built.ok()) << built.error().message;
    return built.value();
  }

  RegistryClient client_of(const RegistryServer& registry, RegistryAuth auth = {}) {
    auto c =
        RegistryClient::create(RegistryEndpoint{registry.host(), k_repo, true}, std::move(auth));
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(c.value());
  }

  std::string docker_ref(const RegistryServer& registry, const std::string& ref) const {
    return "docker://" + registry.host() + "/" + k_repo +
           (ref.rfind("sha256:", 0) == 0 ? "@" : ":") + ref;
  }

  TempDir dir;
  OciLayoutStore layout = OciLayoutStore::open(dir / "oci").value();
};

TEST_F(RegistryTest, SkopeoSeesThePushedImageWithTheLayoutsDigest) {
  RegistryServer registry;
  ASSERT_TRUE(registry.ok()) << registry.error();
  auto built = build(layout);
  auto client = client_of(registry);
  ASSERT_TRUE(client.ping().ok());
  auto stats = client.push(layout, built.manifest, {"v1", "89abcde"});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->blobs_uploaded, 2);  // config and the one layer
  EXPECT_EQ(stats->bytes_uploaded, built.config.size + built.layers.at(0).size);

  for (const char* tag : {"v1", "89abcde"}) {
    auto inspect =
        run_process({"skopeo", "inspect", "--tls-verify=false", docker_ref(registry, tag)});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    auto j = json::parse(inspect.out);
    EXPECT_EQ(j["Digest"], built.manifest.digest) << tag;
  }
  auto raw =
      run_process({"skopeo", "inspect", "--raw", "--tls-verify=false", docker_ref(registry, "v1")});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(raw.out, layout.read_blob(built.manifest.digest).value()) << "stored byte for byte";
}

TEST_F(RegistryTest, SkopeoCopiesThePushedImageBackWithTheSameDigests) {
  RegistryServer registry;
  ASSERT_TRUE(registry.ok()) << registry.error();
  auto built = build(layout);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(layout, built.manifest, {"v1"}).ok());
  auto copy_dir = dir / "copy";
  auto copy = run_process({"skopeo", "--insecure-policy", "copy", "--src-tls-verify=false",
                           docker_ref(registry, "v1"), "oci:" + copy_dir.string() + ":v1"});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  auto copied = OciLayoutStore::open(copy_dir);
  ASSERT_TRUE(copied.ok());
  auto d = copied->resolve("v1");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->digest, built.manifest.digest);
  auto manifest = copied->read_manifest(d.value());
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(manifest->config.digest, built.config.digest);
  ASSERT_EQ(manifest->layers.size(), 1u);
  EXPECT_EQ(manifest->layers[0].digest, built.layers[0].digest);
  EXPECT_TRUE(copied->read_blob(built.layers[0].digest).ok());
}

TEST_F(RegistryTest, AnImageIndexIsPushedWithEachPlatformsImageAndSkopeoPicksByArch) {
  RegistryServer registry;
  ASSERT_TRUE(registry.ok()) << registry.error();
  // Two platforms' images sharing the site's layer, as build.platforms makes them.
  auto amd = build(layout);
  auto site = dir / "site";
  ImageSpecInputs arm_in;
  arm_in.architecture = "arm64";
  arm_in.revision = "89abcdef0123456789abcdef0123456789abcdef";
  arm_in.created = 1'714'564'800;
  auto arm = build_image_from_directory(site, arm_in, layout, {});
  ASSERT_TRUE(arm.ok()) << arm.error().message;
  ASSERT_EQ(arm->layers.at(0).digest, amd.layers.at(0).digest);
  auto index = layout.put_index(make_index_json({{amd.manifest, Platform{"linux", "amd64", ""}},
                                                 {arm->manifest, Platform{"linux", "arm64", ""}}}),
                                {"multi"});
  ASSERT_TRUE(index.ok()) << index.error().message;

  auto client = client_of(registry);
  auto stats = client.push(layout, *index, {"multi"});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->blobs_uploaded, 3) << "two configs and the one shared layer";
  EXPECT_EQ(stats->blobs_skipped, 0);

  auto raw = run_process(
      {"skopeo", "inspect", "--raw", "--tls-verify=false", docker_ref(registry, "multi")});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(raw.out, layout.read_blob(index->digest).value()) << "the index, byte for byte";
  // skopeo picks each platform's image from the index (its config names the architecture),
  // and each is in the registry under its own digest.
  for (const auto& [arch, want] :
       {std::pair{"amd64", amd.manifest.digest}, std::pair{"arm64", arm->manifest.digest}}) {
    auto inspect = run_process({"skopeo", "--override-arch", arch, "--override-os", "linux",
                                "inspect", "--tls-verify=false", docker_ref(registry, "multi")});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    auto j = json::parse(inspect.out);
    EXPECT_EQ(j["Digest"], index->digest) << "the tag names the index";
    EXPECT_EQ(j["Architecture"], arch);
    auto child = run_process(
        {"skopeo", "inspect", "--raw", "--tls-verify=false", docker_ref(registry, want)});
    ASSERT_EQ(child.exit_code, 0) << child.err;
    EXPECT_EQ(child.out, layout.read_blob(want).value()) << arch;
  }
  // Pushed again: every blob is there.
  auto again = client.push(layout, *index, {"multi"});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->blobs_uploaded, 0);
  EXPECT_EQ(again->blobs_skipped, 3);
}

TEST_F(RegistryTest, ASecondPushUploadsNoBlob) {
  RegistryServer registry;
  ASSERT_TRUE(registry.ok()) << registry.error();
  auto built = build(layout);
  auto client = client_of(registry);
  auto first = client.push(layout, built.manifest, {"v1"});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->blobs_uploaded, 2);
  // The log shows the uploads of the first push, so its absence later means something.
  ASSERT_TRUE(ztp::testing::wait_until([&] {
    return registry.log().find("POST /v2/ztp/site/blobs/uploads/") != std::string::npos;
  })) << registry.log();
  size_t offset = registry.log().size();

  auto second = client.push(layout, built.manifest, {"v1", "v2"});
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->blobs_uploaded, 0);
  EXPECT_EQ(second->bytes_uploaded, 0);
  EXPECT_EQ(second->blobs_skipped, 2);
  EXPECT_TRUE(second->uploaded.empty());
  EXPECT_EQ(second->skipped,
            (std::vector<std::string>{built.config.digest, built.layers[0].digest}));
  // A last request after the push, on the same connection: once the registry logged it, it has
  // logged every request of the push.
  std::string sentinel = sha256_digest("sentinel");
  ASSERT_FALSE(client.has_blob(sentinel).value());
  ASSERT_TRUE(ztp::testing::wait_until([&] {
    return registry.log().find(sentinel, offset) != std::string::npos;
  })) << registry.log().substr(offset);
  std::string during = registry.log().substr(offset);
  EXPECT_EQ(during.find("/blobs/uploads"), std::string::npos) << during;
  EXPECT_NE(during.find("HEAD /v2/ztp/site/blobs/" + built.layers[0].digest), std::string::npos)
      << during;
  EXPECT_NE(during.find("PUT /v2/ztp/site/manifests/v2"), std::string::npos) << during;
}

TEST_F(RegistryTest, ChunkedPushIsAcceptedByTheRegistry) {
  RegistryServer registry;
  ASSERT_TRUE(registry.ok()) << registry.error();
  auto built = build(layout);
  ASSERT_GT(built.layers[0].size, 4000);
  auto client = client_of(registry);
  auto stats = client.push(layout, built.manifest, {"v1"}, PushOptions{1024});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->blobs_uploaded, 2);
  auto patches_expected = (built.layers[0].size + 1023) / 1024 + (built.config.size + 1023) / 1024;
  ASSERT_TRUE(ztp::testing::wait_until([&] {
    auto log = registry.log();
    std::int64_t n = 0;
    for (size_t at = log.find("\"PATCH /v2/ztp/site/blobs/uploads/"); at != std::string::npos;
         at = log.find("\"PATCH /v2/ztp/site/blobs/uploads/", at + 1)) {
      ++n;
    }
    return n == patches_expected;
  })) << registry.log();
  auto inspect =
      run_process({"skopeo", "inspect", "--tls-verify=false", docker_ref(registry, "v1")});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(json::parse(inspect.out)["Digest"], built.manifest.digest);
  auto fresh = OciLayoutStore::open(dir / "fresh").value();
  auto pulled = client.pull("v1", fresh);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(fresh.read_blob(built.layers[0].digest).value(),
            layout.read_blob(built.layers[0].digest).value());
}

TEST_F(RegistryTest, PullsByTagAndByDigestIntoAnEmptyStore) {
  RegistryServer registry;
  ASSERT_TRUE(registry.ok()) << registry.error();
  auto built = build(layout);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(layout, built.manifest, {"v1"}).ok());

  auto by_tag = OciLayoutStore::open(dir / "by-tag").value();
  auto pulled = client.pull("v1", by_tag);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(pulled->digest, built.manifest.digest);
  EXPECT_EQ(by_tag.resolve("v1")->digest, built.manifest.digest);
  auto config = by_tag.read_config(pulled.value());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->exposed_ports, std::vector<std::string>{"80/tcp"});

  auto by_digest = OciLayoutStore::open(dir / "by-digest").value();
  pulled = client.pull(built.manifest.digest, by_digest);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(pulled->digest, built.manifest.digest);
  EXPECT_TRUE(by_digest.tags()->empty());
  EXPECT_TRUE(by_digest.read_blob(built.layers[0].digest).ok());

  auto resolved = client.resolve("v1");
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ(resolved->digest, built.manifest.digest);
  EXPECT_EQ(resolved->size, built.manifest.size);
  EXPECT_EQ(resolved->media_type, k_media_manifest);

  auto missing = client.pull("v9", by_tag);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("MANIFEST_UNKNOWN"), std::string::npos)
      << missing.error().message;
}

TEST_F(RegistryTest, PullsAnImageSkopeoPushed) {
  RegistryServer registry;
  ASSERT_TRUE(registry.ok()) << registry.error();
  auto built = build(layout);
  auto copy = run_process({"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                           "oci:" + (dir / "oci").string() + ":v1", docker_ref(registry, "v1")});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  auto client = client_of(registry);
  auto fresh = OciLayoutStore::open(dir / "fresh").value();
  auto pulled = client.pull("v1", fresh);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(pulled->digest, built.manifest.digest);
  // And pushing our copy again finds every blob there.
  auto stats = client.push(layout, built.manifest, {"v1"});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->blobs_uploaded, 0);
}

TEST_F(RegistryTest, APullOfABlobCorruptedInTheRegistryIsRejected) {
  RegistryServer registry;
  ASSERT_TRUE(registry.ok()) << registry.error();
  auto built = build(layout);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(layout, built.manifest, {"v1"}).ok());
  // Flip one byte of the layer in the registry's storage, keeping its size.
  auto data = registry.blob_data(built.layers[0].digest);
  auto bytes = fs::read_file(data);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  std::string corrupt = bytes.value();
  corrupt[corrupt.size() / 2] ^= 0x20;
  {
    std::ofstream out(data, std::ios::binary | std::ios::trunc);
    out << corrupt;
  }
  auto fresh = OciLayoutStore::open(dir / "fresh").value();
  auto pulled = client.pull("v1", fresh);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, Errc::invalid);
  EXPECT_NE(pulled.error().message.find(built.layers[0].digest), std::string::npos)
      << pulled.error().message;
  EXPECT_FALSE(fresh.has_blob(built.layers[0].digest));
  EXPECT_FALSE(fresh.has_blob(built.manifest.digest));
  EXPECT_TRUE(fresh.tags()->empty());
}

TEST_F(RegistryTest, ADeadRegistryIsUnavailable) {
  std::string url = "oci://127.0.0.1:" + std::to_string(ztp::testing::free_port()) + "/ztp/site";
  auto spec = spec::parse_registry(url);
  ASSERT_TRUE(spec.ok());
  auto client = RegistryClient::from_spec(spec.value());
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto ping = client->ping();
  ASSERT_FALSE(ping.ok());
  EXPECT_EQ(ping.error().code, Errc::unavailable);
  EXPECT_EQ(ping.error().message, "registry " + spec->host +
                                      " did not answer GET /v2/: connection refused; is it "
                                      "running? check registry: in ztp.yaml");
  auto built = build(layout);
  auto stats = client->push(layout, built.manifest, {"v1"});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().code, Errc::unavailable);
}

// User "ztp", password "s3cret-pass", bcrypt cost 5 (as `htpasswd -nbB -C 5 ztp s3cret-pass`
// makes it; docker-registry accepts only bcrypt entries).
constexpr const char* k_htpasswd =
    "ztp:$2b$05$vfCwUWQxQfT0.VsoOnqGouvfZba6mK.2.WRgRTSjqIn/wJZBmxoJG\n";

TEST_F(RegistryTest, AnHtpasswdRegistryRefusesAnonymousPushesAndTakesCredentials) {
  RegistryServer registry(RegistryServer::Options{k_htpasswd});
  ASSERT_TRUE(registry.ok()) << registry.error();
  auto built = build(layout);

  auto anonymous = client_of(registry);
  auto refused = anonymous.push(layout, built.manifest, {"v1"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::refused);
  EXPECT_NE(refused.error().message.find("401"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("ZTP_REGISTRY_USERNAME"), std::string::npos);

  auto wrong = client_of(registry, RegistryAuth{"ztp", "not-the-password", ""});
  auto denied = wrong.ping();
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, Errc::refused);
  EXPECT_EQ(denied.error().message.find("not-the-password"), std::string::npos);

  // Credentials from the environment, as `registry:` in ztp.yaml gets them.
  ::setenv("ZTP_REGISTRY_USERNAME", "ztp", 1);
  ::setenv("ZTP_REGISTRY_PASSWORD", "s3cret-pass", 1);
  auto spec = spec::parse_registry("oci://" + registry.host() + "/" + k_repo);
  auto client = RegistryClient::from_spec(spec.value());
  ::unsetenv("ZTP_REGISTRY_USERNAME");
  ::unsetenv("ZTP_REGISTRY_PASSWORD");
  ASSERT_TRUE(client.ok()) << client.error().message;
  ASSERT_TRUE(client->ping().ok());
  auto stats = client->push(layout, built.manifest, {"v1"});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->blobs_uploaded, 2);
  auto fresh = OciLayoutStore::open(dir / "fresh").value();
  auto pulled = client->pull("v1", fresh);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(pulled->digest, built.manifest.digest);

  auto inspect = run_process({"skopeo", "inspect", "--tls-verify=false", "--creds",
                              "ztp:s3cret-pass", docker_ref(registry, "v1")});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_EQ(json::parse(inspect.out)["Digest"], built.manifest.digest);
  EXPECT_EQ(registry.log().find("s3cret-pass"), std::string::npos);
}

}  // namespace
}  // namespace ztp::artifact
