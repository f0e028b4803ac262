#include "spec/mask.hpp"

#include <algorithm>

#include "util/text.hpp"

namespace ztp::spec {
namespace {

struct UrlParts {
  std::string_view scheme;
  std::string_view userinfo;  // without the '@'
  std::string_view path;      // from the '/' after the authority, without the query
  std::string_view query;     // after the '?'
};

UrlParts split_url(std::string_view url) {
  UrlParts out;
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return out;
  }
  out.scheme = url.substr(0, scheme);
  std::string_view rest = url.substr(scheme + 3);
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = authority.substr(0, at);
  }
  if (authority_end == std::string_view::npos) {
    return out;
  }
  rest = rest.substr(authority_end);
  size_t query = rest.find('?');
  out.path = rest.substr(0, query);
  if (query != std::string_view::npos) {
    out.query = rest.substr(query + 1);
    out.query = out.query.substr(0, out.query.find('#'));
  }
  return out;
}

void add_url(std::vector<std::string>& out, std::string_view url) {
  UrlParts parts = split_url(url);
  if (parts.userinfo.empty()) {
    return;
  }
  if (size_t colon = parts.userinfo.find(':'); colon != std::string_view::npos) {
    out.emplace_back(parts.userinfo.substr(colon + 1));
  } else if (text::iequals(parts.scheme, "https") || text::iequals(parts.scheme, "http")) {
    out.emplace_back(parts.userinfo);  // https://TOKEN@host/...: the user is the token
  }
}

}  // namespace

std::vector<std::string> credentials(const Spec& spec) {
  std::vector<std::string> out{spec.source.webhook_secret};
  add_url(out, spec.source.repo);
  add_url(out, spec.registry.url);
  for (const auto& n : spec.notify) {
    out.push_back(n.secret);
    out.push_back(n.routing_key);
    add_url(out, n.url);
    UrlParts parts = split_url(n.url);
    out.emplace_back(parts.query);
    if (n.kind == Notifier::Kind::slack && parts.path.size() > 1) {
      out.emplace_back(parts.path.substr(1));
    }
  }
  for (const auto& suite : spec.checks) {
    for (const auto& check : suite.checks) {
      add_url(out, check.path);
      for (const auto& [name, value] : check.headers) {
        if (text::iequals(name, "authorization") || text::iequals(name, "proxy-authorization") ||
            text::iequals(name, "cookie")) {
          out.push_back(value);
        }
      }
    }
  }
  std::erase_if(out, [](const std::string& s) { return s.empty() || s == k_masked; });
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string mask_credentials(const Spec& spec, std::string text) {
  for (const auto& secret : credentials(spec)) {
    for (size_t at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + k_masked.size())) {
      text.replace(at, secret.size(), k_masked);
    }
  }
  return text;
}

}  // namespace ztp::spec
