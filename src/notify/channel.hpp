#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "notify/notice.hpp"
#include "notify/payloads.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "sys/http.hpp"

namespace ztp::notify {

// Sends one request: the libcurl session by default; tests give a fake.
using Poster = sys::HttpClient::Send;

// How hard a channel tries.
struct DeliveryOptions {
  int attempts = 5;  // per message, the first one included
  // Between attempts: 1 s doubling up to 30 s, jittered; a longer Retry-After (up to
  // max_retry_after) is honoured.
  sys::Backoff backoff{std::chrono::milliseconds(1000), 2.0, std::chrono::milliseconds(30000),
                       true};
  std::chrono::milliseconds max_retry_after{60'000};
  std::chrono::milliseconds attempt_timeout{5000};  // connect + answer, per attempt
};

// "HTTP 400: invalid_payload": a receiver's refusal as the notifications table records it.
std::string describe_refusal(const sys::HttpResponse& res);

// One message of a channel, ready to send.
struct Delivery {
  HttpRequest request;
  std::string event;  // the notice kind's name
  std::optional<std::string> env;
  std::optional<int64_t> run_id;
  std::string recorded_payload;  // what the notifications table keeps (secrets left out)
};

// The messages a channel sends for a notice; PagerDuty's depend on the incidents already open,
// which it reads from the store's notifications table.
Result<std::vector<Delivery>> deliveries_for(const spec::Notifier& notifier, const Notice& n,
                                             store::SqliteStore& store);

// True when notifier `n` has an open PagerDuty incident under `key`: its latest delivered
// event of that key in the notifications table is a trigger.
Result<bool> incident_open(store::SqliteStore& store, const std::string& key);

// "slack", "pagerduty" or "webhook": the channel as the notifications table names it.
std::string_view channel_name(spec::Notifier::Kind kind);

// The notifier's key in the store's notification claims: its kind and a fingerprint of its
// destination (url, routing key), the same in every process that reads the same ztp.yaml and
// holding no secret.
std::string notifier_key(const spec::Notifier& notifier);

// True when the notifier's `events` filter lets `kind` through (an empty filter lets all).
bool wants(const spec::Notifier& notifier, NoticeKind kind);

// One notifier: a queue and a thread that sends in order, retrying with exponential backoff,
// and records every delivery or final failure with record_notification. submit() never
// blocks on the network. A notice of a store event is sent only after this channel claimed
// that event in the store (claim_notification), so when several processes follow the same
// events (`ztp serve` and a `ztp approve` beside it) each event is announced once.
class Channel {
 public:
  Channel(spec::Notifier notifier, store::SqliteStore& store, DeliveryOptions options,
          Poster poster);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  const spec::Notifier& notifier() const { return m_notifier; }
  // Queues `n`; returns at once.
  void submit(Notice n);
  // Waits until everything submitted was delivered or given up, or `deadline` passed; true
  // when nothing is left.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);
  // Cancels the attempt in flight and gives up what is queued, recording each message as
  // failed with `why`; joins the thread. Idempotent.
  void stop(const std::string& why);

 private:
  void loop();
  bool claim(const Notice& n);
  void send(const Delivery& d);
  void record(const Delivery& d, bool delivered, int attempts, const std::string& error);

  spec::Notifier m_notifier;
  std::string m_key;  // notifier_key(m_notifier)
  store::SqliteStore& m_store;
  DeliveryOptions m_options;
  sys::HttpClient m_http;  // used by the channel's thread only

  std::mutex m_mu;
  std::condition_variable m_cv;
  std::deque<Notice> m_queue;
  int m_busy = 0;  // notices taken off the queue and not finished
  bool m_stopping = false;
  std::string m_stop_reason;
  std::atomic<bool> m_cancel{false};
  std::thread m_thread;
};

}  // namespace ztp::notify
