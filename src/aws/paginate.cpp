#include "aws/paginate.hpp"

#include <fmt/format.h>

#include <set>
#include <string>

namespace ztp::aws {
namespace {

using nlohmann::json;

// The pages of any paginated call: `next` turns an answer into its token ("" for none), `send`
// makes one call with a token ("" for the first).
template <typename Page>
Result<std::vector<Page>> collect(const std::function<Result<Page>(const std::string& token)>& send,
                                  const std::function<std::string(const Page&)>& next,
                                  std::string_view what, int max_pages) {
  std::vector<Page> pages;
  std::set<std::string> seen;
  std::string token;
  while (true) {
    if (static_cast<int>(pages.size()) >= max_pages) {
      return make_error(Errc::invalid,
                        fmt::format("{}: still more after {} pages; narrow the request (filters, "
                                    "a smaller scope) or raise the page cap",
                                    what, max_pages));
    }
    ZTP_ASSIGN_OR_RETURN(Page page, send(token));
    std::string following = next(page);
    pages.push_back(std::move(page));
    if (following.empty()) {
      return pages;
    }
    if (!seen.insert(following).second) {
      return make_error(Errc::internal,
                        fmt::format("{}: page {} answered a token that an earlier page already "
                                    "gave; stopping rather than asking for the same pages again",
                                    what, pages.size()));
    }
    token = std::move(following);
  }
}

}  // namespace

Result<std::vector<json>> paginate_json(const JsonPageCall& call, json input, std::string_view what,
                                        int max_pages) {
  if (input.is_null()) {
    input = json::object();
  }
  std::string name;  // "nextToken" or "NextToken", as the first answer spells it
  std::function<Result<json>(const std::string&)> send = [&](const std::string& token) {
    if (!token.empty()) {
      input[name] = token;
    }
    return call(input);
  };
  std::function<std::string(const json&)> next = [&](const json& page) -> std::string {
    for (const char* candidate : {"nextToken", "NextToken"}) {
      auto it = page.find(candidate);
      if (it != page.end() && it->is_string()) {
        name = candidate;
        return it->get<std::string>();
      }
    }
    return {};
  };
  return collect<json>(send, next, what, max_pages);
}

Result<std::vector<XmlNode>> paginate_query(const QueryPageCall& call, json params,
                                            std::string_view what, int max_pages) {
  if (params.is_null()) {
    params = json::object();
  }
  std::function<Result<XmlNode>(const std::string&)> send = [&](const std::string& token) {
    if (!token.empty()) {
      params["Marker"] = token;
    }
    return call(params);
  };
  std::function<std::string(const XmlNode&)> next = [](const XmlNode& page) {
    return page.text("NextMarker");
  };
  return collect<XmlNode>(send, next, what, max_pages);
}

}  // namespace ztp::aws
