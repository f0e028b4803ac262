#include "target/local/release_files.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "util/fs.hpp"

namespace ztp::target::local {
namespace {

Result<std::string> file_fingerprint(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Errc::internal, fmt::format("cannot read {}", path.string()));
  }
  artifact::Sha256 hash;
  std::string buffer(64 * 1024, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.update(std::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return make_error(Errc::internal, fmt::format("cannot stat {}", path.string()));
  }
  return fmt::format("{} {:o}", hash.digest(), st.st_mode & 07777);
}

}  // namespace

Result<FileManifest> scan_release_dir(const std::filesystem::path& dir) {
  FileManifest out;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec);
  if (ec) {
    return make_error(Errc::not_found, fmt::format("cannot read release directory {}: {}",
                                                   dir.string(), ec.message()));
  }
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      return make_error(Errc::internal,
                        fmt::format("cannot walk {}: {}", dir.string(), ec.message()));
    }
    const auto& entry = *it;
    auto rel = entry.path().lexically_relative(dir).generic_string();
    if (entry.is_symlink(ec)) {
      out[rel] = "link " + std::filesystem::read_symlink(entry.path(), ec).string();
    } else if (entry.is_regular_file(ec)) {
      ZTP_ASSIGN_OR_RETURN(out[rel], file_fingerprint(entry.path()));
    }
  }
  return out;
}

std::filesystem::path manifest_path(const std::filesystem::path& release_dir) {
  auto p = release_dir;
  p += ".files.json";
  return p;
}

Result<void> write_manifest(const std::filesystem::path& path, const FileManifest& manifest) {
  nlohmann::json j{{"files", manifest}};
  return fs::atomic_write(path, j.dump(1));
}

Result<std::optional<FileManifest>> read_manifest(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    return std::optional<FileManifest>();
  }
  std::string text;
  ZTP_ASSIGN_OR_RETURN(text, fs::read_file(path));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("files") || !j["files"].is_object()) {
    return make_error(
        Errc::invalid,
        fmt::format("{} is damaged: remove it and it is rebuilt from the image", path.string()));
  }
  FileManifest out;
  for (const auto& [k, v] : j["files"].items()) {
    if (!v.is_string()) {
      return make_error(Errc::invalid, fmt::format("{}: entry {} is not a string; remove the "
                                                   "file and it is rebuilt from the image",
                                                   path.string(), k));
    }
    out[k] = v.get<std::string>();
  }
  return std::optional<FileManifest>(std::move(out));
}

std::vector<FileChange> compare_manifests(const FileManifest& expected,
                                          const FileManifest& observed) {
  std::vector<FileChange> out;
  for (const auto& [path, fp] : expected) {
    auto it = observed.find(path);
    if (it == observed.end()) {
      out.push_back({path, FileChange::Kind::removed});
    } else if (it->second != fp) {
      out.push_back({path, FileChange::Kind::modified});
    }
  }
  for (const auto& [path, fp] : observed) {
    if (expected.count(path) == 0) {
      out.push_back({path, FileChange::Kind::added});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const FileChange& a, const FileChange& b) { return a.path < b.path; });
  return out;
}

}  // namespace ztp::target::local
