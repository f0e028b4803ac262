#pragma once

#include "mid/plan.hpp"
