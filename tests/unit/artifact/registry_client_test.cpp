#include "artifact/registry_client.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "artifact_helpers.hpp"
#include "registry_fake_server.hpp"
#include "spec/address.hpp"
#include "support/support.hpp"

namespace ztp::artifact {
namespace {

using test::FakeRegistry;
using test::noise;
using ztp::testing::TempDir;

// "Aladdin:open sesame", RFC 7617's example.
constexpr const char* k_basic = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==";

struct Image {
  Descriptor manifest;
  std::string manifest_json;
  Manifest parsed;
};

Image make_image(OciLayoutStore& store, unsigned seed = 1) {
  Image out;
  out.manifest = test::store_image(
      store, {test::raw_layer({test::raw_file("app/index.html", "<h1>" + std::to_string(seed))}),
              test::raw_layer({test::raw_file("app/blob.bin", noise(3000, seed))})});
  out.manifest_json = store.read_blob(out.manifest.digest).value();
  out.parsed = store.read_manifest(out.manifest).value();
  return out;
}

RegistryClient client_of(const FakeRegistry& registry, RegistryAuth auth = {}) {
  auto c =
      RegistryClient::create(RegistryEndpoint{registry.host(), "team/app", true}, std::move(auth));
  EXPECT_TRUE(c.ok()) << c.error().message;
  return std::move(c.value());
}

class RegistryClientTest : public ::testing::Test {
 protected:
  TempDir dir;
  OciLayoutStore src = OciLayoutStore::open(dir / "src").value();
  OciLayoutStore dst = OciLayoutStore::open(dir / "dst").value();
};

TEST_F(RegistryClientTest, PushUploadsEveryBlobThenTheManifestUnderEachTag) {
  FakeRegistry registry;
  auto image = make_image(src);
  auto client = client_of(registry);
  auto stats = client.push(src, image.manifest, {"v1", "latest"});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->blobs_uploaded, 3);
  EXPECT_EQ(stats->blobs_skipped, 0);
  std::vector<std::string> expected{image.parsed.config.digest, image.parsed.layers[0].digest,
                                    image.parsed.layers[1].digest};
  EXPECT_EQ(stats->uploaded, expected);
  EXPECT_EQ(stats->bytes_uploaded,
            image.parsed.config.size + image.parsed.layers[0].size + image.parsed.layers[1].size);
  for (const auto& d : expected) {
    EXPECT_TRUE(registry.has_blob(d)) << d;
  }
  EXPECT_EQ(registry.manifest("v1"), image.manifest_json);
  EXPECT_EQ(registry.manifest("latest"), image.manifest_json);
  // Each blob: HEAD, POST, PUT ?digest=; then one manifest PUT per tag, typed as OCI.
  EXPECT_EQ(registry.server().count("HEAD", "/blobs/"), 3);
  EXPECT_EQ(registry.server().count("POST", "/blobs/uploads/"), 3);
  EXPECT_EQ(registry.server().count("PUT", "/blobs/uploads/"), 3);
  EXPECT_EQ(registry.server().count("PATCH", "/blobs/uploads/"), 0);
  for (const auto& r : registry.server().requests()) {
    if (r.method == "PUT" && r.path.find("/manifests/") != std::string::npos) {
      EXPECT_EQ(r.header("content-type"), k_media_manifest);
    }
    if (r.method == "PUT" && r.path.find("/blobs/uploads/") != std::string::npos) {
      EXPECT_EQ(r.header("content-type"), "application/octet-stream");
    }
  }
  EXPECT_EQ(registry.server().connections(), 1) << "one kept-alive connection";
}

TEST_F(RegistryClientTest, PushNeverUploadsABlobTheRegistryHas) {
  FakeRegistry registry;
  auto image = make_image(src);
  registry.put_blob(src.read_blob(image.parsed.layers[1].digest).value());
  auto client = client_of(registry);
  auto stats = client.push(src, image.manifest, {"v1"});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->blobs_uploaded, 2);
  EXPECT_EQ(stats->skipped, std::vector<std::string>{image.parsed.layers[1].digest});
  EXPECT_EQ(registry.server().count("POST", "/blobs/uploads/"), 2);

  auto again = client.push(src, image.manifest, {"v1"});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->blobs_uploaded, 0);
  EXPECT_EQ(again->blobs_skipped, 3);
  EXPECT_EQ(again->bytes_uploaded, 0);
  EXPECT_EQ(registry.server().count("POST", "/blobs/uploads/"), 2) << "no new upload session";
}

TEST_F(RegistryClientTest, ChunkedPushSendsOrderedContentRanges) {
  FakeRegistry registry;
  auto image = make_image(src);
  const auto& big = image.parsed.layers[1];
  ASSERT_GT(big.size, 2500);
  auto client = client_of(registry);
  auto stats = client.push(src, image.manifest, {"v1"}, PushOptions{1000});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->blobs_uploaded, 3);
  EXPECT_TRUE(registry.has_blob(big.digest));
  // The big layer went up in ceil(size / 1000) PATCHes, each starting where the last ended.
  std::int64_t expected_patches = 0;
  for (const auto& d : stats->uploaded) {
    auto size = src.read_blob(d)->size();
    expected_patches += static_cast<std::int64_t>((size + 999) / 1000);
  }
  EXPECT_EQ(registry.server().count("PATCH", "/blobs/uploads/"), expected_patches);
  std::string upload;
  std::int64_t next = 0;
  for (const auto& r : registry.server().requests()) {
    if (r.method == "POST") {
      next = 0;
    } else if (r.method == "PATCH") {
      auto range = r.header("content-range");
      EXPECT_EQ(range.substr(0, range.find('-')), std::to_string(next)) << range;
      EXPECT_LE(r.body.size(), 1000u);
      EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
      next += static_cast<std::int64_t>(r.body.size());
    } else if (r.method == "PUT" && r.path.find("/blobs/uploads/") != std::string::npos) {
      EXPECT_TRUE(r.body.empty()) << "the chunks carried every byte";
    }
  }
}

TEST_F(RegistryClientTest, PushWithoutTagsPutsTheManifestByDigest) {
  FakeRegistry registry;
  auto image = make_image(src);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(src, image.manifest, {}).ok());
  EXPECT_EQ(registry.server().count("PUT", "/manifests/" + image.manifest.digest), 1);
}

TEST_F(RegistryClientTest, PushRejectsAManifestTheRegistryStoredUnderAnotherDigest) {
  FakeRegistry::Options o;
  o.announce_manifest_digest = sha256_digest("something else");
  FakeRegistry registry(o);
  auto image = make_image(src);
  auto client = client_of(registry);
  auto stats = client.push(src, image.manifest, {"v1"});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().code, Errc::invalid);
  EXPECT_NE(stats.error().message.find(o.announce_manifest_digest), std::string::npos);
  EXPECT_NE(stats.error().message.find(image.manifest.digest), std::string::npos);
}

TEST_F(RegistryClientTest, PushRefusesABadTagBeforeSendingAnything) {
  FakeRegistry registry;
  auto image = make_image(src);
  auto client = client_of(registry);
  auto stats = client.push(src, image.manifest, {"v1", "no/slashes"});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().code, Errc::invalid);
  EXPECT_TRUE(registry.server().requests().empty());
}

TEST_F(RegistryClientTest, PullByTagStoresTheImageAndTagsIt) {
  FakeRegistry registry;
  auto image = make_image(src);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(src, image.manifest, {"v1"}).ok());
  auto pulled = client.pull("v1", dst);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(pulled->digest, image.manifest.digest);
  EXPECT_EQ(pulled->media_type, k_media_manifest);
  EXPECT_EQ(dst.resolve("v1")->digest, image.manifest.digest);
  EXPECT_TRUE(dst.read_config(*pulled).ok());
  for (const auto& l : image.parsed.layers) {
    EXPECT_EQ(dst.read_blob(l.digest).value(), src.read_blob(l.digest).value());
  }
  // The manifest was asked for in both manifest types.
  auto requests = registry.server().requests();
  auto get = std::find_if(requests.begin(), requests.end(), [](const test::FakeRequest& r) {
    return r.method == "GET" && r.path.find("/manifests/v1") != std::string::npos;
  });
  ASSERT_NE(get, requests.end());
  EXPECT_NE(get->header("accept").find(k_media_manifest), std::string::npos);
  EXPECT_NE(get->header("accept").find("application/vnd.docker.distribution.manifest.v2+json"),
            std::string::npos);
}

TEST_F(RegistryClientTest, PullByDigestStoresTheImageUntagged) {
  FakeRegistry registry;
  auto image = make_image(src);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(src, image.manifest, {"v1"}).ok());
  auto pulled = client.pull(image.manifest.digest, dst);
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(pulled->digest, image.manifest.digest);
  EXPECT_TRUE(dst.tags()->empty());
  EXPECT_EQ(dst.resolve(image.manifest.digest)->digest, image.manifest.digest);
}

TEST_F(RegistryClientTest, PullSkipsBlobsTheStoreHas) {
  FakeRegistry registry;
  auto image = make_image(src);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(src, image.manifest, {"v1"}).ok());
  ASSERT_TRUE(
      dst.put_blob(src.read_blob(image.parsed.layers[1].digest).value(), k_media_layer_gzip).ok());
  ASSERT_TRUE(client.pull("v1", dst).ok());
  EXPECT_EQ(registry.server().count("GET", "/blobs/"), 2);
  EXPECT_EQ(registry.server().count("GET", image.parsed.layers[1].digest), 0);
}

TEST_F(RegistryClientTest, PullRejectsACorruptBlobAndTagsNothing) {
  auto image = make_image(src);
  FakeRegistry::Options o;
  o.corrupt_blob = image.parsed.layers[1].digest;
  FakeRegistry registry(o);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(src, image.manifest, {"v1"}).ok());
  auto pulled = client.pull("v1", dst);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, Errc::invalid);
  EXPECT_NE(pulled.error().message.find(o.corrupt_blob), std::string::npos)
      << pulled.error().message;
  EXPECT_NE(pulled.error().message.find("corrupt"), std::string::npos);
  EXPECT_FALSE(dst.has_blob(o.corrupt_blob));
  EXPECT_FALSE(dst.has_blob(image.manifest.digest));
  EXPECT_TRUE(dst.tags()->empty());
  EXPECT_FALSE(dst.resolve("v1").ok());
}

TEST_F(RegistryClientTest, PullRejectsAManifestThatDoesNotHashToTheDigestAskedFor) {
  FakeRegistry registry;
  auto image = make_image(src);
  auto other = make_image(src, 2);
  registry.put_manifest(image.manifest.digest, other.manifest_json, k_media_manifest);
  auto client = client_of(registry);
  auto pulled = client.pull(image.manifest.digest, dst);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, Errc::invalid);
  EXPECT_NE(pulled.error().message.find(other.manifest.digest), std::string::npos)
      << pulled.error().message;
  EXPECT_FALSE(dst.has_blob(other.manifest.digest));
}

TEST_F(RegistryClientTest, PullRejectsAManifestServedAsAnotherType) {
  FakeRegistry registry;
  auto image = make_image(src);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(src, image.manifest, {}).ok());
  registry.put_manifest("v1", image.manifest_json,
                        "application/vnd.docker.distribution.manifest.v2+json");
  auto pulled = client.pull("v1", dst);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, Errc::invalid);
  EXPECT_NE(pulled.error().message.find("served as"), std::string::npos);
}

TEST_F(RegistryClientTest, PullOfAnUnknownTagIsNotFoundWithTheRegistrysError) {
  FakeRegistry registry;
  auto client = client_of(registry);
  auto pulled = client.pull("missing", dst);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code, Errc::not_found);
  EXPECT_NE(pulled.error().message.find("registry " + registry.host()), std::string::npos);
  EXPECT_NE(pulled.error().message.find("GET /v2/team/app/manifests/missing answered 404"),
            std::string::npos)
      << pulled.error().message;
  EXPECT_NE(pulled.error().message.find("MANIFEST_UNKNOWN: manifest unknown"), std::string::npos);
}

TEST_F(RegistryClientTest, RefusesReferencesThatAreNeitherTagNorDigest) {
  FakeRegistry registry;
  auto client = client_of(registry);
  for (const char* bad : {"", "a/b", "sha256:abc", "-lead"}) {
    auto pulled = client.pull(bad, dst);
    ASSERT_FALSE(pulled.ok()) << bad;
    EXPECT_EQ(pulled.error().code, Errc::invalid);
  }
  EXPECT_TRUE(registry.server().requests().empty());
}

TEST_F(RegistryClientTest, ResolveGivesTheManifestDescriptor) {
  FakeRegistry registry;
  auto image = make_image(src);
  auto client = client_of(registry);
  ASSERT_TRUE(client.push(src, image.manifest, {"v1"}).ok());
  for (const std::string& ref : {std::string("v1"), image.manifest.digest}) {
    auto d = client.resolve(ref);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->digest, image.manifest.digest);
    EXPECT_EQ(d->size, image.manifest.size);
    EXPECT_EQ(d->media_type, k_media_manifest);
  }
  EXPECT_EQ(client.resolve("nope").error().code, Errc::not_found);
}

TEST_F(RegistryClientTest, HasBlobAnswersFromHead) {
  FakeRegistry registry;
  registry.put_blob("hello");
  auto client = client_of(registry);
  EXPECT_TRUE(client.has_blob(sha256_digest("hello")).value());
  EXPECT_FALSE(client.has_blob(sha256_digest("other")).value());
  EXPECT_EQ(client.has_blob("sha256:nothex").error().code, Errc::invalid);
}

TEST_F(RegistryClientTest, BearerTokenIsFetchedOncePerScopeAndReused) {
  FakeRegistry::Options o;
  o.bearer_basic = k_basic;
  FakeRegistry registry(o);
  auto image = make_image(src);
  auto client = client_of(registry, RegistryAuth{"Aladdin", "open sesame", ""});
  auto stats = client.push(src, image.manifest, {"v1"});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(registry.token_requests(), 1);
  ASSERT_TRUE(client.push(src, image.manifest, {"v2"}).ok());
  EXPECT_EQ(registry.token_requests(), 1) << "the push token is cached";
  ASSERT_TRUE(client.pull("v1", dst).ok());
  EXPECT_EQ(registry.token_requests(), 2) << "pull asks for its own scope";
  ASSERT_TRUE(client.resolve("v2").ok());
  EXPECT_EQ(registry.token_requests(), 2);
  for (const auto& r : registry.server().requests()) {
    if (r.path == "/token") {
      EXPECT_EQ(r.header("authorization"), k_basic);
      EXPECT_EQ(r.query.at("service"), "fake");
    }
  }
}

TEST_F(RegistryClientTest, BearerTokenMayComeAsAccessToken) {
  FakeRegistry::Options o;
  o.bearer_basic = k_basic;
  o.token_field = "access_token";
  FakeRegistry registry(o);
  auto client = client_of(registry, RegistryAuth{"Aladdin", "open sesame", ""});
  auto ping = client.ping();
  EXPECT_TRUE(ping.ok()) << ping.error().message;
}

TEST_F(RegistryClientTest, BearerWithWrongCredentialsIsRefused) {
  FakeRegistry::Options o;
  o.bearer_basic = k_basic;
  FakeRegistry registry(o);
  auto client = client_of(registry, RegistryAuth{"Aladdin", "close sesame", ""});
  auto ping = client.ping();
  ASSERT_FALSE(ping.ok());
  EXPECT_EQ(ping.error().code, Errc::refused);
  EXPECT_NE(ping.error().message.find("registry " + registry.host()), std::string::npos);
  EXPECT_EQ(ping.error().message.find("close sesame"), std::string::npos);
}

TEST_F(RegistryClientTest, BasicAuthIsAnsweredWithCredentialsAndRefusedWithout) {
  FakeRegistry::Options o;
  o.basic = k_basic;
  FakeRegistry registry(o);
  auto anonymous = client_of(registry);
  auto refused = anonymous.ping();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::refused);
  EXPECT_NE(refused.error().message.find("GET /v2/ answered 401 Unauthorized"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("ZTP_REGISTRY_USERNAME"), std::string::npos);

  auto wrong = client_of(registry, RegistryAuth{"Aladdin", "close sesame", ""});
  auto bad = wrong.ping();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::refused);
  EXPECT_NE(bad.error().message.find("refuses the credentials"), std::string::npos);
  EXPECT_EQ(bad.error().message.find("close sesame"), std::string::npos);

  auto good = client_of(registry, RegistryAuth{"Aladdin", "open sesame", ""});
  auto image = make_image(src);
  auto stats = good.push(src, image.manifest, {"v1"});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  ASSERT_TRUE(good.pull("v1", dst).ok());
}

TEST_F(RegistryClientTest, AGivenTokenIsSentAsIs) {
  test::FakeHttpServer server([](const test::FakeRequest& r) {
    test::FakeResponse res;
    res.status = r.header("authorization") == "Bearer from-ci" ? 200 : 401;
    return res;
  });
  auto client = RegistryClient::create(RegistryEndpoint{server.host(), "team/app", true},
                                       RegistryAuth{"", "", "from-ci"});
  ASSERT_TRUE(client.ok());
  auto ping = client->ping();
  EXPECT_TRUE(ping.ok()) << ping.error().message;
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(RegistryEndpointTest, CreateChecksTheHostAndTheRepository) {
  EXPECT_TRUE(RegistryClient::create(RegistryEndpoint{"registry.example.com", "team/app"}).ok());
  EXPECT_TRUE(RegistryClient::create(RegistryEndpoint{"[::1]:5000", "app"}).ok());
  for (const auto& bad :
       {RegistryEndpoint{"", "app"}, RegistryEndpoint{"host", ""},
        RegistryEndpoint{"host", "Upper/Case"}, RegistryEndpoint{"host:99999", "app"},
        RegistryEndpoint{"host", "app:tag"}}) {
    auto c = RegistryClient::create(bad);
    EXPECT_FALSE(c.ok()) << bad.host << "/" << bad.repository;
    if (!c.ok()) {
      EXPECT_EQ(c.error().code, Errc::invalid);
    }
  }
}

TEST(RegistryEndpointTest, FromSpecSpeaksPlainHttpOnlyToLoopbackOrWhenTold) {
  ::unsetenv(k_env_registry_plain_http);
  auto endpoint_of = [](const std::string& url) {
    auto spec = spec::parse_registry(url);
    EXPECT_TRUE(spec.ok()) << url;
    auto c = RegistryClient::from_spec(spec.value());
    EXPECT_TRUE(c.ok()) << url;
    return c.value().endpoint();
  };
  EXPECT_TRUE(endpoint_of("oci://127.0.0.1:5000/team/app").plain_http);
  EXPECT_TRUE(endpoint_of("oci://localhost:5000/app").plain_http);
  EXPECT_TRUE(endpoint_of("oci://[::1]:5000/app").plain_http);
  auto remote = endpoint_of("oci://registry.example.com/team/app");
  EXPECT_FALSE(remote.plain_http);
  EXPECT_EQ(remote.host, "registry.example.com");
  EXPECT_EQ(remote.repository, "team/app");
  ::setenv(k_env_registry_plain_http, "1", 1);
  EXPECT_TRUE(endpoint_of("oci://registry.internal:5000/app").plain_http);
  ::unsetenv(k_env_registry_plain_http);
}

TEST(RegistryEndpointTest, FromSpecRefusesOtherKinds) {
  for (const char* url : {"local", "ecr://123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"}) {
    auto c = RegistryClient::from_spec(spec::parse_registry(url).value());
    ASSERT_FALSE(c.ok()) << url;
    EXPECT_EQ(c.error().code, Errc::invalid);
    EXPECT_NE(c.error().message.find("registry: oci://"), std::string::npos) << c.error().message;
  }
}

TEST(RegistryEndpointTest, KnowsLoopbackHosts) {
  for (const char* h : {"127.0.0.1", "127.0.0.1:5000", "127.1.2.3:80", "localhost", "localhost:1",
                        "[::1]:5000", "::1"}) {
    EXPECT_TRUE(is_loopback_host(h)) << h;
  }
  for (const char* h : {"10.0.0.1:5000", "registry.example.com", "[2001:db8::1]:443",
                        "localhost.example.com", "0.0.0.0:5000"}) {
    EXPECT_FALSE(is_loopback_host(h)) << h;
  }
}

}  // namespace
}  // namespace ztp::artifact
