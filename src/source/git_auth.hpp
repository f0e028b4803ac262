#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

struct git_remote_callbacks;
struct git_credential;
struct git_cert;

// How a fetch of a remote repository logs in and knows the server it talks to.
//
// SSH (ssh://host/path, user@host:path): the user is the URL's, else `git`. The keys tried, in
// order: ZTP_GIT_SSH_KEY (a private key file; ZTP_GIT_SSH_PASSPHRASE if it has one) and nothing
// else when it is set; otherwise the ssh-agent at SSH_AUTH_SOCK, then ~/.ssh/id_ed25519,
// id_ecdsa and id_rsa. The server's host key must be listed in ZTP_GIT_KNOWN_HOSTS, else in
// ~/.ssh/known_hosts or /etc/ssh/ssh_known_hosts (OpenSSH's format, hashed names included, with
// [host]:port for other ports than 22, though an entry for the bare name counts for any port): an
// unknown or changed key stops the fetch.
//
// HTTPS: credentials in the URL (https://user:token@host/...) are used first; then
// ZTP_GIT_TOKEN with ZTP_GIT_USERNAME (default: the URL's user, else x-access-token). The
// server's certificate is checked by libgit2 against the system's CA store.
namespace ztp::source {

// Environment variables read, named here so that messages and documentation agree.
inline constexpr const char* k_env_ssh_key = "ZTP_GIT_SSH_KEY";
inline constexpr const char* k_env_ssh_passphrase = "ZTP_GIT_SSH_PASSPHRASE";
inline constexpr const char* k_env_known_hosts = "ZTP_GIT_KNOWN_HOSTS";
inline constexpr const char* k_env_token = "ZTP_GIT_TOKEN";
inline constexpr const char* k_env_username = "ZTP_GIT_USERNAME";

// The host and port an SSH URL connects to (port 22 unless given); an empty host for a URL
// that is not SSH.
struct SshEndpoint {
  std::string host;
  int port = 22;
};
SshEndpoint ssh_endpoint(std::string_view url);

// The SHA256 fingerprint of a host key as OpenSSH prints it: "SHA256:" and unpadded base64.
std::string ssh_fingerprint(const unsigned char (&sha256)[32]);

// The credential and host-key callbacks of one fetch of `url`. Lives as long as the fetch;
// install() points libgit2's callbacks at it.
class GitAuth {
 public:
  explicit GitAuth(std::string url);

  void install(git_remote_callbacks& callbacks);
  // Why the last login or host-key check refused, with what to do about it; empty when
  // neither refused (the failure is then libgit2's own).
  const std::string& refusal() const { return m_refusal; }

  // What libgit2's callbacks ask (see install()): the next credential to try for a server
  // that offers `allowed` (git_credential_t bits), and whether an SSH host key is known.
  // libgit2 codes: 0, or GIT_EAUTH / GIT_ECERTIFICATE with refusal() saying why.
  int next_credential(git_credential** out, const char* username_from_url, unsigned int allowed);
  int check_host_key(git_cert* cert, const char* host);

 private:
  struct KeySource {
    std::string label;          // for messages: "ssh-agent", a key's path
    std::filesystem::path key;  // empty: the agent
    std::string passphrase;
  };

  std::string m_url;
  std::vector<KeySource> m_keys;
  size_t m_next_key = 0;
  bool m_token_tried = false;
  std::string m_refusal;
};

}  // namespace ztp::source
