#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ztp {

// Coarse error classes: callers decide to retry on these, the CLI maps them to exit codes
// (exit_code()), the API to HTTP statuses.
enum class Errc {
  invalid,      // bad input: spec, flags, payloads
  not_found,    // a named thing does not exist
  conflict,     // state forbids it now (locked, already exists)
  timeout,      // a deadline passed
  unavailable,  // network: connection refused, DNS, a dead registry
  internal,     // a bug or an unexpected system failure
  unhealthy,    // a health check or a verification failed
  rolled_back,  // a deployment failed and the environment was rolled back
  refused,      // a gate or policy refused (rejected approval, frozen environment)
};

// What went wrong, where, and what to do: `message` is shown to a user as it is.
struct Error {
  Errc code = Errc::internal;
  std::string message;
};

// The process exit code of DESIGN.md for an error class.
int exit_code(Errc code);
// The stable lower-case name of an error class ("invalid", "timeout", ...).
std::string_view errc_name(Errc code);

// Value or Error. Ordinary failures are values; exceptions only escalate configuration
// failures at startup and are caught once in main.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(m_v); }
  Error&& take_error() { return std::get<1>(std::move(m_v)); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {}

  bool ok() const { return m_ok; }
  explicit operator bool() const { return m_ok; }
  const Error& error() const { return m_error; }
  Error&& take_error() { return std::move(m_error); }

 private:
  Error m_error;
  bool m_ok = true;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace ztp

// Returns the error of a Result-returning expression from the enclosing function.
#define ZTP_TRY(...)                       \
  do {                                     \
    auto ztp_try_result_ = (__VA_ARGS__);  \
    if (!ztp_try_result_.ok()) {           \
      return ztp_try_result_.take_error(); \
    }                                      \
  } while (false)

// Assigns the value of a Result-returning expression to `lhs`, or returns its error from the
// enclosing function. `lhs` may declare the variable: ZTP_ASSIGN_OR_RETURN(auto v, f());
// a statement of its own in a block (it expands to several), at most one per line.
#define ZTP_CONCAT_IMPL(a, b) a##b
#define ZTP_CONCAT(a, b) ZTP_CONCAT_IMPL(a, b)
#define ZTP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, ...) \
  auto tmp = (__VA_ARGS__);                      \
  if (!tmp.ok()) {                               \
    return tmp.take_error();                     \
  }                                              \
  lhs = std::move(tmp.value())
#define ZTP_ASSIGN_OR_RETURN(lhs, ...) \
  ZTP_ASSIGN_OR_RETURN_IMPL(ZTP_CONCAT(ztp_result_, __LINE__), lhs, __VA_ARGS__)
