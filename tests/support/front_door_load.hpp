#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/support.hpp"

namespace ztp::testing {

// GET / on 127.0.0.1:<port> (a front door) from `threads` background threads until stop() or
// until `max_requests` were sent in all. Counts the answers that are not 200 and keeps the first;
// `observe`, when given, sees every answer, on the load's threads.
class FrontDoorLoad {
 public:
  using Observe = std::function<void(const HttpResponse&)>;

  FrontDoorLoad(int port, int max_requests, int threads = 1, Observe observe = {});
  ~FrontDoorLoad();
  FrontDoorLoad(const FrontDoorLoad&) = delete;
  FrontDoorLoad& operator=(const FrontDoorLoad&) = delete;

  // Ends the requests and joins the threads; what they counted stays readable.
  void stop();
  int requests() const { return m_requests; }
  int failures() const { return m_failures; }
  // "<status>: <start of the body>" of the first answer that was not 200, or empty.
  std::string first_failure() const;

 private:
  void loop();

  int m_port;
  int m_max;
  Observe m_observe;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_requests{0};
  std::atomic<int> m_failures{0};
  mutable std::mutex m_mu;
  std::string m_first_failure;
  std::vector<std::thread> m_threads;
};

}  // namespace ztp::testing
