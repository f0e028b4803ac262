#include "util/percentile.hpp"

#include <algorithm>
#include <cmath>

namespace ztp {

double bucket_percentile(std::span<const double> upper_bounds, std::span<const uint64_t> counts,
                         double q) {
  uint64_t total = 0;
  for (auto c : counts) {
    total += c;
  }
  if (total == 0 || upper_bounds.empty()) {
    return 0;
  }
  // The largest finite bound: where the unbounded tail starts.
  double last_finite = 0;
  for (double b : upper_bounds) {
    if (!std::isinf(b)) {
      last_finite = b;
    }
  }
  double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0 && static_cast<double>(below + counts[i]) >= rank) {
      double lower =
          i == 0 ? 0 : std::min(upper_bounds[std::min(i, upper_bounds.size()) - 1], last_finite);
      if (i >= upper_bounds.size() || std::isinf(upper_bounds[i])) {
        return lower;
      }
      double within = (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
      return lower + (upper_bounds[i] - lower) * within;
    }
    below += counts[i];
  }
  return last_finite;
}

}  // namespace ztp
