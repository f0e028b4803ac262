#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "notify/channel.hpp"
#include "notify/notice.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"

namespace ztp::notify {

// Follows the store's events and announces them through every notifier of the spec's
// `notify` list, on its own threads (one that reads events, one per notifier that sends), so
// whoever appends the events never waits for a receiver. Works across processes: it announces
// what any process appends to the same state database.
class EventNotifier {
 public:
  struct Options {
    std::chrono::milliseconds poll_interval{500};  // how often the store is read for new events
    DeliveryOptions delivery;
    // Announce the events after this id; nullopt: only those appended after start().
    std::optional<int64_t> after_id;
  };

  // `spec` and `store` must outlive the notifier. `poster` sends the requests (libcurl when
  // empty; tests pass a fake).
  EventNotifier(const spec::Spec& spec, store::SqliteStore& store, Options options,
                Poster poster = {});
  EventNotifier(const spec::Spec& spec, store::SqliteStore& store);
  ~EventNotifier();
  EventNotifier(const EventNotifier&) = delete;
  EventNotifier& operator=(const EventNotifier&) = delete;

  // Starts following from the store's latest event (or Options::after_id). Does nothing when
  // the spec has no notifiers. Errors come from reading the store.
  Result<void> start();
  // Announces every event appended so far, then waits for the deliveries until `deadline`;
  // what is still unsent then is given up and recorded as failed. Stops the notifier (for a
  // one-shot command before it exits). True when everything was delivered or finally failed
  // before the deadline.
  bool flush(std::chrono::steady_clock::time_point deadline);
  // Stops following and sending; what is queued is recorded as given up. Idempotent.
  void stop();

  // Announces `n` now through the notifiers that want it (not through the store's events).
  void announce(const Notice& n);

 private:
  Result<void> catch_up();
  void follow();

  const spec::Spec& m_spec;
  store::SqliteStore& m_store;
  Options m_options;
  std::vector<std::unique_ptr<Channel>> m_channels;

  std::mutex m_read_mu;  // one reader of the events at a time
  int64_t m_cursor = 0;

  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_stopping = false;
  std::thread m_thread;
};

// For a one-shot command (`ztp run`, `ztp approve`): starts an EventNotifier over the spec's
// notifiers and, when destroyed, flushes it for at most `grace`, so the command announces what
// it did and still exits in bounded time.
class ScopedNotifier {
 public:
  static constexpr std::chrono::milliseconds k_default_grace{10000};

  ScopedNotifier(const spec::Spec& spec, store::SqliteStore& store,
                 std::chrono::milliseconds grace = k_default_grace);
  ~ScopedNotifier();
  ScopedNotifier(const ScopedNotifier&) = delete;
  ScopedNotifier& operator=(const ScopedNotifier&) = delete;

 private:
  EventNotifier m_notifier;
  std::chrono::milliseconds m_grace;
};

// Calls `fn` with every event after `after_id`, oldest first, reading them a page at a time;
// returns the id of the last one (`after_id` when there is none).
Result<int64_t> for_each_event(store::SqliteStore& store, int64_t after_id,
                               const std::function<void(const store::Event&)>& fn);

}  // namespace ztp::notify
