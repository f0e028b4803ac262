#include "artifact/commit_build.hpp"

#include <fmt/format.h>

#include <optional>

#include "artifact/git_tree_source.hpp"
#include "artifact/image_index.hpp"

namespace ztp::artifact {
namespace {

// The image tagged `sha` in `store`, described as a build would have; nullopt when none is.
Result<std::optional<BuiltImage>> find_built(const OciLayoutStore& store, const std::string& sha) {
  auto index = store.entries();
  if (!index.ok()) {
    return index.take_error();
  }
  std::optional<Descriptor> manifest;
  for (const auto& e : index.value()) {
    if (e.tag == sha) {
      manifest = Descriptor{e.manifest.media_type, e.manifest.digest, e.manifest.size, {}};
    }
  }
  if (!manifest) {
    return std::optional<BuiltImage>();
  }
  // An image index is described by this machine's platform's image.
  std::vector<std::string> platforms;
  if (is_index_media_type(manifest->media_type)) {
    ZTP_ASSIGN_OR_RETURN(auto entries, manifests_of(store, *manifest));
    for (const auto& [_, platform] : entries) {
      platforms.push_back(platform.str());
    }
  }
  auto own = manifest_for_platform(store, *manifest, host_platform());
  auto parsed = own.ok() ? store.read_manifest(*own) : Result<Manifest>(own.take_error());
  if (!parsed.ok()) {
    Error e = parsed.take_error();
    e.message =
        fmt::format("the image of commit {} in {}: {}", sha, store.root().string(), e.message);
    return e;
  }
  BuiltImage image;
  image.manifest = *manifest;
  image.platforms = std::move(platforms);
  if (auto it = parsed->annotations.find(k_annotation_base_name); it != parsed->annotations.end()) {
    image.base_name = it->second;
  }
  if (auto it = parsed->annotations.find(k_annotation_base_digest);
      it != parsed->annotations.end()) {
    image.base_digest = it->second;
  }
  image.config = parsed->config;
  image.layers = parsed->layers;
  image.size = manifest->size + parsed->config.size;
  for (const auto& l : parsed->layers) {
    image.size += l.size;
  }
  for (const auto& e : index.value()) {
    if (!e.tag.empty() && e.manifest.digest == manifest->digest) {
      image.tags.push_back(e.tag);
    }
  }
  return std::optional<BuiltImage>(std::move(image));
}

}  // namespace

Result<CommitBuild> build_commit(const spec::Spec& spec, const source::GitRepo& repo,
                                 std::string_view rev, OciLayoutStore& store,
                                 const CommitBuildOptions& opts) {
  ZTP_ASSIGN_OR_RETURN(auto commit, repo.resolve(rev));
  CommitBuild out;
  out.commit = std::move(commit);
  ZTP_ASSIGN_OR_RETURN(auto existing, find_built(store, out.commit.sha));
  if (existing.has_value() && !opts.refresh_base) {
    out.image = std::move(*existing);
    out.reused = true;
    return out;
  }
  GitTreeSource source(repo, out.commit.sha, spec.build.context, spec.build.exclude);
  ImageSpecInputs in = inputs_from_spec(spec, out.commit.sha, repo.source_url(), out.commit.time);
  ZTP_ASSIGN_OR_RETURN(out.image,
                       build_context(spec, source, std::move(in), store,
                                     {out.commit.sha, out.commit.short_sha}, opts.context));
  return out;
}

Result<source::GitRepo> open_spec_repo(const spec::Spec& spec) {
  return source::GitRepo::open(spec.base_dir() / spec.source.repo);
}

}  // namespace ztp::artifact
