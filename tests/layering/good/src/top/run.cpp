#include "low/clock.hpp"
#include "mid/plan.hpp"
#include "top/model.hpp"
