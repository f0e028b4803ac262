#pragma once

// GitHub's worked example for checking the X-Hub-Signature-256 header of a webhook delivery
// (docs.github.com, "Validating webhook deliveries", "Testing the webhook payload validation"):
// the secret and the payload it names and the signature it says they give. Restated here as
// three values so that the tests need no copy of the page.
namespace ztp::testing::github_signature_example {

inline constexpr const char* k_secret = "It's a Secret to Everybody";
inline constexpr const char* k_payload = "Hello, World!";
// Lower-case hex HMAC-SHA256 of k_payload under k_secret; the header is "sha256=" and this.
inline constexpr const char* k_signature_hex =
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

}  // namespace ztp::testing::github_signature_example
