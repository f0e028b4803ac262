#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "artifact/base_image.hpp"
#include "artifact/descriptor.hpp"
#include "artifact/oci_layout_store.hpp"
#include "util/result.hpp"

// Image indexes: one image for several platforms (build.platforms), and how a runtime picks
// its own platform's manifest from one.
namespace ztp::artifact {

// An OCI image index or a Docker manifest list.
bool is_index_media_type(std::string_view media_type);

// The entry of the image index `bytes` for `platform`: the exact variant, else (when `platform`
// names none) the first of its os/architecture. Entries for "unknown" platforms (attestations)
// are skipped. not_found, naming `where`, the platforms it has and `fix`, when none matches.
Result<Descriptor> select_platform(std::string_view bytes, const Platform& platform,
                                   const std::string& where, std::string_view fix);

// The image index of `manifests` (each an image manifest in the store, with its platform), in
// the order given, serialised canonically.
std::string make_index_json(const std::vector<std::pair<Descriptor, Platform>>& manifests);

// `image` itself when it is an image manifest; when it is an index, its manifest for
// `platform` (not_found, listing the platforms it has, when it lacks it).
Result<Descriptor> manifest_for_platform(const OciLayoutStore& store, const Descriptor& image,
                                         const Platform& platform);

// The image manifests an index lists with their platforms (`image` alone, with no platform,
// when it is a manifest).
Result<std::vector<std::pair<Descriptor, Platform>>> manifests_of(const OciLayoutStore& store,
                                                                  const Descriptor& image);

}  // namespace ztp::artifact
