#include "engine/bad_marks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "artifact/digest.hpp"
#include "engine/deploy.hpp"

namespace ztp::engine {
namespace {

bool holds_in(const store::BadDigest& mark, const std::string& env) {
  return !mark.env || *mark.env == env;
}

// The marked digest `ref` names in `env`: the full digest, or a unique prefix of its hex (4
// digits at least, with or without `sha256:`). For images gone from the image store.
Result<std::optional<std::string>> marked_digest(store::SqliteStore& store, const std::string& env,
                                                 const std::string& ref) {
  auto marks = store.list_bad_digests();
  if (!marks.ok()) {
    return marks.take_error();
  }
  std::string hex(artifact::digest_hex(ref));
  bool prefix = hex.size() >= 4 && std::all_of(hex.begin(), hex.end(), [](char c) {
                  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                });
  std::set<std::string> found;
  for (const auto& m : *marks) {
    if (holds_in(m, env) &&
        (m.digest == ref || (prefix && m.digest.starts_with("sha256:" + hex)))) {
      found.insert(m.digest);
    }
  }
  if (found.size() > 1) {
    std::vector<std::string> names;
    for (const auto& d : found) {
      names.push_back(artifact::short_digest(d));
    }
    return make_error(Errc::invalid,
                      fmt::format("\"{}\" matches several images marked bad in {} ({}); give more "
                                  "digits",
                                  ref, env, fmt::join(names, ", ")));
  }
  if (found.empty()) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(*found.begin());
}

}  // namespace

Result<std::optional<store::BadDigest>> bad_mark(store::SqliteStore& store,
                                                 const std::string& digest,
                                                 const std::string& env) {
  auto marks = store.list_bad_digests();
  if (!marks.ok()) {
    return marks.take_error();
  }
  std::optional<store::BadDigest> found;
  for (auto& m : *marks) {
    if (m.digest == digest && holds_in(m, env) && (!found || m.env)) {
      found = std::move(m);
    }
  }
  return found;
}

Result<Unmarked> unmark_image(const spec::Spec& spec, const std::filesystem::path& home,
                              store::SqliteStore& store, const std::string& env,
                              const std::string& image, const std::string& actor) {
  ZTP_TRY(find_environment(spec, env));
  DeployRequest req;
  req.env = env;
  req.image = image;
  Unmarked out{env, "", std::nullopt, false};
  auto resolved = resolve_image(spec, home, req, {});
  if (resolved.ok()) {
    out.digest = resolved->first;
  } else if (resolved.error().code != Errc::not_found) {
    return resolved.take_error();
  } else {
    auto marked = marked_digest(store, env, image);
    if (!marked.ok()) {
      return marked.take_error();
    }
    if (!*marked) {
      return make_error(
          Errc::not_found,
          fmt::format("nothing to unmark: no image {} in the image store, and no image "
                      "marked bad in {} matches it (`ztp unmark {}` lists the marks)",
                      image, env, env));
    }
    out.digest = **marked;
  }
  ZTP_ASSIGN_OR_RETURN(auto mark, bad_mark(store, out.digest, env));
  if (mark && mark->env) {
    ZTP_TRY(store.clear_bad(out.digest, env));
    out.removed = mark;
    std::string message = fmt::format(
        "image {} is no longer marked bad in {} (unmarked by {}; it "
        "was marked: {})",
        out.digest, env, actor, out.removed->reason);
    ZTP_TRY(
        store.append_audit(actor, "unmark", "env " + env,
                           fmt::format("image {} (marked: {})", out.digest, out.removed->reason)));
    ZTP_TRY(store.append_event(
        {std::nullopt, env, "image.unmarked", message,
         nlohmann::json{{"digest", out.digest}, {"actor", actor}, {"reason", out.removed->reason}}
             .dump()}));
  }
  ZTP_ASSIGN_OR_RETURN(auto still, bad_mark(store, out.digest, env));
  out.still_bad = still.has_value();
  return out;
}

}  // namespace ztp::engine
