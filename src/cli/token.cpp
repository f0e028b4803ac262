// ztp token: the bearer tokens of `ztp serve`'s API.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "server/auth.hpp"
#include "sys/time.hpp"

namespace ztp::cli {
namespace {

struct TokenFlags {
  std::string name;
  std::string role = "viewer";
};

std::string utc(std::optional<int64_t> ms) {
  if (!ms) {
    return "-";
  }
  return sys::format_utc(sys::from_unix_ms(*ms), "%Y-%m-%d %H:%M:%SZ");
}

nlohmann::json token_json(const store::ApiToken& t) {
  auto opt = [](const std::optional<int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  return {{"name", t.name},
          {"role", store::to_string(t.role)},
          {"created_at", t.created_at},
          {"last_used_at", opt(t.last_used_at)},
          {"revoked_at", opt(t.revoked_at)}};
}

Result<Output> create(Workspace& ws, const TokenFlags& flags, store::Role role) {
  ZTP_ASSIGN_OR_RETURN(auto issued, server::issue_token(*ws.store, flags.name, role));
  ZTP_TRY(ws.store->append_audit(actor_of(""), "token_create", "token " + flags.name,
                                 std::string(store::to_string(role))));
  auto j = token_json(issued.record);
  j["token"] = issued.token;
  return Output{j, issued.token + "\n"};
}

Result<Output> list(Workspace& ws) {
  auto tokens = ws.store->list_tokens();
  if (!tokens.ok()) {
    return tokens.take_error();
  }
  Output out{nlohmann::json::array(),
             tokens->empty() ? "no tokens; `ztp token create NAME --role viewer` makes one\n"
                             : fmt::format("{:<20} {:<9} {:<21} {:<21} {}\n", "NAME", "ROLE",
                                           "CREATED", "LAST USED", "STATUS")};
  for (const auto& t : *tokens) {
    out.json.push_back(token_json(t));
    out.text += fmt::format("{:<20} {:<9} {:<21} {:<21} {}\n", t.name, store::to_string(t.role),
                            utc(t.created_at), utc(t.last_used_at),
                            t.revoked_at ? "revoked " + utc(t.revoked_at) : std::string("active"));
  }
  return out;
}

Result<Output> revoke(Workspace& ws, const std::string& name) {
  auto revoked = ws.store->revoke_token(name);
  if (!revoked.ok() && revoked.error().code == Errc::not_found) {
    return make_error(Errc::not_found,
                      fmt::format("no token {}; `ztp token list` shows them", name));
  }
  if (!revoked.ok()) {
    return revoked.take_error();
  }
  ZTP_TRY(ws.store->append_audit(actor_of(""), "token_revoke", "token " + name));
  return Output{token_json(*revoked), fmt::format("token {} revoked\n", name)};
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<TokenFlags>();
  auto* cmd = root.add_subcommand("token", "Manage the API tokens of `ztp serve`");
  cmd->require_subcommand(1);
  cmd->footer(
      "Tokens authenticate `ztp serve`'s API and dashboard (`Authorization: Bearer <token>`).\n"
      "Roles: viewer reads; deployer also approves, rejects, rolls back and verifies; admin\n"
      "also reads the audit log. A token is printed once, when created; only its SHA-256 is\n"
      "stored.");
  auto* create_cmd = cmd->add_subcommand("create", "Create a token and print it once");
  create_cmd->add_option("NAME", flags->name, "A name for the token, like ci or alice")->required();
  create_cmd->add_option("--role", flags->role, "viewer (default), deployer or admin")
      ->check(CLI::IsMember({"viewer", "deployer", "admin"}));
  create_cmd->callback([&ctx, flags] {
    auto role = store::parse_role(flags->role);
    if (!role) {
      ctx.exit_code = report(ctx, make_error(Errc::invalid, fmt::format("--role {}: use viewer, "
                                                                        "deployer or admin",
                                                                        flags->role)));
      return;
    }
    ctx.exit_code = with_workspace(ctx, "", create, *flags, *role);
    if (ctx.exit_code == 0 && !ctx.globals.json()) {
      fmt::print(stderr,
                 "token {} ({}) created; it is shown only this once. Send it as "
                 "`Authorization: Bearer <token>`.\n",
                 flags->name, store::to_string(*role));
    }
  });

  auto* list_cmd = cmd->add_subcommand("list", "List tokens (never their secrets)");
  list_cmd->callback([&ctx] { ctx.exit_code = with_workspace(ctx, "", list); });

  auto revoke_name = std::make_shared<std::string>();
  auto* revoke_cmd = cmd->add_subcommand("revoke", "Revoke a token: it stops authenticating");
  revoke_cmd->add_option("NAME", *revoke_name, "The token's name")->required();
  revoke_cmd->callback(
      [&ctx, revoke_name] { ctx.exit_code = with_workspace(ctx, "", revoke, *revoke_name); });
}

const Registration k_registration{75, setup};

}  // namespace
}  // namespace ztp::cli
