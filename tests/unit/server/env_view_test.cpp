#include "server/env_view.hpp"

#include <gtest/gtest.h>

namespace ztp::server {
namespace {

using target::Replica;

Replica replica(const std::string& id, const std::string& release, Replica::State state) {
  Replica r;
  r.id = id;
  r.release = release;
  r.address = "127.0.0.1:20000";
  r.state = state;
  return r;
}

target::ReleaseSet set(const std::string& release, int weight, std::vector<Replica> replicas) {
  target::ReleaseSet s;
  s.release = release;
  s.weight = weight;
  s.replicas = std::move(replicas);
  return s;
}

// prod runs revision 1 and a canary of revision 2 takes a share of traffic.
struct CanaryView {
  spec::Environment env;
  EnvView view;

  explicit CanaryView(Replica::State canary_second) {
    env.name = "prod";
    env.listen = "127.0.0.1:8083";
    env.replicas = 3;
    store::Release active;
    active.env = "prod";
    active.revision = 1;
    view.env = &env;
    view.release = active;
    target::Observed observed;
    observed.env = "prod";
    observed.sets = {
        set("1", 75,
            {replica("prod-r1-0", "1", Replica::State::healthy),
             replica("prod-r1-1", "1", Replica::State::healthy),
             replica("prod-r1-2", "1", Replica::State::healthy)}),
        set("2", 25,
            {replica("prod-r2-0", "2", Replica::State::healthy),
             replica("prod-r2-1", "2", canary_second)}),
    };
    view.observed = observed;
  }
};

TEST(EnvView, AStartingReplicaOfTheCanaryIsProgressNotIllHealth) {
  CanaryView c(Replica::State::starting);
  auto j = to_json(c.view);
  EXPECT_EQ(j["healthy"], true) << j.dump();
  EXPECT_EQ(j["progressing"], true) << j.dump();
  EXPECT_EQ(j["weights"], (nlohmann::json{{"1", 75}, {"2", 25}}));
}

TEST(EnvView, AnUnhealthyOrCrashedReplicaWithTrafficIsIllHealth) {
  for (auto state : {Replica::State::unhealthy, Replica::State::crashed}) {
    CanaryView c(state);
    auto j = to_json(c.view);
    EXPECT_EQ(j["healthy"], false) << j.dump();
    EXPECT_EQ(j["progressing"], false) << j.dump();
  }
  CanaryView done(Replica::State::healthy);
  EXPECT_EQ(to_json(done.view)["healthy"], true);
  EXPECT_EQ(to_json(done.view)["progressing"], false);
}

TEST(EnvView, AStartingReplicaOfTheActiveReleaseIsIllHealth) {
  CanaryView c(Replica::State::healthy);
  c.view.observed->sets[0].replicas[1].state = Replica::State::starting;  // a restart
  auto j = to_json(c.view);
  EXPECT_EQ(j["healthy"], false) << j.dump();
  EXPECT_EQ(j["progressing"], false) << j.dump();
}

}  // namespace
}  // namespace ztp::server
