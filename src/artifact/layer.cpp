#include "artifact/layer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <locale.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "artifact/compress.hpp"
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

// While alive, this thread's character type is C.UTF-8 (uselocale: no other thread sees it).
// libarchive's pax writer converts an entry's name from the locale's encoding to UTF-8; in the
// "C" locale a name outside ASCII has no such form and libarchive dereferences a NULL name (a
// crash). Image paths are UTF-8, so writing a layer runs under this guard. When C.UTF-8 is
// missing, the thread's locale is left as it was.
class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale()
      : m_utf8(::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr))),
        m_previous(m_utf8 != nullptr ? ::uselocale(m_utf8) : nullptr) {}
  ~ScopedUtf8Locale() {
    if (m_utf8 != nullptr) {
      ::uselocale(m_previous);
      ::freelocale(m_utf8);
    }
  }
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t m_utf8;
  locale_t m_previous;
};

constexpr size_t k_chunk =
    1 << 20;  // the piece fed to the compressor, and read from a file at once

Error archive_error(archive* a, std::string_view what) {
  return make_error(Errc::internal, fmt::format("{}: {}", what, archive_reason(a)));
}

// Receives the uncompressed tar as libarchive writes it, hashes it (the diff_id) and passes it
// to the compressor in pieces of k_chunk bytes.
class TarSink {
 public:
  explicit TarSink(StreamCompressor& out) : m_out(out) { m_pending.reserve(k_chunk); }

  static la_ssize_t write_cb(archive*, void* client, const void* buf, size_t len) {
    auto* sink = static_cast<TarSink*>(client);
    auto r = sink->take(std::string_view(static_cast<const char*>(buf), len));
    if (!r.ok()) {
      sink->m_error = r.take_error();
      return -1;
    }
    return static_cast<la_ssize_t>(len);
  }

  // Compresses what is still pending; call once the tar is closed.
  Result<void> flush() {
    ZTP_TRY(m_out.write(m_pending));
    m_pending.clear();
    return {};
  }

  std::string diff_id() { return m_diff.digest(); }
  // Why the last write failed, when it did.
  const std::optional<Error>& error() const { return m_error; }

 private:
  Result<void> take(std::string_view bytes) {
    m_diff.update(bytes);
    while (!bytes.empty()) {
      size_t n = std::min(bytes.size(), k_chunk - m_pending.size());
      m_pending.append(bytes.data(), n);
      bytes.remove_prefix(n);
      if (m_pending.size() == k_chunk) {
        ZTP_TRY(m_out.write(m_pending));
        m_pending.clear();
      }
    }
    return {};
  }

  StreamCompressor& m_out;
  Sha256 m_diff;
  std::string m_pending;
  std::optional<Error> m_error;
};

unsigned normalized_mode(const FileEntry& e) {
  if (e.exact_mode && e.kind != EntryKind::symlink) {
    return e.mode & 07777;
  }
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
// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool is_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      return false;
    }
    std::uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::uint32_t k_min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < k_min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n;
  }
  return true;
}

// `s` with every byte outside printable ASCII written as \xHH, for a message.
std::string escaped(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    out += c >= 0x20 && c < 0x7f ? std::string(1, ch) : fmt::format("\\x{:02x}", c);
  }
  return out;
}

Result<std::vector<FileEntry>> prepare(std::vector<FileEntry> entries) {
  std::map<std::string, FileEntry> by_path;
  for (auto& e : entries) {
    // Layers name their entries in UTF-8 (pax "path" and "linkpath" records).
    for (const std::string* name : {&e.path, &e.link_target}) {
      if (!is_utf8(*name)) {
        return make_error(
            Errc::invalid,
            fmt::format("entry \"{}\": {} is not valid UTF-8, which image layers need; rename it "
                        "or leave it out with an exclude",
                        escaped(e.path), name == &e.path ? "the name" : "the symlink target"));
      }
    }
    ZTP_ASSIGN_OR_RETURN(e.path, normalize_entry_path(e.path));
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

// Why writing `path` into the layer failed: libarchive's reason, or the sink's when the failure
// came from compressing.
Error entry_error(archive* a, const TarSink& sink, std::string_view what, std::string_view path) {
  std::string reason = sink.error() ? sink.error()->message : archive_reason(a);
  return make_error(Errc::internal, fmt::format("{} \"{}\": {}", what, path, reason));
}

// Streams the file `e.source_file` into the current entry, in pieces of k_chunk bytes.
Result<void> write_file_from_disk(archive* a, const TarSink& sink, const FileEntry& e,
                                  std::string& buf) {
  auto changed = [&] {
    return make_error(Errc::conflict,
                      fmt::format("{}: the file changed while the image was being built; build "
                                  "again once nothing writes to the build context",
                                  e.source_file.string()));
  };
  int fd = ::open(e.source_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return make_error(Errc::internal, fmt::format("{}: cannot open: {}", e.source_file.string(),
                                                  std::strerror(errno)));
  }
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
  std::int64_t left = e.size;
  buf.resize(k_chunk);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return make_error(Errc::internal, fmt::format("{}: cannot read: {}", e.source_file.string(),
                                                    std::strerror(errno)));
    }
    if (n == 0) {
      break;
    }
    if (n > left) {
      return changed();
    }
    left -= n;
    auto w = archive_write_data(a, buf.data(), static_cast<size_t>(n));
    if (w != n) {
      return entry_error(a, sink, "cannot write", e.path);
    }
  }
  if (left != 0) {
    return changed();
  }
  return {};
}

// Writes the tar of `entries` into `sink`.
Result<void> write_tar(const std::vector<FileEntry>& entries, std::int64_t mtime, TarSink& sink) {
  WriteArchive a(archive_write_new());
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_add_filter_none(a.get()) != ARCHIVE_OK ||
      archive_write_open(a.get(), &sink, nullptr, TarSink::write_cb, nullptr) != ARCHIVE_OK) {
    return archive_error(a.get(), "cannot start the layer tar");
  }
  std::unique_ptr<archive_entry, EntryFree> ae(archive_entry_new());
  std::string buf;
  for (const auto& e : entries) {
    archive_entry_clear(ae.get());
    archive_entry_set_pathname_utf8(ae.get(), e.path.c_str());
    archive_entry_set_uid(ae.get(), e.uid);
    archive_entry_set_gid(ae.get(), e.gid);
    archive_entry_set_mtime(ae.get(), static_cast<time_t>(mtime), 0);
    archive_entry_set_perm(ae.get(), normalized_mode(e));
    bool from_disk = e.kind == EntryKind::file && !e.source_file.empty();
    // A loaded file (a commit's blob) is read now, one at a time, and freed after it is written.
    std::string loaded;
    if (e.kind == EntryKind::file && e.load) {
      ZTP_ASSIGN_OR_RETURN(loaded, e.load());
    }
    std::string_view data = e.load ? std::string_view(loaded) : std::string_view(e.content);
    switch (e.kind) {
      case EntryKind::dir:
        archive_entry_set_filetype(ae.get(), AE_IFDIR);
        archive_entry_set_size(ae.get(), 0);
        break;
      case EntryKind::file:
        archive_entry_set_filetype(ae.get(), AE_IFREG);
        archive_entry_set_size(ae.get(), from_disk ? static_cast<la_int64_t>(e.size)
                                                   : static_cast<la_int64_t>(data.size()));
        break;
      case EntryKind::symlink:
        archive_entry_set_filetype(ae.get(), AE_IFLNK);
        archive_entry_set_symlink_utf8(ae.get(), e.link_target.c_str());
        archive_entry_set_size(ae.get(), 0);
        break;
    }
    if (archive_write_header(a.get(), ae.get()) != ARCHIVE_OK) {
      return entry_error(a.get(), sink, "cannot add", e.path);
    }
    if (from_disk) {
      ZTP_TRY(write_file_from_disk(a.get(), sink, e, buf));
    } else if (e.kind == EntryKind::file) {
      while (!data.empty()) {
        size_t piece = std::min(data.size(), k_chunk);
        auto n = archive_write_data(a.get(), data.data(), piece);
        if (n <= 0) {
          return entry_error(a.get(), sink, "cannot write", e.path);
        }
        data.remove_prefix(static_cast<size_t>(n));
      }
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return entry_error(a.get(), sink, "cannot finish", "the layer tar");
  }
  return sink.flush();
}

}  // namespace

Descriptor Layer::descriptor() const {
  return Descriptor{media_type, digest, static_cast<std::int64_t>(blob.size()), {}};
}

Result<Layer> build_layer(std::vector<FileEntry> entries, std::int64_t mtime,
                          const LayerOptions& options) {
  ZTP_ASSIGN_OR_RETURN(auto prepared, prepare(std::move(entries)));
  ScopedUtf8Locale utf8;  // the entries' names are UTF-8, whatever the process's locale
  Layer layer;
  layer.media_type = layer_media_type(options.compression);
  // Room for the blob up front when the entries' bytes are in memory already, at most their tar
  // plus deflate's overhead, so that a large layer is not copied each time its string grows.
  // Files streamed from disk or loaded one at a time reserve nothing: memory stays bounded.
  std::uint64_t in_memory = 0;
  for (const auto& e : prepared) {
    in_memory += e.source_file.empty() && !e.load ? e.content.size() + 1536 : 0;
  }
  layer.blob.reserve(in_memory + in_memory / 64);
  ZTP_ASSIGN_OR_RETURN(
      auto compressor,
      StreamCompressor::create(options.compression, layer.blob,
                               options.threads == 0 ? usable_cores() : options.threads));
  TarSink sink(*compressor);
  ZTP_TRY(write_tar(prepared, mtime, sink));
  ZTP_TRY(compressor->finish());
  layer.diff_id = sink.diff_id();
  layer.entries = static_cast<std::int64_t>(prepared.size());
  layer.digest = sha256_digest(layer.blob);
  return layer;
}

std::string archive_reason(archive* a) {
  const char* msg = archive_error_string(a);
  return msg != nullptr ? msg : "libarchive gave no reason";
}

}  // namespace ztp::artifact
