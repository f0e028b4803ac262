#include "artifact/layer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

#include "artifact/digest.hpp"

namespace ztp::artifact {
namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
using WriteArchive = std::unique_ptr<archive, ArchiveFree>;

struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t append_cb(archive*, void* client, const void* buf, size_t len) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), len);
  return static_cast<la_ssize_t>(len);
}

Error archive_error(archive* a, std::string_view what) {
  const char* msg = archive_error_string(a);
  return make_error(Errc::internal,
                    fmt::format("{}: {}", what, msg != nullptr ? msg : "libarchive failed"));
}

unsigned normalized_mode(const FileEntry& e) {
  switch (e.kind) {
    case EntryKind::dir:
      return 0755;
    case EntryKind::symlink:
      return 0777;
    case EntryKind::file:
      return (e.mode & 0111) != 0 ? 0755 : 0644;
  }
  return 0644;
}

// Checks paths, drops duplicates' ambiguity, adds missing parents, sorts.
Result<std::vector<FileEntry>> prepare(std::vector<FileEntry> entries) {
  std::map<std::string, FileEntry> by_path;
  for (auto& e : entries) {
    auto path = normalize_entry_path(e.path);
    if (!path.ok()) {
      return path.take_error();
    }
    e.path = std::move(path.value());
    if (e.kind == EntryKind::symlink && link_escapes(e.path, e.link_target)) {
      return make_error(Errc::invalid,
                        fmt::format("entry \"{}\": the symlink target \"{}\" is outside the image "
                                    "tree",
                                    e.path, e.link_target));
    }
    std::string key = e.path;
    auto [it, inserted] = by_path.emplace(key, std::move(e));
    if (!inserted) {
      return make_error(Errc::invalid, fmt::format("entry \"{}\" appears twice", key));
    }
  }
  std::vector<FileEntry> parents;
  for (const auto& [path, e] : by_path) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      std::string parent = path.substr(0, slash);
      auto it = by_path.find(parent);
      if (it != by_path.end()) {
        if (it->second.kind != EntryKind::dir) {
          return make_error(
              Errc::invalid,
              fmt::format("entry \"{}\": its parent \"{}\" is not a directory", path, parent));
        }
        continue;
      }
      FileEntry dir;
      dir.path = parent;
      dir.kind = EntryKind::dir;
      dir.mode = 0755;
      parents.push_back(std::move(dir));
    }
  }
  for (auto& p : parents) {
    by_path.emplace(p.path, std::move(p));
  }
  std::vector<FileEntry> out;
  out.reserve(by_path.size());
  for (auto& [path, e] : by_path) {
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::string> write_tar(const std::vector<FileEntry>& entries, std::int64_t mtime) {
  std::string tar;
  WriteArchive a(archive_write_new());
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_add_filter_none(a.get()) != ARCHIVE_OK ||
      archive_write_open(a.get(), &tar, nullptr, append_cb, nullptr) != ARCHIVE_OK) {
    return archive_error(a.get(), "cannot start the layer tar");
  }
  std::unique_ptr<archive_entry, EntryFree> ae(archive_entry_new());
  for (const auto& e : entries) {
    archive_entry_clear(ae.get());
    archive_entry_set_pathname_utf8(ae.get(), e.path.c_str());
    archive_entry_set_uid(ae.get(), 0);
    archive_entry_set_gid(ae.get(), 0);
    archive_entry_set_mtime(ae.get(), static_cast<time_t>(mtime), 0);
    archive_entry_set_perm(ae.get(), normalized_mode(e));
    switch (e.kind) {
      case EntryKind::dir:
        archive_entry_set_filetype(ae.get(), AE_IFDIR);
        archive_entry_set_size(ae.get(), 0);
        break;
      case EntryKind::file:
        archive_entry_set_filetype(ae.get(), AE_IFREG);
        archive_entry_set_size(ae.get(), static_cast<la_int64_t>(e.content.size()));
        break;
      case EntryKind::symlink:
        archive_entry_set_filetype(ae.get(), AE_IFLNK);
        archive_entry_set_symlink_utf8(ae.get(), e.link_target.c_str());
        archive_entry_set_size(ae.get(), 0);
        break;
    }
    if (archive_write_header(a.get(), ae.get()) != ARCHIVE_OK) {
      return archive_error(a.get(), fmt::format("cannot add \"{}\" to the layer", e.path));
    }
    if (e.kind == EntryKind::file && !e.content.empty()) {
      auto n = archive_write_data(a.get(), e.content.data(), e.content.size());
      if (n < 0 || static_cast<size_t>(n) != e.content.size()) {
        return archive_error(a.get(), fmt::format("cannot write \"{}\" into the layer", e.path));
      }
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return archive_error(a.get(), "cannot finish the layer tar");
  }
  return tar;
}

}  // namespace

Descriptor Layer::descriptor() const {
  return Descriptor{k_media_layer_gzip, digest, static_cast<std::int64_t>(blob.size()), {}};
}

Result<std::string> gzip_deterministic(std::string_view data) {
  std::string out;
  WriteArchive a(archive_write_new());
  // The raw format passes the bytes through the filter unchanged; "!timestamp" leaves the gzip
  // header's mtime at 0 and libarchive writes no file name, so equal input gives equal output.
  if (archive_write_set_format_raw(a.get()) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_write_set_options(a.get(), "gzip:!timestamp") != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open(a.get(), &out, nullptr, append_cb, nullptr) != ARCHIVE_OK) {
    return archive_error(a.get(), "cannot start gzip compression");
  }
  std::unique_ptr<archive_entry, EntryFree> ae(archive_entry_new());
  archive_entry_set_pathname(ae.get(), "layer.tar");
  archive_entry_set_filetype(ae.get(), AE_IFREG);
  archive_entry_set_size(ae.get(), static_cast<la_int64_t>(data.size()));
  if (archive_write_header(a.get(), ae.get()) != ARCHIVE_OK) {
    return archive_error(a.get(), "cannot start gzip compression");
  }
  size_t off = 0;
  while (off < data.size()) {
    size_t chunk = std::min<size_t>(data.size() - off, 1 << 20);
    auto n = archive_write_data(a.get(), data.data() + off, chunk);
    if (n <= 0) {
      return archive_error(a.get(), "gzip compression failed");
    }
    off += static_cast<size_t>(n);
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return archive_error(a.get(), "gzip compression failed");
  }
  return out;
}

Result<Layer> build_layer(std::vector<FileEntry> entries, std::int64_t mtime) {
  auto prepared = prepare(std::move(entries));
  if (!prepared.ok()) {
    return prepared.take_error();
  }
  auto tar = write_tar(prepared.value(), mtime);
  if (!tar.ok()) {
    return tar.take_error();
  }
  Layer layer;
  layer.diff_id = sha256_digest(tar.value());
  layer.entries = static_cast<std::int64_t>(prepared->size());
  auto gz = gzip_deterministic(tar.value());
  if (!gz.ok()) {
    return gz.take_error();
  }
  layer.blob = std::move(gz.value());
  layer.digest = sha256_digest(layer.blob);
  return layer;
}

}  // namespace ztp::artifact
