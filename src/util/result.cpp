#include "util/result.hpp"

namespace ztp {

int exit_code(Errc code) {
  switch (code) {
    case Errc::invalid:
    case Errc::not_found:
    case Errc::conflict:
    case Errc::internal:
      return 1;
    case Errc::unavailable:
      return 10;
    case Errc::unhealthy:
      return 11;
    case Errc::rolled_back:
      return 12;
    case Errc::timeout:
      return 13;
    case Errc::refused:
      return 14;
  }
  return 1;
}

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::invalid:
      return "invalid";
    case Errc::not_found:
      return "not_found";
    case Errc::conflict:
      return "conflict";
    case Errc::timeout:
      return "timeout";
    case Errc::unavailable:
      return "unavailable";
    case Errc::internal:
      return "internal";
    case Errc::unhealthy:
      return "unhealthy";
    case Errc::rolled_back:
      return "rolled_back";
    case Errc::refused:
      return "refused";
  }
  return "internal";
}

}  // namespace ztp
