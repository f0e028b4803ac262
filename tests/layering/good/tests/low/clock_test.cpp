// Tests are not checked: they may include any folder.
#include "low/clock.hpp"
#include "top/model.hpp"
