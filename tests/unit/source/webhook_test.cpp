#include "source/webhook.hpp"
#include "sys/crypto.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/github_signature_example.hpp"
#include "support/support.hpp"

namespace ztp::source {
namespace {

// The GitHub payload examples of tests/vectors.lock; fails the test when they are missing.
std::filesystem::path examples(const std::string& event) {
  return testing::vector_path("github-webhooks/payload-examples/" + event);
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << p;
  return {std::istreambuf_iterator<char>(in), {}};
}

nlohmann::json signature_vector() {
  namespace example = testing::github_signature_example;
  return {{"secret", example::k_secret},
          {"payload", example::k_payload},
          {"signature_hex", example::k_signature_hex},
          {"x_hub_signature_256", std::string("sha256=") + example::k_signature_hex}};
}

TEST(WebhookSignature, GitHubsTestVectorVerifies) {
  auto v = signature_vector();
  std::string secret = v["secret"];
  std::string payload = v["payload"];
  EXPECT_EQ(sys::hmac_sha256_hex(secret, payload), v["signature_hex"].get<std::string>());
  auto verified = verify_signature(secret, payload, v["x_hub_signature_256"].get<std::string>());
  EXPECT_TRUE(verified.ok()) << verified.error().message;
}

TEST(WebhookSignature, UpperCaseHexVerifiesToo) {
  auto v = signature_vector();
  std::string header = v["x_hub_signature_256"];
  for (size_t i = 7; i < header.size(); ++i) {
    header[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(header[i])));
  }
  EXPECT_TRUE(
      verify_signature(v["secret"].get<std::string>(), v["payload"].get<std::string>(), header)
          .ok());
}

TEST(WebhookSignature, AFlippedByteAnywhereFails) {
  auto v = signature_vector();
  std::string secret = v["secret"];
  std::string payload = v["payload"];
  std::string header = v["x_hub_signature_256"];
  // A byte of the signature.
  std::string bad_sig = header;
  bad_sig[10] = bad_sig[10] == '0' ? '1' : '0';
  auto r = verify_signature(secret, payload, bad_sig);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::refused);
  EXPECT_NE(r.error().message.find("does not match"), std::string::npos) << r.error().message;
  // A byte of the payload.
  std::string bad_payload = payload;
  bad_payload[0] ^= 0x01;
  EXPECT_FALSE(verify_signature(secret, bad_payload, header).ok());
  // A byte of the secret.
  std::string bad_secret = secret;
  bad_secret.back() ^= 0x01;
  EXPECT_FALSE(verify_signature(bad_secret, payload, header).ok());
}

TEST(WebhookSignature, MalformedHeadersAreNamed) {
  auto v = signature_vector();
  std::string secret = v["secret"];
  std::string payload = v["payload"];
  std::string hex = v["signature_hex"];
  struct Case {
    std::string header;
    std::string says;
  };
  for (const auto& c :
       {Case{"", "missing X-Hub-Signature-256"}, Case{hex, "does not start with sha256="},
        Case{"sha1=" + hex.substr(0, 40), "does not start with sha256="},
        Case{"sha256=" + hex.substr(0, 63), "63 hex digits"},
        Case{"sha256=" + hex.substr(0, 63) + "g", "not a hex digit"}}) {
    auto r = verify_signature(secret, payload, c.header);
    ASSERT_FALSE(r.ok()) << c.header;
    EXPECT_EQ(r.error().code, Errc::invalid) << c.header;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
}

TEST(WebhookSecret, TheEnvironmentWinsOverTheSpec) {
  spec::Source source;
  source.webhook_secret = "from-spec";
  ::unsetenv(k_webhook_secret_env);
  EXPECT_EQ(webhook_secret(source), "from-spec");
  ::setenv(k_webhook_secret_env, "from-env", 1);
  EXPECT_EQ(webhook_secret(source), "from-env");
  ::setenv(k_webhook_secret_env, "", 1);
  EXPECT_EQ(webhook_secret(source), "from-spec");
  ::unsetenv(k_webhook_secret_env);
  EXPECT_EQ(webhook_secret(spec::Source{}), "");
}

TEST(PushPayload, EveryPushExampleParses) {
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(examples("push"))) {
    auto body = read(entry.path());
    auto push = parse_push_event(body);
    ASSERT_TRUE(push.ok()) << entry.path() << ": " << push.error().message;
    auto doc = nlohmann::json::parse(body);
    EXPECT_EQ(push->ref, doc["ref"]);
    EXPECT_EQ(push->after, doc["after"]);
    EXPECT_EQ(push->repository, doc["repository"]["full_name"]);
    EXPECT_EQ(push->commits.size(), doc["commits"].size());
    ++parsed;
  }
  EXPECT_GE(parsed, 2);
}

TEST(PushPayload, ABranchPushListsItsCommitAndPaths) {
  auto push = parse_push_event(read(examples("push") / "with-new-branch.payload.json"));
  ASSERT_TRUE(push.ok()) << push.error().message;
  EXPECT_EQ(push->branch(), "master");
  EXPECT_FALSE(push->is_tag());
  EXPECT_TRUE(push->created);
  EXPECT_FALSE(push->deleted);
  EXPECT_EQ(push->before, "0000000000000000000000000000000000000000");
  EXPECT_EQ(push->after, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
  ASSERT_EQ(push->commits.size(), 1u);
  EXPECT_EQ(push->commits[0].id, push->after);
  EXPECT_EQ(push->commits[0].added, std::vector<std::string>{"README.md"});
  ASSERT_TRUE(push->head_commit);
  EXPECT_EQ(push->head_commit->summary(), "Initial commit");
  EXPECT_EQ(push->head_commit->author, "Codertocat <21031067+Codertocat@users.noreply.github.com>");
  EXPECT_EQ(push->changed_paths(), std::vector<std::string>{"README.md"});
  EXPECT_EQ(push->repository, "Codertocat/Hello-World");
  EXPECT_EQ(push->clone_url, "https://github.com/Codertocat/Hello-World.git");
}

TEST(PushPayload, ATagDeletionIsATagWithNoHeadCommit) {
  auto push = parse_push_event(read(examples("push") / "payload.json"));
  ASSERT_TRUE(push.ok()) << push.error().message;
  EXPECT_TRUE(push->is_tag());
  EXPECT_FALSE(push->branch());
  EXPECT_TRUE(push->deleted);
  EXPECT_FALSE(push->head_commit);
  EXPECT_TRUE(push->changed_paths().empty());
}

TEST(PushPayload, ChangedPathsJoinEveryCommitSortedWithoutRepeats) {
  auto push = parse_push_event(R"({"ref": "refs/heads/main", "before": "a", "after": "b",
    "repository": {"full_name": "o/r"},
    "commits": [
      {"id": "1", "message": "one", "added": ["src/b.txt"], "modified": ["docs/x.md"], "removed": []},
      {"id": "2", "message": "two", "added": [], "modified": ["src/b.txt"], "removed": ["old/a.txt"]}
    ]})");
  ASSERT_TRUE(push.ok()) << push.error().message;
  EXPECT_EQ(push->changed_paths(),
            (std::vector<std::string>{"docs/x.md", "old/a.txt", "src/b.txt"}));
}

TEST(PushPayload, MalformedPayloadsNameWhatIsWrong) {
  struct Case {
    std::string body;
    std::string says;
  };
  std::string repo = R"("repository": {"full_name": "o/r"})";
  for (const auto& c : {
           Case{"{not json", "not valid JSON"},
           Case{"[1, 2]", "not a JSON object"},
           Case{R"({"before": "a", "after": "b", "commits": [], )" + repo + "}", "ref is missing"},
           Case{R"({"ref": 7, "before": "a", "after": "b", "commits": [], )" + repo + "}",
                "ref is not a string"},
           Case{R"({"ref": "refs/heads/main", "before": "a", "commits": [], )" + repo + "}",
                "after is missing"},
           Case{R"({"ref": "refs/heads/main", "before": "a", "after": "b", "commits": []})",
                "repository is missing"},
           Case{R"({"ref": "refs/heads/main", "before": "a", "after": "b", "commits": [],
                    "repository": {}})",
                "repository.full_name is missing"},
           Case{R"({"ref": "refs/heads/main", "before": "a", "after": "b", )" + repo + "}",
                "commits is missing"},
           Case{R"({"ref": "refs/heads/main", "before": "a", "after": "b", "commits": {}, )" +
                    repo + "}",
                "commits is not an array"},
           Case{R"({"ref": "refs/heads/main", "before": "a", "after": "b",
                    "commits": [{"id": "1", "added": "x"}], )" +
                    repo + "}",
                "commits[0].added is not an array of paths"},
           Case{R"({"ref": "refs/heads/main", "before": "a", "after": "b",
                    "commits": [{"message": "m"}], )" +
                    repo + "}",
                "commits[0].id is missing"},
       }) {
    auto r = parse_push_event(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, Errc::invalid);
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << "want \"" << c.says << "\" in: " << r.error().message;
  }
}

TEST(PushPayload, KeepsWhatItReadsAndDropsTheRestOfALargePayload) {
  auto doc = nlohmann::json::parse(read(examples("push") / "with-new-branch.payload.json"));
  doc["sender"]["bio"] = std::string(1 << 20, 'x');
  doc["commits"][0]["tree_id"] = std::string(1 << 20, 'y');
  auto push = parse_push_event(doc.dump());
  ASSERT_TRUE(push.ok()) << push.error().message;
  EXPECT_EQ(push->repository, "Codertocat/Hello-World");
  EXPECT_EQ(push->commits[0].added, std::vector<std::string>{"README.md"});
  EXPECT_EQ(push->head_commit->summary(), "Initial commit");
}

TEST(WebhookRepository, RemoteUrlsNameTheirRepository) {
  for (const auto& url :
       {"git@github.com:octo/site.git", "git@github.com:octo/site", "github.com:octo/site.git",
        "https://github.com/octo/site", "https://github.com/octo/site.git",
        "https://github.com/octo/site/", "https://x-access-token:t0k3n@github.com/octo/site.git",
        "ssh://git@github.com/octo/site.git", "ssh://git@github.com:22/octo/site",
        "git://github.com/octo/site.git", "https://ghe.example.com/octo/site"}) {
    EXPECT_EQ(repository_of_url(url), "octo/site") << url;
  }
}

TEST(WebhookRepository, PathsAndOtherShapesNameNone) {
  for (const auto& url :
       {".", "..", "app", "/srv/git/site", "../octo/site", "file:///srv/git/octo/site",
        "https://github.com/octo", "https://github.com/", "https://gitlab.com/group/sub/site.git",
        "git@github.com:site.git", "https://github.com/octo/../site", "ssh://host"}) {
    EXPECT_EQ(repository_of_url(url), std::nullopt) << url;
  }
}

TEST(WebhookRepository, TheExplicitNameWinsOverTheUrl) {
  spec::Source source;
  source.repo = ".";
  EXPECT_EQ(webhook_repository(source), std::nullopt);
  source.repo = "git@github.com:octo/site.git";
  EXPECT_EQ(webhook_repository(source), "octo/site");
  source.github_repository = "octo/site-mirror";
  EXPECT_EQ(webhook_repository(source), "octo/site-mirror");
}

TEST(WebhookRepository, NamesCompareIgnoringCase) {
  EXPECT_TRUE(same_repository("Octo/Site", "octo/site"));
  EXPECT_FALSE(same_repository("octo/site", "octo/site2"));
  EXPECT_FALSE(same_repository("octo/site", "evil/site"));
  EXPECT_FALSE(same_repository("", "octo/site"));
}

TEST(PingPayload, TheExampleParses) {
  auto ping = parse_ping_event(read(examples("ping") / "payload.json"));
  ASSERT_TRUE(ping.ok()) << ping.error().message;
  EXPECT_EQ(ping->zen, "Anything added dilutes everything else.");
  EXPECT_EQ(ping->hook_id, 109948940);
  EXPECT_FALSE(parse_ping_event("nope").ok());
}

}  // namespace
}  // namespace ztp::source
