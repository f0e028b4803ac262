#pragma once

#include "low/clock.hpp"
