// Files directly in src/ are in no folder and not checked.
#include "nowhere/app.hpp"
