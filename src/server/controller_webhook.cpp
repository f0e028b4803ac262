// POST /hooks/github: GitHub's push webhooks, verified, deduplicated and filtered.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "server/controller.hpp"
#include "source/git_fetch.hpp"
#include "source/trigger.hpp"
#include "source/webhook.hpp"
#include "util/log.hpp"

namespace ztp::server {
namespace {

constexpr std::string_view k_no_secret =
    "webhooks are refused: no secret is configured. Set source.webhook_secret in ztp.yaml "
    "(e.g. webhook_secret: ${GITHUB_WEBHOOK_SECRET}) or ZTP_WEBHOOK_SECRET for `ztp serve`, "
    "and give the webhook the same secret in GitHub";

constexpr std::string_view k_no_repository =
    "pushes are refused: ztp cannot tell which GitHub repository it follows, since source.repo "
    "is a local path. Set source.github_repository: owner/name in ztp.yaml, or point "
    "source.repo at the repository's URL (git@github.com:owner/name.git)";

bool is_sha(std::string_view s) {
  return s.size() == 40 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

bool is_zero_sha(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

}  // namespace

Controller::Handled Controller::handle_push(const std::string& body, const std::string& delivery) {
  auto ignored = [](const std::string& reason) {
    return Handled{json_response(202, {{"status", "ignored"}, {"reason", reason}}),
                   "ignored: " + reason, std::nullopt};
  };
  auto push = source::parse_push_event(body);
  if (!push.ok()) {
    return Handled{error_response(400, push.error().message), "rejected: " + push.error().message,
                   std::nullopt};
  }
  // A webhook secret may be shared by every repository of an organisation: a push of another
  // repository must not deploy this one. Each refusal is audited.
  auto audit_refusal = [&](const std::string& reason) {
    auto audited =
        m_ws.store->append_audit("webhook", "webhook_refused", "repository " + push->repository,
                                 fmt::format("delivery {}: {}", delivery, reason));
    if (!audited.ok()) {
      log::warn("controller: refused webhook not audited", {{"error", audited.error().message}});
    }
  };
  auto follows = source::webhook_repository(m_ws.spec.source);
  if (!follows) {
    audit_refusal(std::string(k_no_repository));
    return Handled{error_response(403, k_no_repository), "refused: " + std::string(k_no_repository),
                   std::nullopt};
  }
  if (!source::same_repository(push->repository, *follows)) {
    std::string reason = fmt::format(
        "push to repository {}; ztp follows {} ({})", push->repository, *follows,
        m_ws.spec.source.github_repository.empty() ? "source.repo" : "source.github_repository");
    audit_refusal(reason);
    return ignored(reason);
  }
  const auto& want = m_ws.spec.source.branch;
  auto branch = push->branch();
  if (push->is_tag()) {
    return ignored(
        fmt::format("{} is a tag; only pushes to refs/heads/{} (source.branch) start "
                    "runs",
                    push->ref, want));
  }
  if (!branch) {
    return ignored(fmt::format("{} is not a branch; only pushes to refs/heads/{} start runs",
                               push->ref, want));
  }
  if (*branch != want) {
    return ignored(fmt::format("push to branch {}; ztp follows {} (source.branch)", *branch, want));
  }
  if (push->deleted || is_zero_sha(push->after)) {
    return ignored(fmt::format("branch {} was deleted", want));
  }
  if (!is_sha(push->after)) {
    std::string message =
        fmt::format("push payload: after is \"{}\", not a 40-hex commit SHA", push->after);
    return Handled{error_response(400, message), "rejected: " + message, std::nullopt};
  }
  auto decision = source::decide_trigger(push->changed_paths(), m_ws.spec.source.paths);
  if (!decision.triggers) {
    return ignored(decision.reason);
  }
  source::CommitInfo commit;
  if (m_remote) {
    // The worker fetches the mirror before it drives the run.
    commit.sha = push->after;
    commit.short_sha = push->after.substr(0, 7);
    if (push->head_commit) {
      commit.summary = push->head_commit->summary();
      commit.author = push->head_commit->author;
    }
  } else {
    auto repo = open_repo(false);
    auto resolved =
        repo.ok() ? repo->resolve(push->after) : Result<source::CommitInfo>(repo.error());
    if (!resolved.ok()) {
      return ignored(fmt::format(
          "commit {} is not in {} ({}); pull it there, or set source.repo to the remote's URL "
          "so that ztp fetches it",
          push->after.substr(0, 7), source::source_repo_path(m_ws.spec, m_ws.home).string(),
          resolved.error().message));
    }
    commit = std::move(*resolved);
  }
  auto queued = enqueue(commit, store::Trigger::webhook, "webhook", true);
  if (!queued.ok()) {
    return Handled{error_response(500, queued.error().message), "failed: " + queued.error().message,
                   std::nullopt};
  }
  if (!queued->run_id) {
    return ignored(queued->reason);
  }
  int64_t id = *queued->run_id;
  return Handled{json_response(202, {{"status", "queued"},
                                     {"run", id},
                                     {"commit", commit.sha},
                                     {"reason", decision.reason},
                                     {"message", queued->reason}}),
                 fmt::format("run {}", id), id};
}

Response Controller::handle_github_webhook(const Request& req) {
  if (m_secret.empty()) {
    return error_response(403, k_no_secret);
  }
  auto signed_ok = source::verify_signature(m_secret, req.body, req.header("x-hub-signature-256"));
  if (!signed_ok.ok()) {
    log::warn("controller: webhook refused",
              {{"error", signed_ok.error().message}, {"remote", req.remote}});
    return error_response(401, signed_ok.error().message);
  }
  std::string event = req.header("x-github-event");
  std::string delivery = req.header("x-github-delivery");
  if (event.empty()) {
    return error_response(400, "missing X-GitHub-Event header: GitHub names the event there");
  }
  if (delivery.empty()) {
    return error_response(400,
                          "missing X-GitHub-Delivery header: each delivery needs its id so that "
                          "a replay starts nothing");
  }
  auto fresh = m_ws.store->record_webhook_delivery(delivery, event);
  if (!fresh.ok()) {
    return error_response(500, fresh.error().message);
  }
  if (!*fresh) {
    return json_response(200, {{"status", "duplicate delivery"},
                               {"delivery", delivery},
                               {"message", fmt::format("delivery {} was received before; "
                                                       "nothing is done again",
                                                       delivery)}});
  }
  Handled handled;
  if (event == "ping") {
    auto ping = source::parse_ping_event(req.body);
    if (ping.ok()) {
      handled = Handled{
          json_response(200, {{"status", "pong"}, {"zen", ping->zen}, {"hook_id", ping->hook_id}}),
          "pong", std::nullopt};
    } else {
      handled = Handled{error_response(400, ping.error().message),
                        "rejected: " + ping.error().message, std::nullopt};
    }
  } else if (event == "push") {
    handled = handle_push(req.body, delivery);
  } else {
    std::string reason = fmt::format("event {} is not handled; only push starts runs", event);
    handled = Handled{json_response(202, {{"status", "ignored"}, {"reason", reason}}),
                      "ignored: " + reason, std::nullopt};
  }
  auto noted = m_ws.store->set_webhook_outcome(delivery, handled.outcome, handled.run_id);
  if (!noted.ok()) {
    log::warn("controller: webhook outcome not recorded", {{"error", noted.error().message}});
  }
  log::info("controller: webhook " + event,
            {{"delivery", delivery}, {"outcome", handled.outcome}, {"remote", req.remote}});
  return handled.response;
}

}  // namespace ztp::server
