#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "target/target.hpp"
#include "util/result.hpp"

// The content of an unpacked release directory, kept beside it when it is unpacked, so drift
// detection can tell a file edited in place from the image's own.
namespace ztp::target::local {

// Relative path -> fingerprint: "sha256:<hex> <mode>" for a regular file (mode in octal),
// "link <target>" for a symbolic link. Directories are not listed.
using FileManifest = std::map<std::string, std::string>;

// Walks `dir` (not following links) and fingerprints what is in it.
Result<FileManifest> scan_release_dir(const std::filesystem::path& dir);

// Where the manifest of the release directory `release_dir` is kept: a sibling file
// `<release_dir>.files.json`, outside the directory so it is never part of what it lists.
std::filesystem::path manifest_path(const std::filesystem::path& release_dir);

// Writes `manifest` atomically to `path`.
Result<void> write_manifest(const std::filesystem::path& path, const FileManifest& manifest);
// Reads a manifest; nullopt when there is none at `path`; invalid when it is damaged.
Result<std::optional<FileManifest>> read_manifest(const std::filesystem::path& path);

// What differs between the manifest of the image (`expected`) and the directory now
// (`observed`), by path.
std::vector<FileChange> compare_manifests(const FileManifest& expected,
                                          const FileManifest& observed);

}  // namespace ztp::target::local
