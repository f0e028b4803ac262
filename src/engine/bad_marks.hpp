#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "util/result.hpp"

// Images marked bad in an environment: a rollback marks the image it leaves (deploy,
// `ztp rollback`); `ztp deploy` and the gate of a run refuse a marked image; `ztp unmark`
// clears a mark. See docs/gates.md.
namespace ztp::engine {

// The mark that makes `digest` bad in `env`: the environment's own, else one for every
// environment; nullopt when the image is not marked there.
Result<std::optional<store::BadDigest>> bad_mark(store::SqliteStore& store,
                                                 const std::string& digest, const std::string& env);

// What unmark_image found and did.
struct Unmarked {
  std::string env;
  std::string digest;
  std::optional<store::BadDigest> removed;  // nullopt: the image was not marked in `env`
  bool still_bad = false;                   // a mark for every environment still holds it in `env`
};

// Clears the bad mark of `image` in `env`, where `image` is what `ztp deploy --image` takes (a
// tag such as a full or short commit SHA, a digest or a unique prefix of one); an image no
// longer in the image store is found among the marks by its digest or a unique prefix. A
// removed mark is audited (`unmark`, `env ENV`, the image and the mark's reason, by `actor`)
// and recorded as an `image.unmarked` event. invalid for an unknown environment or an
// ambiguous prefix; not_found when `image` names no image and no mark.
Result<Unmarked> unmark_image(const spec::Spec& spec, const std::filesystem::path& home,
                              store::SqliteStore& store, const std::string& env,
                              const std::string& image, const std::string& actor);

}  // namespace ztp::engine
