#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "artifact/builder.hpp"
#include "artifact/digest.hpp"
#include "artifact/layer.hpp"
#include "artifact/oci_layout_store.hpp"

namespace ztp::artifact::test {

// Writes `content` to `path` (creating parents) with `mode`.
inline void write_file(const std::filesystem::path& path, const std::string& content,
                       unsigned mode = 0644) {
  std::filesystem::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  ::chmod(path.c_str(), mode);
}

// The bytes of a file entry, wherever the source keeps them.
inline std::string bytes_of(const FileEntry& e) {
  auto bytes = entry_bytes(e);
  EXPECT_TRUE(bytes.ok()) << e.path << ": " << bytes.error().message;
  return bytes.ok() ? std::move(bytes.value()) : std::string();
}

// One entry of a tar as read back.
struct TarEntry {
  std::string path;
  unsigned type = 0;  // AE_IFREG, AE_IFDIR, AE_IFLNK
  unsigned mode = 0;
  std::int64_t uid = -1;
  std::int64_t gid = -1;
  std::int64_t mtime = -1;
  std::string uname;
  std::string gname;
  std::string content;
  std::string symlink;
  std::string hardlink;
  bool has_atime = false;
  bool has_ctime = false;
};

// Reads every entry of a (possibly compressed) tar.
inline std::vector<TarEntry> read_tar(const std::string& blob) {
  std::vector<TarEntry> out;
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_all(a);
  if (archive_read_open_memory(a, blob.data(), blob.size()) != ARCHIVE_OK) {
    archive_read_free(a);
    return out;
  }
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry t;
    t.path = archive_entry_pathname(e);
    t.type = archive_entry_filetype(e);
    t.mode = archive_entry_perm(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    t.mtime = archive_entry_mtime(e);
    t.uname = archive_entry_uname(e) != nullptr ? archive_entry_uname(e) : "";
    t.gname = archive_entry_gname(e) != nullptr ? archive_entry_gname(e) : "";
    t.symlink = archive_entry_symlink(e) != nullptr ? archive_entry_symlink(e) : "";
    t.hardlink = archive_entry_hardlink(e) != nullptr ? archive_entry_hardlink(e) : "";
    t.has_atime = archive_entry_atime_is_set(e) != 0;
    t.has_ctime = archive_entry_ctime_is_set(e) != 0;
    char buf[8192];
    la_ssize_t n = 0;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
      t.content.append(buf, static_cast<size_t>(n));
    }
    out.push_back(std::move(t));
  }
  archive_read_free(a);
  return out;
}

// `size` bytes drawn from `alphabet` by a fixed generator: the same on every run, compressing
// somewhat but not trivially.
inline std::string patterned(size_t size, std::string_view alphabet = "abcdefgh") {
  std::string out(size, '\0');
  std::uint32_t x = 12345;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    out[i] = alphabet[(x >> 16) % alphabet.size()];
  }
  return out;
}

// Decompresses a gzip blob.
inline std::string gunzip(const std::string& blob) {
  std::string out;
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  archive_read_open_memory(a, blob.data(), blob.size());
  archive_entry* e = nullptr;
  if (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char buf[8192];
    la_ssize_t n = 0;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
  }
  archive_read_free(a);
  return out;
}

// An entry of a hand-made tar, which may break every rule our builder keeps.
struct RawEntry {
  std::string path;
  unsigned type = AE_IFREG;
  std::string content;
  std::string symlink;
  std::string hardlink;
  unsigned mode = 0644;
};

inline RawEntry raw_file(std::string path, std::string content) {
  RawEntry e;
  e.path = std::move(path);
  e.content = std::move(content);
  return e;
}
inline RawEntry raw_dir(std::string path) {
  RawEntry e;
  e.path = std::move(path);
  e.type = AE_IFDIR;
  e.mode = 0755;
  return e;
}
inline RawEntry raw_symlink(std::string path, std::string target) {
  RawEntry e;
  e.path = std::move(path);
  e.type = AE_IFLNK;
  e.symlink = std::move(target);
  e.mode = 0777;
  return e;
}
inline RawEntry raw_hardlink(std::string path, std::string target) {
  RawEntry e;
  e.path = std::move(path);
  e.hardlink = std::move(target);
  return e;
}

// A gzip'd tar holding exactly `entries`, in order.
inline std::string raw_layer(const std::vector<RawEntry>& entries) {
  std::string tar;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_none(a);
  archive_write_open(
      a, &tar, nullptr,
      [](archive*, void* client, const void* buf, size_t len) -> la_ssize_t {
        static_cast<std::string*>(client)->append(static_cast<const char*>(buf), len);
        return static_cast<la_ssize_t>(len);
      },
      nullptr);
  for (const auto& r : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, r.path.c_str());
    archive_entry_set_perm(e, r.mode);
    if (!r.hardlink.empty()) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, r.hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, r.type);
      if (r.type == AE_IFLNK) {
        archive_entry_set_symlink(e, r.symlink.c_str());
      }
      archive_entry_set_size(e, static_cast<la_int64_t>(r.content.size()));
    }
    archive_write_header(a, e);
    if (!r.content.empty() && r.hardlink.empty()) {
      archive_write_data(a, r.content.data(), r.content.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return compress(Compression::gzip, tar, 1).value();
}

// Stores an image made of the given gzip'd tar layers; returns the manifest descriptor.
inline Descriptor store_image(OciLayoutStore& store, const std::vector<std::string>& layers,
                              const std::vector<std::string>& tags = {}) {
  std::vector<LayerRef> refs;
  for (const auto& blob : layers) {
    auto stored = store.put_blob(blob, k_media_layer_gzip).value();
    refs.push_back(LayerRef{stored.descriptor, sha256_digest(gunzip(blob)), "test"});
  }
  ImageSpecInputs in;
  in.created = 1'700'000'000;
  auto docs = make_image(in, refs);
  EXPECT_TRUE(store.put_blob(docs.config_json, k_media_config).ok());
  return store.put_manifest(docs.manifest_json, tags).value();
}

}  // namespace ztp::artifact::test
