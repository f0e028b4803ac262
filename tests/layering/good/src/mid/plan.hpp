#pragma once

#include <vector>

#include "low/clock.hpp"
#include "top/model.hpp"
