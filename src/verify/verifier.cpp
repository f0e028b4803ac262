#include "verify/verifier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "spec/address.hpp"
#include "util/duration.hpp"
#include "verify/curl_transport.hpp"
#include "verify/expectations.hpp"

namespace ztp::verify {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

// One check in flight through its retry loop.
struct Slot {
  const spec::Check* check = nullptr;
  std::string url;
  std::string origin;
  RetrySchedule schedule;
  TimePoint next_at;
  bool in_flight = false;
  bool done = false;
  CheckResult result;
};

// A response counts against the breaker when no working server answered: a network failure,
// a timeout, or a 5xx status.
bool breaker_failure(const Response& r) {
  return r.error != TransportError::none || r.status >= 500;
}

milliseconds attempt_timeout(const spec::Check& check, milliseconds remaining) {
  if (!check.max_latency) {
    return remaining;
  }
  // A slow answer is measured to report how slow, but never waited for past twice the limit
  // (at least a second more), so one hung request cannot use up the deadline.
  milliseconds cap = std::max(*check.max_latency * 2, *check.max_latency + milliseconds(1000));
  return std::min(remaining, cap);
}

Request make_request(const spec::Check& check, const std::string& url, milliseconds timeout) {
  Request req;
  req.method = check.method;
  req.url = url;
  for (const auto& [name, value] : check.headers) {
    req.headers.emplace_back(name, value);
  }
  req.body = check.body;
  req.timeout = timeout;
  return req;
}

std::string fail_fast_reason(const spec::Check& check, const std::string& origin, int failures,
                             const CircuitBreaker::LastFailure& last) {
  std::string text =
      fmt::format("{} {}: not sent: circuit breaker open for {} after {} consecutive failures",
                  check.method, check.path, origin, failures);
  if (!last.reason.empty()) {
    text += fmt::format(" (last: {})", last.reason);
  }
  return text;
}

}  // namespace

Verifier::Verifier(Transport& transport, Clock& clock, CircuitBreaker& breaker, Random random)
    : m_transport(transport), m_clock(clock), m_breaker(breaker), m_random(std::move(random)) {
  if (!m_random) {
    m_random = default_random();
  }
}

Report Verifier::run(const std::vector<spec::CheckSuite>& suites, const std::string& base_url) {
  TimePoint started = m_clock.now();
  Report report;
  report.base_url = base_url;
  std::vector<Slot> slots;
  std::vector<std::pair<size_t, size_t>> where;  // slot -> (suite, check)
  for (size_t s = 0; s < suites.size(); ++s) {
    report.suites.push_back(SuiteResult{suites[s].name, {}});
    for (size_t c = 0; c < suites[s].checks.size(); ++c) {
      const spec::Check& check = suites[s].checks[c];
      std::string url = url_for(base_url, check.path);
      Slot slot{&check,  url,   origin_of(url), RetrySchedule(check.retry, started, m_random),
                started, false, false,          CheckResult{}};
      slot.result.suite = suites[s].name;
      slot.result.name = check.name.empty() ? check.method + " " + check.path : check.name;
      slot.result.method = check.method;
      slot.result.url = url;
      slots.push_back(std::move(slot));
      where.emplace_back(s, c);
    }
  }

  auto finish = [](Slot& slot) {
    slot.done = true;
    slot.in_flight = false;
  };

  while (true) {
    TimePoint now = m_clock.now();
    for (size_t i = 0; i < slots.size(); ++i) {
      Slot& slot = slots[i];
      if (slot.done || slot.in_flight || slot.next_at > now) {
        continue;
      }
      const spec::Check& check = *slot.check;
      if (!m_breaker.allow(slot.origin, check.retry.circuit_breaker, now)) {
        auto last = m_breaker.last_failure(slot.origin);
        slot.result.passed = false;
        slot.result.failure = last.failure;
        slot.result.reason =
            fail_fast_reason(check, slot.origin, m_breaker.failures(slot.origin), last);
        finish(slot);
        continue;
      }
      slot.schedule.attempt_started();
      slot.in_flight = true;
      milliseconds timeout = attempt_timeout(check, slot.schedule.remaining(now));
      m_transport.start(i, make_request(check, slot.url, timeout));
    }

    bool all_done = std::all_of(slots.begin(), slots.end(), [](const Slot& s) { return s.done; });
    if (all_done) {
      break;
    }
    std::optional<TimePoint> wake;
    for (const auto& slot : slots) {
      if (!slot.done && !slot.in_flight && (!wake || slot.next_at < *wake)) {
        wake = slot.next_at;
      }
    }
    now = m_clock.now();
    milliseconds until =
        wake ? std::max(std::chrono::duration_cast<milliseconds>(*wake - now), milliseconds(0))
             : milliseconds(1000);
    if (m_transport.in_flight() == 0) {
      if (until.count() > 0) {
        m_clock.sleep_for(until);
      }
      continue;
    }

    for (auto& done : m_transport.wait(until)) {
      if (done.id >= slots.size() || !slots[done.id].in_flight) {
        continue;
      }
      Slot& slot = slots[done.id];
      const spec::Check& check = *slot.check;
      const Response& r = done.response;
      TimePoint ended = m_clock.now();
      Verdict verdict = evaluate(check, r, slot.url, m_clock.wall_now());
      slot.in_flight = false;
      slot.result.attempts = slot.schedule.attempts();
      slot.result.latency = r.latency;
      slot.result.status =
          r.error == TransportError::none ? std::optional<int>(r.status) : std::nullopt;
      if (breaker_failure(r)) {
        m_breaker.record_failure(
            slot.origin, check.retry.circuit_breaker, ended,
            {verdict.passed ? Errc::unhealthy : verdict.failure,
             verdict.passed ? fmt::format("status {}", r.status) : verdict.reason});
      } else {
        m_breaker.record_success(slot.origin);
      }
      slot.result.passed = verdict.passed;
      slot.result.failure = verdict.failure;
      slot.result.reason = verdict.reason;
      if (verdict.passed) {
        finish(slot);
        continue;
      }
      if (auto next = slot.schedule.after_failure(ended)) {
        slot.next_at = *next;
        continue;
      }
      if (slot.schedule.stop() == RetrySchedule::Stop::deadline) {
        slot.result.reason +=
            fmt::format("; gave up after {} of {} attempts: the {} deadline", slot.result.attempts,
                        check.retry.attempts, format_duration(check.retry.deadline));
      }
      finish(slot);
    }
  }

  for (size_t i = 0; i < slots.size(); ++i) {
    report.suites[where[i].first].checks.push_back(std::move(slots[i].result));
  }
  report.elapsed = std::chrono::duration_cast<milliseconds>(m_clock.now() - started);
  return report;
}

Report verify(const std::vector<spec::CheckSuite>& suites, const std::string& base_url,
              CircuitBreaker& breaker) {
  CurlTransport transport;
  Verifier verifier(transport, system_clock(), breaker);
  return verifier.run(suites, base_url);
}

std::string url_for(std::string_view base_url, std::string_view path) {
  if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) {
    return std::string(path);
  }
  std::string base(base_url);
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  if (path.empty() || path.front() != '/') {
    return base + "/" + std::string(path);
  }
  return base + std::string(path);
}

std::string origin_of(std::string_view url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  return std::string(url.substr(0, end));
}

Result<std::string> base_url_for_listen(std::string_view listen) {
  spec::ListenAddress addr;
  ZTP_ASSIGN_OR_RETURN(addr, spec::parse_listen(listen));
  std::string host = addr.host;
  if (host.empty() || host == "0.0.0.0" || host == "*") {
    host = "127.0.0.1";
  } else if (host == "::") {
    host = "::1";
  }
  if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  return fmt::format("http://{}:{}", host, addr.port);
}

}  // namespace ztp::verify
