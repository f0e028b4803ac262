#include "server/assets.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace ztp::server {
namespace {

std::string header_of(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

Request get(std::string path, std::map<std::string, std::string> headers = {}) {
  Request r;
  r.method = "GET";
  r.target = path;
  r.path = std::move(path);
  r.headers = std::move(headers);
  return r;
}

TEST(DashboardAsset, RootIsThePageWithItsHeaders) {
  auto r = dashboard_asset("/");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
  EXPECT_NE(r->body.find("data-testid=\"live-run\""), std::string::npos);
  EXPECT_EQ(dashboard_asset("/index.html")->body, r->body);
  EXPECT_EQ(header_of(*r, "Cache-Control"), "no-cache");
  EXPECT_EQ(header_of(*r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header_of(*r, "X-Frame-Options"), "DENY");
  EXPECT_EQ(header_of(*r, "Referrer-Policy"), "no-referrer");
}

TEST(DashboardAsset, ContentSecurityPolicyAllowsOnlyThisOrigin) {
  auto csp = header_of(*dashboard_asset("/"), "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("http"), std::string::npos) << csp;
}

TEST(DashboardAsset, ThePageHasNothingInlineThatThePolicyWouldBlock) {
  auto html = dashboard_asset("/")->body;
  // Every script has a src; no style attribute or block; no inline event handler.
  std::regex script(R"(<script\b[^>]*>)");
  int scripts = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script);
       it != std::sregex_iterator(); ++it) {
    EXPECT_NE(it->str().find("src=\"/assets/"), std::string::npos) << it->str();
    ++scripts;
  }
  EXPECT_EQ(scripts, 1);
  EXPECT_EQ(html.find(" style="), std::string::npos);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+=)"))) << "inline event handler";
  EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)="(https?:)?//)")))
      << "the page must load nothing from another origin";
}

TEST(DashboardAsset, EveryFileThePageLinksIsServedWithItsType) {
  auto html = dashboard_asset("/")->body;
  std::regex link(R"((src|href)="(/assets/[^"]+)\")");
  std::set<std::string> linked;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), link); it != std::sregex_iterator();
       ++it) {
    linked.insert((*it)[2]);
  }
  EXPECT_EQ(linked, (std::set<std::string>{"/assets/app.js", "/assets/style.css"}));
  auto js = dashboard_asset("/assets/app.js");
  ASSERT_TRUE(js.has_value());
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js->body.find("/api/v1"), std::string::npos);
  auto css = dashboard_asset("/assets/style.css");
  ASSERT_TRUE(css.has_value());
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  // The short form serves the same file.
  EXPECT_EQ(dashboard_asset("/app.js")->body, js->body);
}

TEST(DashboardAsset, EveryEmbeddedFileIsServedAsBuilt) {
  std::set<std::string> paths;
  for (const auto& file : embedded_dashboard()) {
    paths.insert(std::string(file.path));
    auto r = dashboard_asset("/assets/" + std::string(file.path));
    ASSERT_TRUE(r.has_value()) << file.path;
    EXPECT_EQ(r->body, file.content) << file.path;
    EXPECT_FALSE(file.content.empty()) << file.path;
  }
  EXPECT_TRUE(paths.contains("index.html"));
  EXPECT_TRUE(paths.contains("app.js"));
  EXPECT_TRUE(paths.contains("style.css"));
}

TEST(DashboardAsset, AnythingElseIsNotTheDashboards) {
  for (const char* path : {"/assets/", "/assets/nope.js", "/nope", "/api/v1/whoami", "/metrics",
                           "/assets/../index.html", "/dashboard/app.js", ""}) {
    EXPECT_FALSE(dashboard_asset(path).has_value()) << path;
  }
  auto post = get("/");
  post.method = "POST";
  EXPECT_FALSE(dashboard_asset(post).has_value());
}

TEST(DashboardAsset, ETagIsPerContentAndAMatchIsNotModified) {
  auto page = *dashboard_asset("/");
  auto js = *dashboard_asset("/assets/app.js");
  auto etag = header_of(page, "ETag");
  ASSERT_TRUE(std::regex_match(etag, std::regex(R"("[0-9a-f]{32}")"))) << etag;
  EXPECT_NE(etag, header_of(js, "ETag"));
  EXPECT_EQ(header_of(*dashboard_asset("/index.html"), "ETag"), etag);

  auto fresh = dashboard_asset(get("/", {{"if-none-match", etag}}));
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->status, 304);
  EXPECT_TRUE(fresh->body.empty());
  EXPECT_EQ(header_of(*fresh, "ETag"), etag);

  auto listed = dashboard_asset(get("/", {{"if-none-match", "\"x\", " + etag}}));
  EXPECT_EQ(listed->status, 304);

  auto stale = dashboard_asset(get("/", {{"if-none-match", header_of(js, "ETag")}}));
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->status, 200);
  EXPECT_EQ(stale->body, page.body);
}

}  // namespace
}  // namespace ztp::server
