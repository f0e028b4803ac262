#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "server/http_types.hpp"
#include "store/sqlite_store.hpp"
#include "util/clock.hpp"

// The server-sent events stream of /api/v1/events: the store's events, in id order, as they
// are appended (by this process or any other ztp command).
namespace ztp::server {

// One SSE frame: `id: <id>`, `event: <kind>`, `data: <the event as engine::record_json
// writes it: {id, run_id, env, kind, message, data, at}>`, blank line.
std::string sse_frame(const store::Event& event);

// Where a stream starts and what it follows.
struct EventStreamOptions {
  int64_t after_id = 0;  // only events with a greater id (Last-Event-ID, ?after=)
  std::optional<int64_t> run_id = std::nullopt;  // only the events of this run
  std::chrono::milliseconds heartbeat{15000};    // a comment line when nothing was sent this long
  int batch = 200;                               // events read from the store per poll
};

// A BodyStream that follows the store's events. The first call sends a `retry:` hint; each call
// then sends the events appended since the last one, or a heartbeat comment when nothing was
// sent for `heartbeat` (which also tells a dead client apart). A store error ends the stream
// (the client reconnects with Last-Event-ID). `store` and `clock` must outlive it.
class EventStream : public BodyStream {
 public:
  EventStream(store::SqliteStore& store, Clock& clock, EventStreamOptions options);
  std::optional<std::string> next() override;
  // The id of the last event sent.
  int64_t last_id() const { return m_options.after_id; }

 private:
  store::SqliteStore& m_store;
  Clock& m_clock;
  EventStreamOptions m_options;
  bool m_started = false;
  std::chrono::steady_clock::time_point m_last_sent;
};

}  // namespace ztp::server
