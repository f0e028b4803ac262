#include "notify/notifier.hpp"

#include "util/log.hpp"

namespace ztp::notify {
namespace {

constexpr int k_page = 500;  // events read per query

}  // namespace

Result<int64_t> for_each_event(store::SqliteStore& store, int64_t after_id,
                               const std::function<void(const store::Event&)>& fn) {
  while (true) {
    store::EventFilter filter;
    filter.after_id = after_id;
    filter.limit = k_page;
    std::vector<store::Event> page;
    ZTP_ASSIGN_OR_RETURN(page, store.list_events(filter));
    for (const auto& e : page) {
      fn(e);
      after_id = e.id;
    }
    if (static_cast<int>(page.size()) < k_page) {
      return after_id;
    }
  }
}

EventNotifier::EventNotifier(const spec::Spec& spec, store::SqliteStore& store, Options options,
                             Poster poster)
    : m_spec(spec), m_store(store), m_options(options) {
  for (const auto& n : spec.notify) {
    m_channels.push_back(std::make_unique<Channel>(n, store, options.delivery, poster));
  }
}

EventNotifier::EventNotifier(const spec::Spec& spec, store::SqliteStore& store)
    : EventNotifier(spec, store, Options{}) {}

EventNotifier::~EventNotifier() { stop(); }

Result<void> EventNotifier::start() {
  if (m_channels.empty() || m_thread.joinable()) {
    return {};
  }
  {
    std::lock_guard lock(m_read_mu);
    if (m_options.after_id) {
      m_cursor = *m_options.after_id;
    } else {
      ZTP_ASSIGN_OR_RETURN(m_cursor, m_store.latest_event_id());
    }
  }
  m_thread = std::thread([this] { follow(); });
  return {};
}

void EventNotifier::announce(const Notice& n) {
  for (auto& c : m_channels) {
    c->submit(n);
  }
}

Result<void> EventNotifier::catch_up() {
  std::lock_guard lock(m_read_mu);
  ZTP_TRY(for_each_event(m_store, m_cursor, [this](const store::Event& e) {
    m_cursor = e.id;
    auto notice = notice_for(m_store, m_spec, e);
    if (!notice.ok()) {
      log::warn("event not announced",
                {{"event", std::to_string(e.id)}, {"error", notice.error().message}});
    } else if (notice->has_value()) {
      announce(**notice);
    }
  }));
  return {};
}

void EventNotifier::follow() {
  std::unique_lock lock(m_mu);
  while (!m_stopping) {
    lock.unlock();
    auto read = catch_up();
    if (!read.ok()) {
      log::warn("notifier could not read events; retrying", {{"error", read.error().message}});
    }
    lock.lock();
    m_cv.wait_for(lock, m_options.poll_interval, [this] { return m_stopping; });
  }
}

bool EventNotifier::flush(std::chrono::steady_clock::time_point deadline) {
  if (m_channels.empty() || !m_thread.joinable()) {
    stop();  // never started: there is no cursor to read from
    return true;
  }
  auto read = catch_up();
  if (!read.ok()) {
    log::warn("notifier could not read the last events", {{"error", read.error().message}});
  }
  bool idle = read.ok();
  for (auto& c : m_channels) {
    idle = c->wait_idle(deadline) && idle;
  }
  for (auto& c : m_channels) {
    c->stop("given up: the command exited before the receiver answered");
  }
  stop();
  return idle;
}

void EventNotifier::stop() {
  {
    std::lock_guard lock(m_mu);
    m_stopping = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  for (auto& c : m_channels) {
    c->stop("the notifier stopped before it was delivered");
  }
}

ScopedNotifier::ScopedNotifier(const spec::Spec& spec, store::SqliteStore& store,
                               std::chrono::milliseconds grace)
    : m_notifier(spec, store), m_grace(grace) {
  auto started = m_notifier.start();
  if (!started.ok()) {
    log::warn("notifications are off for this command", {{"error", started.error().message}});
  }
}

ScopedNotifier::~ScopedNotifier() {
  if (!m_notifier.flush(std::chrono::steady_clock::now() + m_grace)) {
    log::warn(
        "some notifications were not delivered before exit; the notifications table "
        "records them");
  }
}

}  // namespace ztp::notify
