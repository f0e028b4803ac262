#include "target/local/maintenance.hpp"

#include <fmt/format.h>

#include "proxy/admin_client.hpp"

namespace ztp::target::local {
namespace {

FrontDoorMaintenance from_proxy(const proxy::Maintenance& m) {
  return FrontDoorMaintenance{m.message, m.retry_after_s, m.since_ms};
}

}  // namespace

Result<FrontDoorMaintenance> enter_maintenance(LocalTarget& target, const std::string& env,
                                               const std::string& message, int retry_after_s) {
  ZTP_TRY(target.ensure_proxy());
  proxy::AdminClient admin(target.paths().proxy_socket());
  proxy::Maintenance m;
  m.message = message;
  m.retry_after_s = retry_after_s;
  auto applied = admin.set_maintenance(env, m);
  if (!applied.ok()) {
    if (applied.error().code == Errc::not_found) {
      return make_error(Errc::not_found,
                        fmt::format("environment {} has no front door on the local proxy "
                                    "(nothing is deployed there): deploy it before isolating it",
                                    env));
    }
    return make_error(applied.error().code,
                      fmt::format("putting the front door of {} in maintenance: {}", env,
                                  applied.error().message));
  }
  return from_proxy(*applied);
}

Result<bool> leave_maintenance(LocalTarget& target, const std::string& env) {
  // A proxy that is down comes back from routes.json still in maintenance: start it to clear.
  ZTP_TRY(target.ensure_proxy());
  proxy::AdminClient admin(target.paths().proxy_socket());
  auto cleared = admin.clear_maintenance(env);
  if (!cleared.ok()) {
    if (cleared.error().code == Errc::not_found) {
      return false;
    }
    return make_error(cleared.error().code,
                      fmt::format("taking the front door of {} out of maintenance: {}", env,
                                  cleared.error().message));
  }
  return *cleared;
}

}  // namespace ztp::target::local
