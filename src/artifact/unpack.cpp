#include "artifact/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "artifact/file_source.hpp"
#include "artifact/image_index.hpp"
#include "artifact/layer.hpp"
#include "artifact/release_root.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace ztp::artifact {
namespace {

namespace stdfs = std::filesystem;

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

constexpr std::string_view k_whiteout = ".wh.";
constexpr std::string_view k_opaque = ".wh..wh..opq";

bool is_layer_media_type(const std::string& mt) {
  return mt == k_media_layer_gzip || mt == k_media_layer_zstd || mt == k_media_layer_tar ||
         mt == "application/vnd.docker.image.rootfs.diff.tar.gzip";
}

// Removes the temporary directory unless released (after the rename into place).
class TempDirGuard {
 public:
  explicit TempDirGuard(stdfs::path dir) : m_dir(std::move(dir)) {}
  ~TempDirGuard() {
    if (!m_dir.empty()) {
      remove_release(m_dir);
    }
  }
  TempDirGuard(const TempDirGuard&) = delete;
  TempDirGuard& operator=(const TempDirGuard&) = delete;
  void release() { m_dir.clear(); }

 private:
  stdfs::path m_dir;
};

struct Context {
  std::string image;            // manifest digest, for messages
  std::string layer;            // layer digest
  ReleaseRoot* root = nullptr;  // where the layers go
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

Result<void> apply_whiteout(Context& c, const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? std::string() : path.substr(0, slash);
  std::string name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  if (name == k_opaque) {
    return c.root->clear_dir(dir);
  }
  std::string target = name.substr(k_whiteout.size());
  if (target.empty() || target == "." || target == "..") {
    return make_error(Errc::refused, "a whiteout with no valid name");
  }
  return c.root->remove(dir.empty() ? target : dir + "/" + target);
}

// Writes the data of the current entry of `in` into `fd` at the offsets the archive gives
// (holes of a sparse entry stay holes), then sets its size, mode and times.
Result<void> write_file_data(Context& c, archive* in, archive_entry* entry, int fd,
                             std::string_view raw) {
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int r = ARCHIVE_OK;
  while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK) {
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return make_error(Errc::internal, fmt::format("image {}: entry \"{}\": cannot write: {}",
                                                      c.image, raw, std::strerror(errno)));
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
  }
  if (r != ARCHIVE_EOF) {
    return make_error(Errc::invalid, fmt::format("image {}: layer {} entry \"{}\" is damaged: {}",
                                                 c.image, c.layer, raw, archive_reason(in)));
  }
  timespec times[2] = {};
  times[1].tv_sec = archive_entry_mtime(entry);
  times[1].tv_nsec = archive_entry_mtime_nsec(entry);
  times[0] = times[1];
  if (::ftruncate(fd, static_cast<off_t>(archive_entry_size(entry))) != 0 ||
      ::fchmod(fd, archive_entry_perm(entry) & 0777) != 0 || ::futimens(fd, times) != 0) {
    return make_error(Errc::internal, fmt::format("image {}: entry \"{}\": cannot finish: {}",
                                                  c.image, raw, std::strerror(errno)));
  }
  return {};
}

// Applies one entry (its checked path is `path`) to the release root.
Result<void> apply_entry(Context& c, archive* in, archive_entry* entry, const std::string& path,
                         std::string_view raw) {
  std::string base = stdfs::path(path).filename().string();
  if (base.rfind(k_whiteout, 0) == 0) {
    return apply_whiteout(c, path);
  }
  const char* hardlink = archive_entry_hardlink(entry);
  if (hardlink != nullptr) {
    auto target = checked_path(c, hardlink);
    if (!target.ok() || target->empty()) {
      return make_error(Errc::refused,
                        fmt::format("the hard link to \"{}\" leaves the image", hardlink));
    }
    return c.root->make_hardlink(path, target.value());
  }
  switch (archive_entry_filetype(entry)) {
    case AE_IFDIR:
      return c.root->make_dir(path, archive_entry_perm(entry), archive_entry_mtime(entry));
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      if (target == nullptr || link_escapes(path, target)) {
        return make_error(Errc::refused,
                          fmt::format("the symlink to \"{}\" points outside the release directory",
                                      target != nullptr ? target : ""));
      }
      return c.root->make_symlink(path, target, archive_entry_mtime(entry));
    }
    case AE_IFREG: {
      ZTP_ASSIGN_OR_RETURN(auto fd, c.root->create_file(path));
      return write_file_data(c, in, entry, fd.get(), raw);
    }
    default:
      log::debug("skipping a device, fifo or socket entry of an image",
                 {{"image", c.image}, {"entry", std::string(raw)}});
      return {};
  }
}

using LayerReader = std::unique_ptr<archive, ReadFree>;

// A reader of the layer `blob`: a tar, compressed with any filter libarchive knows or not.
Result<LayerReader> open_layer(std::string_view blob) {
  LayerReader in(archive_read_new());
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  if (archive_read_open_memory(in.get(), blob.data(), blob.size()) != ARCHIVE_OK) {
    return make_error(Errc::invalid,
                      fmt::format("not a tar archive: {}", archive_reason(in.get())));
  }
  return in;
}

Result<void> extract_layer(Context& c, std::string_view blob) {
  auto opened = open_layer(blob);
  if (!opened.ok()) {
    return make_error(Errc::invalid, fmt::format("image {}: layer {} is {}", c.image, c.layer,
                                                 opened.error().message));
  }
  LayerReader in = std::move(opened.value());
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) {
      break;
    }
    if (r < ARCHIVE_WARN) {
      return make_error(Errc::invalid, fmt::format("image {}: layer {} is damaged: {}", c.image,
                                                   c.layer, archive_reason(in.get())));
    }
    const char* raw_name = archive_entry_pathname(entry);
    std::string raw = raw_name != nullptr ? raw_name : "";
    ZTP_ASSIGN_OR_RETURN(auto path, checked_path(c, raw));
    if (path.empty()) {
      continue;  // the root directory itself
    }
    auto applied = apply_entry(c, in.get(), entry, path, raw);
    if (!applied.ok()) {
      Error e = applied.take_error();
      if (e.code == Errc::refused) {
        return refused(c, raw, e.message);
      }
      if (e.message.rfind("image ", 0) != 0) {
        e.message = fmt::format("image {}: layer {} entry \"{}\": cannot extract: {}", c.image,
                                c.layer, raw, e.message);
      }
      return e;
    }
  }
  return {};
}

}  // namespace

Result<std::optional<std::string>> read_layer_file(std::string_view blob, std::string_view path) {
  auto opened = open_layer(blob);
  if (!opened.ok()) {
    return make_error(Errc::invalid, "a layer is " + opened.error().message);
  }
  LayerReader in = std::move(opened.value());
  archive_entry* entry = nullptr;
  for (;;) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) {
      return std::optional<std::string>();
    }
    if (r < ARCHIVE_WARN) {
      return make_error(Errc::invalid,
                        fmt::format("a layer is damaged: {}", archive_reason(in.get())));
    }
    const char* raw = archive_entry_pathname(entry);
    std::string_view name = raw != nullptr ? raw : "";
    while (name.substr(0, 2) == "./") {
      name.remove_prefix(2);
    }
    while (!name.empty() && name.front() == '/') {
      name.remove_prefix(1);
    }
    if (name != path || archive_entry_filetype(entry) != AE_IFREG) {
      continue;
    }
    std::string out;
    char buf[16384];
    la_ssize_t n = 0;
    while ((n = archive_read_data(in.get(), buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
    if (n < 0) {
      return make_error(Errc::invalid, fmt::format("a layer's {} cannot be read: {}", path,
                                                   archive_reason(in.get())));
    }
    return std::optional<std::string>(std::move(out));
  }
}

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
  // An image index (build.platforms) runs as this machine's platform's image.
  ZTP_ASSIGN_OR_RETURN(auto image, manifest_for_platform(store, manifest, host_platform()));
  auto m = store.read_manifest(image);
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
  // A parent without symlinks in its path: the rename below names it by path.
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

  ZTP_ASSIGN_OR_RETURN(auto root, ReleaseRoot::open(tmpl));
  Context c{manifest.digest, "", &root};
  for (const auto& l : m->layers) {
    c.layer = l.digest;
    ZTP_ASSIGN_OR_RETURN(auto blob, store.read_blob(l.digest));
    ZTP_TRY(extract_layer(c, blob));
  }
  auto links = root.check_links();
  if (!links.ok()) {
    Error e = links.take_error();
    e.message = fmt::format("image {}: {}; the image is refused", manifest.digest, e.message);
    return e;
  }
  auto finished = root.finish();
  if (!finished.ok()) {
    Error e = finished.take_error();
    e.message = fmt::format("image {}: cannot finish unpacking: {}", manifest.digest, e.message);
    return e;
  }
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

void remove_release(const stdfs::path& dir) {
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

}  // namespace ztp::artifact
