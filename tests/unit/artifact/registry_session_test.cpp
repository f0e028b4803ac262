#include "artifact/registry_session.hpp"

#include <gtest/gtest.h>

#include "artifact/digest.hpp"
#include "registry_fake_server.hpp"
#include "support/support.hpp"

namespace ztp::artifact {
namespace {

using test::FakeRegistry;
using test::noise;

constexpr const char* k_scope = "repository:team/app:pull,push";

RegistrySession session_of(const std::string& host) {
  return RegistrySession(RegistryEndpoint{host, "team/app", true}, RegistryAuth{});
}

TEST(RegistrySessionTest, MonolithicUploadIsOnePostAndOnePut) {
  FakeRegistry registry;
  auto session = session_of(registry.host());
  std::string blob = noise(5000, 1);
  auto up = session.upload_blob(sha256_digest(blob), blob, 0, k_scope);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_TRUE(registry.has_blob(sha256_digest(blob)));
  auto requests = registry.server().requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/v2/team/app/blobs/uploads/");
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].query.at("digest"), sha256_digest(blob));
  EXPECT_EQ(requests[1].header("content-type"), "application/octet-stream");
  EXPECT_EQ(requests[1].body, blob);
}

TEST(RegistrySessionTest, UploadFollowsRelativeLocationsThatCarryAQuery) {
  FakeRegistry::Options o;
  o.relative_location = true;
  o.location_query = "_state=abc%3D%3D";
  FakeRegistry registry(o);
  auto session = session_of(registry.host());
  for (int chunk : {0, 700}) {
    std::string blob = noise(2000, static_cast<unsigned>(chunk + 1));
    auto up = session.upload_blob(sha256_digest(blob), blob, chunk, k_scope);
    ASSERT_TRUE(up.ok()) << up.error().message;
    EXPECT_TRUE(registry.has_blob(sha256_digest(blob)));
  }
  int closing = 0;
  for (const auto& r : registry.server().requests()) {
    if (r.method == "PATCH") {
      EXPECT_EQ(r.target.find("?_state=abc%3D%3D"), r.path.size()) << r.target;
    }
    if (r.method == "PUT") {
      ++closing;
      // The registry's own query is kept as is, the digest follows it.
      EXPECT_NE(r.target.find("?_state=abc%3D%3D&digest=sha256%3a"), std::string::npos) << r.target;
    }
  }
  EXPECT_EQ(closing, 2);
}

TEST(RegistrySessionTest, ChunkedUploadSendsOrderedContentRanges) {
  FakeRegistry registry;
  auto session = session_of(registry.host());
  std::string blob = noise(3500, 2);
  auto up = session.upload_blob(sha256_digest(blob), blob, 1000, k_scope);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_TRUE(registry.has_blob(sha256_digest(blob)));
  std::vector<std::string> ranges;
  for (const auto& r : registry.server().requests()) {
    if (r.method == "PATCH") {
      ranges.push_back(r.header("content-range"));
      EXPECT_EQ(r.header("content-type"), "application/octet-stream");
      EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
    } else if (r.method == "PUT") {
      EXPECT_TRUE(r.body.empty()) << "the chunks carried every byte";
    }
  }
  EXPECT_EQ(ranges, (std::vector<std::string>{"0-999", "1000-1999", "2000-2999", "3000-3499"}));
}

TEST(RegistrySessionTest, ChunkedUploadHonoursTheRegistrysMinimumChunk) {
  FakeRegistry::Options o;
  o.chunk_min = 1500;
  FakeRegistry registry(o);
  auto session = session_of(registry.host());
  std::string blob = noise(3500, 3);
  ASSERT_TRUE(session.upload_blob(sha256_digest(blob), blob, 16, k_scope).ok());
  EXPECT_EQ(registry.server().count("PATCH", "/blobs/uploads/"), 3);
}

TEST(RegistrySessionTest, AFailedUploadIsCancelled) {
  FakeRegistry registry;
  auto session = session_of(registry.host());
  std::string blob = noise(100, 4);
  std::string wrong = sha256_digest("not the blob");
  auto up = session.upload_blob(wrong, blob, 0, k_scope);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().code, Errc::invalid);
  EXPECT_NE(up.error().message.find("DIGEST_INVALID"), std::string::npos) << up.error().message;
  EXPECT_EQ(registry.server().count("DELETE", "/blobs/uploads/"), 1);
  EXPECT_FALSE(registry.has_blob(wrong));
}

TEST(RegistrySessionTest, GetBlobRejectsBytesThatDoNotMatchTheDescriptor) {
  std::string blob = noise(1000, 5);
  FakeRegistry::Options o;
  o.corrupt_blob = sha256_digest(blob);
  FakeRegistry registry(o);
  registry.put_blob(blob);
  auto session = session_of(registry.host());
  Descriptor d{k_media_layer_gzip, sha256_digest(blob), 1000, {}};
  auto got = session.get_blob(d, k_scope);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::invalid);
  EXPECT_NE(got.error().message.find(d.digest + " (" + k_media_layer_gzip +
                                     ", 1000 bytes) is "
                                     "corrupt"),
            std::string::npos)
      << got.error().message;

  // Longer than the descriptor says: cut off as soon as it is.
  FakeRegistry honest;
  honest.put_blob(blob);
  auto other = session_of(honest.host());
  d.size = 10;
  got = other.get_blob(d, k_scope);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("longer than the 10 bytes"), std::string::npos);
}

TEST(RegistrySessionTest, PutManifestChecksTheDigestTheRegistryAnswers) {
  FakeRegistry::Options o;
  o.announce_manifest_digest = sha256_digest("something else");
  FakeRegistry registry(o);
  auto session = session_of(registry.host());
  std::string manifest = R"({"schemaVersion":2})";
  auto put =
      session.put_manifest("v1", manifest, k_media_manifest, sha256_digest(manifest), k_scope);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, Errc::invalid);
  EXPECT_NE(put.error().message.find(o.announce_manifest_digest), std::string::npos);
  auto seen = registry.server().requests().at(0);
  EXPECT_EQ(seen.header("content-type"), k_media_manifest);
  EXPECT_EQ(seen.body, manifest);
}

TEST(RegistrySessionTest, ErrorsCarryTheRegistrysMessagesAndClass) {
  int status = 400;
  test::FakeHttpServer server([&](const test::FakeRequest&) {
    test::FakeResponse res;
    res.status = status;
    res.body = R"({"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid",)"
               R"("detail":{}},{"code":"TAG_INVALID","message":"bad tag"}]})";
    return res;
  });
  auto session = session_of(server.host());
  sys::HttpRequest req;
  req.method = "PUT";
  req.url = session.url("/v2/team/app/manifests/v1?ignored=1");
  auto res = session.call(req, k_scope, {201});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::invalid);
  EXPECT_EQ(res.error().message,
            "registry " + server.host() +
                ": PUT /v2/team/app/manifests/v1 answered 400 Bad Request: MANIFEST_INVALID: "
                "manifest invalid; TAG_INVALID: bad tag");
  const std::vector<std::pair<int, Errc>> classes{
      {404, Errc::not_found},   {401, Errc::refused},     {403, Errc::refused},
      {429, Errc::unavailable}, {503, Errc::unavailable}, {405, Errc::invalid}};
  for (const auto& [s, code] : classes) {
    status = s;
    auto r = session.call(req, k_scope, {201});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, code) << s;
  }
  status = 201;
  EXPECT_TRUE(session.call(req, k_scope, {201}).ok());
}

TEST(RegistrySessionTest, ErrorFieldsThatAreNotStringsAreLeftOut) {
  test::FakeHttpServer server([&](const test::FakeRequest&) {
    test::FakeResponse res;
    res.status = 404;
    res.body = R"({"errors":[{"code":5,"message":"no such manifest"},{"code":"DENIED",)"
               R"("message":["x"]},{"code":null}]})";
    return res;
  });
  auto session = session_of(server.host());
  sys::HttpRequest req;
  req.url = session.url("/v2/team/app/manifests/v1");
  auto res = session.call(req, k_scope, {200});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::not_found);
  EXPECT_EQ(res.error().message, "registry " + server.host() +
                                     ": GET /v2/team/app/manifests/v1 answered 404 Not Found: no "
                                     "such manifest; DENIED");
}

TEST(RegistrySessionTest, ADeadRegistryIsUnavailableWithAHint) {
  std::string host = "127.0.0.1:" + std::to_string(ztp::testing::free_port());
  auto session = session_of(host);
  sys::HttpRequest req;
  req.url = session.url("/v2/");
  auto res = session.call(req, "", {200});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::unavailable);
  EXPECT_EQ(res.error().message, "registry " + host +
                                     " did not answer GET /v2/: connection refused; is it "
                                     "running? check registry: in ztp.yaml");
}

}  // namespace
}  // namespace ztp::artifact
