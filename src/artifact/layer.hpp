#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "artifact/descriptor.hpp"
#include "artifact/file_source.hpp"
#include "util/result.hpp"

struct archive;  // libarchive's handle

namespace ztp::artifact {

// A layer blob ready for the store: a gzip-compressed tar and both of its digests.
struct Layer {
  std::string blob;     // tar+gzip bytes
  std::string digest;   // sha256 of `blob`: the manifest's layer descriptor
  std::string diff_id;  // sha256 of the uncompressed tar: the config's rootfs.diff_ids
  std::int64_t entries = 0;

  // The layer descriptor (application/vnd.oci.image.layer.v1.tar+gzip).
  Descriptor descriptor() const;
};

// Packs `entries` into a deterministic layer: a pax tar with entries sorted by path, missing
// parent directories added, mtime = `mtime` (seconds since the epoch; the commit time), uid/gid
// 0, no user or group names, modes normalised (directories 0755, files 0755 when any exec bit is
// set else 0644, symlinks 0777), no atime/ctime/xattrs; gzip with no timestamp and no file name.
// The same entries and mtime give the same bytes. invalid for a bad path, a duplicate, a file
// under a non-directory, or a symlink escaping the tree.
Result<Layer> build_layer(std::vector<FileEntry> entries, std::int64_t mtime);

// Gzip-compresses `data` deterministically (no timestamp, no file name, OS byte "Unix").
Result<std::string> gzip_deterministic(std::string_view data);

// libarchive's reason for the last failure on `a`, which every failure message carries;
// "libarchive gave no reason" when it gave none.
std::string archive_reason(archive* a);

}  // namespace ztp::artifact
