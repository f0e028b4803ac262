#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "artifact/oci_layout_store.hpp"
#include "util/result.hpp"

// What the podman target asks of podman: images from ztp's store made runnable, and the
// command line that runs one replica as a container. A replica's container is run by a
// `ztp supervise` like any local replica (its `podman run` stays in the foreground), so
// restarts, logs, health checks and draining are those of the local target.
namespace ztp::target::local::podman {

// The container of replica `replica_id` of the ztp home `home`: unique on the machine, since
// several homes may run environments of the same name.
std::string container_name(const std::filesystem::path& home, const std::string& replica_id);

// Makes the image `digest` of `store` present in podman's storage (pulling it from a one-image
// OCI layout made of hard links under `scratch`, which is removed after) and names it
// `name`. Returns podman's image id (the config digest's hex). unavailable when podman is not
// installed or fails, naming the package or podman's own message.
Result<std::string> ensure_image(const artifact::OciLayoutStore& store, const std::string& digest,
                                 const std::filesystem::path& scratch, const std::string& name);

// Whether podman's storage holds the image `id`; unavailable when podman cannot be run.
Result<bool> image_exists(const std::string& id);

// One replica's container.
struct RunSpec {
  std::string name;
  std::string image;  // image id or name
  int host_port = 0;  // on 127.0.0.1
  int container_port = 0;
  std::map<std::string, std::string> labels;
  std::vector<std::pair<std::string, std::string>> env;
  double cpus = 0;                // 0: no limit
  std::int64_t memory_bytes = 0;  // 0: no limit
  std::chrono::seconds stop_timeout{10};
};

// `podman run` in the foreground for `spec`: removed when it ends, replacing a leftover of the
// same name, published on 127.0.0.1 only, PORT set to the container port, never pulling.
std::vector<std::string> run_argv(const RunSpec& spec);

// Removes the container `name` (stopping it at once); nothing when there is none.
Result<void> remove_container(const std::string& name);

// The containers that carry `label` (key=value), by name, with their state ("running",
// "exited", ...) and image id.
struct Container {
  std::string name;
  std::string state;
  std::string image_id;
  std::map<std::string, std::string> labels;
};
Result<std::vector<Container>> list_containers(const std::string& label);

}  // namespace ztp::target::local::podman
