// Notifications against local HTTP receivers: the payloads Slack, PagerDuty and a signed webhook
// receive carry the fields their documentation requires, and a dead receiver (a
// closed port, or one that never answers) neither holds up the rollout nor goes unrecorded.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "notify/notifier.hpp"
#include "store/sqlite_store.hpp"
#include "support/support.hpp"
#include "unit/store/store_test_util.hpp"

namespace ztp {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1. With `answer`, it reads each request and answers 200 (or
// `status`); without, it never accepts: connections complete in the kernel and hang.
class Receiver {
 public:
  struct Got {
    std::string path;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
  };

  explicit Receiver(bool answer = true) {
    m_fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(m_fd, 64) != 0) {
      ADD_FAILURE() << "receiver could not listen";
      return;
    }
    socklen_t len = sizeof addr;
    getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    if (answer) {
      m_thread = std::thread([this] { serve(); });
    }
  }
  ~Receiver() {
    m_stop = true;
    if (m_thread.joinable()) {
      m_thread.join();
    }
    close(m_fd);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  std::vector<Got> got(const std::string& path) {
    std::lock_guard lock(m_mu);
    std::vector<Got> out;
    for (const auto& g : m_got) {
      if (g.path == path) {
        out.push_back(g);
      }
    }
    return out;
  }

 private:
  void serve() {
    while (!m_stop) {
      pollfd p{m_fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) {
        continue;
      }
      int c = accept(m_fd, nullptr, nullptr);
      if (c >= 0) {
        handle(c);
        close(c);
      }
    }
  }

  void handle(int c) {
    std::string data;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t length = 0;
    while (true) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) {
        return;
      }
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) {
        return;
      }
      data.append(buf, static_cast<size_t>(n));
      if (head_end == std::string::npos &&
          (head_end = data.find("\r\n\r\n")) != std::string::npos) {
        std::smatch m;
        std::string head = data.substr(0, head_end);
        if (std::regex_search(head, m,
                              std::regex("content-length: *([0-9]+)", std::regex::icase))) {
          length = std::stoul(m[1]);
        }
      }
      if (head_end != std::string::npos && data.size() >= head_end + 4 + length) {
        break;
      }
    }
    Got g;
    std::string head = data.substr(0, head_end);
    std::istringstream lines(head);
    std::string line;
    std::getline(lines, line);
    auto sp1 = line.find(' ');
    g.path = line.substr(sp1 + 1, line.find(' ', sp1 + 1) - sp1 - 1);
    while (std::getline(lines, line)) {
      auto colon = line.find(':');
      if (colon == std::string::npos) {
        continue;
      }
      std::string name = line.substr(0, colon);
      for (auto& ch : name) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      if (!value.empty() && value.back() == '\r') {
        value.pop_back();
      }
      g.headers[name] = value;
    }
    g.body = data.substr(head_end + 4, length);
    {
      std::lock_guard lock(m_mu);
      m_got.push_back(std::move(g));
    }
    std::string answer =
        "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    [[maybe_unused]] auto w = write(c, answer.data(), answer.size());
  }

  int m_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  std::mutex m_mu;
  std::vector<Got> m_got;
};

std::string hmac_hex(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  std::string out;
  char hex[3];
  for (unsigned int i = 0; i < len; ++i) {
    snprintf(hex, sizeof hex, "%02x", mac[i]);
    out += hex;
  }
  return out;
}

// What the receivers require, as their public documentation states it: PagerDuty's Events API
// v2 (developer.pagerduty.com, "Send an Alert Event") and Slack's incoming webhooks
// (api.slack.com/messaging/webhooks). Written down here in our own terms.
struct Requirements {
  std::vector<std::string> pd_required;                // every alert event
  std::vector<std::string> pd_trigger;                 // a trigger's payload fields
  std::map<std::string, std::set<std::string>> enums;  // field -> allowed values
  std::map<std::string, size_t> max_chars;             // field -> limit
  std::set<std::string> pd_resolve;                    // the minimal resolve body
  std::string slack_field;                             // the minimal body's field
};

Requirements requirements() {
  Requirements r;
  // An alert event names its integration and what to do with the incident.
  r.pd_required = {"routing_key", "event_action"};
  r.enums["event_action"] = {"trigger", "acknowledge", "resolve"};
  // A trigger describes the alert: a summary of at most 1024 characters, where it comes from,
  // and one of four severities.
  r.pd_trigger = {"payload.summary", "payload.source", "payload.severity"};
  r.max_chars["payload.summary"] = 1024;
  r.enums["payload.severity"] = {"critical", "error", "warning", "info"};
  // The incident key, needed to resolve later, is at most 255 characters.
  r.max_chars["dedup_key"] = 255;
  // Resolving needs only the integration, the key and the action.
  r.pd_resolve = {"routing_key", "dedup_key", "event_action"};
  // Slack: a JSON object whose `text` is the message.
  r.slack_field = "text";
  return r;
}

const nlohmann::json* at_path(const nlohmann::json& j, const std::string& dotted) {
  const nlohmann::json* cur = &j;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot - start);
    if (!cur->is_object() || !cur->contains(key)) {
      return nullptr;
    }
    cur = &(*cur)[key];
    if (dot == std::string::npos) {
      return cur;
    }
    start = dot + 1;
  }
}

void check_fields(const nlohmann::json& body, const std::vector<std::string>& fields,
                  const Requirements& r) {
  for (const auto& f : fields) {
    const auto* v = at_path(body, f);
    ASSERT_NE(v, nullptr) << f << " missing in " << body.dump();
    if (auto e = r.enums.find(f); e != r.enums.end()) {
      EXPECT_TRUE(e->second.count(v->get<std::string>())) << f << " = " << *v;
    }
    if (auto m = r.max_chars.find(f); m != r.max_chars.end()) {
      EXPECT_LE(v->get<std::string>().size(), m->second) << f;
    }
  }
}

spec::Notifier notifier(spec::Notifier::Kind kind, const std::string& url) {
  spec::Notifier n;
  n.kind = kind;
  n.url = url;
  if (kind == spec::Notifier::Kind::pagerduty) {
    n.routing_key = "0123456789abcdef0123456789abcdef";
  }
  if (kind == spec::Notifier::Kind::webhook) {
    n.secret = "the webhook secret";
  }
  return n;
}

// A run that was rolled back in prod, then a run that waited for approval and succeeded.
void record_two_runs(store::SqliteStore& s) {
  auto ev = [&](std::optional<int64_t> run, std::optional<std::string> env,
                const std::string& kind) {
    ASSERT_TRUE(s.append_event({run, env, kind, kind + " happened", "{}"}).ok());
  };
  auto first = s.create_run({"shop", "1111111aaaa", "1111111", store::Trigger::webhook, ""});
  ev(first->id, std::nullopt, "run.started");
  auto stage = s.start_stage(first->id, "rollout", std::string("prod"));
  ev(first->id, std::string("prod"), "rollout.failed");
  ev(first->id, std::string("prod"), "rollout.rolled_back");
  ASSERT_TRUE(s.finish_stage(stage->id, store::StageStatus::failed, "rolled back").ok());
  ASSERT_TRUE(s.update_run_status(first->id, store::RunStatus::rolled_back, "prod: no").ok());
  ev(first->id, std::nullopt, "run.rolled_back");

  auto second = s.create_run({"shop", "2222222bbbb", "2222222", store::Trigger::webhook, ""});
  ev(second->id, std::nullopt, "run.started");
  ev(second->id, std::string("prod"), "gate.waiting");
  auto rollout = s.start_stage(second->id, "rollout", std::string("prod"));
  ASSERT_TRUE(s.finish_stage(rollout->id, store::StageStatus::succeeded).ok());
  ev(second->id, std::nullopt, "run.succeeded");
  ev(std::nullopt, std::string("qa"), "drift.found");
}

notify::EventNotifier::Options fast(std::chrono::milliseconds attempt_timeout) {
  notify::EventNotifier::Options o;
  o.poll_interval = 20ms;
  o.after_id = 0;
  o.delivery.attempts = 2;
  o.delivery.backoff = sys::Backoff{10ms, 2.0, 10ms, false};
  o.delivery.attempt_timeout = attempt_timeout;
  return o;
}

TEST(Notify, ReceiversGetPayloadsWithTheRequiredFieldsAndAVerifiableSignature) {
  auto req = requirements();

  store::test::TempStore s;
  Receiver receiver;
  spec::Spec sp;
  sp.app = "shop";
  sp.notify = {notifier(spec::Notifier::Kind::slack, receiver.url("/slack")),
               notifier(spec::Notifier::Kind::pagerduty, receiver.url("/pd")),
               notifier(spec::Notifier::Kind::webhook, receiver.url("/hook"))};
  notify::EventNotifier n(sp, *s.store, fast(5s));
  ASSERT_TRUE(n.start().ok());
  record_two_runs(*s.store);
  ASSERT_TRUE(n.flush(std::chrono::steady_clock::now() + 60s));

  auto slack = receiver.got("/slack");
  ASSERT_EQ(slack.size(), 6u);  // 2 started, rolled back, approval, succeeded, drift
  for (const auto& g : slack) {
    EXPECT_EQ(g.headers.at("content-type"), "application/json");
    auto body = nlohmann::json::parse(g.body);
    ASSERT_TRUE(body[req.slack_field].is_string()) << g.body;
    EXPECT_FALSE(body[req.slack_field].get<std::string>().empty());
  }

  auto pd = receiver.got("/pd");
  ASSERT_EQ(pd.size(), 2u);
  auto trigger = nlohmann::json::parse(pd[0].body);
  check_fields(trigger, req.pd_required, req);
  check_fields(trigger, req.pd_trigger, req);
  check_fields(trigger, {"dedup_key"}, req);
  EXPECT_EQ(trigger["event_action"], "trigger");
  EXPECT_EQ(trigger["routing_key"].get<std::string>().size(), 32u);
  auto resolve = nlohmann::json::parse(pd[1].body);
  std::set<std::string> keys;
  for (const auto& [k, v] : resolve.items()) {
    keys.insert(k);
  }
  EXPECT_EQ(keys, req.pd_resolve);
  EXPECT_EQ(resolve["event_action"], "resolve");
  EXPECT_EQ(resolve["dedup_key"], trigger["dedup_key"]);  // one key per environment

  auto hooks = receiver.got("/hook");
  ASSERT_EQ(hooks.size(), 6u);
  std::vector<std::string> events;
  for (const auto& g : hooks) {
    EXPECT_EQ(g.headers.at("x-ztp-signature-256"),
              "sha256=" + hmac_hex("the webhook secret", g.body));
    auto body = nlohmann::json::parse(g.body);
    EXPECT_EQ(g.headers.at("x-ztp-event"), body["event"]);
    events.push_back(body["event"]);
  }
  EXPECT_EQ(events,
            (std::vector<std::string>{"run_started", "rolled_back", "run_started",
                                      "awaiting_approval", "run_succeeded", "drift_found"}));
  store::NotificationFilter all;
  all.limit = 0;
  auto rows = *s->list_notifications(all);
  EXPECT_EQ(rows.size(), 14u);
  for (const auto& r : rows) {
    EXPECT_TRUE(r.delivered) << r.channel << " " << r.event << ": " << r.error;
  }
}

TEST(Notify, DeadReceiversDoNotHoldTheRolloutAndTheirFailureIsRecorded) {
  store::test::TempStore s;
  Receiver silent(false);  // accepts nothing, answers nothing
  int closed = testing::free_port();
  spec::Spec sp;
  sp.app = "shop";
  sp.notify = {
      notifier(spec::Notifier::Kind::slack, "http://127.0.0.1:" + std::to_string(closed) + "/x"),
      notifier(spec::Notifier::Kind::webhook, silent.url("/hook"))};
  // An attempt waits for an answer far longer than the whole flush may take.
  notify::EventNotifier n(sp, *s.store, fast(600s));
  ASSERT_TRUE(n.start().ok());

  // The rollout: every event is appended and the run ends while the silent receiver still
  // holds the first delivery.
  record_two_runs(*s.store);
  store::NotificationFilter hook_rows;
  hook_rows.channel = "webhook";
  EXPECT_TRUE(s->list_notifications(hook_rows)->empty());

  // Bounded: the flush gives up at its deadline, long before an attempt would time out.
  EXPECT_FALSE(n.flush(std::chrono::steady_clock::now() + 10s));
  auto hooks = *s->list_notifications(hook_rows);
  ASSERT_EQ(hooks.size(), 6u);
  for (const auto& r : hooks) {
    EXPECT_FALSE(r.delivered);
    EXPECT_NE(r.error.find("given up"), std::string::npos) << r.error;
  }
  store::NotificationFilter slack_rows;
  slack_rows.channel = "slack";
  auto slack = *s->list_notifications(slack_rows);
  ASSERT_EQ(slack.size(), 6u);
  for (const auto& r : slack) {
    EXPECT_FALSE(r.delivered);
    EXPECT_EQ(r.attempts, 2) << r.error;  // refused, retried once, recorded
    // The cause alone: a Slack URL is a secret, so the record never names it.
    EXPECT_EQ(r.error, "connection refused");
  }
}

// What `ztp run` does: a notifier for the command's life, flushed within a grace at its end.
TEST(Notify, AScopedNotifierAnnouncesWhatHappensDuringItsLifeWithinItsGrace) {
  store::test::TempStore s;
  Receiver live;
  Receiver silent(false);
  spec::Spec sp;
  sp.app = "shop";
  sp.notify = {notifier(spec::Notifier::Kind::webhook, live.url("/hook")),
               notifier(spec::Notifier::Kind::webhook, silent.url("/hook"))};
  ASSERT_TRUE(s->append_event({std::nullopt, std::nullopt, "run.started", "before", "{}"}).ok());
  {
    notify::ScopedNotifier scoped(sp, *s.store, 3s);
    record_two_runs(*s.store);
  }  // returns once the grace is over, the silent receiver notwithstanding
  EXPECT_EQ(live.got("/hook").size(), 6u);  // not the event from before it started
  store::NotificationFilter all;
  all.limit = 0;
  auto rows = *s->list_notifications(all);
  ASSERT_EQ(rows.size(), 12u);
  int given_up = 0;
  for (const auto& r : rows) {
    given_up += r.delivered ? 0 : 1;
  }
  EXPECT_EQ(given_up, 6);
}

}  // namespace
}  // namespace ztp
