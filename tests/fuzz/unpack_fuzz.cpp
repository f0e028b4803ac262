// Fuzzes the unpacking of image layers (artifact::unpack_image). The input is a layer (a tar,
// possibly compressed), or several separated by k_next_layer; they become an image in an OCI
// layout that is unpacked into a fresh release directory under a temporary root. Whatever the
// archives hold, nothing outside the root may be created, changed or removed: the harness keeps
// the root five levels deep in its own sandbox, with files beside and above it that an escaping
// entry would reach, and compares a snapshot of everything but the root before and after. A
// symlink left in the release must resolve inside it.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/descriptor.hpp"
#include "artifact/image.hpp"
#include "artifact/oci_layout_store.hpp"
#include "artifact/unpack.hpp"

namespace {

namespace stdfs = std::filesystem;
using namespace ztp::artifact;

// Separates the layers of an input (bottom first).
constexpr std::string_view k_next_layer = "--ztp-fuzz-next-layer--";
constexpr size_t k_max_layers = 4;

void check(bool ok, std::string_view what) {
  if (!ok) {
    fmt::print(stderr, "unpack_fuzz: {}\n", what);
    std::abort();
  }
}

// Every path under `dir` but `skip` (links not followed) with its type, mode, link count and
// content or link target.
std::map<std::string, std::string> snapshot(const stdfs::path& dir, const stdfs::path& skip) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    check(::lstat(it->path().c_str(), &st) == 0, "lstat in the sandbox failed");
    std::string what = fmt::format("mode {:o} links {} ", st.st_mode, st.st_nlink);
    if (S_ISLNK(st.st_mode)) {
      what += "-> " + stdfs::read_symlink(it->path(), ec).string();
    } else if (S_ISREG(st.st_mode)) {
      std::ifstream in(it->path(), std::ios::binary);
      what.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    out[stdfs::relative(it->path(), dir).string()] = what;
  }
  check(!ec, "cannot walk the sandbox");
  return out;
}

void write(const stdfs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  check(out.good(), "cannot write into the sandbox");
}

// sandbox/{victim, a/victim, a/b/victim, a/b/c/{store/, victim, d/{victim, root/}}}
struct Sandbox {
  stdfs::path dir;
  stdfs::path root;   // where releases are unpacked
  stdfs::path store;  // the OCI layout
  std::optional<OciLayoutStore> layout;
  Descriptor config;
  std::map<std::string, std::string> before;
};

stdfs::path g_sandbox_dir;

void remove_sandbox() { remove_release(g_sandbox_dir); }

Sandbox& sandbox() {
  static std::optional<Sandbox> s;
  if (s) {
    return *s;
  }
  s.emplace();
  std::string tmpl = (stdfs::temp_directory_path() / "ztp-fuzz-unpack-XXXXXX").string();
  check(::mkdtemp(tmpl.data()) != nullptr, "cannot create the sandbox");
  s->dir = tmpl;
  g_sandbox_dir = s->dir;
  std::atexit(remove_sandbox);
  stdfs::path d = s->dir;
  for (const char* level : {"a", "b", "c", "d"}) {
    write(d / "victim", "keep me");
    d /= level;
    stdfs::create_directory(d);
  }
  write(d / "victim", "keep me");
  s->root = d / "root";
  stdfs::create_directory(s->root);
  s->store = s->dir / "a" / "b" / "c" / "store";
  auto opened = OciLayoutStore::open(s->store);
  check(opened.ok(), "cannot open the layout");
  s->layout.emplace(std::move(opened.value()));
  ImageSpecInputs in;
  auto config = s->layout->put_blob(canonical_json(make_config(in, {})), k_media_config);
  check(config.ok(), "cannot store the config");
  s->config = config->descriptor;
  s->before = snapshot(s->dir, s->root);
  return *s;
}

std::vector<std::string_view> split_layers(std::string_view input) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < k_max_layers) {
    size_t at = input.find(k_next_layer);
    if (at == std::string_view::npos) {
      break;
    }
    out.push_back(input.substr(0, at));
    input.remove_prefix(at + k_next_layer.size());
  }
  out.push_back(input);
  return out;
}

// Every symlink of the release resolves inside it (when it resolves at all).
void check_links(const stdfs::path& release) {
  std::error_code ec;
  const std::string inside = stdfs::canonical(release, ec).string();
  check(!ec, "the release cannot be resolved");
  for (auto it = stdfs::recursive_directory_iterator(release, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code lec;
    if (!it->is_symlink(lec)) {
      continue;
    }
    stdfs::path resolved = stdfs::weakly_canonical(it->path(), lec);
    if (lec) {
      continue;  // a loop or an unreadable directory: nothing outside is reached through it
    }
    const std::string r = resolved.string();
    check(r == inside || r.starts_with(inside + "/"),
          fmt::format("{} resolves outside the release, to {}", it->path().string(), r));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Sandbox& s = sandbox();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<Descriptor> layers;
  for (std::string_view layer : split_layers(input)) {
    auto stored = s.layout->put_blob(layer, k_media_layer_tar);
    check(stored.ok(), "cannot store a layer");
    layers.push_back(stored->descriptor);
  }
  auto manifest =
      s.layout->put_blob(canonical_json(make_manifest(s.config, layers, {})), k_media_manifest);
  check(manifest.ok(), "cannot store the manifest");

  const stdfs::path release = s.root / "release";
  auto unpacked = unpack_image(*s.layout, manifest->descriptor, release);
  check(unpacked.ok() || !unpacked.error().message.empty(), "an error without a message");

  std::error_code ec;
  stdfs::remove(s.layout->blob_path(manifest->descriptor.digest), ec);
  for (const auto& l : layers) {
    if (l.digest != s.config.digest) {
      stdfs::remove(s.layout->blob_path(l.digest), ec);
    }
  }
  check(snapshot(s.dir, s.root) == s.before, "something outside the root changed");
  for (const auto& e : stdfs::directory_iterator(s.root)) {
    check(e.path() == release, "unpacking left " + e.path().string() + " behind");
  }
  if (unpacked.ok()) {
    check(stdfs::is_directory(stdfs::symlink_status(release)), "no release directory");
    check_links(release);
  }
  remove_release(release);
  return 0;
}
