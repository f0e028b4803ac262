#include "notify/channel.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "sys/crypto.hpp"
#include "util/log.hpp"

namespace ztp::notify {
namespace {

constexpr int k_incident_lookback = 200;  // notifications read to find a key's latest event

Delivery make_delivery(HttpRequest req, const Notice& n, std::optional<std::string> env,
                       std::string recorded) {
  return {std::move(req), std::string(to_string(n.kind)), std::move(env), n.run_id,
          std::move(recorded)};
}

// An operator's rollback pages in production, and elsewhere only where the notifier's
// page_manual_rollbacks names the environment.
bool pages_manual_rollback(const spec::Notifier& notifier, const Notice& n) {
  if (!notifier.page_manual_rollbacks) {
    return n.production;
  }
  const auto& envs = *notifier.page_manual_rollbacks;
  return n.env && std::find(envs.begin(), envs.end(), *n.env) != envs.end();
}

Result<std::vector<Delivery>> pagerduty_deliveries(const spec::Notifier& notifier, const Notice& n,
                                                   store::SqliteStore& store) {
  const std::string url = notifier.url.empty() ? std::string(k_pagerduty_url) : notifier.url;
  std::vector<Delivery> out;
  auto add = [&](IncidentAction action, const std::optional<std::string>& env) {
    auto body = pagerduty_event(n, notifier.routing_key, action, env);
    auto recorded = body;
    recorded["routing_key"] = "(set)";  // the integration key stays out of the database
    out.push_back(make_delivery(json_request(url, body), n, env, recorded.dump()));
  };
  if (n.kind == NoticeKind::rolled_back && n.manual && !pages_manual_rollback(notifier, n)) {
    return out;
  }
  if (n.kind == NoticeKind::run_failed || n.kind == NoticeKind::rolled_back) {
    if (wants(notifier, n.kind)) {
      add(IncidentAction::trigger, n.env);
    }
    return out;
  }
  if (n.kind != NoticeKind::run_succeeded) {
    return out;  // PagerDuty only pages for failures and resolves on success
  }
  std::vector<std::optional<std::string>> keys{std::nullopt};
  for (const auto& env : n.environments) {
    keys.emplace_back(env);
  }
  for (const auto& env : keys) {
    bool open = false;
    ZTP_ASSIGN_OR_RETURN(open, incident_open(store, dedup_key(n.app, env)));
    if (open) {
      add(IncidentAction::resolve, env);
    }
  }
  return out;
}

}  // namespace

std::string describe_refusal(const sys::HttpResponse& res) {
  std::string answer = res.body.substr(0, 200);
  return answer.empty() ? fmt::format("HTTP {}", res.status)
                        : fmt::format("HTTP {}: {}", res.status, answer);
}

std::string_view channel_name(spec::Notifier::Kind kind) {
  switch (kind) {
    case spec::Notifier::Kind::slack:
      return "slack";
    case spec::Notifier::Kind::pagerduty:
      return "pagerduty";
    case spec::Notifier::Kind::webhook:
      return "webhook";
  }
  return "webhook";
}

std::string notifier_key(const spec::Notifier& notifier) {
  // Keyed only so that the fingerprint is not a bare hash of a webhook URL.
  std::string fingerprint = sys::hmac_sha256_hex(
      "ztp notifier",
      fmt::format("{}\n{}\n{}", channel_name(notifier.kind), notifier.url, notifier.routing_key));
  return fmt::format("{}:{}", channel_name(notifier.kind), fingerprint.substr(0, 16));
}

bool wants(const spec::Notifier& notifier, NoticeKind kind) {
  return notifier.events.empty() || std::find(notifier.events.begin(), notifier.events.end(),
                                              to_string(kind)) != notifier.events.end();
}

Result<bool> incident_open(store::SqliteStore& store, const std::string& key) {
  store::NotificationFilter filter;
  filter.channel = "pagerduty";
  filter.limit = k_incident_lookback;
  std::vector<store::Notification> sent;
  ZTP_ASSIGN_OR_RETURN(sent, store.list_notifications(filter));
  for (const auto& n : sent) {  // newest first
    if (!n.delivered) {
      continue;
    }
    auto payload = nlohmann::json::parse(n.payload, nullptr, false);
    if (!payload.is_object() || payload.value("dedup_key", "") != key) {
      continue;
    }
    return payload.value("event_action", "") == "trigger";
  }
  return false;
}

Result<std::vector<Delivery>> deliveries_for(const spec::Notifier& notifier, const Notice& n,
                                             store::SqliteStore& store) {
  if (notifier.kind == spec::Notifier::Kind::pagerduty) {
    return pagerduty_deliveries(notifier, n, store);
  }
  if (!wants(notifier, n.kind)) {
    return std::vector<Delivery>{};
  }
  if (notifier.kind == spec::Notifier::Kind::slack) {
    auto body = slack_message(n);
    return std::vector<Delivery>{
        make_delivery(json_request(notifier.url, body), n, n.env, body.dump())};
  }
  auto req = webhook_request(n, notifier);
  std::string body = req.body;
  return std::vector<Delivery>{make_delivery(std::move(req), n, n.env, std::move(body))};
}

Channel::Channel(spec::Notifier notifier, store::SqliteStore& store, DeliveryOptions options,
                 Poster poster)
    : m_notifier(std::move(notifier)),
      m_key(notifier_key(m_notifier)),
      m_store(store),
      m_options(options),
      m_http({}, std::move(poster)) {
  m_options.attempts = std::max(1, m_options.attempts);
  auto& o = m_http.options();
  o.timeout = m_options.attempt_timeout;
  o.connect_timeout = m_options.attempt_timeout;
  o.user_agent = "ztp-notify";
  o.cancel = &m_cancel;
  m_http.set_retry(
      sys::RetryPolicy{m_options.attempts, m_options.backoff, m_options.max_retry_after});
  m_http.set_wait([this](std::chrono::milliseconds pause) {
    std::unique_lock lock(m_mu);
    return !m_cv.wait_for(lock, pause, [this] { return m_stopping; });
  });
  m_thread = std::thread([this] { loop(); });
}

Channel::~Channel() { stop("the notifier stopped before it was delivered"); }

void Channel::submit(Notice n) {
  {
    std::lock_guard lock(m_mu);
    if (m_stopping) {
      return;
    }
    m_queue.push_back(std::move(n));
  }
  m_cv.notify_all();
}

bool Channel::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(m_mu);
  return m_cv.wait_until(lock, deadline, [this] { return m_queue.empty() && m_busy == 0; });
}

void Channel::stop(const std::string& why) {
  {
    std::lock_guard lock(m_mu);
    if (!m_stopping) {
      m_stopping = true;
      m_stop_reason = why;
    }
  }
  m_cancel = true;
  m_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void Channel::loop() {
  std::unique_lock lock(m_mu);
  while (true) {
    m_cv.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
    if (m_queue.empty()) {
      return;  // stopping with nothing left
    }
    Notice n = std::move(m_queue.front());
    m_queue.pop_front();
    ++m_busy;
    lock.unlock();
    auto deliveries = claim(n) ? deliveries_for(m_notifier, n, m_store)
                               : Result<std::vector<Delivery>>(std::vector<Delivery>{});
    if (!deliveries.ok()) {
      log::warn("notification not sent", {{"channel", std::string(channel_name(m_notifier.kind))},
                                          {"error", deliveries.error().message}});
    } else {
      for (const auto& d : *deliveries) {
        send(d);
      }
    }
    lock.lock();
    --m_busy;
    m_cv.notify_all();
  }
}

bool Channel::claim(const Notice& n) {
  if (n.event_id == 0) {
    return true;  // announced directly, not from the store's events
  }
  auto claimed = m_store.claim_notification(n.event_id, m_key);
  if (!claimed.ok()) {
    // Better announced twice than not at all.
    log::warn("notification claim not recorded; sending anyway",
              {{"channel", std::string(channel_name(m_notifier.kind))},
               {"event", std::to_string(n.event_id)},
               {"error", claimed.error().message}});
    return true;
  }
  return *claimed;
}

void Channel::send(const Delivery& d) {
  auto stop_reason = [&]() -> std::optional<std::string> {
    std::lock_guard lock(m_mu);
    return m_stopping ? std::optional<std::string>(m_stop_reason) : std::nullopt;
  };
  if (auto why = stop_reason()) {
    record(d, false, 0, *why);
    return;
  }
  sys::HttpRequest req;
  req.method = "POST";
  req.url = d.request.url;
  req.headers = d.request.headers;
  req.body = d.request.body;
  req.max_body = 4096;  // the start of the answer is enough to say why it was refused
  req.truncate = true;
  // The last failure is recorded even when a later attempt delivers.
  std::string error;
  m_http.set_observer([&](int, const Result<sys::HttpResponse>& outcome) {
    if (!outcome.ok()) {
      error = outcome.error().message;
    } else if (outcome->status < 200 || outcome->status >= 300) {
      error = describe_refusal(*outcome);
    }
  });
  int attempts = 0;
  auto outcome = m_http.send(req, &attempts);
  bool delivered = outcome.ok() && outcome->status >= 200 && outcome->status < 300;
  if (!delivered) {
    if (auto why = stop_reason()) {
      error = error.empty() ? *why : fmt::format("{}; {}", error, *why);
    }
  }
  record(d, delivered, attempts, error);
}

void Channel::record(const Delivery& d, bool delivered, int attempts, const std::string& error) {
  store::NewNotification rec;
  rec.channel = std::string(channel_name(m_notifier.kind));
  rec.event = d.event;
  rec.env = d.env;
  rec.run_id = d.run_id;
  rec.delivered = delivered;
  rec.attempts = attempts;
  rec.error = error;
  rec.payload = d.recorded_payload;
  auto saved = m_store.record_notification(rec);
  if (!saved.ok()) {
    log::warn("notification outcome not recorded",
              {{"channel", rec.channel}, {"error", saved.error().message}});
  }
  if (!delivered) {
    log::warn("notification not delivered",
              {{"channel", rec.channel}, {"event", rec.event}, {"error", error}});
  }
}

}  // namespace ztp::notify
