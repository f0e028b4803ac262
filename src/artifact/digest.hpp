#pragma once

#include <string>
#include <string_view>

#include "sys/crypto.hpp"

namespace ztp::artifact {

// Incremental SHA-256 over bytes fed in pieces; digest() gives the OCI digest "sha256:<64 hex>".
class Sha256 : public sys::Sha256 {
 public:
  // The digest of everything fed so far, as "sha256:<hex>". Call once.
  std::string digest();
};

// "sha256:<hex>" of `bytes`.
std::string sha256_digest(std::string_view bytes);

// True for "sha256:" followed by exactly 64 lower-case hex digits (the only algorithm we write).
bool is_sha256_digest(std::string_view digest);

// A digest as people read it: the algorithm and the first 12 hex digits ("sha256:0123456789ab").
std::string short_digest(std::string_view digest);

// The hex part of a digest ("sha256:abc" -> "abc"); the input itself when it has no algorithm.
std::string_view digest_hex(std::string_view digest);

}  // namespace ztp::artifact
