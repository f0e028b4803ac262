#pragma once

#include <string>
#include <string_view>

#include "server/http_types.hpp"
#include "store/sqlite_store.hpp"
#include "util/result.hpp"

// Bearer tokens of the controller's API: made from 32 random bytes, shown once, stored only as
// their SHA-256, each with a role (viewer < deployer < admin).
namespace ztp::server {

// A token as printed once: "ztp_" followed by 64 lower-case hex digits (32 bytes from
// OpenSSL's RAND_bytes). Errc::internal when the random source fails.
Result<std::string> generate_token();

// Lower-case hex SHA-256 of `token`: what the store keeps and looks tokens up by.
std::string hash_token(std::string_view token);

// A new token and its record.
struct IssuedToken {
  std::string token;  // the secret: print it once, it is not stored
  store::ApiToken record;
};

// Generates a token for `name` with `role` and records its hash. Errc::invalid for an empty
// name, Errc::conflict when a live token has that name.
Result<IssuedToken> issue_token(store::SqliteStore& store, const std::string& name,
                                store::Role role);

// Who made a request.
struct Caller {
  std::string name;
  store::Role role = store::Role::viewer;
};

// True when `have` may do what needs `need` (viewer < deployer < admin).
bool role_allows(store::Role have, store::Role need);

// The caller of `req` by its `Authorization: Bearer <token>` header, or by the `access_token`
// query parameter when `allow_query_token` (EventSource cannot set headers). Errc::invalid when
// no token was presented, Errc::not_found when it is unknown or revoked; the API answers both
// with 401.
Result<Caller> authenticate(store::SqliteStore& store, const Request& req, bool allow_query_token);

}  // namespace ztp::server
