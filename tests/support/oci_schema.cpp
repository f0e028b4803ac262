#include "support/oci_schema.hpp"

#include <gtest/gtest.h>

namespace ztp::testing {
namespace {

// Validates documents against the OCI schemas; argv: schema dir, then schema=document pairs.
// The schemas are draft-04 and refer to each other by file name under their `id` URLs, so
// every https reference is served from the schema directory by its base name.
constexpr const char* k_validator = R"PY(
import json, os, sys, warnings
from urllib.parse import urlparse
warnings.filterwarnings("ignore")
import jsonschema

schema_dir = sys.argv[1]
def load(name):
    with open(os.path.join(schema_dir, name)) as f:
        return json.load(f)
def by_name(uri):
    return load(os.path.basename(urlparse(uri).path))

failed = 0
for pair in sys.argv[2:]:
    schema_name, doc_path = pair.split("=", 1)
    schema = load(schema_name)
    resolver = jsonschema.RefResolver.from_schema(schema, handlers={"https": by_name})
    validator = jsonschema.Draft4Validator(schema, resolver=resolver)
    with open(doc_path) as f:
        doc = json.load(f)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        print("FAIL %s against %s: %s at %s" % (doc_path, schema_name, e.message, list(e.path)))
    if errors:
        failed += 1
    else:
        print("OK %s against %s" % (doc_path, schema_name))
sys.exit(1 if failed else 0)
)PY";

std::filesystem::path schema_dir() { return vector_path("oci/image-spec/schema"); }

// Debian's python3, which python3-jsonschema installs into, even when another python3 comes
// first on PATH.
std::string python3() {
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

}  // namespace

void require_jsonschema() {
  auto probe = run_process({python3(), "-c", "import jsonschema"});
  ASSERT_EQ(probe.exit_code, 0) << "python3 with the jsonschema module is needed: run `apt-get "
                                   "install python3-jsonschema` (or scripts/install-deps.sh)\n"
                                << probe.err;
}

ProcessResult validate_oci(const std::filesystem::path& dir,
                           const std::vector<std::pair<std::string, std::string>>& docs) {
  auto script = dir / "validate-oci.py";
  write_text(script, k_validator);
  std::vector<std::string> argv{python3(), script.string(), schema_dir().string()};
  for (const auto& [schema, doc] : docs) {
    argv.push_back(schema + "=" + doc);
  }
  return run_process(argv, {}, std::chrono::seconds(60));
}

}  // namespace ztp::testing
