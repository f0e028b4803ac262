#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "notify/payloads.hpp"

namespace ztp::notify {

// How one POST went.
struct PostOutcome {
  long status = 0;     // the HTTP status; 0 when none came back
  std::string body;    // the start of the answer (a few KB at most)
  std::string error;   // empty when the receiver took it (2xx)
  bool retry = false;  // worth another attempt: no answer, a timeout, 429 or 5xx

  bool ok() const { return error.empty(); }
};

// Sends one request, giving up after `timeout` or as soon as `cancel` becomes true.
using Poster = std::function<PostOutcome(const HttpRequest& req, std::chrono::milliseconds timeout,
                                         const std::atomic<bool>& cancel)>;

// The outcome of an HTTP answer: 2xx delivered; 429 and 5xx retried; other 4xx final (the
// receiver refuses this payload: Slack's invalid_payload, PagerDuty's 400).
PostOutcome outcome_for_status(long status, std::string body);

// POSTs with libcurl (no redirects; proxies from the environment, never for loopback).
PostOutcome curl_post(const HttpRequest& req, std::chrono::milliseconds timeout,
                      const std::atomic<bool>& cancel);

}  // namespace ztp::notify
