#pragma once

#include <cstdint>
#include <span>

namespace ztp {

// The value below which a fraction `q` (clamped to 0-1) of a histogram's samples fall,
// interpolated linearly inside the bucket that holds it. `upper_bounds` ascend; bucket i holds
// samples up to upper_bounds[i] (above the previous bound, or 0). A bucket without a finite
// upper bound (an infinite one, or a count past the last bound) answers its lower bound.
// 0 when there are no samples.
double bucket_percentile(std::span<const double> upper_bounds, std::span<const uint64_t> counts,
                         double q);

}  // namespace ztp
