#include "source/git_auth.hpp"

#include <fmt/format.h>
#include <git2.h>
#include <libssh2.h>

#include <cstdlib>
#include <memory>
#include <system_error>

#include "sys/crypto.hpp"
namespace ztp::source {
namespace {

std::string env_text(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::filesystem::path home_dir() { return env_text("HOME"); }

bool is_file(const std::filesystem::path& p) {
  std::error_code ec;
  return !p.empty() && std::filesystem::is_regular_file(p, ec);
}

struct SessionFree {
  void operator()(LIBSSH2_SESSION* s) const { libssh2_session_free(s); }
};
struct KnownHostsFree {
  void operator()(LIBSSH2_KNOWNHOSTS* k) const { libssh2_knownhost_free(k); }
};

// libssh2's key-type bits for a host key of libgit2's raw type; 0 when unknown.
int known_host_key_type(git_cert_ssh_raw_type_t type) {
  switch (type) {
    case GIT_CERT_SSH_RAW_TYPE_RSA:
      return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case GIT_CERT_SSH_RAW_TYPE_DSS:
      return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519:
      return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default:
      return 0;
  }
}

// How known_hosts names a host: "host", or "[host]:port" for other ports than 22.
std::string known_hosts_name(const SshEndpoint& at) {
  return at.port == 22 ? at.host : fmt::format("[{}]:{}", at.host, at.port);
}

int acquire_credential(git_credential** out, const char*, const char* username_from_url,
                       unsigned int allowed_types, void* payload) {
  return static_cast<GitAuth*>(payload)->next_credential(out, username_from_url, allowed_types);
}

int check_certificate(git_cert* cert, int, const char* host, void* payload) {
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) {
    return GIT_PASSTHROUGH;  // TLS: libgit2's own verdict against the system's CA store
  }
  return static_cast<GitAuth*>(payload)->check_host_key(cert, host);
}

}  // namespace

SshEndpoint ssh_endpoint(std::string_view url) {
  SshEndpoint out;
  std::string_view rest;
  bool scp_like = false;
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    std::string_view name = url.substr(0, scheme);
    if (name != "ssh" && name != "git+ssh" && name != "ssh+git") {
      return out;
    }
    rest = url.substr(scheme + 3);
    rest = rest.substr(0, rest.find('/'));
  } else {
    size_t colon = url.find(':');
    size_t slash = url.find('/');
    if (colon == std::string_view::npos || colon == 0 ||
        (slash != std::string_view::npos && slash < colon)) {
      return out;  // a path
    }
    scp_like = true;
    rest = url.substr(0, colon);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    rest.remove_prefix(at + 1);
  }
  if (!rest.empty() && rest.front() == '[') {  // [IPv6 address]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return out;
    }
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!scp_like && rest.starts_with(':')) {
      out.port = std::atoi(std::string(rest.substr(1)).c_str());
    }
    return out;
  }
  size_t colon = scp_like ? std::string_view::npos : rest.find(':');
  out.host = std::string(rest.substr(0, colon));
  if (colon != std::string_view::npos) {
    out.port = std::atoi(std::string(rest.substr(colon + 1)).c_str());
  }
  if (out.port <= 0 || out.port > 65535) {
    out.port = 22;
  }
  return out;
}

std::string ssh_fingerprint(const unsigned char (&sha256)[32]) {
  std::string out = sys::base64(std::string_view(reinterpret_cast<const char*>(sha256), 32));
  while (!out.empty() && out.back() == '=') {
    out.pop_back();
  }
  return "SHA256:" + out;
}

GitAuth::GitAuth(std::string url) : m_url(std::move(url)) {
  if (std::string key = env_text(k_env_ssh_key); !key.empty()) {
    m_keys.push_back({key, key, env_text(k_env_ssh_passphrase)});
    return;
  }
  if (!env_text("SSH_AUTH_SOCK").empty()) {
    m_keys.push_back({"ssh-agent", {}, {}});
  }
  if (auto home = home_dir(); !home.empty()) {
    for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
      auto key = home / ".ssh" / name;
      if (is_file(key)) {
        m_keys.push_back({key.string(), key, {}});
      }
    }
  }
}

void GitAuth::install(git_remote_callbacks& callbacks) {
  callbacks.credentials = acquire_credential;
  callbacks.certificate_check = check_certificate;
  callbacks.payload = this;
}

int GitAuth::next_credential(git_credential** out, const char* username_from_url,
                             unsigned int allowed) {
  std::string user =
      username_from_url != nullptr && *username_from_url != '\0' ? username_from_url : "";
  if ((allowed & GIT_CREDENTIAL_USERNAME) != 0) {
    return git_credential_username_new(out, user.empty() ? "git" : user.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) != 0) {
    if (user.empty()) {
      user = "git";
    }
    if (m_next_key < m_keys.size()) {
      const KeySource& source = m_keys[m_next_key++];
      if (source.key.empty()) {
        return git_credential_ssh_key_from_agent(out, user.c_str());
      }
      if (!is_file(source.key)) {
        m_refusal = fmt::format("{} names {}, which is not a file: point it at the private key",
                                k_env_ssh_key, source.key.string());
        return GIT_EAUTH;
      }
      auto pub = source.key;
      pub += ".pub";
      return git_credential_ssh_key_new(
          out, user.c_str(), is_file(pub) ? pub.c_str() : nullptr, source.key.c_str(),
          source.passphrase.empty() ? nullptr : source.passphrase.c_str());
    }
    std::string tried;
    for (const auto& k : m_keys) {
      tried += (tried.empty() ? "" : ", ") + k.label;
    }
    m_refusal = m_keys.empty()
                    ? fmt::format(
                          "no SSH key to log in as {} with: set {} to a private key file "
                          "the server accepts, or run an ssh-agent (SSH_AUTH_SOCK)",
                          user, k_env_ssh_key)
                    : fmt::format(
                          "the server accepted none of the SSH keys for {} (tried: {}); "
                          "set {} to a key it accepts",
                          user, tried, k_env_ssh_key);
    return GIT_EAUTH;
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) != 0) {
    std::string token = env_text(k_env_token);
    if (!token.empty() && !m_token_tried) {
      m_token_tried = true;
      std::string name = env_text(k_env_username);
      if (name.empty()) {
        name = user.empty() ? "x-access-token" : user;
      }
      return git_credential_userpass_plaintext_new(out, name.c_str(), token.c_str());
    }
    m_refusal = token.empty() ? fmt::format(
                                    "the server asks for a login: set {} (and {} if the user "
                                    "matters), or put user:token in source.repo",
                                    k_env_token, k_env_username)
                              : fmt::format(
                                    "the server refused the login with {}: check the token and "
                                    "that it may read the repository",
                                    k_env_token);
    return GIT_EAUTH;
  }
  m_refusal = "the server asks for a kind of login ztp does not offer (SSH keys and tokens only)";
  return GIT_EAUTH;
}

int GitAuth::check_host_key(git_cert* cert, const char* host) {
  auto* key = reinterpret_cast<git_cert_hostkey*>(cert);
  SshEndpoint at = ssh_endpoint(m_url);
  if (at.host.empty() && host != nullptr) {
    at.host = host;
  }
  std::string name = known_hosts_name(at);
  std::string fingerprint =
      (key->type & GIT_CERT_SSH_SHA256) != 0 ? ssh_fingerprint(key->hash_sha256) : "";
  if ((key->type & GIT_CERT_SSH_RAW) == 0 || known_host_key_type(key->raw_type) == 0) {
    m_refusal = fmt::format("the host key of {} is of a kind that cannot be checked", name);
    return GIT_ECERTIFICATE;
  }

  std::vector<std::filesystem::path> files;
  if (std::string own = env_text(k_env_known_hosts); !own.empty()) {
    if (!is_file(own)) {
      m_refusal = fmt::format("{} names {}, which is not a file", k_env_known_hosts, own);
      return GIT_ECERTIFICATE;
    }
    files.emplace_back(own);
  } else {
    if (auto home = home_dir(); !home.empty()) {
      files.push_back(home / ".ssh" / "known_hosts");
    }
    files.emplace_back("/etc/ssh/ssh_known_hosts");
  }

  std::unique_ptr<LIBSSH2_SESSION, SessionFree> session(libssh2_session_init());
  std::unique_ptr<LIBSSH2_KNOWNHOSTS, KnownHostsFree> known(
      session ? libssh2_knownhost_init(session.get()) : nullptr);
  if (!known) {
    m_refusal = "could not set up the known-hosts check (out of memory)";
    return GIT_ECERTIFICATE;
  }
  std::string read;
  for (const auto& f : files) {
    if (!is_file(f)) {
      continue;
    }
    if (libssh2_knownhost_readfile(known.get(), f.c_str(), LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
      m_refusal = fmt::format("{} could not be read as an OpenSSH known_hosts file", f.string());
      return GIT_ECERTIFICATE;
    }
    read += (read.empty() ? "" : ", ") + f.string();
  }
  int type = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
             known_host_key_type(key->raw_type);
  struct libssh2_knownhost* entry = nullptr;
  int verdict = libssh2_knownhost_checkp(known.get(), at.host.c_str(), at.port, key->hostkey,
                                         key->hostkey_len, type, &entry);
  if (verdict == LIBSSH2_KNOWNHOST_CHECK_MATCH) {
    m_refusal.clear();
    return 0;
  }
  if (verdict == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
    m_refusal = fmt::format(
        "the host key of {} ({}) is not the one known_hosts lists for it ({}): the server's key "
        "changed or someone is in the way; fetch nothing until its owner confirms the new key, "
        "then replace the line",
        name, fingerprint, read);
    return GIT_ECERTIFICATE;
  }
  m_refusal = fmt::format(
      "{} is not a known host ({}): after checking that its key's fingerprint is {}, add it "
      "with `ssh-keyscan{} {} >> ~/.ssh/known_hosts` (or point {} at a file that lists it)",
      name, read.empty() ? "no known_hosts file" : "not in " + read, fingerprint,
      at.port == 22 ? "" : fmt::format(" -p {}", at.port), at.host, k_env_known_hosts);
  return GIT_ECERTIFICATE;
}

}  // namespace ztp::source
