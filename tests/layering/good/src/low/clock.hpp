#pragma once

#include <sys/stat.h>

#include <string>

#include "low/time.hpp"
