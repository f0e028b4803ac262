#include "mid/plan.hpp"

#include "helper.hpp"
