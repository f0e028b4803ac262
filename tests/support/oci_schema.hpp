#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "support/support.hpp"

namespace ztp::testing {

// Fails the current test when Debian's python3 lacks the jsonschema module (the package
// python3-jsonschema), which validate_oci needs.
void require_jsonschema();

// Validates JSON documents against the OCI image-spec schemas of the test vectors: `docs` pairs
// a schema file name (image-manifest-schema.json, config-schema.json, ...) with a document's
// path. Exit code 0 when every document is valid; the output has a line per document ("OK ..."
// or "FAIL ... at [path]"). `dir` holds the validator script.
ProcessResult validate_oci(const std::filesystem::path& dir,
                           const std::vector<std::pair<std::string, std::string>>& docs);

}  // namespace ztp::testing
