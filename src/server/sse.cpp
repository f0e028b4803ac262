#include "server/sse.hpp"

#include <fmt/format.h>

#include "engine/incident_report.hpp"
#include "util/log.hpp"

namespace ztp::server {

std::string sse_frame(const store::Event& event) {
  // dump() escapes newlines, so the data stays on one `data:` line.
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event.id, event.kind,
                     engine::record_json(event).dump());
}

EventStream::EventStream(store::SqliteStore& store, Clock& clock, EventStreamOptions options)
    : m_store(store), m_clock(clock), m_options(options) {}

std::optional<std::string> EventStream::next() {
  std::string out;
  if (!m_started) {
    m_started = true;
    out = "retry: 2000\n\n";
    m_last_sent = m_clock.now();
  }
  store::EventFilter filter;
  filter.after_id = m_options.after_id;
  filter.run_id = m_options.run_id;
  filter.limit = m_options.batch;
  auto events = m_store.list_events(filter);
  if (!events.ok()) {
    log::warn("event stream ends: reading events failed", {{"error", events.error().message}});
    return std::nullopt;
  }
  for (const auto& e : *events) {
    out += sse_frame(e);
    m_options.after_id = e.id;
  }
  auto now = m_clock.now();
  if (out.empty() && now - m_last_sent >= m_options.heartbeat) {
    out = ": heartbeat\n\n";
  }
  if (!out.empty()) {
    m_last_sent = now;
  }
  return out;
}

}  // namespace ztp::server
