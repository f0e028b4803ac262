#include "artifact/digest.hpp"

#include <stdexcept>

namespace ztp::artifact {

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new()) {
  if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) != 1) {
    // Only an OpenSSL built without SHA-256 or out of memory gets here: a startup failure.
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  }
}

void Sha256::update(std::string_view bytes) {
  EVP_DigestUpdate(m_ctx.get(), bytes.data(), bytes.size());
}

std::string Sha256::digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(m_ctx.get(), md, &len);
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out = "sha256:";
  out.reserve(7 + 2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += k_hex[md[i] >> 4];
    out += k_hex[md[i] & 0xf];
  }
  return out;
}

std::string sha256_digest(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.digest();
}

bool is_sha256_digest(std::string_view digest) {
  constexpr std::string_view k_prefix = "sha256:";
  if (digest.size() != k_prefix.size() + 64 || digest.substr(0, k_prefix.size()) != k_prefix) {
    return false;
  }
  for (char c : digest.substr(k_prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string_view digest_hex(std::string_view digest) {
  auto colon = digest.find(':');
  return colon == std::string_view::npos ? digest : digest.substr(colon + 1);
}

std::string short_digest(std::string_view digest) { return std::string(digest.substr(0, 19)); }

}  // namespace ztp::artifact
