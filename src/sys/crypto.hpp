#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

// Digests, HMAC, hex and base64 over OpenSSL. Bytes travel in std::string; a digest or MAC
// returned "raw" is its 32 bytes, not text.
namespace ztp::sys {

// Lower-case hex of `bytes` ("\x01\xab" -> "01ab").
std::string to_hex(std::string_view bytes);

// The bytes of an even-length hex string (either case); nullopt when it is not one.
std::optional<std::string> from_hex(std::string_view hex);

// Standard base64 with padding (RFC 4648 §4).
std::string base64(std::string_view bytes);

// Incremental SHA-256 over bytes fed in pieces.
class Sha256 {
 public:
  Sha256();
  // Adds bytes to the running hash.
  void update(std::string_view bytes);
  // The raw 32-byte digest of everything fed so far. Call once.
  std::string finish();

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> m_ctx;
};

// The raw SHA-256 of `bytes`, and its lower-case hex.
std::string sha256(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);

// The raw HMAC-SHA256 of `data` under `key`, and its lower-case hex.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Compares in time that depends only on the lengths (for MACs and tokens).
bool constant_time_equal(std::string_view a, std::string_view b);

// `n` bytes from OpenSSL's random source; internal when it fails.
Result<std::string> random_bytes(size_t n);

}  // namespace ztp::sys
