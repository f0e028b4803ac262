#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "artifact/compress.hpp"
#include "artifact/descriptor.hpp"
#include "artifact/file_source.hpp"
#include "util/result.hpp"

struct archive;  // libarchive's handle

namespace ztp::artifact {

// A layer blob ready for the store: a compressed tar and both of its digests.
struct Layer {
  std::string media_type;  // tar+gzip or tar+zstd
  std::string blob;        // the compressed tar
  std::string digest;      // sha256 of `blob`: the manifest's layer descriptor
  std::string diff_id;     // sha256 of the uncompressed tar: the config's rootfs.diff_ids
  std::int64_t entries = 0;

  // The layer descriptor.
  Descriptor descriptor() const;
};

// Packs `entries` into a deterministic layer: a pax tar with entries sorted by path, missing
// parent directories added, mtime = `mtime` (seconds since the epoch; the commit time), uid/gid
// 0, no user or group names, modes normalised (directories 0755, files 0755 when any exec bit is
// set else 0644, symlinks 0777; entries with exact_mode keep theirs and their uid/gid), no
// atime/ctime/xattrs; compressed as compress.hpp describes. The same entries, mtime and
// compression give the same bytes on any number of cores. invalid for a bad path, a duplicate,
// a file under a non-directory, or a symlink escaping the tree.
Result<Layer> build_layer(std::vector<FileEntry> entries, std::int64_t mtime,
                          const LayerOptions& options = {});

// libarchive's reason for the last failure on `a`, which every failure message carries;
// "libarchive gave no reason" when it gave none.
std::string archive_reason(archive* a);

}  // namespace ztp::artifact
