#include "artifact/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "artifact/file_source.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace ztp::artifact {
namespace {

namespace stdfs = std::filesystem;

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

constexpr std::string_view k_whiteout = ".wh.";
constexpr std::string_view k_opaque = ".wh..wh..opq";

bool is_layer_media_type(const std::string& mt) {
  return mt == k_media_layer_gzip || mt == k_media_layer_tar ||
         mt == "application/vnd.docker.image.rootfs.diff.tar.gzip";
}

// Removes a directory tree even when the image made some of its directories read-only.
void remove_tree(const stdfs::path& dir) {
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      stdfs::permissions(it->path(), stdfs::perms::owner_all, stdfs::perm_options::add, ec);
    }
  }
  stdfs::permissions(dir, stdfs::perms::owner_all, stdfs::perm_options::add, ec);
  stdfs::remove_all(dir, ec);
}

// Removes the temporary directory unless released (after the rename into place).
class TempDirGuard {
 public:
  explicit TempDirGuard(stdfs::path dir) : m_dir(std::move(dir)) {}
  ~TempDirGuard() {
    if (!m_dir.empty()) {
      remove_tree(m_dir);
    }
  }
  TempDirGuard(const TempDirGuard&) = delete;
  TempDirGuard& operator=(const TempDirGuard&) = delete;
  void release() { m_dir.clear(); }

 private:
  stdfs::path m_dir;
};

struct Context {
  std::string image;  // manifest digest, for messages
  std::string layer;  // layer digest
  stdfs::path tmp;    // where the layers go
  archive* disk = nullptr;
};

Error refused(const Context& c, std::string_view entry, std::string_view why) {
  return make_error(Errc::refused,
                    fmt::format("image {}: layer {} entry \"{}\": {}; the image is refused",
                                c.image, c.layer, entry, why));
}

// A path of the image checked for unpacking: relative, no "..". Empty for the root itself.
Result<std::string> checked_path(const Context& c, std::string_view raw) {
  if (!raw.empty() && raw.front() == '/') {
    return refused(c, raw, "absolute paths are not allowed");
  }
  std::string_view p = raw;
  while (p.substr(0, 2) == "./") {
    p.remove_prefix(2);
  }
  while (!p.empty() && p.back() == '/') {
    p.remove_suffix(1);
  }
  if (p.empty() || p == ".") {
    return std::string();
  }
  auto normalized = normalize_entry_path(p);
  if (!normalized.ok()) {
    return refused(c, raw, "it has a \"..\", \".\" or empty path component");
  }
  return normalized;
}

Result<void> apply_whiteout(const Context& c, const std::string& path) {
  stdfs::path rel(path);
  std::string name = rel.filename().string();
  stdfs::path parent = c.tmp / rel.parent_path();
  std::error_code ec;
  if (name == k_opaque) {
    if (stdfs::is_directory(parent, ec)) {
      for (const auto& child : stdfs::directory_iterator(parent, ec)) {
        stdfs::remove_all(child.path(), ec);
      }
    }
    return {};
  }
  std::string target = name.substr(k_whiteout.size());
  if (target.empty() || target == "." || target == "..") {
    return refused(c, path, "a whiteout with no valid name");
  }
  stdfs::remove_all(parent / target, ec);
  return {};
}

Result<void> extract_layer(Context& c, std::string_view blob) {
  std::unique_ptr<archive, ReadFree> in(archive_read_new());
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  if (archive_read_open_memory(in.get(), blob.data(), blob.size()) != ARCHIVE_OK) {
    return make_error(Errc::invalid, fmt::format("image {}: layer {} is not a tar archive: {}",
                                                 c.image, c.layer, archive_error_string(in.get())));
  }
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) {
      break;
    }
    if (r < ARCHIVE_WARN) {
      return make_error(Errc::invalid, fmt::format("image {}: layer {} is damaged: {}", c.image,
                                                   c.layer, archive_error_string(in.get())));
    }
    const char* raw_name = archive_entry_pathname(entry);
    std::string raw = raw_name != nullptr ? raw_name : "";
    auto path = checked_path(c, raw);
    if (!path.ok()) {
      return path.take_error();
    }
    if (path->empty()) {
      continue;  // the root directory itself
    }
    std::string base = stdfs::path(path.value()).filename().string();
    if (base.rfind(k_whiteout, 0) == 0) {
      ZTP_TRY(apply_whiteout(c, path.value()));
      continue;
    }
    auto type = archive_entry_filetype(entry);
    const char* hardlink = archive_entry_hardlink(entry);
    if (hardlink != nullptr) {
      auto target = checked_path(c, hardlink);
      if (!target.ok() || target->empty()) {
        return refused(c, raw, fmt::format("the hard link to \"{}\" leaves the image", hardlink));
      }
      archive_entry_set_hardlink(entry, (c.tmp / target.value()).c_str());
    } else if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      if (target == nullptr || link_escapes(path.value(), target)) {
        return refused(c, raw,
                       fmt::format("the symlink to \"{}\" points outside the release directory",
                                   target != nullptr ? target : ""));
      }
    } else if (type != AE_IFREG && type != AE_IFDIR) {
      log::debug("skipping a device, fifo or socket entry of an image",
                 {{"image", c.image}, {"entry", raw}});
      continue;
    }
    archive_entry_set_pathname(entry, (c.tmp / path.value()).c_str());
    if (archive_write_header(c.disk, entry) < ARCHIVE_WARN) {
      return make_error(Errc::internal,
                        fmt::format("image {}: layer {} entry \"{}\": cannot extract: {}", c.image,
                                    c.layer, raw, archive_error_string(c.disk)));
    }
    if (archive_entry_size(entry) > 0) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while ((r = archive_read_data_block(in.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
        if (archive_write_data_block(c.disk, buf, size, offset) < ARCHIVE_WARN) {
          return make_error(Errc::internal,
                            fmt::format("image {}: entry \"{}\": cannot write: {}", c.image, raw,
                                        archive_error_string(c.disk)));
        }
      }
      if (r != ARCHIVE_EOF) {
        return make_error(Errc::invalid,
                          fmt::format("image {}: layer {} entry \"{}\" is damaged: {}", c.image,
                                      c.layer, raw, archive_error_string(in.get())));
      }
    }
    if (archive_write_finish_entry(c.disk) < ARCHIVE_WARN) {
      return make_error(Errc::internal, fmt::format("image {}: entry \"{}\": cannot finish: {}",
                                                    c.image, raw, archive_error_string(c.disk)));
    }
  }
  return {};
}

// Symlinks checked one by one can still escape through each other ("a -> ." then "b -> a/..");
// resolving every link on disk catches what the lexical check cannot.
Result<void> check_links_on_disk(const Context& c) {
  std::error_code ec;
  auto root = stdfs::canonical(c.tmp, ec);
  if (ec) {
    return make_error(Errc::internal,
                      fmt::format("{}: cannot resolve: {}", c.tmp.string(), ec.message()));
  }
  std::string prefix = root.string() + "/";
  for (auto it = stdfs::recursive_directory_iterator(root, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink(ec)) {
      continue;
    }
    auto resolved = stdfs::weakly_canonical(it->path(), ec);
    if (ec) {
      // A loop of links: it cannot be followed anywhere, outside included.
      ec.clear();
      continue;
    }
    std::string r = resolved.string();
    if (r != root.string() && r.rfind(prefix, 0) != 0) {
      return refused(c, stdfs::relative(it->path(), root).string(),
                     "the symlink resolves outside the release directory through other links");
    }
  }
  return {};
}

}  // namespace

Result<void> unpack_image(const OciLayoutStore& store, const Descriptor& manifest,
                          const stdfs::path& dest) {
  std::error_code ec;
  auto status = stdfs::symlink_status(dest, ec);
  if (stdfs::is_directory(status)) {
    return {};
  }
  if (stdfs::exists(status)) {
    return make_error(
        Errc::conflict,
        fmt::format("{}: exists and is not a release directory; remove it", dest.string()));
  }
  auto m = store.read_manifest(manifest);
  if (!m.ok()) {
    return m.take_error();
  }
  for (const auto& l : m->layers) {
    if (!is_layer_media_type(l.media_type)) {
      return make_error(Errc::invalid,
                        fmt::format("image {}: layer {} has media type {}, which is not a tar "
                                    "layer this version can unpack",
                                    manifest.digest, l.digest, l.media_type));
    }
  }
  stdfs::path parent = dest.parent_path().empty() ? stdfs::path(".") : dest.parent_path();
  ZTP_TRY(fs::ensure_dir(parent));
  // A parent without symlinks in its path, so that libarchive's symlink guard holds.
  parent = stdfs::canonical(parent, ec);
  if (ec) {
    return make_error(Errc::internal, fmt::format("{}: cannot resolve: {}",
                                                  dest.parent_path().string(), ec.message()));
  }
  std::string tmpl = (parent / ("." + dest.filename().string() + ".unpack-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return make_error(Errc::internal, fmt::format("{}: cannot create a temporary directory: {}",
                                                  parent.string(), std::strerror(errno)));
  }
  TempDirGuard guard{stdfs::path(tmpl)};
  ::chmod(tmpl.c_str(), 0755);

  std::unique_ptr<archive, WriteFree> disk(archive_write_disk_new());
  archive_write_disk_set_options(
      disk.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_UNLINK |
                      ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  Context c{manifest.digest, "", stdfs::path(tmpl), disk.get()};
  for (const auto& l : m->layers) {
    c.layer = l.digest;
    auto blob = store.read_blob(l.digest);
    if (!blob.ok()) {
      return blob.take_error();
    }
    ZTP_TRY(extract_layer(c, blob.value()));
  }
  // Closing applies the deferred directory modes and times.
  if (archive_write_close(disk.get()) != ARCHIVE_OK) {
    return make_error(Errc::internal,
                      fmt::format("image {}: cannot finish unpacking: {}", manifest.digest,
                                  archive_error_string(disk.get())));
  }
  ZTP_TRY(check_links_on_disk(c));
  if (::rename(tmpl.c_str(), (parent / dest.filename()).c_str()) != 0) {
    int err = errno;
    if ((err == EEXIST || err == ENOTEMPTY) && stdfs::is_directory(dest, ec)) {
      return {};  // another process unpacked the same release first
    }
    return make_error(Errc::internal, fmt::format("{}: cannot move the release into place: {}",
                                                  dest.string(), std::strerror(err)));
  }
  guard.release();
  return {};
}

}  // namespace ztp::artifact
