#include "artifact/file_source.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/fs.hpp"

namespace ztp::artifact {
namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

Result<std::string> normalize_entry_path(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return make_error(Errc::invalid, fmt::format("entry \"{}\": {}", path, why));
  };
  if (path.find('\0') != std::string_view::npos) {
    return bad("the path holds a NUL byte");
  }
  if (!path.empty() && path.front() == '/') {
    return bad("absolute paths are not allowed");
  }
  std::string_view p = path;
  while (p.substr(0, 2) == "./") {
    p.remove_prefix(2);
  }
  while (!p.empty() && p.back() == '/') {
    p.remove_suffix(1);
  }
  if (p.empty() || p == ".") {
    return bad("the path is empty");
  }
  for (auto part : split(p)) {
    if (part == "..") {
      return bad("\"..\" components are not allowed");
    }
    if (part.empty() || part == ".") {
      return bad("empty or \".\" components are not allowed");
    }
  }
  return std::string(p);
}

bool link_escapes(std::string_view entry_path, std::string_view target) {
  if (target.empty() || target.front() == '/') {
    return true;
  }
  // Depth of the directory holding the link, below the root.
  auto entry_parts = split(entry_path);
  long depth = 0;
  for (size_t i = 0; i + 1 < entry_parts.size(); ++i) {
    if (entry_parts[i] == "..") {
      --depth;
    } else if (!entry_parts[i].empty() && entry_parts[i] != ".") {
      ++depth;
    }
  }
  for (auto part : split(target)) {
    if (part == "..") {
      if (--depth < 0) {
        return true;
      }
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
  }
  return false;
}

Result<std::string> entry_bytes(const FileEntry& e) {
  if (e.load) {
    return e.load();
  }
  if (!e.source_file.empty()) {
    return fs::read_file(e.source_file);
  }
  return e.content;
}

void sort_entries(std::vector<FileEntry>& entries) {
  std::sort(entries.begin(), entries.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
}

}  // namespace ztp::artifact
