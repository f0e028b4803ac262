#include "util/url_path.hpp"

namespace ztp {

std::vector<std::string> path_segments(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < target.size()) {
    size_t next = target.find('/', pos);
    if (next == std::string_view::npos) {
      next = target.size();
    }
    if (next > pos) {
      parts.emplace_back(target.substr(pos, next - pos));
    }
    pos = next + 1;
  }
  return parts;
}

}  // namespace ztp
