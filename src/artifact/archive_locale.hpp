#pragma once

#include <locale.h>

namespace ztp::artifact {

// While alive, this thread's character type is C.UTF-8 (uselocale: no other thread sees it).
// libarchive's pax writer converts an entry's name from the locale's encoding to UTF-8; in the
// "C" locale a name outside ASCII has no such form and libarchive dereferences a NULL name (a
// crash). Image paths are UTF-8, so writing a layer runs under this guard. When C.UTF-8 is
// missing, the thread's locale is left as it was.
class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale()
      : m_utf8(::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr))),
        m_previous(m_utf8 != nullptr ? ::uselocale(m_utf8) : nullptr) {}
  ~ScopedUtf8Locale() {
    if (m_utf8 != nullptr) {
      ::uselocale(m_previous);
      ::freelocale(m_utf8);
    }
  }
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t m_utf8;
  locale_t m_previous;
};

}  // namespace ztp::artifact
