#include "artifact/digest.hpp"

namespace ztp::artifact {

std::string Sha256::digest() { return "sha256:" + sys::to_hex(finish()); }

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
