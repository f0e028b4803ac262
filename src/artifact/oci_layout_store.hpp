#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/descriptor.hpp"
#include "artifact/image.hpp"
#include "util/result.hpp"

namespace ztp::artifact {

// A blob written by put_blob, and whether this call added it (false: it was already there).
struct StoredBlob {
  Descriptor descriptor;
  bool created = false;
};

// One manifest entry of index.json: a tag (empty when untagged) and the manifest it names.
struct IndexEntry {
  std::string tag;
  Descriptor manifest;
};

// An OCI image layout directory (the image-layout spec): `oci-layout`, `index.json` and
// content-addressed `blobs/sha256/<hex>`. Tags are index.json entries annotated with
// org.opencontainers.image.ref.name, so skopeo reads them as `oci:<dir>:<tag>`.
// Blobs are written atomically and never rewritten; index.json changes under an flock on
// `.index.lock` and is replaced by an atomic rename, so several processes may share a layout.
class OciLayoutStore {
 public:
  // Opens the layout at `root`, creating it when absent. invalid when `root` holds an
  // oci-layout of another version or an unreadable index.json.
  static Result<OciLayoutStore> open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return m_root; }
  // Where the blob of `digest` lives (whether or not it exists).
  std::filesystem::path blob_path(std::string_view digest) const;

  // Stores `bytes` under their sha256 digest; an existing blob is left untouched.
  Result<StoredBlob> put_blob(std::string_view bytes, std::string_view media_type);
  // Whether the blob is present (its content is not checked).
  bool has_blob(std::string_view digest) const;
  // The blob's bytes, verified against `digest`: not_found when absent, internal when the
  // content does not hash to `digest` (a corrupt store).
  Result<std::string> read_blob(std::string_view digest) const;

  // Stores an image manifest (its config and layers must already be in the store) and points
  // each of `tags` at it; with no tags it is still listed in index.json, untagged.
  Result<Descriptor> put_manifest(std::string_view manifest_json,
                                  const std::vector<std::string>& tags);
  // Stores an image index (the manifests it lists must already be in the store) and points each
  // of `tags` at it, as put_manifest does for an image manifest.
  Result<Descriptor> put_index(std::string_view index_json, const std::vector<std::string>& tags);
  // Points `tag` at `manifest`, moving it from the manifest it named before (which stays
  // listed, untagged). invalid for a malformed tag, not_found when the manifest is absent.
  Result<void> tag(const Descriptor& manifest, const std::string& tag);

  // The manifest that `ref` names: a tag, a full "sha256:<hex>" digest, or a unique prefix of
  // one ("sha256:1a2b" or "1a2b", 4 hex digits at least). A tag wins over a digest prefix.
  // not_found when nothing matches, invalid when a prefix is ambiguous.
  Result<Descriptor> resolve(std::string_view ref) const;

  // Every manifest entry of index.json, in file order.
  Result<std::vector<IndexEntry>> entries() const;
  // The tags of index.json, sorted.
  Result<std::vector<std::string>> tags() const;

  // The manifest `manifest` describes, verified and parsed.
  Result<Manifest> read_manifest(const Descriptor& manifest) const;
  // The image config of `manifest`, verified and parsed.
  Result<ImageConfig> read_config(const Descriptor& manifest) const;

 private:
  explicit OciLayoutStore(std::filesystem::path root) : m_root(std::move(root)) {}
  // Lists `d` in index.json (untagged when `tags` is empty) and points `tags` at it.
  Result<Descriptor> list_and_tag(const Descriptor& d, const std::vector<std::string>& tags);
  std::filesystem::path m_root;
};

// Whether `tag` is a valid OCI tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool is_valid_tag(std::string_view tag);
// invalid, naming the first tag of `tags` that is not valid and the rule, when one is not.
Result<void> check_tags(const std::vector<std::string>& tags);

}  // namespace ztp::artifact
