#include "target/local/podman.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "artifact/image_index.hpp"
#include "sys/crypto.hpp"
#include "sys/process.hpp"
#include "util/fs.hpp"

namespace ztp::target::local::podman {
namespace {

using namespace std::chrono_literals;

constexpr const char* k_install_hint =
    "install it with `apt-get install podman runc` (scripts/install-deps.sh configures it; see "
    "docs/targets/podman.md)";
constexpr const char* k_skopeo_hint =
    "install it with `apt-get install skopeo`: it puts ztp's images into podman's storage";

// The first line of `text`, trimmed, for messages.
std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) {
    line.pop_back();
  }
  return line;
}

// Runs `program` (podman or skopeo) with `args`; unavailable when it cannot start, fails or
// times out.
Result<sys::Captured> run_tool(const std::string& program, std::vector<std::string> args,
                               std::chrono::milliseconds timeout, bool allow_failure = false) {
  sys::SpawnOptions opts;
  opts.argv.push_back(program);
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.search_path = true;
  auto ran = sys::run_captured(opts, timeout);
  if (!ran.ok()) {
    return make_error(Errc::unavailable,
                      fmt::format("{} cannot be run ({}); {}", program, ran.error().message,
                                  program == "podman" ? k_install_hint : k_skopeo_hint));
  }
  if (ran->timed_out) {
    return make_error(Errc::unavailable, fmt::format("`{} {}` did not finish within {} s", program,
                                                     args.front(), timeout.count() / 1000));
  }
  bool ok = WIFEXITED(ran->wait_status) && WEXITSTATUS(ran->wait_status) == 0;
  if (!ok && !allow_failure) {
    return make_error(Errc::unavailable,
                      fmt::format("`{} {}` failed: {}", program, fmt::join(args, " "),
                                  first_line(ran->err.empty() ? ran->out : ran->err)));
  }
  return ran;
}

Result<sys::Captured> run_podman(std::vector<std::string> args, std::chrono::milliseconds timeout,
                                 bool allow_failure = false) {
  return run_tool("podman", std::move(args), timeout, allow_failure);
}

bool succeeded(const sys::Captured& c) {
  return WIFEXITED(c.wait_status) && WEXITSTATUS(c.wait_status) == 0;
}

// The image manifest `digest` names for this machine: itself, or its platform's entry when it
// is an image index.
Result<artifact::Descriptor> host_manifest(const artifact::OciLayoutStore& store,
                                           const std::string& digest) {
  ZTP_ASSIGN_OR_RETURN(auto image, store.resolve(digest));
  return artifact::manifest_for_platform(store, image, artifact::host_platform());
}

// A one-image OCI layout at `dir`, tagged "image", its blobs hard links into `store` (copies
// where the file system refuses links).
Result<void> write_layout(const artifact::OciLayoutStore& store, const std::string& digest,
                          const std::filesystem::path& dir) {
  ZTP_ASSIGN_OR_RETURN(auto manifest, host_manifest(store, digest));
  ZTP_ASSIGN_OR_RETURN(auto parsed, store.read_manifest(manifest));
  ZTP_TRY(fs::ensure_dir(dir / "blobs" / "sha256"));
  std::vector<std::string> blobs{manifest.digest, parsed.config.digest};
  for (const auto& l : parsed.layers) {
    blobs.push_back(l.digest);
  }
  for (const auto& d : blobs) {
    auto to = dir / "blobs" / "sha256" / std::string(artifact::digest_hex(d));
    if (std::filesystem::exists(to)) {
      continue;
    }
    std::error_code ec;
    std::filesystem::create_hard_link(store.blob_path(d), to, ec);
    if (ec) {
      std::filesystem::copy_file(store.blob_path(d), to, ec);
    }
    if (ec) {
      return make_error(Errc::internal, fmt::format("cannot place blob {} in {}: {}", d,
                                                    dir.string(), ec.message()));
    }
  }
  ZTP_TRY(fs::atomic_write(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  nlohmann::json index{{"schemaVersion", 2},
                       {"manifests",
                        {{{"mediaType", manifest.media_type},
                          {"digest", manifest.digest},
                          {"size", manifest.size},
                          {"annotations", {{artifact::k_annotation_ref_name, "image"}}}}}}};
  ZTP_TRY(fs::atomic_write(dir / "index.json", index.dump()));
  return {};
}

}  // namespace

std::string container_name(const std::filesystem::path& home, const std::string& replica_id) {
  std::string where = std::filesystem::absolute(home).lexically_normal().string();
  return fmt::format("ztp-{}-{}", sys::sha256_hex(where).substr(0, 8), replica_id);
}

Result<bool> image_exists(const std::string& id) {
  ZTP_ASSIGN_OR_RETURN(auto exists, run_podman({"image", "exists", id}, 30s, true));
  return succeeded(exists);
}

Result<std::string> ensure_image(const artifact::OciLayoutStore& store, const std::string& digest,
                                 const std::filesystem::path& scratch, const std::string& name) {
  ZTP_ASSIGN_OR_RETURN(auto manifest, host_manifest(store, digest));
  ZTP_ASSIGN_OR_RETURN(auto parsed, store.read_manifest(manifest));
  std::string id(artifact::digest_hex(parsed.config.digest));
  ZTP_ASSIGN_OR_RETURN(bool exists, image_exists(id));
  if (!exists) {
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
    auto written = write_layout(store, digest, scratch);
    // skopeo names the image in podman's storage as told; `podman pull oci:DIR` would name it
    // after DIR's path, which fails for a path with capitals or a dot-directory.
    auto pulled = written.ok()
                      ? run_tool("skopeo",
                                 {"copy", "--quiet", fmt::format("oci:{}:image", scratch.string()),
                                  fmt::format("containers-storage:{}", name)},
                                 5min)
                      : Result<sys::Captured>(written.take_error());
    std::filesystem::remove_all(scratch, ec);
    if (!pulled.ok()) {
      Error e = pulled.take_error();
      e.message = fmt::format("image {}: {}", digest, e.message);
      return e;
    }
  }
  ZTP_TRY(run_podman({"tag", id, name}, 30s));
  return id;
}

std::vector<std::string> run_argv(const RunSpec& spec) {
  std::vector<std::string> argv{"podman",
                                "run",
                                "--rm",
                                "--replace",
                                "--pull=never",
                                "--name",
                                spec.name,
                                "--publish",
                                fmt::format("127.0.0.1:{}:{}", spec.host_port, spec.container_port),
                                "--env",
                                fmt::format("PORT={}", spec.container_port),
                                "--stop-timeout",
                                std::to_string(spec.stop_timeout.count())};
  for (const auto& [k, v] : spec.labels) {
    argv.push_back("--label");
    argv.push_back(k + "=" + v);
  }
  for (const auto& [k, v] : spec.env) {
    argv.push_back("--env");
    argv.push_back(k + "=" + v);
  }
  if (spec.cpus > 0) {
    argv.push_back(fmt::format("--cpus={}", spec.cpus));
  }
  if (spec.memory_bytes > 0) {
    argv.push_back(fmt::format("--memory={}b", spec.memory_bytes));
  }
  argv.push_back(spec.image);
  return argv;
}

Result<void> remove_container(const std::string& name) {
  ZTP_TRY(run_podman({"rm", "--force", "--ignore", "--time", "0", name}, 60s));
  return {};
}

Result<std::vector<Container>> list_containers(const std::string& label) {
  ZTP_ASSIGN_OR_RETURN(auto listed, run_podman({"ps", "--all", "--filter",
                                                fmt::format("label={}", label), "--format", "json"},
                                               30s));
  auto j = nlohmann::json::parse(listed.out, nullptr, false);
  if (!j.is_array()) {
    return make_error(Errc::unavailable,
                      fmt::format("`podman ps` answered something that is not a JSON list: {}",
                                  first_line(listed.out)));
  }
  std::vector<Container> out;
  for (const auto& c : j) {
    Container k;
    if (c.contains("Names") && c["Names"].is_array() && !c["Names"].empty()) {
      k.name = c["Names"][0].get<std::string>();
    }
    k.state = c.value("State", std::string());
    k.image_id = c.value("ImageID", std::string());
    if (c.contains("Labels") && c["Labels"].is_object()) {
      for (const auto& [key, v] : c["Labels"].items()) {
        if (v.is_string()) {
          k.labels[key] = v.get<std::string>();
        }
      }
    }
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace ztp::target::local::podman
