// Fuzzes what the registry client and the image store read from outside: the input is parsed
// as an image manifest, an image config, a descriptor, a token server's answer and a
// WWW-Authenticate header, read as the image index (index.json) of an OCI layout, which is then
// listed, resolved and tagged, and read as the oci-layout file of a layout being opened. Each
// answers with a value or an error; nothing may throw or crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "artifact/descriptor.hpp"
#include "artifact/image.hpp"
#include "artifact/oci_layout_store.hpp"
#include "artifact/registry_auth.hpp"

namespace {

namespace stdfs = std::filesystem;
using namespace ztp::artifact;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

template <typename T>
void check_answer(const ztp::Result<T>& r) {
  check(r.ok() || !r.error().message.empty());
}

stdfs::path g_layout;
Descriptor g_stored;  // a blob of the layout, to tag

void remove_layout() {
  std::error_code ec;
  stdfs::remove_all(g_layout.parent_path(), ec);
}

// An OCI layout in a temporary directory, opened once; each input replaces its index.json.
OciLayoutStore& layout() {
  static std::optional<OciLayoutStore> store;
  if (!store) {
    std::string tmpl = (stdfs::temp_directory_path() / "ztp-fuzz-manifest-XXXXXX").string();
    check(::mkdtemp(tmpl.data()) != nullptr);
    g_layout = stdfs::path(tmpl) / "oci";
    std::atexit(remove_layout);
    auto opened = OciLayoutStore::open(g_layout);
    check(opened.ok());
    store.emplace(std::move(opened.value()));
    auto blob = store->put_blob(R"({"schemaVersion":2})", k_media_manifest);
    check(blob.ok());
    g_stored = blob->descriptor;
  }
  return *store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto manifest = parse_manifest(text, "manifest");
  check_answer(manifest);
  if (manifest.ok()) {
    check(manifest->config.size >= 0);
    for (const auto& l : manifest->layers) {
      check(l.size >= 0 && !l.digest.empty());
    }
  }
  check_answer(parse_config(text, "config"));
  check_answer(parse_token_response(text));
  check_answer(parse_www_authenticate(text));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) {
    auto d = descriptor_from_json(j, "descriptor");
    check_answer(d);
    if (d.ok()) {
      check(descriptor_from_json(to_json(d.value()), "again").value() == d.value());
    }
  }

  OciLayoutStore& store = layout();
  {
    std::ofstream out(store.root() / "index.json", std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    check(out.good());
  }
  check_answer(store.entries());
  check_answer(store.tags());
  check_answer(store.resolve("latest"));
  check_answer(store.resolve("sha256:0123"));
  check_answer(store.tag(g_stored, "fuzz"));

  // The input as the oci-layout file of another layout, opened afresh.
  const stdfs::path other = g_layout.parent_path() / "other";
  stdfs::create_directories(other);
  {
    std::ofstream out(other / "oci-layout", std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    check(out.good());
  }
  check_answer(OciLayoutStore::open(other));
  return 0;
}
