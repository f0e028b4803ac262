#include "source/trigger.hpp"

#include <gtest/gtest.h>

namespace ztp::source {
namespace {

struct Case {
  std::vector<std::string> changed;
  std::vector<std::string> globs;
  bool triggers;
  std::vector<std::string> matched;
  std::string reason;
};

TEST(TriggerTest, DecidesOnChangedPathsAgainstTheGlobs) {
  const std::vector<Case> cases = {
      {{"application/index.html", "application/css/site.css", "README.md"},
       {"application/**"},
       true,
       {"application/index.html", "application/css/site.css"},
       "2 changed paths match application/**"},
      {{"README.md"},
       {"application/**"},
       false,
       {},
       "no changed path matches application/** (changed: README.md)"},
      // `application/**` matches the folder itself too, and nothing that only starts alike.
      {{"application"},
       {"application/**"},
       true,
       {"application"},
       "1 changed path matches application/**"},
      {{"applications/x", "app/x"},
       {"application/**"},
       false,
       {},
       "no changed path matches application/** (changed: applications/x, app/x)"},
      // Several globs: only those that matched are named.
      {{"src/index.html", "nginx.conf", "docs/guide.md"},
       {"src/**", "conf/**", "nginx*.conf", "Dockerfile"},
       true,
       {"src/index.html", "nginx.conf"},
       "2 changed paths match src/**, nginx*.conf"},
      // `*` stays within a name; `**/*.md` reaches the top too.
      {{"docs/a/b.md"},
       {"docs/*.md"},
       false,
       {},
       "no changed path matches docs/*.md (changed: docs/a/b.md)"},
      {{"README.md", "docs/a/b.md", "x.txt"},
       {"**/*.md"},
       true,
       {"README.md", "docs/a/b.md"},
       "2 changed paths match **/*.md"},
      // No globs: every change triggers, a commit that changes nothing as well.
      {{"README.md", "x"},
       {},
       true,
       {"README.md", "x"},
       "2 changed paths (source.paths is empty: every change triggers)"},
      {{}, {}, true, {}, "every commit triggers (source.paths is empty), this one changes no path"},
      {{}, {"src/**"}, false, {}, "no changed path matches src/** (the commit changes no path)"},
      // An invalid glob matches nothing.
      {{"[abc"}, {"[abc"}, false, {}, "no changed path matches [abc (changed: [abc)"},
      // A long list of changed paths is cut short.
      {{"a", "b", "c", "d", "e", "f", "g"},
       {"src/**"},
       false,
       {},
       "no changed path matches src/** (changed: a, b, c, d, e and 2 more)"},
  };
  for (const auto& c : cases) {
    auto d = decide_trigger(c.changed, c.globs);
    EXPECT_EQ(d.triggers, c.triggers) << c.reason;
    EXPECT_EQ(d.matched, c.matched) << c.reason;
    EXPECT_EQ(d.reason, c.reason);
  }
}

}  // namespace
}  // namespace ztp::source
