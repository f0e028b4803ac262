#include "server/auth.hpp"

#include <fmt/format.h>

#include "sys/crypto.hpp"

namespace ztp::server {

Result<std::string> generate_token() {
  auto bytes = sys::random_bytes(32);
  if (!bytes.ok()) {
    return make_error(Errc::internal,
                      "OpenSSL's random source failed to give 32 bytes for a token; try again");
  }
  return "ztp_" + sys::to_hex(*bytes);
}

std::string hash_token(std::string_view token) { return sys::sha256_hex(token); }

Result<IssuedToken> issue_token(store::SqliteStore& store, const std::string& name,
                                store::Role role) {
  if (name.empty()) {
    return make_error(Errc::invalid, "a token needs a name, like `ci` or `alice`");
  }
  std::string token;
  ZTP_ASSIGN_OR_RETURN(token, generate_token());
  auto record = store.create_token(name, role, hash_token(token));
  if (!record.ok()) {
    if (record.error().code == Errc::conflict) {
      return make_error(Errc::conflict,
                        fmt::format("a token named {} exists; `ztp token revoke {}` first, or "
                                    "choose another name",
                                    name, name));
    }
    return record.take_error();
  }
  return IssuedToken{std::move(token), std::move(*record)};
}

bool role_allows(store::Role have, store::Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

Result<Caller> authenticate(store::SqliteStore& store, const Request& req, bool allow_query_token) {
  std::string token;
  std::string auth = req.header("authorization");
  constexpr std::string_view k_bearer = "Bearer ";
  if (auth.size() > k_bearer.size() && auth.compare(0, k_bearer.size(), k_bearer) == 0) {
    token = auth.substr(k_bearer.size());
  } else if (allow_query_token) {
    if (auto it = req.query.find("access_token"); it != req.query.end()) {
      token = it->second;
    }
  }
  if (token.empty()) {
    return make_error(Errc::invalid,
                      "no token: send `Authorization: Bearer <token>` (`ztp token create` makes "
                      "one)");
  }
  std::optional<store::ApiToken> found;
  ZTP_ASSIGN_OR_RETURN(found, store.use_token(hash_token(token)));
  if (!found) {
    return make_error(Errc::not_found, "unknown or revoked token (`ztp token list` shows them)");
  }
  return Caller{found->name, found->role};
}

}  // namespace ztp::server
