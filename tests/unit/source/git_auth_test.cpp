#include "source/git_auth.hpp"

#include <git2.h>
#include <git2/sys/credential.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/support.hpp"

namespace ztp::source {
namespace {

TEST(GitAuth, FindsTheHostAndPortOfSshUrls) {
  struct Case {
    const char* url;
    const char* host;
    int port;
  };
  for (const auto& c :
       {Case{"ssh://git@github.com/octo/app.git", "github.com", 22},
        Case{"ssh://deploy@git.example.com:2222/app.git", "git.example.com", 2222},
        Case{"git+ssh://host:7999/x", "host", 7999},
        Case{"ssh://[::1]:2200/srv/app.git", "::1", 2200},
        Case{"git@github.com:octo/app.git", "github.com", 22}, Case{"host:app.git", "host", 22},
        Case{"ssh://host:notaport/app", "host", 22}}) {
    auto at = ssh_endpoint(c.url);
    EXPECT_EQ(at.host, c.host) << c.url;
    EXPECT_EQ(at.port, c.port) << c.url;
  }
  for (const char* other : {"https://github.com/octo/app.git", "file:///srv/app", "/srv/app",
                            "./a:b", "git://host/app"}) {
    EXPECT_EQ(ssh_endpoint(other).host, "") << other;
  }
}

TEST(GitAuth, PrintsFingerprintsAsOpenSsh) {
  // OpenSSH's fingerprint of a key whose SHA-256 is 32 zero bytes: unpadded base64.
  unsigned char zeros[32] = {};
  EXPECT_EQ(ssh_fingerprint(zeros), "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  unsigned char ones[32];
  for (auto& b : ones) {
    b = 0xff;
  }
  EXPECT_EQ(ssh_fingerprint(ones), "SHA256://////////////////////////////////////////8");
}

class GitAuthTest : public ::testing::Test {
 protected:
  GitAuthTest() { git_libgit2_init(); }
  ~GitAuthTest() override { git_libgit2_shutdown(); }

  // Asks `auth` for credentials until it refuses; returns the kinds offered, in order.
  static std::vector<git_credential_t> offers(GitAuth& auth, unsigned int allowed,
                                              const char* user = nullptr) {
    std::vector<git_credential_t> out;
    for (int i = 0; i < 10; ++i) {
      git_credential* cred = nullptr;
      int rc = auth.next_credential(&cred, user, allowed);
      if (rc != 0) {
        EXPECT_EQ(rc, GIT_EAUTH);
        EXPECT_EQ(cred, nullptr);
        break;
      }
      EXPECT_NE(cred, nullptr);
      out.push_back(cred->credtype);
      git_credential_free(cred);
    }
    return out;
  }

  ztp::testing::TempDir dir;
};

TEST_F(GitAuthTest, AnExplicitKeyIsTheOnlyOneTried) {
  auto key = dir.path() / "deploy_key";
  ztp::testing::write_text(key, "not read until the server asks\n");
  ztp::testing::ScopedEnv env{{k_env_ssh_key, key.string()}, {"SSH_AUTH_SOCK", "/tmp/agent.sock"}};
  GitAuth auth("ssh://git@host/app.git");
  EXPECT_EQ(offers(auth, GIT_CREDENTIAL_SSH_KEY),
            std::vector<git_credential_t>{GIT_CREDENTIAL_SSH_KEY});
  EXPECT_NE(auth.refusal().find("accepted none of the SSH keys for git (tried: " + key.string()),
            std::string::npos)
      << auth.refusal();
}

TEST_F(GitAuthTest, AnExplicitKeyThatIsNotThereIsNamed) {
  ztp::testing::ScopedEnv env{{k_env_ssh_key, (dir.path() / "missing_key").string()}};
  GitAuth auth("ssh://git@host/app.git");
  EXPECT_TRUE(offers(auth, GIT_CREDENTIAL_SSH_KEY).empty());
  EXPECT_NE(auth.refusal().find("ZTP_GIT_SSH_KEY names " + (dir.path() / "missing_key").string() +
                                ", which is not a file"),
            std::string::npos)
      << auth.refusal();
}

TEST_F(GitAuthTest, WithoutOneTheAgentThenTheUsualKeysAreTried) {
  auto home = dir.path() / "home";
  ztp::testing::write_text(home / ".ssh" / "id_ed25519", "key\n");
  ztp::testing::write_text(home / ".ssh" / "id_rsa", "key\n");
  ztp::testing::ScopedEnv env{
      {k_env_ssh_key, ""}, {"SSH_AUTH_SOCK", "/tmp/agent.sock"}, {"HOME", home.string()}};
  GitAuth auth("git@github.com:octo/app.git");
  // The agent, id_ed25519, id_rsa (no id_ecdsa here); then it refuses, naming what it tried.
  EXPECT_EQ(offers(auth, GIT_CREDENTIAL_SSH_KEY).size(), 3u);
  EXPECT_NE(auth.refusal().find("ssh-agent, " + (home / ".ssh" / "id_ed25519").string() + ", " +
                                (home / ".ssh" / "id_rsa").string()),
            std::string::npos)
      << auth.refusal();
}

TEST_F(GitAuthTest, WithNoKeyAtAllTheRefusalSaysWhatToSet) {
  ztp::testing::ScopedEnv env{
      {k_env_ssh_key, ""}, {"SSH_AUTH_SOCK", ""}, {"HOME", dir.path().string()}};
  GitAuth auth("ssh://git@host/app.git");
  EXPECT_TRUE(offers(auth, GIT_CREDENTIAL_SSH_KEY).empty());
  EXPECT_NE(auth.refusal().find("set ZTP_GIT_SSH_KEY"), std::string::npos) << auth.refusal();
}

TEST_F(GitAuthTest, SshAsksForAUserFirstWhenTheUrlHasNone) {
  ztp::testing::ScopedEnv env{
      {k_env_ssh_key, ""}, {"SSH_AUTH_SOCK", ""}, {"HOME", dir.path().string()}};
  GitAuth auth("ssh://host/app.git");
  git_credential* cred = nullptr;
  ASSERT_EQ(auth.next_credential(&cred, nullptr, GIT_CREDENTIAL_USERNAME), 0);
  ASSERT_NE(cred, nullptr);
  EXPECT_EQ(cred->credtype, GIT_CREDENTIAL_USERNAME);
  EXPECT_STREQ(reinterpret_cast<git_credential_username*>(cred)->username, "git");
  git_credential_free(cred);
}

TEST_F(GitAuthTest, HttpsTriesTheTokenOnceThenRefuses) {
  ztp::testing::ScopedEnv env{{k_env_token, "s3cret"}, {k_env_username, ""}};
  GitAuth auth("https://github.com/octo/app.git");
  git_credential* cred = nullptr;
  ASSERT_EQ(auth.next_credential(&cred, nullptr, GIT_CREDENTIAL_USERPASS_PLAINTEXT), 0);
  auto* userpass = reinterpret_cast<git_credential_userpass_plaintext*>(cred);
  EXPECT_STREQ(userpass->username, "x-access-token");
  EXPECT_STREQ(userpass->password, "s3cret");
  git_credential_free(cred);
  cred = nullptr;
  EXPECT_EQ(auth.next_credential(&cred, nullptr, GIT_CREDENTIAL_USERPASS_PLAINTEXT), GIT_EAUTH);
  EXPECT_NE(auth.refusal().find("refused the login with ZTP_GIT_TOKEN"), std::string::npos)
      << auth.refusal();
}

TEST_F(GitAuthTest, HttpsWithoutATokenSaysHowToGiveOne) {
  ztp::testing::ScopedEnv env{{k_env_token, ""}};
  GitAuth auth("https://github.com/octo/private.git");
  git_credential* cred = nullptr;
  EXPECT_EQ(auth.next_credential(&cred, "octo", GIT_CREDENTIAL_USERPASS_PLAINTEXT), GIT_EAUTH);
  EXPECT_NE(auth.refusal().find("set ZTP_GIT_TOKEN"), std::string::npos) << auth.refusal();
}

// Two ed25519 host keys (public halves, as a known_hosts line has them) and the SHA256
// fingerprint ssh-keygen prints for the first.
constexpr const char* k_host_key =
    "AAAAC3NzaC1lZDI1NTE5AAAAIIm3HCuXN78IcVYT4/Bndg4R6rHJ5+3uTneklKyWctyI";
constexpr const char* k_other_key =
    "AAAAC3NzaC1lZDI1NTE5AAAAIDEENpSU3qyK4y2zn+3Z55olxH7fp27swdMZIeZN0zwb";
constexpr const char* k_host_fingerprint = "SHA256:XJiVkEkZBbbTFaJhWJ1inngSmGkvgXTD/PQT1brv3M0";

// What libgit2 hands the certificate callback for an SSH server presenting `key` (base64).
struct HostKeyCert {
  explicit HostKeyCert(const std::string& key) {
    raw.resize(key.size());
    int n = EVP_DecodeBlock(raw.data(), reinterpret_cast<const unsigned char*>(key.data()),
                            static_cast<int>(key.size()));
    raw.resize(static_cast<size_t>(n) - (key.ends_with("==") ? 2 : key.ends_with("=") ? 1 : 0));
    cert.parent.cert_type = GIT_CERT_HOSTKEY_LIBSSH2;
    cert.type = static_cast<git_cert_ssh_t>(GIT_CERT_SSH_RAW | GIT_CERT_SSH_SHA256);
    cert.raw_type = GIT_CERT_SSH_RAW_TYPE_KEY_ED25519;
    cert.hostkey = reinterpret_cast<const char*>(raw.data());
    cert.hostkey_len = raw.size();
    SHA256(raw.data(), raw.size(), cert.hash_sha256);
  }
  git_cert* get() { return reinterpret_cast<git_cert*>(&cert); }

  std::vector<unsigned char> raw;
  git_cert_hostkey cert{};
};

TEST_F(GitAuthTest, AHostKeyIsCheckedAgainstKnownHostsWithoutLibgit2) {
  auto hosts = dir.path() / "known_hosts";
  ztp::testing::ScopedEnv env{{k_env_known_hosts, hosts.string()}};
  GitAuth auth("ssh://git@git.example.com:2222/app.git");
  HostKeyCert presented(k_host_key);

  ztp::testing::write_text(hosts,
                           std::string("[git.example.com]:2222 ssh-ed25519 ") + k_host_key + "\n");
  EXPECT_EQ(auth.check_host_key(presented.get(), "git.example.com"), 0) << auth.refusal();
  EXPECT_TRUE(auth.refusal().empty());

  // An entry for the bare host name counts for every port (libssh2's rule).
  ztp::testing::write_text(hosts, std::string("git.example.com ssh-ed25519 ") + k_host_key + "\n");
  EXPECT_EQ(auth.check_host_key(presented.get(), "git.example.com"), 0) << auth.refusal();

  ztp::testing::write_text(hosts,
                           std::string("other.example.com ssh-ed25519 ") + k_host_key + "\n");
  EXPECT_EQ(auth.check_host_key(presented.get(), "git.example.com"), GIT_ECERTIFICATE);
  EXPECT_NE(auth.refusal().find("[git.example.com]:2222 is not a known host"), std::string::npos)
      << auth.refusal();
  EXPECT_NE(auth.refusal().find(k_host_fingerprint), std::string::npos) << auth.refusal();
  EXPECT_NE(auth.refusal().find("ssh-keyscan -p 2222 git.example.com"), std::string::npos)
      << auth.refusal();

  ztp::testing::write_text(hosts,
                           std::string("[git.example.com]:2222 ssh-ed25519 ") + k_other_key + "\n");
  EXPECT_EQ(auth.check_host_key(presented.get(), "git.example.com"), GIT_ECERTIFICATE);
  EXPECT_NE(auth.refusal().find("is not the one known_hosts lists for it"), std::string::npos)
      << auth.refusal();
}

TEST_F(GitAuthTest, AKnownHostsFileThatIsNotThereIsNamed) {
  ztp::testing::ScopedEnv env{{k_env_known_hosts, (dir.path() / "nowhere").string()}};
  GitAuth auth("git@github.com:octo/app.git");
  HostKeyCert presented(k_host_key);
  EXPECT_EQ(auth.check_host_key(presented.get(), "github.com"), GIT_ECERTIFICATE);
  EXPECT_NE(auth.refusal().find("ZTP_GIT_KNOWN_HOSTS names"), std::string::npos) << auth.refusal();
}

}  // namespace
}  // namespace ztp::source
