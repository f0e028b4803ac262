// Fuzzes what the controller reads of a GitHub delivery. The input is a signature header (the
// first line) and a body (the rest): the body is parsed as a push and as a ping payload, the
// header is checked against it, and the first line is also read as a remote URL. Nothing may
// throw or crash, and a signature computed over the body must always verify.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "source/webhook.hpp"
#include "sys/crypto.hpp"

namespace {

constexpr std::string_view k_secret = "fuzz-secret";

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ztp::source;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t eol = input.find('\n');
  std::string_view header = input.substr(0, eol);
  std::string_view body =
      eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);

  auto verified = verify_signature(k_secret, body, header);
  check(verified.ok() || !verified.error().message.empty());
  const std::string good = "sha256=" + ztp::sys::hmac_sha256_hex(k_secret, body);
  check(verify_signature(k_secret, body, good).ok());

  if (auto repo = repository_of_url(header)) {
    check(!repo->empty());
    check(same_repository(*repo, *repo));
  }

  auto push = parse_push_event(body);
  if (push.ok()) {
    (void)push->branch();
    (void)push->is_tag();
    (void)push->changed_paths();
    for (const auto& c : push->commits) {
      (void)c.summary();
    }
    if (push->head_commit) {
      (void)push->head_commit->summary();
    }
  } else {
    check(!push.error().message.empty());
  }
  auto ping = parse_ping_event(body);
  check(ping.ok() || !ping.error().message.empty());
  return 0;
}
