#include "notify/payloads.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "notify/notice.hpp"
#include "notify_test_util.hpp"
#include "support/github_signature_example.hpp"
#include "sys/crypto.hpp"

namespace ztp::notify {
namespace {

Notice failed_notice() {
  Notice n;
  n.kind = NoticeKind::run_failed;
  n.app = "shop";
  n.env = "prod";
  n.run_id = 12;
  n.commit_sha = "abc1234def5678";
  n.short_sha = "abc1234";
  n.message = "prod: verification failed";
  n.at = 1'800'000'000'000;
  n.event_id = 99;
  return n;
}

spec::Spec shop_spec() {
  spec::Spec sp;
  sp.app = "shop";
  for (const char* name : {"dev", "qa", "prod"}) {
    spec::Environment env;
    env.name = name;
    sp.environments.push_back(env);
  }
  return sp;
}

TEST(Payloads, HmacMatchesGithubsDocumentedVector) {
  namespace example = testing::github_signature_example;
  EXPECT_EQ(sys::hmac_sha256_hex(example::k_secret, example::k_payload), example::k_signature_hex);
}

TEST(Payloads, WebhookIsSignedOverTheExactBody) {
  auto n = failed_notice();
  auto hook = test::notifier(spec::Notifier::Kind::webhook);
  auto req = webhook_request(n, hook);
  std::string signature;
  std::string event;
  for (const auto& [name, value] : req.headers) {
    if (name == k_signature_header) {
      signature = value;
    }
    if (name == "X-Ztp-Event") {
      event = value;
    }
  }
  EXPECT_EQ(signature, "sha256=" + sys::hmac_sha256_hex("s3cret", req.body));
  EXPECT_EQ(event, "run_failed");
  auto body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["event"], "run_failed");
  EXPECT_EQ(body["env"], "prod");
  EXPECT_EQ(body["run_id"], 12);
  EXPECT_EQ(body["short_sha"], "abc1234");
  EXPECT_EQ(body["at"], "2027-01-15T08:00:00Z");

  hook.secret.clear();
  for (const auto& header : webhook_request(n, hook).headers) {
    EXPECT_NE(header.first, k_signature_header) << "no secret, no signature";
  }
}

TEST(Payloads, PagerDutyTriggerCarriesTheRequiredFields) {
  auto n = failed_notice();
  auto j = pagerduty_event(n, "0123456789abcdef0123456789abcdef", IncidentAction::trigger, n.env);
  EXPECT_EQ(j["event_action"], "trigger");
  EXPECT_EQ(j["dedup_key"], "ztp/shop/prod");
  EXPECT_EQ(j["routing_key"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(j["payload"]["severity"], "error");
  EXPECT_EQ(j["payload"]["source"], "shop/prod");
  EXPECT_NE(j["payload"]["summary"].get<std::string>().find("failed in prod"), std::string::npos);

  n.message = std::string(5000, 'x');
  auto long_one = pagerduty_event(n, "k", IncidentAction::trigger, n.env);
  EXPECT_EQ(long_one["payload"]["summary"].get<std::string>().size(), 1024u);
}

TEST(Payloads, PagerDutyResolveIsMinimal) {
  auto n = failed_notice();
  auto j = pagerduty_event(n, "key", IncidentAction::resolve, n.env);
  EXPECT_EQ(
      j, (nlohmann::json{
             {"routing_key", "key"}, {"dedup_key", "ztp/shop/prod"}, {"event_action", "resolve"}}));
}

TEST(Payloads, DedupKeyIsPerEnvironmentAndBounded) {
  EXPECT_EQ(dedup_key("shop", std::string("qa")), "ztp/shop/qa");
  EXPECT_EQ(dedup_key("shop", std::nullopt), "ztp/shop/pipeline");
  EXPECT_EQ(dedup_key(std::string(400, 'a'), std::string("qa")).size(), 255u);
}

TEST(Payloads, SlackMessageHasText) {
  auto j = slack_message(failed_notice());
  ASSERT_TRUE(j["text"].is_string());
  EXPECT_NE(j["text"].get<std::string>().find("shop run 12 (abc1234) failed in prod"),
            std::string::npos);
  EXPECT_EQ(j["blocks"][0]["type"], "section");
}

TEST(Notice, NamesRoundTrip) {
  for (auto kind : all_notice_kinds()) {
    EXPECT_EQ(parse_notice_kind(to_string(kind)), kind);
  }
  EXPECT_FALSE(parse_notice_kind("run.failed"));
}

TEST(Notice, MapsStoreEventsAndFindsWhereARunFailed) {
  store::test::TempStore s;
  auto sp = shop_spec();
  auto run = s->create_run({"shop", "abc1234def", "abc1234", store::Trigger::manual, ""});
  ASSERT_TRUE(run.ok());
  auto build = s->start_stage(run->id, "build");
  ASSERT_TRUE(s->finish_stage(build->id, store::StageStatus::succeeded).ok());
  auto dev = s->start_stage(run->id, "rollout", std::string("dev"));
  ASSERT_TRUE(s->finish_stage(dev->id, store::StageStatus::succeeded).ok());
  auto prod = s->start_stage(run->id, "rollout", std::string("prod"));
  ASSERT_TRUE(s->finish_stage(prod->id, store::StageStatus::failed, "boom").ok());

  auto failed = s->append_event({run->id, std::nullopt, "run.failed", "prod: boom", "{}"});
  auto n = notice_for(*s.store, sp, *failed);
  ASSERT_TRUE(n.ok() && n->has_value());
  EXPECT_EQ((*n)->kind, NoticeKind::run_failed);
  EXPECT_EQ((*n)->env, "prod");
  EXPECT_EQ((*n)->short_sha, "abc1234");

  auto ok = s->append_event({run->id, std::nullopt, "run.succeeded", "out", "{}"});
  auto done = notice_for(*s.store, sp, *ok);
  ASSERT_TRUE(done.ok() && done->has_value());
  EXPECT_EQ((*done)->environments, std::vector<std::string>{"dev"});

  auto waiting = s->append_event({run->id, std::string("prod"), "gate.waiting", "wait", "{}"});
  EXPECT_EQ((*notice_for(*s.store, sp, *waiting))->kind, NoticeKind::awaiting_approval);
  auto rolled = s->append_event({std::nullopt, std::string("qa"), "rollback.succeeded", "r", "{}"});
  EXPECT_EQ((*notice_for(*s.store, sp, *rolled))->kind, NoticeKind::rolled_back);
  auto drift = s->append_event({std::nullopt, std::string("qa"), "drift.found", "d", "{}"});
  EXPECT_EQ((*notice_for(*s.store, sp, *drift))->kind, NoticeKind::drift_found);
  auto other = s->append_event({run->id, std::string("qa"), "replica.healthy", "h", "{}"});
  EXPECT_FALSE(notice_for(*s.store, sp, *other)->has_value());
}

// `ztp rollback dev` by alice: an operator's action, named as such, with no commit to show.
TEST(Notice, AManualRollbackNamesWhoAndWhyAndHasNoCommit) {
  store::test::TempStore s;
  auto sp = shop_spec();
  auto rolled = s->append_event({std::nullopt, std::string("dev"), "rollback.succeeded",
                                 "dev runs revision 3 again (rollout)",
                                 R"({"revision": 3, "actor": "alice", "reason": ""})"});
  auto n = notice_for(*s.store, sp, *rolled);
  ASSERT_TRUE(n.ok() && n->has_value());
  const Notice& notice = **n;
  EXPECT_EQ(notice.kind, NoticeKind::rolled_back);
  EXPECT_TRUE(notice.manual);
  EXPECT_FALSE(notice.production);
  EXPECT_EQ(notice.actor, "alice");
  EXPECT_EQ(notice.reason, "manual rollback to revision 3");
  EXPECT_EQ(headline(notice),
            "shop rolled back in dev by alice (manual rollback to revision 3): dev runs revision "
            "3 again (rollout)");

  auto body = webhook_body(notice);
  EXPECT_FALSE(body.contains("commit")) << body.dump();
  EXPECT_FALSE(body.contains("short_sha")) << body.dump();
  EXPECT_EQ(body["actor"], "alice");
  EXPECT_EQ(body["manual"], true);
  auto page = pagerduty_event(notice, "k", IncidentAction::trigger, notice.env);
  EXPECT_EQ(page["payload"]["severity"], "info");
  EXPECT_FALSE(page["payload"]["custom_details"].contains("commit")) << page.dump();
  EXPECT_EQ(page["payload"]["custom_details"]["actor"], "alice");
  EXPECT_EQ(page["payload"]["custom_details"]["reason"], "manual rollback to revision 3");
  auto slack = slack_message(notice).dump();
  EXPECT_NE(slack.find("*by* alice"), std::string::npos) << slack;

  // In production, with the operator's own reason: a warning, not an error.
  auto prod = s->append_event({std::nullopt, std::string("prod"), "rollback.succeeded", "back",
                               R"({"revision": 7, "actor": "deploy-bot", "reason": "bad copy"})"});
  auto p = **notice_for(*s.store, sp, *prod);
  EXPECT_TRUE(p.production);
  EXPECT_EQ(p.reason, "bad copy");
  EXPECT_EQ(pagerduty_event(p, "k", IncidentAction::trigger, p.env)["payload"]["severity"],
            "warning");
}

TEST(Notice, AnAutomaticRollbackStaysAnErrorAndARunKeepsItsCommit) {
  store::test::TempStore s;
  auto sp = shop_spec();
  auto run = s->create_run({"shop", "abc1234def", "abc1234", store::Trigger::manual, ""});
  ASSERT_TRUE(run.ok());
  auto rolled =
      s->append_event({run->id, std::string("prod"), "rollout.rolled_back", "verify failed", "{}"});
  auto n = **notice_for(*s.store, sp, *rolled);
  EXPECT_FALSE(n.manual);
  EXPECT_TRUE(n.actor.empty());
  EXPECT_EQ(pagerduty_event(n, "k", IncidentAction::trigger, n.env)["payload"]["severity"],
            "error");
  auto body = webhook_body(n);
  EXPECT_EQ(body["commit"], "abc1234def");
  EXPECT_EQ(body["manual"], false);
  EXPECT_FALSE(body.contains("actor"));
}

// A rollback event written without the actor in its data: the audit log says who.
TEST(Notice, AManualRollbackFindsItsActorInTheAuditLog) {
  store::test::TempStore s;
  auto sp = shop_spec();
  ASSERT_TRUE(s->append_audit("bob", "rollback", "env qa", "from revision 4 to revision 3").ok());
  auto rolled = s->append_event({std::nullopt, std::string("qa"), "rollback.succeeded", "r", "{}"});
  auto n = **notice_for(*s.store, sp, *rolled);
  EXPECT_EQ(n.actor, "bob");
  EXPECT_EQ(n.reason, "manual rollback");
}

}  // namespace
}  // namespace ztp::notify
