#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "artifact/descriptor.hpp"
#include "artifact/oci_layout_store.hpp"
#include "util/result.hpp"

namespace ztp::artifact {

// Unpacks the layers of `manifest` (bottom first, honouring whiteouts and opaque whiteouts) into
// `dest`, a release directory keyed by the image digest. Every blob is verified against its
// digest. Every path of every entry (whiteouts and hard link targets included) is resolved by
// the kernel inside the release directory (ReleaseRoot) before anything is touched, so nothing
// outside it is ever created, written or removed. The image is refused (Errc::refused, naming
// the layer and the entry) when an entry has an absolute path or a ".." component, a path that
// leads outside through symlinks, or a symlink or hard link that points outside `dest`. The
// layers are extracted into a temporary sibling and renamed into place, so a failure leaves
// nothing behind. An existing `dest` is complete by construction and left as it is.
Result<void> unpack_image(const OciLayoutStore& store, const Descriptor& manifest,
                          const std::filesystem::path& dest);

// The content of the regular file `path` ("etc/passwd": relative, no "./") in the layer `blob`
// (a tar, compressed or not), or nullopt when the layer has no such file. invalid when the blob
// is not a readable tar.
Result<std::optional<std::string>> read_layer_file(std::string_view blob, std::string_view path);

// Removes `dir`, a release directory or one being unpacked, with everything in it: directories
// the image made read-only are made writable first. Best effort: what cannot be removed stays.
void remove_release(const std::filesystem::path& dir);

}  // namespace ztp::artifact
