#include <fmt/format.h>

#include <chrono>

#include "proxy/control.hpp"
#include "util/log.hpp"

namespace ztp::proxy {
namespace {

using nlohmann::json;

json maintenance_json(const std::string& env, const std::shared_ptr<const Maintenance>& m) {
  return json{{"env", env}, {"maintenance", m ? to_json(*m) : json()}};
}

}  // namespace

void Control::set_maintenance(Env& env, std::shared_ptr<const Maintenance> m) {
  env.maintenance = std::move(m);
  auto current = env.shared->table.load(std::memory_order_acquire);
  auto table = current ? std::make_shared<Table>(*current) : std::make_shared<Table>();
  if (!current) {
    table->routes = env.routes;
  }
  table->maintenance = env.maintenance;
  env.shared->publish(std::move(table));
  if (auto saved = persist(); !saved.ok()) {
    log::error("cannot persist the routes", {{"error", saved.error().message}});
  }
}

AdminReply Control::maintenance_request(const std::string& method, Env& env,
                                        const std::string& body) {
  const std::string& name = env.routes.env;
  if (method == "GET") {
    return AdminReply{200, maintenance_json(name, env.maintenance), {}, false};
  }
  if (method == "PUT") {
    auto m = maintenance_from_text(body.empty() ? std::string_view("{}") : body);
    if (!m.ok()) {
      return AdminReply{400, json{{"error", m.error().message}}, {}, false};
    }
    // Switching it on again keeps the time it started; the page and Retry-After change.
    m->since_ms = env.maintenance ? env.maintenance->since_ms
                                  : std::chrono::duration_cast<std::chrono::milliseconds>(
                                        m_clock.wall_now().time_since_epoch())
                                        .count();
    bool was_on = env.maintenance != nullptr;
    set_maintenance(env, std::make_shared<const Maintenance>(std::move(*m)));
    if (!was_on) {
      log::warn("environment in maintenance: the front door answers 503",
                {{"env", name}, {"retry_after_s", std::to_string(env.maintenance->retry_after_s)}});
    }
    return AdminReply{200, maintenance_json(name, env.maintenance), {}, false};
  }
  if (method == "DELETE") {
    bool was_on = env.maintenance != nullptr;
    if (was_on) {
      set_maintenance(env, nullptr);
      log::info("environment out of maintenance: the front door routes again", {{"env", name}});
    }
    json j = maintenance_json(name, nullptr);
    j["was_on"] = was_on;
    return AdminReply{200, std::move(j), {}, false};
  }
  return AdminReply{
      405,
      json{{"error", fmt::format("use GET, PUT or DELETE /v1/envs/{}/maintenance", name)}},
      {},
      false};
}

}  // namespace ztp::proxy
