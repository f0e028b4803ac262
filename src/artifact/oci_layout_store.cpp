#include "artifact/oci_layout_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <set>

#include "artifact/digest.hpp"
#include "sys/file_lock.hpp"
#include "util/fs.hpp"

namespace ztp::artifact {
namespace {

using nlohmann::json;

constexpr const char* k_layout_version = "1.0.0";

json empty_index() {
  return json{{"schemaVersion", 2}, {"mediaType", k_media_index}, {"manifests", json::array()}};
}

// index.json parsed; an absent file is an empty index.
Result<json> load_index(const std::filesystem::path& root) {
  auto path = root / "index.json";
  auto text = fs::read_file(path);
  if (!text.ok()) {
    if (text.error().code == Errc::not_found) {
      return empty_index();
    }
    return text.take_error();
  }
  json j = json::parse(text.value(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("manifests") ||
      !j["manifests"].is_array()) {
    return make_error(Errc::invalid,
                      fmt::format("{}: not an OCI image index (no \"manifests\" array); repair or "
                                  "remove the file",
                                  path.string()));
  }
  return j;
}

// Read-modify-write of index.json under the layout lock. `change` edits the manifests array.
Result<void> update_index(const std::filesystem::path& root,
                          const std::function<Result<void>(json&)>& change) {
  ZTP_ASSIGN_OR_RETURN(auto lock, sys::FileLock::acquire(root / ".index.lock"));
  ZTP_ASSIGN_OR_RETURN(auto index, load_index(root));
  json before = index;
  ZTP_TRY(change(index["manifests"]));
  std::error_code ec;
  if (index == before && std::filesystem::exists(root / "index.json", ec)) {
    return {};
  }
  return fs::atomic_write(root / "index.json", index.dump(2) + "\n");
}

std::string entry_tag(const json& entry) {
  auto an = entry.find("annotations");
  if (an == entry.end() || !an->is_object()) {
    return {};
  }
  auto name = an->find(k_annotation_ref_name);
  return name != an->end() && name->is_string() ? name->get<std::string>() : std::string();
}

json untagged_entry(const Descriptor& d) {
  return json{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
}

// The digest an index entry names; "" for an entry that is not an object or has no string
// digest (index.json is read as found, so it may hold anything).
std::string entry_digest(const json& entry) {
  auto digest = entry.find("digest");
  return digest != entry.end() && digest->is_string() ? digest->get<std::string>() : std::string();
}

bool listed(const json& manifests, const std::string& digest) {
  return std::any_of(manifests.begin(), manifests.end(),
                     [&](const json& e) { return entry_digest(e) == digest; });
}

void ensure_listed(json& manifests, const Descriptor& d) {
  if (!listed(manifests, d.digest)) {
    manifests.push_back(untagged_entry(d));
  }
}

void apply_tag(json& manifests, const Descriptor& d, const std::string& tag) {
  std::vector<json> moved_from;
  json kept = json::array();
  for (auto& e : manifests) {
    std::string t = entry_tag(e);
    if (t == tag) {
      if (entry_digest(e) != d.digest) {
        moved_from.push_back(e);
      }
      continue;
    }
    if (t.empty() && entry_digest(e) == d.digest) {
      continue;  // the untagged entry gives way to the tagged one
    }
    kept.push_back(std::move(e));
  }
  json entry = untagged_entry(d);
  entry["annotations"] = json{{k_annotation_ref_name, tag}};
  kept.push_back(entry);
  // A manifest that loses its last tag stays listed, so it remains reachable by digest.
  for (auto& old : moved_from) {
    if (!listed(kept, entry_digest(old))) {
      old.erase("annotations");
      kept.push_back(old);
    }
  }
  manifests = std::move(kept);
}

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) {
    return false;
  }
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag.front())) {
    return false;
  }
  return std::all_of(tag.begin(), tag.end(),
                     [&](char c) { return word(c) || c == '.' || c == '-'; });
}

Result<void> check_tags(const std::vector<std::string>& tags) {
  for (const auto& t : tags) {
    if (!is_valid_tag(t)) {
      return make_error(
          Errc::invalid,
          fmt::format("\"{}\" is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})", t));
    }
  }
  return {};
}

Result<OciLayoutStore> OciLayoutStore::open(const std::filesystem::path& root) {
  ZTP_TRY(fs::ensure_dir(root / "blobs" / "sha256"));
  auto layout_path = root / "oci-layout";
  auto layout = fs::read_file(layout_path);
  if (layout.ok()) {
    json j = json::parse(layout.value(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("imageLayoutVersion") ||
        j["imageLayoutVersion"] != k_layout_version) {
      return make_error(Errc::invalid,
                        fmt::format("{}: not an OCI image layout of version {}; point the store "
                                    "at another directory",
                                    layout_path.string(), k_layout_version));
    }
  } else if (layout.error().code == Errc::not_found) {
    ZTP_TRY(fs::atomic_write(layout_path,
                             json{{"imageLayoutVersion", k_layout_version}}.dump() + "\n"));
  } else {
    return layout.take_error();
  }
  // Creates index.json when absent and checks that an existing one parses.
  ZTP_TRY(update_index(root, [](json&) -> Result<void> { return {}; }));
  return OciLayoutStore(root);
}

std::filesystem::path OciLayoutStore::blob_path(std::string_view digest) const {
  return m_root / "blobs" / "sha256" / std::string(digest_hex(digest));
}

Result<StoredBlob> OciLayoutStore::put_blob(std::string_view bytes, std::string_view media_type) {
  StoredBlob out;
  out.descriptor = Descriptor{
      std::string(media_type), sha256_digest(bytes), static_cast<std::int64_t>(bytes.size()), {}};
  auto path = blob_path(out.descriptor.digest);
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size == bytes.size()) {
    return out;
  }
  // Absent, or a truncated leftover of a crash before this store wrote atomically: (re)write.
  ZTP_TRY(fs::atomic_write(path, bytes, 0444));
  out.created = true;
  return out;
}

bool OciLayoutStore::has_blob(std::string_view digest) const {
  if (!is_sha256_digest(digest)) {
    return false;
  }
  std::error_code ec;
  return std::filesystem::is_regular_file(blob_path(digest), ec);
}

Result<std::string> OciLayoutStore::read_blob(std::string_view digest) const {
  if (!is_sha256_digest(digest)) {
    return make_error(Errc::invalid,
                      fmt::format("\"{}\" is not a sha256 digest (sha256:<64 hex>)", digest));
  }
  auto path = blob_path(digest);
  auto bytes = fs::read_file(path);
  if (!bytes.ok()) {
    if (bytes.error().code == Errc::not_found) {
      return make_error(Errc::not_found, fmt::format("blob {} is not in the image store {}", digest,
                                                     m_root.string()));
    }
    return bytes.take_error();
  }
  auto actual = sha256_digest(bytes.value());
  if (actual != digest) {
    return make_error(Errc::internal,
                      fmt::format("{}: the blob is corrupt (its content hashes to {}); delete it "
                                  "and build or pull the image again",
                                  path.string(), actual));
  }
  return bytes;
}

Result<Descriptor> OciLayoutStore::put_manifest(std::string_view manifest_json,
                                                const std::vector<std::string>& tags) {
  ZTP_TRY(check_tags(tags));
  auto manifest = parse_manifest(manifest_json, "manifest");
  if (!manifest.ok()) {
    return manifest.take_error();
  }
  std::vector<const Descriptor*> needed{&manifest->config};
  for (const auto& l : manifest->layers) {
    needed.push_back(&l);
  }
  for (const auto* d : needed) {
    if (!has_blob(d->digest)) {
      return make_error(Errc::not_found,
                        fmt::format("the manifest refers to blob {} ({}) which is not in the image "
                                    "store {}; store the blobs first",
                                    d->digest, d->media_type, m_root.string()));
    }
  }
  ZTP_ASSIGN_OR_RETURN(auto stored, put_blob(manifest_json, manifest->media_type));
  return list_and_tag(stored.descriptor, tags);
}

Result<Descriptor> OciLayoutStore::put_index(std::string_view index_json,
                                             const std::vector<std::string>& tags) {
  ZTP_TRY(check_tags(tags));
  json index = json::parse(index_json, nullptr, false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return make_error(Errc::invalid, "the image index has no manifests list");
  }
  for (size_t i = 0; i < index["manifests"].size(); ++i) {
    ZTP_ASSIGN_OR_RETURN(auto d, descriptor_from_json(index["manifests"][i],
                                                      fmt::format("image index manifest {}", i)));
    if (!has_blob(d.digest)) {
      return make_error(Errc::not_found,
                        fmt::format("the image index lists manifest {} which is not in the image "
                                    "store {}; store it first",
                                    d.digest, m_root.string()));
    }
  }
  ZTP_ASSIGN_OR_RETURN(auto stored, put_blob(index_json, k_media_index));
  return list_and_tag(stored.descriptor, tags);
}

Result<Descriptor> OciLayoutStore::list_and_tag(const Descriptor& d,
                                                const std::vector<std::string>& tags) {
  ZTP_TRY(update_index(m_root, [&](json& manifests) -> Result<void> {
    if (tags.empty()) {
      ensure_listed(manifests, d);
    }
    for (const auto& t : tags) {
      apply_tag(manifests, d, t);
    }
    return {};
  }));
  return d;
}

Result<void> OciLayoutStore::tag(const Descriptor& manifest, const std::string& tag) {
  if (!is_valid_tag(tag)) {
    return make_error(
        Errc::invalid,
        fmt::format("\"{}\" is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})", tag));
  }
  if (!has_blob(manifest.digest)) {
    return make_error(Errc::not_found, fmt::format("manifest {} is not in the image store {}",
                                                   manifest.digest, m_root.string()));
  }
  Descriptor d{manifest.media_type, manifest.digest, manifest.size, {}};
  return update_index(m_root, [&](json& manifests) -> Result<void> {
    apply_tag(manifests, d, tag);
    return {};
  });
}

Result<std::vector<IndexEntry>> OciLayoutStore::entries() const {
  ZTP_ASSIGN_OR_RETURN(auto index, load_index(m_root));
  std::vector<IndexEntry> out;
  const auto& manifests = index["manifests"];
  for (size_t i = 0; i < manifests.size(); ++i) {
    ZTP_ASSIGN_OR_RETURN(
        auto d,
        descriptor_from_json(manifests[i],
                             fmt::format("{} manifests[{}]", (m_root / "index.json").string(), i)));
    IndexEntry e;
    e.tag = entry_tag(manifests[i]);
    e.manifest = std::move(d);
    e.manifest.annotations.erase(k_annotation_ref_name);
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<std::string>> OciLayoutStore::tags() const {
  auto all = entries();
  if (!all.ok()) {
    return all.take_error();
  }
  std::vector<std::string> out;
  for (const auto& e : all.value()) {
    if (!e.tag.empty()) {
      out.push_back(e.tag);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<Descriptor> OciLayoutStore::resolve(std::string_view ref) const {
  if (ref.empty()) {
    return make_error(Errc::invalid, "an empty image reference: give a tag or a digest");
  }
  auto all = entries();
  if (!all.ok()) {
    return all.take_error();
  }
  auto plain = [](const Descriptor& d) { return Descriptor{d.media_type, d.digest, d.size, {}}; };
  for (const auto& e : all.value()) {
    if (e.tag == ref) {
      return plain(e.manifest);
    }
  }
  std::string_view hex = ref;
  if (ref.substr(0, 7) == "sha256:") {
    hex = ref.substr(7);
  }
  if (is_hex(hex) && hex.size() >= 4) {
    std::vector<Descriptor> found;
    std::set<std::string> seen;
    for (const auto& e : all.value()) {
      if (digest_hex(e.manifest.digest).substr(0, hex.size()) == hex &&
          seen.insert(e.manifest.digest).second) {
        found.push_back(plain(e.manifest));
      }
    }
    if (found.size() == 1) {
      return found.front();
    }
    if (found.size() > 1) {
      std::string names;
      for (const auto& d : found) {
        names += (names.empty() ? "" : ", ") + short_digest(d.digest);
      }
      return make_error(
          Errc::invalid,
          fmt::format("\"{}\" matches several images ({}); give more digits", ref, names));
    }
    // A full digest whose manifest is stored but not listed (written by another tool).
    std::string digest = "sha256:" + std::string(hex);
    if (is_sha256_digest(digest) && has_blob(digest)) {
      ZTP_ASSIGN_OR_RETURN(auto bytes, read_blob(digest));
      ZTP_ASSIGN_OR_RETURN(auto manifest, parse_manifest(bytes, digest));
      return Descriptor{manifest.media_type, digest, static_cast<std::int64_t>(bytes.size()), {}};
    }
  }
  auto known = tags();
  std::string hint;
  if (known.ok() && !known->empty()) {
    size_t shown = std::min<size_t>(known->size(), 5);
    for (size_t i = 0; i < shown; ++i) {
      hint += (i == 0 ? "" : ", ") + (*known)[i];
    }
    if (known->size() > shown) {
      hint += ", ...";
    }
    hint = fmt::format(" (tags there: {})", hint);
  }
  return make_error(Errc::not_found,
                    fmt::format("no image \"{}\" in the image store {}{}; build it first or give "
                                "another tag or digest",
                                ref, m_root.string(), hint));
}

Result<Manifest> OciLayoutStore::read_manifest(const Descriptor& manifest) const {
  ZTP_ASSIGN_OR_RETURN(auto bytes, read_blob(manifest.digest));
  return parse_manifest(bytes, fmt::format("manifest {}", manifest.digest));
}

Result<ImageConfig> OciLayoutStore::read_config(const Descriptor& manifest) const {
  ZTP_ASSIGN_OR_RETURN(auto m, read_manifest(manifest));
  ZTP_ASSIGN_OR_RETURN(auto bytes, read_blob(m.config.digest));
  return parse_config(bytes, fmt::format("config {}", m.config.digest));
}

}  // namespace ztp::artifact
